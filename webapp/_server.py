"""Running the app with uvicorn: bind first (so the URL is known and printed first), then serve.

`serve` blocks (the `mitoshape serve` command); `running_server` serves from a thread for
tests and screenshots and stops it on exit.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

from shapelib import InputError

from ._app import create_app
from ._config import ServeConfig

__all__ = ["Bound", "bind", "running_server", "serve"]

UVICORN = dict(
    log_level="warning",
    access_log=False,
    timeout_keep_alive=5,
    limit_concurrency=256,  # beyond this, 503 rather than unbounded memory
    timeout_graceful_shutdown=3,
)


@dataclass(frozen=True, eq=False)
class Bound:
    """An app and the listening socket it will serve on."""

    app: object
    sock: socket.socket
    config: ServeConfig

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @property
    def url(self) -> str:
        """The address to open, with ``?token=`` when a token is checked."""
        host = self.config.host
        # all interfaces: the machine's name, which other machines can reach
        shown = socket.gethostname() if host in ("0.0.0.0", "::", "") else host
        if ":" in shown:
            shown = f"[{shown}]"
        url = f"http://{shown}:{self.port}/"
        cfg = self.app.state.config
        if cfg.needs_token:
            url += f"?token={quote(cfg.token)}"
        return url


def bind(config: ServeConfig) -> Bound:
    """Build the app (checks the folders) and bind its socket; errors a user can fix."""
    app = create_app(config)
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError as err:
        sock.close()
        raise InputError(
            f"cannot listen on {config.host}:{config.port} ({err.strerror or err}); pass another "
            "--port N (0 picks a free one) or --host."
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return Bound(app=app, sock=sock, config=app.state.config)


def _server(bound: Bound):
    import uvicorn

    return uvicorn.Server(uvicorn.Config(bound.app, **UVICORN))


def serve(bound: Bound) -> None:
    """Serve until interrupted (Ctrl-C)."""
    server = _server(bound)
    try:
        server.run(sockets=[bound.sock])
    finally:
        bound.sock.close()


@contextlib.contextmanager
def running_server(config: ServeConfig, *, timeout_s: float = 30.0) -> Iterator[Bound]:
    """Serve `config` from a background thread; yields the `Bound` (``.url``); stops on exit.

    Examples
    --------
    >>> with running_server(ServeConfig(libraries=["lib"], port=0)) as srv:  # doctest: +SKIP
    ...     httpx.get(srv.url + "api/library").json()
    """
    bound = bind(config)
    server = _server(bound)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [bound.sock]}, name="mitoshape-serve", daemon=True
    )
    thread.start()
    t0 = time.monotonic()
    while not server.started:
        if not thread.is_alive() or time.monotonic() - t0 > timeout_s:
            bound.sock.close()
            raise RuntimeError("the web app's server did not start")
        time.sleep(0.02)
    try:
        yield bound
    finally:
        server.should_exit = True
        thread.join(timeout_s)
        bound.sock.close()
