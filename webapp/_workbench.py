"""The Segment page's state, one per browser tab: the image, the clicks, the prediction.

A tab names itself with a random session id (kept in its ``sessionStorage``, or given by the
page's URL ``?session=ID`` to reopen a saved one) sent with every call, so two tabs never see
each other's clicks. Sessions are saved under the state folder at every change and kept in
memory within a budget (`webapp._store`); the history is compressed differences
(`webapp._history`). Model calls go through the adapter (`webapp._segment.Segmenter`) on the
worker pool (`webapp._pool`); objects through `webapp._objects` (segtrain's quantify); the
exported instance labels through `shapelib.io.write_tiff` (it keeps the pixel size).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from fastapi import HTTPException

from ._edits import inside_image, with_window
from ._history import apply, diff
from ._objects import ObjectTable
from ._outputs import Outputs
from ._paths import inside, safe_name
from ._png import UNCERTAINTY_VMAX
from ._pool import ModelPool
from ._segment import Click, Prediction, Segmenter
from ._store import Session, SessionStore
from ._tools import Corrections
from ._upload import SUFFIXES, read_image_file, read_upload

__all__ = ["Session", "Workbench", "check_session_id", "state"]

_SID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def owner_hash(owner: str | None) -> str | None:
    """sha256 (hex) of a browser's owner secret (16-128 characters), or None without one."""
    import hashlib

    if not owner or not 16 <= len(owner) <= 128:
        return None
    return hashlib.sha256(owner.encode()).hexdigest()


def check_session_id(sid: str | None) -> str:
    """The tab's session id, or 400 when it is missing or malformed."""
    if not sid or not _SID.match(sid):
        raise HTTPException(400, "missing or malformed X-Session-Id header (8-64 letters, digits)")
    return sid


class Workbench(Corrections, Outputs):
    """Sessions (`SessionStore`), the images folder, the segmenter and its worker pool.

    Model work and every change of a session run in the session's turn of the pool
    (`ModelPool`); reading a session (its pictures, objects, exports) takes its lock only to
    pick up the current state, never around a model call or a measurement.
    """

    def __init__(
        self,
        segmenter: Segmenter | None,
        images: Path | None,
        *,
        store: SessionStore,
        max_bytes: int,
        max_pixels: int,
        workers: int = 2,
        others: dict[str, Segmenter] | None = None,
    ):
        self.segmenter = segmenter  # the default run; `others` by name, chosen in the page
        self.others = dict(others or {})
        self.images = images.resolve() if images is not None else None
        if self.images is not None and not self.images.is_dir():
            raise FileNotFoundError(f"--images {images} is not a folder; pass a folder of images.")
        self.store = store
        self.pool = ModelPool(workers)
        self.max_bytes, self.max_pixels = max_bytes, max_pixels

    # --- sessions ----------------------------------------------------------------------------

    def session(self, sid: str) -> Session:
        """The session `sid` as it is now (read back from disk when it was pushed out)."""
        with self.store.use(check_session_id(sid)) as s:
            return s

    def _change(self, sid: str, fn: Callable[[Session], None], heavy: bool = False) -> Session:
        """Run `fn(session)` in the session's turn of the model pool; its new version
        (`heavy`: a whole-image prediction, `ModelPool`)."""
        check_session_id(sid)

        def task() -> Session:
            with self.store.use(sid) as s:
                fn(s)
                return s

        return self.pool.run(sid, task, heavy=heavy)

    def run_names(self) -> list[str]:
        """The runs a tab may choose, the default first."""
        return ([self.segmenter.name] if self.segmenter else []) + list(self.others)

    def _need_model(self, run: str | None = None) -> Segmenter:
        if self.segmenter is None:
            raise HTTPException(409, "no model: start `mitoshape serve` with --run RUN to segment")
        if run is None or run == self.segmenter.name:
            return self.segmenter
        if run not in self.others:
            raise HTTPException(404, f"no run {run!r} is served; runs: {self.run_names()}")
        return self.others[run]

    def model_of(self, s: Session) -> Segmenter | None:
        """The run of a session (the default when its own is no longer served)."""
        return self.others.get(s.run or "", self.segmenter)

    def _need_image(self, s: Session) -> Prediction:
        if s.image is None or s.current is None:
            raise HTTPException(409, "no image open in this tab: choose or upload one first")
        return s.current

    def sessions(self, owner: str | None = None) -> list[dict]:
        """The saved sessions, each marked ``owned`` when `owner` (the browser's secret)
        opened it."""
        mine = owner_hash(owner)
        return [{**m, "owned": mine is not None and m.get("owner") == mine}
                for m in self.store.listing()]  # fmt: skip

    def delete_session(self, sid: str, owner: str | None) -> None:
        """Delete a saved session (its owner only: 403), in its turn of the pool (after the
        model work queued for it)."""
        check_session_id(sid)

        def task() -> None:
            try:
                self.store.delete(sid, owner_hash(owner))
            except FileNotFoundError as err:
                raise HTTPException(404, str(err)) from None
            except PermissionError as err:
                raise HTTPException(403, str(err)) from None

        self.pool.run(sid, task)

    # --- images ------------------------------------------------------------------------------

    def image_names(self) -> list[str]:
        if self.images is None:
            return []
        return sorted(p.name for p in self.images.iterdir() if p.suffix.lower() in SUFFIXES)

    def _start(self, sid: str, name: str, img, pixel_size_nm=None, run=None, owner=None):
        seg = self._need_model(run)

        def start(s: Session) -> None:
            if s.owner is None:  # the first browser to open an image in it owns it
                s.owner = owner_hash(owner)
            if s.name is not None:
                self.store.shelve(s)  # the work on the image it leaves is kept
            px = img.pixel_size_nm
            if self.store.unshelve(s, name):  # back to an image worked on before
                with s.lock:
                    s.name, s.x, s.objects = name, None, ObjectTable()
                    if pixel_size_nm is not None:
                        s.pixel_size_nm = float(pixel_size_nm)
                    s.version += 1
                    s.opened += 1
                self.store.save_meta(s)
                return
            prediction = seg.predict(img.data)
            with s.lock:
                s.run = seg.name
                s.name, s.image, s.x = name, img.data, None
                s.pixel_size_nm = float(px[1]) if px is not None else None
                if pixel_size_nm is not None:
                    s.pixel_size_nm = float(pixel_size_nm)
                s.current, s.steps = prediction, []
                s.objects = ObjectTable()
                s.version += 1
                s.opened += 1
            self.store.save_base(s)

        return self._change(sid, start, heavy=True)

    def open(self, sid: str, name: str, run: str | None = None, owner=None) -> Session:
        """Open an image of the --images folder by file name (with the run named `run`)."""
        self._need_model(run)
        check_session_id(sid)
        if self.images is None:
            raise HTTPException(404, "no --images folder is served; upload an image instead")
        safe_name(name, what="image")
        if name not in self.image_names():
            raise HTTPException(404, f"no image {name!r} in the served images folder")
        path = inside(self.images, name)
        img = read_image_file(path, name, max_pixels=self.max_pixels)
        return self._start(sid, name, img, run=run, owner=owner)

    def upload(
        self,
        sid: str,
        data: bytes,
        filename: str,
        pixel_size_nm: float | None,
        run=None,
        owner=None,
    ) -> Session:
        """Open an uploaded TIFF or PNG (413 too big, 422 unreadable)."""
        self._need_model(run)
        check_session_id(sid)
        img = read_upload(data, filename, max_bytes=self.max_bytes, max_pixels=self.max_pixels)
        return self._start(sid, Path(filename or "upload").name, img, pixel_size_nm, run, owner)

    # --- clicks and edits --------------------------------------------------------------------

    def _push(self, s: Session, new: Prediction, kind: str, click: Click | None = None) -> None:
        """Make `new` the current state by one step (saved before the answer)."""
        step = diff(s.current, new, kind=kind, click=click)
        with s.lock:
            s.steps.append(step)
            s.current = new
            s.changed = (s.version, step.box)  # the page redraws this box only
            s.version += 1
        self.store.save_step(s)

    def click(self, sid: str, click: Click) -> Session:
        self._need_model()

        def go(s: Session) -> None:
            current = self._need_image(s)
            seg = self._need_model(s.run if s.run in self.others else None)
            h, w = s.image.shape
            if not inside_image(click.y_px, click.x_px, (h, w)):
                raise HTTPException(
                    422, f"click ({click.x_px}, {click.y_px}) is outside the {w} x {h} image"
                )
            if seg.uses_clicks and s.x is None:
                s.x = seg.prepare(s.image)
            new = seg.refine(s.x, (*s.clicks, click), current)
            self._push(s, with_window(current, new), "click", click)

        return self._change(sid, go)

    def undo(self, sid: str) -> Session:
        def go(s: Session) -> None:
            self._need_image(s)
            if s.steps:
                with s.lock:
                    step = s.steps.pop()
                    s.current = apply(s.current, step, forward=False)
                    s.changed = (s.version, step.box)
                    s.version += 1
            self.store.drop_steps(s, len(s.steps))

        return self._change(sid, go)

    def reset(self, sid: str) -> Session:
        def go(s: Session) -> None:
            self._need_image(s)
            with s.lock:
                state = s.current
                for step in reversed(s.steps):
                    state = apply(state, step, forward=False)
                s.current, s.steps = state, []
                s.version += 1
            self.store.drop_steps(s, 0)

        return self._change(sid, go)

    def set_pixel_size(self, sid: str, pixel_size_nm: float) -> Session:
        def go(s: Session) -> None:
            self._need_image(s)
            with s.lock:
                s.pixel_size_nm = float(pixel_size_nm)
                s.version += 1
            self.store.save_meta(s)

        return self._change(sid, go)

    # --- pictures and exports (off the model queue) ------------------------------------------

    def _snapshot(self, sid: str) -> tuple[Session, Prediction]:
        s = self.session(sid)
        with s.lock:
            return s, self._need_image(s)

    def layer_png(self, sid: str, layer: str, box: str | None = None) -> bytes:
        """A layer as a PNG, or its part `box` ("row0,row1,col0,col1": what a change
        redraws, the state's ``changed_box``)."""
        from ._png import UNCERTAINTY_VMAX, grey_png, heat_png, overlay_png

        s, p = self._snapshot(sid)
        if layer not in ("image", "mask", "uncertainty"):
            raise HTTPException(404, f"no layer {layer!r}; layers: image, mask, uncertainty")
        y0, y1, x0, x1 = parse_box(box, p.mask.shape)
        if layer == "image":
            return grey_png(s.image)  # whole: its contrast is the image's
        if layer == "mask":
            return overlay_png(p.mask[y0:y1, x0:x1], p.instances[y0:y1, x0:x1])
        return heat_png(p.uncertainty[y0:y1, x0:x1], vmax=UNCERTAINTY_VMAX)


def parse_box(box: str | None, shape) -> tuple[int, int, int, int]:
    """(row0, row1, col0, col1) of "row0,row1,col0,col1" inside an image of `shape` (None:
    the whole image); 422 otherwise."""
    if box is None:
        return 0, shape[0], 0, shape[1]
    try:
        y0, y1, x0, x1 = (int(v) for v in box.split(","))
    except ValueError:
        raise HTTPException(422, f"box must be row0,row1,col0,col1; got {box[:40]!r}") from None
    if not (0 <= y0 < y1 <= shape[0] and 0 <= x0 < x1 <= shape[1]):
        raise HTTPException(422, f"box {box} is not inside the {shape[1]} x {shape[0]} image")
    return y0, y1, x0, x1


def state(s: Session, segmenter: Segmenter | None, store: SessionStore | None = None) -> dict:
    """What the page shows of a session (fields of `SegmentState`)."""
    out = {
        "uses_clicks": bool(segmenter and segmenter.uses_clicks),
        "uncertainty_label": segmenter.uncertainty_label if segmenter else "",
        "note": segmenter.note if segmenter else "",
        "version": s.version,
        "opened": s.opened,
        "session": s.id,
        "run": segmenter.name if segmenter else None,
    }
    if store is not None:
        out["shelved"] = store.shelved(s.id)
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
        uncertainty_vmax=UNCERTAINTY_VMAX,
        changed_from=None if s.changed is None else s.changed[0],
        changed_box=None if s.changed is None or s.changed[1] is None else list(s.changed[1]),
        foreground_fraction=float(p.mask.mean()),
        seconds=float(p.seconds),
        edits=sum(st.kind not in ("click", "commit") for st in s.steps),
        committed=int(np.count_nonzero(np.bincount(p.instances.ravel())[1:])),
    )
    return out
