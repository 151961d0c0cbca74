"""The guard: loopback by default, a token for other hosts, the Host check, body limits, and
one-line errors."""

import pytest

from tests.webapp.conftest import make_client
from webapp import ServeConfig, is_loopback, with_token


def test_loopback_names():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert is_loopback("127.0.0.2") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    assert not is_loopback("example.org")


def test_defaults_bind_loopback_without_token():
    cfg = ServeConfig()
    assert cfg.host == "127.0.0.1" and not cfg.needs_token
    assert with_token(cfg).token is None


def test_other_host_gets_a_token():
    cfg = with_token(ServeConfig(host="0.0.0.0"))
    assert cfg.needs_token and len(cfg.token) >= 20
    assert with_token(ServeConfig(host="0.0.0.0")).token != cfg.token  # fresh each time
    assert with_token(ServeConfig(host="0.0.0.0", token="given-token")).token == "given-token"


def test_token_on_every_api_call(webapp_data):
    cfg = ServeConfig(libraries=[webapp_data.library], host="0.0.0.0", token="s3cret-token")
    with make_client(cfg) as c:
        for path in ("/api/info", "/api/library", "/api/library/lib/1/mesh.glb",
                     "/api/library/lib/1/files/meta.json", "/api/segment"):  # fmt: skip
            r = c.get(path)
            assert r.status_code == 401, path
            assert "token" in r.json()["detail"]
        assert c.get("/api/info", headers={"X-Mitoshape-Token": "wrong-token"}).status_code == 401
        assert c.get("/api/info", headers={"X-Mitoshape-Token": "s3cret-token"}).status_code == 200
        auth = {"Authorization": "Bearer s3cret-token"}
        assert c.get("/api/library", headers=auth).status_code == 200
        assert c.get("/api/info?token=s3cret-token").status_code == 200
        # the page itself carries no data; it loads and then sends the token
        assert c.get("/").status_code == 200
        assert c.get("/static/app.js").status_code == 200


def test_given_token_is_checked_on_loopback_too(webapp_data):
    cfg = ServeConfig(libraries=[webapp_data.library], token="loopback-token")
    with make_client(cfg) as c:
        assert c.get("/api/info").status_code == 401
        ok = c.get("/api/info", headers={"X-Mitoshape-Token": "loopback-token"})
        assert ok.status_code == 200


def test_host_check_on_loopback(webapp_data):
    with make_client(ServeConfig(libraries=[webapp_data.library])) as c:
        assert c.get("/api/info").status_code == 200
        assert c.get("/api/info", headers={"Host": "localhost:8765"}).status_code == 200
        r = c.get("/api/info", headers={"Host": "evil.example:8765"})  # DNS rebinding
        assert r.status_code == 403 and "host" in r.json()["detail"]
        assert c.get("/", headers={"Host": "evil.example"}).status_code == 403


def test_security_headers(webapp_data):
    with make_client(ServeConfig(libraries=[webapp_data.library])) as c:
        r = c.get("/")
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "connect-src 'self'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert c.get("/api/info").headers["cache-control"] == "no-store"


def test_body_limit(webapp_data, session_headers):
    cfg = ServeConfig(run=webapp_data.run, max_upload_bytes=4096)
    with make_client(cfg) as c:
        big = b"x" * (2 * 1024 * 1024)
        r = c.post("/api/segment/upload", files={"file": ("a.tif", big)}, headers=session_headers)
        assert r.status_code == 413 and "at most" in r.json()["detail"]

        def chunks():  # no Content-Length: the stream is counted
            for _ in range(64):
                yield b"y" * 16384

        r = c.post("/api/segment/click", content=chunks(), headers=session_headers)
        assert r.status_code == 413


def test_errors_are_one_line_json(webapp_data, session_headers):
    with make_client(ServeConfig(libraries=[webapp_data.library])) as c:
        for r, code in [
            (c.get("/api/library/nope/1"), 404),
            (c.get("/api/library/lib/999"), 404),
            (c.get("/api/library/lib/abc"), 422),
            (c.get("/api/library/lib/1/views/Nope/0.png"), 404),
            (c.get("/api/library/lib/1/views/Epi1/q45.png"), 404),
            (c.post("/api/segment/click", json={"x_px": 1}, headers=session_headers), 422),
            (c.post("/api/segment/open", json={"name": "a.tif"}, headers=session_headers), 409),
            (c.get("/api/segment/state"), 400),
            (c.get("/api/segment/state", headers={"X-Session-Id": "../../x"}), 400),
            (c.get("/api/nothing"), 404),
        ]:
            assert r.status_code == code, (r.request.url, r.status_code, r.text)
            detail = r.json()["detail"]
            assert isinstance(detail, str) and "\n" not in detail and detail


@pytest.mark.parametrize("bad", [dict(port=-1), dict(token="short"), dict(nothing=1)])
def test_config_validates(bad):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        ServeConfig(**bad)
