"""A real uvicorn server on 127.0.0.1: `mitoshape serve` prints the URL first, 50 concurrent
API requests all succeed, and clients that vanish mid-request do not hurt it."""

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from webapp import ServeConfig, bind, running_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(webapp_data):
    cfg = ServeConfig(libraries=[webapp_data.library], datasets=[webapp_data.dataset], port=0)
    with running_server(cfg) as srv:
        yield srv


def test_bind_prints_loopback_url_without_token(webapp_data):
    bound = bind(ServeConfig(libraries=[webapp_data.library], port=0))
    try:
        assert bound.url == f"http://127.0.0.1:{bound.port}/"
        assert bound.sock.getsockname()[0] == "127.0.0.1"
    finally:
        bound.sock.close()


def test_port_in_use_is_a_one_line_error(webapp_data):
    from shapelib import InputError

    bound = bind(ServeConfig(libraries=[webapp_data.library], port=0))
    try:
        with pytest.raises(InputError, match="--port"):
            bind(ServeConfig(libraries=[webapp_data.library], port=bound.port))
    finally:
        bound.sock.close()


def test_fifty_concurrent_requests(server):
    paths = ["api/library", "api/library/lib/1/mesh.glb", "api/datasets/ds",
             "api/datasets/ds/image/img_000000.tif.png", "api/library/lib/2"]  # fmt: skip

    def one(k):
        with httpx.Client(timeout=60) as c:
            r = c.get(server.url + paths[k % len(paths)])
            return r.status_code, len(r.content)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(50) as ex:
        results = list(ex.map(one, range(50)))
    assert [code for code, _ in results] == [200] * 50
    assert all(n > 0 for _, n in results)
    assert time.perf_counter() - t0 < 60


def _raw(port: int, data: bytes, *, read: int = 0) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        if read:
            s.recv(read)


def test_survives_clients_that_disconnect(server):
    port = server.port
    # a body announced and never sent
    _raw(port, b"POST /api/segment/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 900000\r\n"
               b"X-Session-Id: tab-000000000000\r\n\r\n--x\r\n")  # fmt: skip
    # headers cut in the middle
    _raw(port, b"GET /api/libr")
    # a large answer asked for, then the client leaves after a few bytes
    for _ in range(5):
        _raw(port, b"GET /api/library/lib/1/mesh.glb HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", read=10)
    # garbage
    _raw(port, b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + os.urandom(64))
    r = httpx.get(server.url + "api/health", timeout=10)
    assert r.status_code == 200 and r.json() == {"ok": True}
    assert httpx.get(server.url + "api/library", timeout=10).status_code == 200


def _serve(*args):
    code = "import sys; from cli import main; sys.argv[0] = 'mitoshape'; main()"
    return subprocess.Popen([sys.executable, "-c", code, "serve", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def _stop(proc):
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def test_cli_prints_the_url_first(webapp_data):
    proc = _serve("--library", webapp_data.library, "--port", 0)
    try:
        first = proc.stdout.readline().strip()
        assert first.startswith("http://127.0.0.1:") and "token" not in first
        r = httpx.get(first + "api/library", timeout=30)
        assert r.status_code == 200 and len(r.json()["rows"]) > 0
    finally:
        _stop(proc)


def test_cli_other_host_needs_the_printed_token(webapp_data):
    proc = _serve("--library", webapp_data.library, "--host", "0.0.0.0", "--port", 0)
    try:
        first = proc.stdout.readline().strip()
        assert "?token=" in first
        port = int(first.split(":")[2].split("/")[0])
        token = first.split("?token=")[1]
        base = f"http://127.0.0.1:{port}/"
        assert httpx.get(base + "api/info", timeout=30).status_code == 401
        r = httpx.get(base + "api/info", headers={"X-Mitoshape-Token": token}, timeout=30)
        assert r.status_code == 200 and r.json()["token_required"]
    finally:
        _stop(proc)


def test_cli_bad_folder_is_one_line(invoke, tmp_path):
    r = invoke("serve", "--library", tmp_path / "missing", "--port", 0)
    assert r.exit_code == 2 and r.stderr.startswith("error: --library")
    assert len(r.stderr.strip().splitlines()) == 1
