"""Screenshots of the napari viewer with each of the plugin's widgets at work (napari's own
`Viewer.screenshot` of the whole window, under a display such as Xvfb): the demo's
``napari_segment.png``, ``napari_simulate.png`` and ``napari_library.png``. Loaded by napari
only (the demo imports this module when napari and a display are there)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ScreenshotInputs", "SCREENSHOTS", "save_screenshots"]

SCREENSHOTS = ("napari_segment.png", "napari_simulate.png", "napari_library.png")
WINDOW_PX = (1200, 800)


@dataclass(frozen=True)
class ScreenshotInputs:
    """What the widgets show: a `library` folder, an `image` (TIFF) to segment with `run` (a
    run folder or a shipped model; interactive: one suggested click is clicked)."""

    library: Path
    image: Path
    run: Path | str


def _wait(widget, timeout_s: float = 600.0) -> None:
    """Let Qt run until the widget's worker is done."""
    from qtpy.QtWidgets import QApplication

    t0 = time.monotonic()
    while widget.busy():
        if time.monotonic() - t0 > timeout_s:
            raise TimeoutError(f"{type(widget).__name__} still busy after {timeout_s:g} s")
        QApplication.processEvents()
        time.sleep(0.05)
    for _ in range(5):  # the layers drawn
        QApplication.processEvents()


def _shot(viewer, path: Path) -> Path:
    from simulator.io import write_png

    _close_toasts(viewer)
    viewer.reset_view()
    rgba = viewer.screenshot(canvas_only=False, flash=False)
    return write_png(path, np.asarray(rgba)[..., :3])


def _close_toasts(viewer) -> None:
    """Close the notification pop-ups (napari's own deprecation notes) over the canvas."""
    from qtpy.QtWidgets import QApplication

    try:
        from napari._qt.dialogs.qt_notification import NapariQtNotification
    except ImportError:  # another napari: the pop-ups stay
        return
    for toast in viewer.window._qt_window.findChildren(NapariQtNotification):
        toast.close()
    QApplication.processEvents()


def _segment(viewer, inputs: ScreenshotInputs, path: Path) -> Path:
    from shapelib.io import read_scaled_image

    from ._widget import RUN_FOLDER, SegmentWidget

    img = read_scaled_image(inputs.image)
    px = img.pixel_size_nm or (1.0, 1.0)
    data = np.asarray(img.data)
    limits = tuple(float(v) for v in np.percentile(data, (1, 99.8)))  # dim fluorescence shows
    viewer.add_image(data, name=inputs.image.stem, scale=px, units="nm", contrast_limits=limits)
    widget = SegmentWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Segment")
    if Path(inputs.run).is_dir():
        widget.model.value = RUN_FOLDER
        widget.run_dir.value = Path(inputs.run)
    else:
        widget.model.value = str(inputs.run)
    widget.segment.clicked.emit()
    _wait(widget)
    suggested = viewer.layers["suggested clicks"].data if widget.run.clicks else []
    if len(suggested):
        viewer.layers["clicks"].add(np.asarray(suggested[:1]))
        _wait(widget)
    return _shot(viewer, path)


def _simulate(viewer, inputs: ScreenshotInputs, path: Path) -> Path:
    from ._simulate_widget import SimulateWidget

    widget = SimulateWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Simulate")
    widget.library.value = inputs.library
    widget.simulate.clicked.emit()
    _wait(widget)
    return _shot(viewer, path)


def _library(viewer, inputs: ScreenshotInputs, path: Path) -> Path:
    from ._library_widget import LibraryWidget

    widget = LibraryWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Library")
    widget.library.value = inputs.library
    widget.select_rows(range(min(4, widget.table.shape[0])))
    _wait(widget)
    return _shot(viewer, path)


def save_screenshots(out: str | Path, inputs: ScreenshotInputs) -> list[Path]:
    """One viewer per widget, its screenshot written in `out` (`SCREENSHOTS`); the paths."""
    import napari

    out = Path(out)
    shots = []
    for make, name in zip((_segment, _simulate, _library), SCREENSHOTS, strict=True):
        viewer = napari.Viewer(show=True, title=f"mitoshape {name}")
        try:
            viewer.window.resize(*WINDOW_PX)
            shots.append(make(viewer, inputs, out / name))
        finally:
            viewer.close()
    return shots
