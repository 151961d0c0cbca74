"""Multi-object fields of view and the dataset writer."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from simulator import EPI1, SceneConfig, SceneShape, render_scene
from simulator.io import write_dataset

from ._shapes import capsule, sphere

SHAPES = [SceneShape(capsule(1000.0, 200.0), 1, "rod"), SceneShape(sphere(300.0), 2, "dot")]


def test_scene_objects_do_not_overlap_and_truth_matches():
    cfg = SceneConfig(size_px=96, objects=(4, 4), mask="projection")
    sc = render_scene(SHAPES, EPI1, cfg, rng=0)
    assert sc.image.shape == (96, 96) and sc.image.dtype == np.uint16
    assert sc.instances.dtype == np.uint16 and sc.mask.dtype == np.uint8
    labels = set(np.unique(sc.instances)) - {0}
    assert labels == {o["label"] for o in sc.objects}
    np.testing.assert_array_equal(sc.mask, (sc.instances > 0).astype(np.uint8))
    assert {o["class"] for o in sc.objects} <= {"rod", "dot"}
    # each object's projection is one label: no pixel claimed twice when overlap is not allowed
    for o in sc.objects:
        assert np.any(sc.instances == o["label"])


def test_same_seed_same_scene():
    cfg = SceneConfig(size_px=64, objects=(1, 3))
    a, b = (render_scene(SHAPES, EPI1, cfg, rng=5) for _ in range(2))
    assert a.image.tobytes() == b.image.tobytes() and a.objects == b.objects


def test_bad_objects_range():
    with pytest.raises(ValueError, match="MIN-MAX"):
        SceneConfig(objects=(3, 1))


def test_write_dataset_layout(tmp_path):
    out = write_dataset(SHAPES, EPI1, tmp_path / "ds", n=3, scene=SceneConfig(size_px=64,
                        objects=(1, 2)), seed=0, workers=1)  # fmt: skip
    names = sorted(p.name for p in (out / "images").iterdir())
    assert names == ["img_000000.tif", "img_000001.tif", "img_000002.tif"]
    for sub, dtype in (("images", np.uint16), ("masks", np.uint8), ("instances", np.uint16)):
        assert sorted(p.name for p in (out / sub).iterdir()) == names
        assert tifffile.imread(out / sub / names[0]).dtype == dtype
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["n"] == 3 and len(meta["images"]) == 3 and meta["microscope"]["name"] == "Epi1"
    with pytest.raises(FileExistsError):
        write_dataset(SHAPES, EPI1, out, n=1, workers=1)


def test_dataset_same_bytes_with_one_or_two_workers(tmp_path):
    cfg = SceneConfig(size_px=48, objects=(1, 2))
    a = write_dataset(SHAPES, EPI1, tmp_path / "a", n=2, scene=cfg, seed=3, workers=1)
    b = write_dataset(SHAPES, EPI1, tmp_path / "b", n=2, scene=cfg, seed=3, workers=2)
    for sub in ("images", "masks", "instances"):
        for name in ("img_000000.tif", "img_000001.tif"):
            assert (a / sub / name).read_bytes() == (b / sub / name).read_bytes()
