"""Segment routes: open or upload an image, click, paint, delete or merge objects, commit the
clicked object, undo, reset, pictures (whole or the box a change touched), morphology, exports
(one image, or all of a tab's as a ZIP), the saved sessions (listed; deleted by the browser
that opened them: its ``X-Owner`` secret).

Every call names its browser tab with the ``X-Session-Id`` header; the work is in
`_workbench` (state) and `_segment` (the model adapter).
"""

from __future__ import annotations

from fastapi import APIRouter, File, Form, Header, Query, UploadFile
from fastapi.responses import Response

from ._models import (
    ClickIn,
    MergeIn,
    OpenImage,
    PaintIn,
    PixelSize,
    SegmentState,
    SegmentStatus,
    SessionEntry,
    Sessions,
    Table,
)
from ._segment import Click
from ._served import Served
from ._workbench import check_session_id, state

__all__ = ["segment_router"]


def _attachment(name: str) -> dict:
    return {"content-disposition": f'attachment; filename="{name}"'}


def segment_router(served: Served) -> APIRouter:
    r = APIRouter(prefix="/api/segment")
    bench = served.bench

    def reply(session) -> SegmentState:
        return SegmentState(
            **state(session, bench.model_of(session), bench.store), queued=bench.pool.pending()
        )

    @r.get("", response_model=SegmentStatus)
    def status() -> SegmentStatus:
        seg = bench.segmenter
        return SegmentStatus(
            available=seg is not None,
            run=seg.name if seg else None,
            runs=bench.run_names(),
            images=bench.image_names(),
            uses_clicks=bool(seg and seg.uses_clicks),
            uncertainty_label=seg.uncertainty_label if seg else "",
            note=seg.note if seg else "start `mitoshape serve` with --run RUN to segment",
        )

    @r.get("/state", response_model=SegmentState)
    def current(x_session_id: str = Header(None)) -> SegmentState:
        return reply(bench.session(x_session_id))

    @r.post("/open", response_model=SegmentState)
    def open_image(
        body: OpenImage, x_session_id: str = Header(None), x_owner: str = Header(None)
    ) -> SegmentState:
        return reply(bench.open(x_session_id, body.name, body.run, owner=x_owner))

    @r.post("/upload", response_model=SegmentState)
    def upload(
        file: UploadFile = File(...),
        pixel_size_nm: float | None = Form(None, gt=0, le=1e6),
        run: str | None = Form(None, max_length=200),
        x_session_id: str = Header(None),
        x_owner: str = Header(None),
    ) -> SegmentState:
        check_session_id(x_session_id)  # a bad id fails before the bytes are read
        data = file.file.read(served.config.max_upload_bytes + 1)
        name = file.filename or "upload"
        return reply(bench.upload(x_session_id, data, name, pixel_size_nm, run, owner=x_owner))

    @r.post("/click", response_model=SegmentState)
    def click(body: ClickIn, x_session_id: str = Header(None)) -> SegmentState:
        return reply(bench.click(x_session_id, Click(body.x_px, body.y_px, body.positive)))

    @r.post("/undo", response_model=SegmentState)
    def undo(x_session_id: str = Header(None)) -> SegmentState:
        return reply(bench.undo(x_session_id))

    @r.post("/reset", response_model=SegmentState)
    def reset(x_session_id: str = Header(None)) -> SegmentState:
        return reply(bench.reset(x_session_id))

    @r.post("/paint", response_model=SegmentState)
    def paint(body: PaintIn, x_session_id: str = Header(None)) -> SegmentState:
        points = [(int(x), int(y)) for x, y in body.points]
        return reply(bench.paint(x_session_id, points, body.radius_px, body.on))

    @r.post("/delete-object", response_model=SegmentState)
    def delete_object(body: ClickIn, x_session_id: str = Header(None)) -> SegmentState:
        return reply(bench.delete_object(x_session_id, body.x_px, body.y_px))

    @r.post("/merge", response_model=SegmentState)
    def merge(body: MergeIn, x_session_id: str = Header(None)) -> SegmentState:
        a, b = (body.a.x_px, body.a.y_px), (body.b.x_px, body.b.y_px)
        return reply(bench.merge_objects(x_session_id, a, b))

    @r.post("/commit", response_model=SegmentState)
    def commit(x_session_id: str = Header(None)) -> SegmentState:
        return reply(bench.commit_object(x_session_id))

    @r.get("/export/all.zip")
    def export_all(x_session_id: str = Header(None)) -> Response:
        name, data = bench.folder_zip(x_session_id)
        return Response(data, media_type="application/zip", headers=_attachment(name))

    @r.get("/sessions", response_model=Sessions)
    def sessions(x_owner: str = Header(None)) -> Sessions:
        return Sessions(sessions=[SessionEntry(**m) for m in bench.sessions(x_owner)])

    @r.delete("/sessions/{sid}", status_code=204)
    def delete_session(sid: str, x_owner: str = Header(None)) -> Response:
        bench.delete_session(sid, x_owner)  # 403 unless this browser opened it
        return Response(status_code=204)

    @r.post("/pixel-size", response_model=SegmentState)
    def pixel_size(body: PixelSize, x_session_id: str = Header(None)) -> SegmentState:
        return reply(bench.set_pixel_size(x_session_id, body.pixel_size_nm))

    @r.get("/layers/{layer}.png")
    def layer(
        layer: str, box: str | None = Query(None, max_length=60), x_session_id: str = Header(None)
    ) -> Response:
        return Response(bench.layer_png(x_session_id, layer, box), media_type="image/png")

    @r.get("/objects", response_model=Table)
    def objects(x_session_id: str = Header(None)) -> Table:
        got = bench.objects_table(x_session_id)  # after the mask, off its lock
        px = bench.session(x_session_id).pixel_size_nm
        if got is None:  # a newer click came: its own table follows
            return Table(columns=[], rows=[], pixel_size_nm=px, superseded=True)
        return Table(columns=got[0], rows=got[1], pixel_size_nm=px)

    @r.get("/export/labels.tif")
    @r.get("/export/mask.tif", include_in_schema=False)  # the name before labels
    def export_mask(x_session_id: str = Header(None)) -> Response:
        name, data = bench.mask_tiff(x_session_id)
        return Response(data, media_type="image/tiff", headers=_attachment(name))

    @r.get("/export/objects.csv")
    def export_objects(x_session_id: str = Header(None)) -> Response:
        name, text = bench.objects_csv(x_session_id)
        return Response(text, media_type="text/csv", headers=_attachment(name))

    return r
