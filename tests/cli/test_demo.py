import json

import numpy as np
import pytest

from shapelib.io import read_volume


def test_phantom_writes_volume_with_voxel_size_and_truth(invoke, tmp_path):
    out = tmp_path / "vol.tif"
    result = invoke("phantom", "-o", out, "--objects", "3", "--touching-pairs", "0",
                    "--voxel-size-nm", "30", "--seed", "1")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    vol = read_volume(str(out))
    assert vol.voxel_size_nm == (30.0, 30.0, 30.0)
    truth = json.loads(out.with_suffix(".objects.json").read_text())
    ids = sorted(o["id"] for o in truth["objects"])
    assert ids == sorted(int(i) for i in np.unique(vol.data) if i)


def test_phantom_rejects_zero_objects(invoke, tmp_path):
    result = invoke("phantom", "-o", tmp_path / "v.tif", "--objects", "0")
    assert result.exit_code == 2
    assert "--objects" in result.stderr


@pytest.mark.slow
def test_demo_end_to_end(invoke, tmp_path):
    out = tmp_path / "results"
    result = invoke("demo", "-o", out, "--train-minutes", "0.5")
    assert result.exit_code == 0, result.stderr
    for name in ("README.md", "gallery.png", "library/library.csv", "train_epi1/contact_sheet.png",
                 "predictions_test_epi1.png", "metrics_test_conf1_summary.csv"):  # fmt: skip
        assert (out / name).is_file(), name
    assert "| test_epi1 |" in (out / "README.md").read_text()
    # the shipped model on the shipped real image: a figure and an objects table
    report = out / "report_shipped_model"
    assert any(report.glob("*.png")) and "mito-fluo-2d" in (out / "README.md").read_text()
