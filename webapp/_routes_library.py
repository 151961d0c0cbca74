"""Library routes: the table of every served library, one instance, its mesh, files, views.

Handlers parse and call; the work is in `_library` and `_views`.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from ._library import SKELETON_KEYS
from ._models import InstanceDetail, LibraryInfo, LibraryListing
from ._paths import inside
from ._served import Served

__all__ = ["library_router", "library_infos"]

PNG = "image/png"


def library_infos(served: Served) -> list[LibraryInfo]:
    return [
        LibraryInfo(
            key=k, name=lib.name, kind=lib.kind, n_instances=len(lib.rows), columns=lib.columns
        )  # fmt: skip
        for k, lib in served.catalog.libraries.items()
    ]


def library_router(served: Served) -> APIRouter:
    r = APIRouter(prefix="/api/library")
    catalog, views = served.catalog, served.views

    @r.get("", response_model=LibraryListing)
    def listing() -> LibraryListing:
        return LibraryListing(
            libraries=library_infos(served), rows=catalog.rows(), n_pending=catalog.n_pending()
        )

    @r.get("/{lib}/{iid}", response_model=InstanceDetail)
    def detail(lib: str, iid: int) -> InstanceDetail:
        row = catalog.row(lib, iid)
        m = catalog.measurements(lib, iid)
        return InstanceDetail(
            library=lib,
            id=iid,
            shape_class=row.get("class"),
            row=row,
            measurements=m,
            skeleton={k: m.get(k, row.get(k)) for k in SKELETON_KEYS},
            files=catalog.files(lib, iid),
            images=views.available(lib, iid),
            render_seed=served.config.seed,
            render_size_px=served.config.render_size_px,
        )

    @r.get("/{lib}/{iid}/mesh.glb")
    def mesh(lib: str, iid: int) -> Response:
        return Response(catalog.mesh_glb(lib, iid), media_type="model/gltf-binary")

    @r.get("/{lib}/{iid}/files/{rel:path}")
    def file(lib: str, iid: int, rel: str) -> FileResponse:
        path = inside(catalog.folder(lib, iid), rel)
        return FileResponse(path, filename=path.name)

    @r.get("/{lib}/{iid}/views/{preset}/{view}.png")
    def view(lib: str, iid: int, preset: str, view: str) -> Response:
        return Response(views.png(lib, iid, preset, view), media_type=PNG)

    return r
