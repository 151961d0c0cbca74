"""The model that ships with the package (segtrain/shipped): listed, opened by name offline, its
bytes checked before use, its shipped example reproduced, and pure camera noise left empty.

The example is one real H9c2 tile (PhySeg's data, MIT licence; ../shared/data/PROVENANCE.md)
with the mask the model made of it when it was built (benchmarks/shipped_model.py --install).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from segtrain.workflows import _shipped

NAME = "mito-fluo-2d"
# The recorded mask was made with the same options on the CPU the model was built on; float32
# inference differs by a few ULPs between CPUs, which moves a handful of boundary pixels.
EXAMPLE_MIN_IOU = 0.98


@pytest.fixture(scope="module")
def model():
    if NAME not in _shipped.shipped_models():
        pytest.fail(f"the shipped model {NAME} is missing from {_shipped.SHIPPED_DIR}")
    return _shipped.shipped_model(NAME)


def test_listed_with_its_card(model, invoke):
    r = invoke("models")
    assert r.exit_code == 0 and NAME in r.stdout
    card = model.card.read_text()
    assert "synthetic" in card and "Lucchi" in card  # says what it was (not) trained on
    lo, hi = model.pixel_size_range_nm
    assert lo <= 40 and hi >= 160


def test_opens_by_name_offline_and_small(model):
    import segtrain

    run = segtrain.Run.open(NAME)
    assert run.model is not None
    assert (model.folder / "best.pt").stat().st_size < 12e6  # a few MB


def test_altered_bytes_are_refused(model, tmp_path, monkeypatch):
    from shapelib import InputError

    copy = tmp_path / "shipped"
    shutil.copytree(_shipped.SHIPPED_DIR, copy)
    monkeypatch.setattr(_shipped, "SHIPPED_DIR", copy)
    _shipped.shipped_model(NAME)  # the copy is intact
    weights = copy / model.folder.name / "best.pt"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(InputError, match="best.pt"):
        _shipped.shipped_model(NAME)
    index = json.loads((copy / _shipped.INDEX_FILE).read_text())
    assert set(index[NAME]["sha256"]) == {p.name for p in model.folder.iterdir()}  # all hashed


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_predicts_its_example_as_recorded(model, invoke, tmp_path):
    from segtrain.io import read_mask

    r = invoke(
        "predict", NAME, model.folder / "example.png", "-o", tmp_path / "p",
        "--tta", "flips", "--pixel-size-nm", 80,
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    got = read_mask(tmp_path / "p" / "masks" / "example.tif")[0] > 0
    want = np.asarray(Image.open(model.folder / "example_mask.png")) > 0
    assert got.shape == want.shape and want.mean() > 0.05  # the example holds tubules
    assert _iou(got, want) >= EXAMPLE_MIN_IOU


def test_camera_noise_alone_predicts_empty(model, invoke, tmp_path):
    """A field with no mitochondria, contrast-stretched to 0-255 as an acquisition export does:
    the noise must not be read as structure (the issue measured 20-24 % before)."""
    rng = np.random.default_rng(0)
    (tmp_path / "noise").mkdir()
    for k, blur in enumerate((0.0, 1.0)):
        noise = rng.normal(100.0, 3.0, (256, 256))
        if blur:  # spatially correlated noise, as the H9c2 camera's
            from scipy.ndimage import gaussian_filter

            noise = gaussian_filter(noise, blur)
        img = np.round((noise - noise.min()) / np.ptp(noise) * 255).astype(np.uint8)
        Image.fromarray(img).save(tmp_path / "noise" / f"noise_{k}.png")
    r = invoke("predict", NAME, tmp_path / "noise", "-o", tmp_path / "p", "--pixel-size-nm", 80)
    assert r.exit_code == 0, r.stderr
    from segtrain.io import read_mask

    for k in range(2):
        fg = float(np.mean(read_mask(tmp_path / "p" / "masks" / f"noise_{k}.tif")[0] > 0))
        assert fg < 0.01, (k, fg)
