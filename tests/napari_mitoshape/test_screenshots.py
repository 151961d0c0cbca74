"""Screenshots of the viewer with each widget (napari's own screenshot, under xvfb-run): three
PNGs of the whole window, each showing something."""

from __future__ import annotations

import numpy as np


def test_each_widget_is_screenshot(qt, phantom_library, run, tmp_path):
    from PIL import Image

    from napari_mitoshape._screenshots import SCREENSHOTS, ScreenshotInputs, save_screenshots
    from shapelib.io import write_tiff
    from tests.segtrain._tiny import disks

    image = write_tiff(tmp_path / "cell.tif", disks(64, 3, 0)[0], pixel_size_nm=20.0)
    inputs = ScreenshotInputs(library=phantom_library, image=image, run=run)
    (tmp_path / "shots").mkdir()

    paths = save_screenshots(tmp_path / "shots", inputs)
    assert [p.name for p in paths] == list(SCREENSHOTS)
    for p in paths:
        rgb = np.asarray(Image.open(p))
        assert rgb.ndim == 3 and rgb.shape[0] > 300 and rgb.shape[1] > 500
        assert rgb.std() > 5  # a window with something in it, not a blank frame


def test_the_demo_step_is_one_logged_line_without_a_display(monkeypatch, tmp_path, caplog):
    import logging

    from cli._cmd_demo import _demo_napari

    monkeypatch.delenv("DISPLAY", raising=False)
    steps: list = []
    with caplog.at_level(logging.WARNING, logger="cli._cmd_demo"):
        _demo_napari(steps, tmp_path, tmp_path / "library")
    assert steps == [] and list(tmp_path.iterdir()) == []
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and lines[0].startswith("napari screenshots skipped: ")
