"""The Segment page's state, one per browser tab: the image, the clicks, the prediction.

A tab names itself with a random session id (kept in its ``sessionStorage``) sent with every
call, so two tabs never see each other's clicks. Sessions live in memory, the least recently
used dropped beyond ``max_sessions``. Every model call goes through the adapter
(`webapp._segment.Segmenter`); morphology through `segtrain.quantify_mask`; the exported mask
through `shapelib.io.write_tiff` (it keeps the pixel size).
"""

from __future__ import annotations

import re
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import HTTPException

from ._paths import inside, safe_name
from ._segment import Click, Prediction, Segmenter
from ._upload import SUFFIXES, read_image_file, read_upload

__all__ = ["Session", "Workbench", "check_session_id", "state"]

_SID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def _stem(name: str | None) -> str:
    """A file-name stem safe in a download header (letters, digits, ``._-``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name or "image").stem)[:80] or "image"


def check_session_id(sid: str | None) -> str:
    """The tab's session id, or 400 when it is missing or malformed."""
    if not sid or not _SID.match(sid):
        raise HTTPException(400, "missing or malformed X-Session-Id header (8-64 letters, digits)")
    return sid


@dataclass(eq=False)
class Session:
    """One tab's work on one image."""

    id: str
    name: str | None = None
    image: object = None  # (Y, X) ndarray
    pixel_size_nm: float | None = None
    first: Prediction | None = None
    current: Prediction | None = None
    clicks: list = field(default_factory=list)
    version: int = 0
    opened: int = 0  # images opened in this tab: the page fetches the image layer on change
    lock: threading.Lock = field(default_factory=threading.Lock)


class Workbench:
    """Sessions, the images folder and the segmenter of one server."""

    def __init__(
        self,
        segmenter: Segmenter | None,
        images: Path | None,
        *,
        max_sessions: int = 16,
        max_bytes: int,
        max_pixels: int,
    ):
        self.segmenter = segmenter
        self.images = images.resolve() if images is not None else None
        if self.images is not None and not self.images.is_dir():
            raise FileNotFoundError(f"--images {images} is not a folder; pass a folder of images.")
        self.max_sessions = max_sessions
        self.max_bytes, self.max_pixels = max_bytes, max_pixels
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    # --- sessions ----------------------------------------------------------------------------

    def session(self, sid: str) -> Session:
        check_session_id(sid)
        with self._lock:
            s = self._sessions.get(sid)
            if s is None:
                s = self._sessions[sid] = Session(sid)
                while len(self._sessions) > self.max_sessions:
                    self._sessions.popitem(last=False)
            self._sessions.move_to_end(sid)
            return s

    def _need_model(self) -> Segmenter:
        if self.segmenter is None:
            raise HTTPException(409, "no model: start `mitoshape serve` with --run RUN to segment")
        return self.segmenter

    def _need_image(self, s: Session) -> None:
        if s.image is None or s.current is None:
            raise HTTPException(409, "no image open in this tab: choose or upload one first")

    # --- images ------------------------------------------------------------------------------

    def image_names(self) -> list[str]:
        if self.images is None:
            return []
        return sorted(p.name for p in self.images.iterdir() if p.suffix.lower() in SUFFIXES)

    def _start(self, s: Session, name: str, img) -> Session:
        prediction = self._need_model().predict(img.data)
        px = img.pixel_size_nm
        s.name, s.image = name, img.data
        s.pixel_size_nm = float(px[1]) if px is not None else None
        s.first = s.current = prediction
        s.clicks = []
        s.version += 1
        s.opened += 1
        return s

    def open(self, sid: str, name: str) -> Session:
        """Open an image of the --images folder by file name."""
        self._need_model()
        if self.images is None:
            raise HTTPException(404, "no --images folder is served; upload an image instead")
        safe_name(name, what="image")
        if name not in self.image_names():
            raise HTTPException(404, f"no image {name!r} in the served images folder")
        path = inside(self.images, name)
        img = read_image_file(path, name, max_pixels=self.max_pixels)
        s = self.session(sid)
        with s.lock:
            return self._start(s, name, img)

    def upload(self, sid: str, data: bytes, filename: str, pixel_size_nm: float | None) -> Session:
        """Open an uploaded TIFF or PNG (413 too big, 422 unreadable)."""
        self._need_model()
        img = read_upload(data, filename, max_bytes=self.max_bytes, max_pixels=self.max_pixels)
        s = self.session(sid)
        with s.lock:
            self._start(s, Path(filename or "upload").name, img)
            if pixel_size_nm is not None:
                s.pixel_size_nm = float(pixel_size_nm)
            return s

    # --- clicks ------------------------------------------------------------------------------

    def _refine(self, s: Session) -> Session:
        s.current = self._need_model().refine(s.image, tuple(s.clicks), s.first)
        s.version += 1
        return s

    def click(self, sid: str, click: Click) -> Session:
        s = self.session(sid)
        with s.lock:
            self._need_image(s)
            h, w = s.image.shape
            if not (0 <= click.x_px < w and 0 <= click.y_px < h):
                raise HTTPException(
                    422, f"click ({click.x_px}, {click.y_px}) is outside the {w} x {h} image"
                )
            s.clicks.append(click)
            return self._refine(s)

    def undo(self, sid: str) -> Session:
        s = self.session(sid)
        with s.lock:
            self._need_image(s)
            if s.clicks:
                s.clicks.pop()
            return self._refine(s)

    def reset(self, sid: str) -> Session:
        s = self.session(sid)
        with s.lock:
            self._need_image(s)
            s.clicks = []
            return self._refine(s)

    def set_pixel_size(self, sid: str, pixel_size_nm: float) -> Session:
        s = self.session(sid)
        with s.lock:
            self._need_image(s)
            s.pixel_size_nm = float(pixel_size_nm)
            s.version += 1
            return s

    # --- pictures and exports ----------------------------------------------------------------

    def layer_png(self, sid: str, layer: str) -> bytes:
        from ._png import grey_png, heat_png, overlay_png

        s = self.session(sid)
        with s.lock:
            self._need_image(s)
            if layer == "image":
                return grey_png(s.image)
            if layer == "mask":
                return overlay_png(s.current.mask)
            if layer == "uncertainty":
                return heat_png(s.current.uncertainty)
        raise HTTPException(404, f"no layer {layer!r}; layers: image, mask, uncertainty")

    def _pixel_size(self, s: Session) -> float:
        if s.pixel_size_nm is None:
            raise HTTPException(
                422, f"{s.name!r} carries no pixel size; enter it (nm) to measure the objects"
            )
        return s.pixel_size_nm

    def objects(self, sid: str):
        """Per-object morphology of the current mask (segtrain's quantify), a DataFrame."""
        from segtrain import QuantifyParams, quantify_mask

        s = self.session(sid)
        with s.lock:
            self._need_image(s)
            params = QuantifyParams(pixel_size_nm=self._pixel_size(s))
            return quantify_mask(s.current.mask, params=params)

    def objects_table(self, sid: str) -> tuple[list[str], list[dict]]:
        """(columns, JSON-ready rows) of `objects` (inf and NaN become None)."""
        import json

        table = self.objects(sid)
        return list(table.columns), json.loads(table.to_json(orient="records"))

    def mask_tiff(self, sid: str) -> tuple[str, bytes]:
        """(file name, bytes) of the current mask as a TIFF keeping the pixel size."""
        from shapelib.io import write_tiff

        s = self.session(sid)
        with s.lock:
            self._need_image(s)
            name = f"{_stem(s.name)}_mask.tif"
            with tempfile.TemporaryDirectory(prefix="mitoshape-export-") as tmp:
                path = write_tiff(Path(tmp) / name, s.current.mask, pixel_size_nm=s.pixel_size_nm)
                return name, path.read_bytes()

    def objects_csv(self, sid: str) -> tuple[str, str]:
        table = self.objects(sid)
        s = self.session(sid)
        return f"{_stem(s.name)}_objects.csv", table.to_csv(index=False)


def state(s: Session, segmenter: Segmenter | None) -> dict:
    """What the page shows of a session (fields of `SegmentState`)."""
    out = {
        "uses_clicks": bool(segmenter and segmenter.uses_clicks),
        "uncertainty_label": segmenter.uncertainty_label if segmenter else "",
        "note": segmenter.note if segmenter else "",
        "version": s.version,
        "opened": s.opened,
    }
    if s.image is None or s.current is None:
        return out
    p = s.current
    h, w = s.image.shape
    out.update(
        image=s.name,
        width_px=int(w),
        height_px=int(h),
        pixel_size_nm=s.pixel_size_nm,
        clicks=[{"x_px": c.x_px, "y_px": c.y_px, "positive": c.positive} for c in s.clicks],
        suggestions=[{"x_px": g.x_px, "y_px": g.y_px, "score": g.score} for g in p.suggestions],
        uncertainty_max=float(p.uncertainty.max(initial=0.0)),
        foreground_fraction=float(p.mask.mean()),
        seconds=float(p.seconds),
    )
    return out
