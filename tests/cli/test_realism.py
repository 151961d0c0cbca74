"""`mitoshape realism` on tiny images."""

from __future__ import annotations

import json

import numpy as np

from shapelib.io import write_tiff


def test_realism_command_writes_auc_and_figure(invoke, tmp_path):
    rng = np.random.default_rng(0)
    write_tiff(tmp_path / "real.tif", rng.poisson(100, (256, 256)).astype(np.uint16),
               pixel_size_nm=80.0)  # fmt: skip
    syn = tmp_path / "syn" / "images"
    syn.mkdir(parents=True)
    for k in range(4):
        write_tiff(syn / f"img_{k}.tif", rng.poisson(100, (128, 128)).astype(np.uint16),
                   pixel_size_nm=80.0)  # fmt: skip
    out = tmp_path / "realism"
    r = invoke("realism", tmp_path / "real.tif", tmp_path / "syn", "-o", out, "--crop-px", 32,
               "--region-px", 64, "--folds", 2, "--epochs", 1, "--threads", 1)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert "syn: held-out ROC AUC" in r.stdout
    meta = json.loads((out / "realism.json").read_text())
    assert 0 <= meta["auc"]["syn"]["mean"] <= 1 and len(meta["auc"]["syn"]["folds"]) == 2
    assert (out / "realism.png").stat().st_size > 1000
    # a set at another pixel size is refused; so is an output folder in use
    write_tiff(syn / "img_0.tif", np.zeros((128, 128), np.uint16), pixel_size_nm=109.0)
    r = invoke("realism", tmp_path / "real.tif", tmp_path / "syn", "-o", tmp_path / "r2")
    assert r.exit_code == 2 and "pixel size" in r.stderr
    r = invoke("realism", tmp_path / "real.tif", tmp_path / "syn", "-o", out)
    assert r.exit_code == 2 and "--overwrite" in r.stderr
