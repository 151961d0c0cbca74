"""The Segment widget (Plugins > mitoshape > Segment): a run folder or a shipped model predicts
the image layer into instance Labels and a probability layer; on an interactive run, points
added to the "clicks" layer refine the mask around them (`ClickSession`), the suggested clicks
are a Points layer, and "Undo click" goes back one click.

Everything long (opening the run, predicting, each click) runs in napari's thread workers, one
at a time (clicks wait in a queue), so the viewer never freezes. Loaded by napari only."""

from __future__ import annotations

from collections import deque

import numpy as np
from magicgui.widgets import ComboBox, Container, FileEdit, Label, PushButton
from napari.layers import Image
from napari.qt.threading import thread_worker
from napari.utils.notifications import show_info, show_warning

from ._clicks import ClickSession, plain_run_message
from ._segment import segment_slices
from ._workers import Working

RUN_FOLDER = "run folder ..."
SIGNS = {"object (+)": True, "background (-)": False}
CLICK_COLOURS = {True: "lime", False: "magenta"}


def image_layers(viewer) -> list[tuple[str, Image]]:
    """(name, layer) of the viewer's image layers, for a layer picker."""
    return [(layer.name, layer) for layer in viewer.layers if isinstance(layer, Image)]


class SegmentWidget(Working, Container):
    """Segment the active image layer with a run; refine it by clicks (interactive runs)."""

    def __init__(self, napari_viewer):
        from segtrain import shipped_models

        self.viewer = napari_viewer
        self.model = ComboBox(label="model", choices=[*shipped_models(), RUN_FOLDER])
        self.run_dir = FileEdit(label="run folder", mode="d")
        self.image = ComboBox(label="image", choices=lambda _: image_layers(self.viewer))
        self.segment = PushButton(text="Segment")
        self.sign = ComboBox(label="next click", choices=list(SIGNS))
        self.undo = PushButton(text="Undo click")
        self.status = Label(value="")
        super().__init__(
            widgets=[
                self.model,
                self.run_dir,
                self.image,
                self.segment,
                self.sign,
                self.undo,
                self.status,
            ]
        )
        self.run = None  # the segtrain.Run in use (set by `use_run` or opened on Segment)
        self._run_key = None
        self._sessions: dict[int, ClickSession] = {}  # slice (0 for a 2D image) -> clicks
        self._queue: deque = deque()
        self._muted = False
        self.segment.changed.connect(self._on_segment)
        self.undo.changed.connect(self._on_undo)
        self.sign.changed.connect(self._on_sign)
        self.model.changed.connect(self._show_run_dir)
        for event in (self.viewer.layers.events.inserted, self.viewer.layers.events.removed):
            event.connect(lambda _: self.image.reset_choices())
        self._show_run_dir()

    # --- the run -------------------------------------------------------------------------------

    def use_run(self, run) -> None:
        """Segment with a `segtrain.Run` at hand (a test's network, a run opened elsewhere)."""
        self.run, self._run_key = run, ("given", id(run))

    def _show_run_dir(self, *_) -> None:
        self.run_dir.visible = self.model.value == RUN_FOLDER

    def _wanted_run(self) -> tuple:
        if self._run_key and self._run_key[0] == "given":
            return self._run_key
        if self.model.value == RUN_FOLDER:
            return ("open", str(self.run_dir.value))
        return ("open", str(self.model.value))

    # --- segment -------------------------------------------------------------------------------

    def _on_segment(self, *_) -> None:
        layer = self.image.value
        if layer is None:
            show_warning("mitoshape: open an image layer to segment first.")
            return
        if self.busy():
            show_info("mitoshape: still working; Segment again when the progress bar is done.")
            return
        key, data, scale = self._wanted_run(), np.asarray(layer.data), tuple(layer.scale)
        if layer.rgb:
            data = data.mean(axis=-1)  # an RGB layer's intensity (its scale has no channel)

        steps = data.shape[0] if data.ndim == 3 else 1

        @thread_worker(progress={"total": steps, "desc": "segment"}, ignore_errors=True)
        def work():
            if key != self._run_key:
                from segtrain import Run

                self.run, self._run_key = Run.open(key[1]), key
            return (yield from segment_slices(data, self.run, scale=scale))

        self.start(work(), lambda layers: self._show_segmentation(layers, layer))

    def _show_segmentation(self, layers, image) -> None:
        if layers[1][0].ndim == 3 and not self.run.train_config.context_slices:
            show_info(
                f"mitoshape: {image.name} is a stack of {layers[1][0].shape[0]} images and "
                f"{self.run.name} a 2D run: it was segmented slice by slice."
            )
        for data, kwargs, kind in layers:
            kwargs = {**kwargs, "translate": tuple(image.translate)[-data.ndim :]}
            kwargs["units"] = tuple(image.units)[-data.ndim :]  # as the image's (nm, pixel)
            name = kwargs["name"]
            if name in self.viewer.layers:
                self.viewer.layers[name].data = data
            else:
                getattr(self.viewer, f"add_{kind}")(data, **kwargs)
        self._sessions.clear()
        self._queue.clear()
        self._click_layers(image)
        self.status.value = f"{self.run.name}: " + (
            "add points to 'clicks' to refine" if self.run.clicks else "a plain run (no clicks)"
        )

    # --- clicks --------------------------------------------------------------------------------

    def _click_layers(self, image) -> None:
        """A fresh "clicks" layer (and "suggested clicks") over the image."""
        kw = {"scale": tuple(image.scale), "translate": tuple(image.translate)}
        kw["units"] = tuple(image.units)
        ndim = np.asarray(image.data).ndim - (1 if image.rgb else 0)
        for name in ("suggested clicks", "clicks"):
            if name in self.viewer.layers:
                self.viewer.layers.remove(name)
        self.viewer.add_points(
            np.zeros((0, ndim)), name="suggested clicks", size=6, face_color="yellow",
            symbol="cross", **kw,
        )  # fmt: skip
        clicks = self.viewer.add_points(
            np.zeros((0, ndim)),
            name="clicks",
            size=6,
            features={"positive": np.zeros(0, bool)},
            face_color=CLICK_COLOURS[True],
            **kw,
        )
        clicks.feature_defaults["positive"] = SIGNS[self.sign.value]
        clicks.events.data.connect(self._on_points)
        clicks.mode = "add"
        self.viewer.layers.selection.active = clicks

    def _on_sign(self, *_) -> None:
        if "clicks" in self.viewer.layers:
            layer = self.viewer.layers["clicks"]
            positive = SIGNS[self.sign.value]
            layer.feature_defaults["positive"] = positive
            layer.current_face_color = CLICK_COLOURS[positive]

    def _on_points(self, event) -> None:
        if self._muted or getattr(event, "action", "added") != "added":
            return
        layer = self.viewer.layers["clicks"]
        if self.run is None or self.run.clicks is None:
            show_warning(
                f"mitoshape: {plain_run_message(self.run) if self.run else 'segment first.'}"
            )
            return
        for i in sorted(getattr(event, "data_indices", ()) or ()):
            point = np.round(layer.data[i]).astype(int)
            positive = bool(layer.features["positive"].iloc[i])
            self._queue.append((tuple(point), positive))
        self._colour_clicks(layer)
        self._next_click()

    def _colour_clicks(self, layer) -> None:
        colours = [CLICK_COLOURS[bool(p)] for p in layer.features["positive"]]
        if colours:
            self._muted = True
            try:
                layer.face_color = colours
            finally:
                self._muted = False

    def _next_click(self) -> None:
        if self.busy() or not self._queue:
            return
        point, positive = self._queue.popleft()
        z = point[0] if len(point) == 3 else 0
        row, col = point[-2:]
        labels = self.viewer.layers["instances"]
        image = np.asarray(self.image.value.data) if self.image.value is not None else None
        if image is None or not (0 <= row < image.shape[-2] and 0 <= col < image.shape[-1]):
            show_warning(f"mitoshape: the click at ({row}, {col}) is outside the image.")
            return self._next_click()
        plane = image[z] if image.ndim == 3 else image

        @thread_worker(progress={"total": 0, "desc": "refine"}, ignore_errors=True)
        def work():
            if z not in self._sessions:
                self._sessions[z] = ClickSession.start(self.run, plane)
            return self._sessions[z].click(row, col, positive)

        def done(state) -> None:
            self._show_state(labels, z, state)
            self._next_click()  # the clicks that came while this one refined

        self.start(work(), done)

    def _show_state(self, labels, z: int, state) -> None:
        from segtrain.evaluate import label_objects

        new = label_objects(state.mask).astype(labels.data.dtype)
        if labels.data.ndim == 3:
            others = np.delete(labels.data, z, axis=0)
            top = int(others.max()) if others.size else 0
            new[new > 0] += top  # ids unique across the stack
            labels.data[z] = new
            labels.refresh()
        else:
            labels.data = new
        if "probability" in self.viewer.layers:
            prob = self.viewer.layers["probability"]
            if prob.data.ndim == 3:
                prob.data[z] = state.probability
                prob.refresh()
            else:
                prob.data = state.probability
        sugg = [[s.row, s.col] for s in state.suggestions]
        if labels.data.ndim == 3:
            sugg = [[z, r, c] for r, c in sugg]
        if "suggested clicks" in self.viewer.layers:
            ndim = labels.data.ndim
            self.viewer.layers["suggested clicks"].data = np.array(sugg, float).reshape(-1, ndim)
        self.status.value = f"{len(state.clicks)} click(s); refined in {state.seconds:.2f} s"

    def _on_undo(self, *_) -> None:
        if self.busy():
            show_info("mitoshape: still refining; undo when the progress bar is done.")
            return
        if "clicks" not in self.viewer.layers or not len(self.viewer.layers["clicks"].data):
            return
        layer = self.viewer.layers["clicks"]
        last = np.round(layer.data[-1]).astype(int)
        z = int(last[0]) if len(last) == 3 else 0
        self._muted = True
        try:
            layer.data = layer.data[:-1]
        finally:
            self._muted = False
        session = self._sessions.get(z)
        if session is not None:
            self._show_state(self.viewer.layers["instances"], z, session.undo())

    def failed(self, exc: BaseException) -> None:
        self._queue.clear()  # the clicks after a refused one wait for none
        super().failed(exc)
