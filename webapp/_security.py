"""The guard in front of every request (pure ASGI middleware).

- Host check: a server bound to loopback answers only requests addressed to a loopback name
  (``127.0.0.1``, ``localhost``, ``::1``), which stops DNS-rebinding pages from reading it.
- Token: when one is set (always for a non-loopback host), every ``/api/`` call carries it
  (header ``X-Mitoshape-Token``, ``Authorization: Bearer``, or ``?token=``); else 401.
- Body limit: a request body larger than the upload limit is refused with 413, from its
  Content-Length or, without one, as soon as the streamed bytes pass the limit.
- Headers: a strict Content-Security-Policy (no script, style or connection outside this
  server), no sniffing, no framing, no referrer; API answers are not cached.
"""

from __future__ import annotations

import hmac
import json
from urllib.parse import parse_qs

from starlette.exceptions import HTTPException

__all__ = ["Guard", "LOOPBACK_NAMES"]

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
BODY_SLACK = 256 * 1024  # multipart framing and form fields around the file
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


class _TooLarge(HTTPException):
    """Raised from the body stream; FastAPI passes HTTP exceptions through body parsing."""


def _host_name(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):  # [::1]:8765
        return value.split("]")[0] + "]"
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class Guard:
    """ASGI middleware: host check, token check, body limit, security headers.

    Parameters
    ----------
    app : the ASGI app
    token : str or None, required on /api/ when set
    allowed_hosts : names a request's Host may carry, or None for any (token-protected)
    max_body_bytes : the largest request body
    """

    def __init__(self, app, *, token: str | None, allowed_hosts, max_body_bytes: int):
        self.app = app
        self.token = token.encode() if token else None
        self.allowed_hosts = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}
        self.max_body = int(max_body_bytes) + BODY_SLACK

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope.get("path", "")
        # 1. the host the browser thinks it talks to
        if self.allowed_hosts is not None:
            host = _host_name(headers.get("host", ""))
            if host not in self.allowed_hosts:
                return await _reply(send, 403, f"host {host[:60]!r} is not served here")
        # 2. the token, on every API call
        if self.token is not None and path.startswith("/api/"):
            if not self._token_ok(scope, headers):
                return await _reply(
                    send, 401, "missing or wrong token: open the URL `mitoshape serve` printed"
                )
        # 3. the body size
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            return await _reply(send, 413, _too_large(int(length), self.max_body))
        seen = 0
        started = False

        async def counted_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _TooLarge(413, _too_large(seen, self.max_body))
            return message

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                extra = list(_HEADERS)
                if path.startswith("/api/"):
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        try:
            await self.app(scope, counted_receive, send_with_headers)
        except _TooLarge:
            if not started:
                await _reply(send, 413, _too_large(seen, self.max_body))

    def _token_ok(self, scope, headers: dict) -> bool:
        given = headers.get("x-mitoshape-token")
        auth = headers.get("authorization", "")
        if given is None and auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if given is None:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given = (query.get("token") or [None])[0]
        return given is not None and hmac.compare_digest(given.encode(), self.token)


def _too_large(n: int, limit: int) -> str:
    return (
        f"the request body is {n:,} bytes or more; the server takes at most {limit:,} "
        "(start it with a larger --max-upload-mb)"
    )


async def _reply(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
