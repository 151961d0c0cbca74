"""The ASGI app: the page, its static files, the JSON API under ``/api/``, one-line errors."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError

from shapelib import MitoshapeError

from ._config import ServeConfig, with_token
from ._models import Info
from ._routes_dataset import dataset_infos, dataset_router
from ._routes_library import library_infos, library_router
from ._routes_segment import segment_router
from ._security import Guard
from ._served import allowed_hosts, open_served

__all__ = ["STATIC_DIR", "create_app"]

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
THREADS = 256  # as uvicorn's limit_concurrency (`webapp._server.UVICORN`)


def _one_line(text: str, limit: int = 300) -> str:
    return " ".join(str(text).split())[:limit]


def _validation_detail(err) -> str:
    parts = []
    for e in err.errors()[:3]:
        loc = ".".join(str(x) for x in e.get("loc", ()) if x != "body") or "body"
        parts.append(f"{loc}: {e.get('msg', 'invalid')}")
    return _one_line("invalid request: " + "; ".join(parts))


def create_app(config: ServeConfig) -> FastAPI:
    """The web app over the folders of `config` (checked here; errors name the option).

    A non-loopback host without a token gets a fresh one (`app.state.config.token`).

    Examples
    --------
    >>> app = create_app(ServeConfig(libraries=["results/library"]))  # doctest: +SKIP
    >>> # uvicorn.run(app, host="127.0.0.1", port=8765)
    """
    cfg = with_token(config)
    served = open_served(cfg)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        import anyio.to_thread

        # A request waiting for its turn of the model pool holds a worker thread: enough of
        # them for every connection uvicorn accepts, so waiting ones never starve the others.
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        served.catalog.start()
        yield
        served.catalog.close()
        served.bench.pool.close()

    app = FastAPI(
        title="mitoshape",
        lifespan=lifespan,
        docs_url=None,  # the docs pages load scripts from a CDN; none here
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.config = cfg
    app.state.served = served

    # --- errors: an HTTP code and a one-line `detail` ----------------------------------------
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, err: RequestValidationError):
        return JSONResponse({"detail": _validation_detail(err)}, status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, err: HTTPException):
        return JSONResponse(
            {"detail": _one_line(err.detail)}, status_code=err.status_code, headers=err.headers
        )

    @app.exception_handler(MitoshapeError)
    async def _user(request: Request, err: MitoshapeError):
        return JSONResponse({"detail": _one_line(err)}, status_code=422)

    @app.exception_handler(ValidationError)
    async def _model(request: Request, err: ValidationError):
        return JSONResponse({"detail": _validation_detail(err)}, status_code=422)

    @app.exception_handler(FileNotFoundError)
    async def _missing(request: Request, err: FileNotFoundError):
        return JSONResponse({"detail": "file not found"}, status_code=404)

    @app.exception_handler(Exception)
    async def _bug(request: Request, err: Exception):
        log.error("error in %s %s", request.method, request.url.path, exc_info=err)
        detail = f"internal error ({type(err).__name__}); the server log has the details"
        return JSONResponse({"detail": detail}, status_code=500)

    # --- the API -----------------------------------------------------------------------------
    @app.get("/api/info", response_model=Info)
    def info() -> Info:
        from shapelib import __version__

        return Info(
            version=__version__,
            libraries=library_infos(served),
            datasets=dataset_infos(served),
            segment=served.segmenter is not None,
            token_required=cfg.needs_token,
            max_upload_bytes=cfg.max_upload_bytes,
            max_upload_pixels=cfg.max_upload_pixels,
        )

    @app.get("/api/health")
    def health() -> dict:
        return {"ok": True}

    app.include_router(library_router(served))
    app.include_router(dataset_router(served))
    app.include_router(segment_router(served))

    # --- the page ------------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    app.add_middleware(
        Guard,
        token=cfg.token if cfg.needs_token else None,
        allowed_hosts=allowed_hosts(cfg),
        max_body_bytes=cfg.max_upload_bytes,
    )
    return app
