"""Multi-object fields of view and the dataset writer."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pydantic import ValidationError

from shapelib.io import read_tiff
from simulator import EPI1, Acquisition, SceneConfig, SceneShape, render_scene, write_dataset

from ._shapes import capsule, sphere

SHAPES = [SceneShape(capsule(1000.0, 200.0), 1, "rod"), SceneShape(sphere(300.0), 2, "dot")]


def test_scene_objects_do_not_overlap_and_truth_matches():
    cfg = SceneConfig(acquisition=Acquisition(size_px=96, mask="projection"), objects=(4, 4))
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
    cfg = SceneConfig(acquisition=Acquisition(size_px=64), objects=(1, 3))
    a, b = (render_scene(SHAPES, EPI1, cfg, rng=5) for _ in range(2))
    assert a.image.tobytes() == b.image.tobytes() and a.objects == b.objects


def test_bad_objects_range_and_old_flat_fields():
    with pytest.raises(ValueError, match="MIN-MAX"):
        SceneConfig(objects=(3, 1))
    with pytest.raises(ValidationError, match="size_px"):  # now acquisition.size_px
        SceneConfig.model_validate({"size_px": 64})
    assert SceneConfig().acquisition.size_px == 256


def test_z_stack_scene_has_a_label_volume_on_the_stack_grid():
    acq = Acquisition(size_px=64, z_planes=5, z_step_nm=250, focal_depth_nm=2500.0)
    cfg = SceneConfig(acquisition=acq, objects=(3, 3), depth_spread_nm=0.0)
    sc = render_scene(SHAPES, EPI1, cfg, rng=1)
    assert sc.image.shape == sc.expected.shape == sc.instances.shape == (5, 64, 64)
    assert sc.labels.shape == (5, 64, 64) and sc.labels.dtype == np.uint16
    np.testing.assert_array_equal(sc.mask, (sc.instances > 0).astype(np.uint8))
    # every object sits at the middle plane's depth: it is largest there, and present there
    areas = (sc.labels > 0).sum(axis=(1, 2))
    assert areas[2] == areas.max() > 0 and areas[0] < areas[2]
    assert set(np.unique(sc.labels[2])) - {0} == {o["label"] for o in sc.objects}
    # the middle plane of the stack is in focus: it holds the sharpest light
    assert sc.expected[2].max() > sc.expected[0].max()
    # the same scene as a 2D image is the stack's middle plane of truth
    flat = render_scene(SHAPES, EPI1, cfg.model_copy(update={"acquisition": Acquisition(
        size_px=64, focal_depth_nm=2500.0)}), rng=1)  # fmt: skip
    np.testing.assert_array_equal(flat.instances, sc.instances[2])
    np.testing.assert_array_equal(flat.labels[0], sc.labels[2])


def test_write_dataset_layout(tmp_path):
    cfg = SceneConfig(acquisition=Acquisition(size_px=64), objects=(1, 2))
    calls = []
    out = write_dataset(SHAPES, EPI1, tmp_path / "ds", n=3, scene=cfg, seed=0, workers=1,
                        progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    assert calls == [(1, 3), (2, 3), (3, 3)]
    names = sorted(p.name for p in (out / "images").iterdir())
    assert names == ["img_000000.tif", "img_000001.tif", "img_000002.tif"]
    for sub, dtype in (("images", np.uint16), ("masks", np.uint8), ("instances", np.uint16)):
        assert sorted(p.name for p in (out / sub).iterdir()) == names
        img = read_tiff(out / sub / names[0])
        assert img.data.dtype == dtype and img.data.shape == (64, 64)
        assert img.pixel_size_nm == pytest.approx((109.0, 109.0)) and img.z_step_nm is None
    assert not (out / "labels").exists()
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["n"] == 3 and len(meta["images"]) == 3 and meta["microscope"]["name"] == "Epi1"
    # The one reader of dataset.json (the web app's).
    from simulator.io import read_dataset_info

    info = read_dataset_info(out)
    assert (info.n, info.microscope, info.seed) == (3, "Epi1", 0)
    assert [e.name for e in info.images] == names and info.pixel_size_nm == 109.0
    assert [len(e.objects) for e in info.images] == [len(e["objects"]) for e in meta["images"]]
    assert read_dataset_info(out / "images") is None  # a folder without one
    with pytest.raises(FileExistsError):
        write_dataset(SHAPES, EPI1, out, n=1, workers=1)


def test_z_stack_dataset_tiffs_keep_pixel_size_and_z_step(tmp_path):
    acq = Acquisition(size_px=32, z_planes=3, z_step_nm=300)
    cfg = SceneConfig(acquisition=acq, objects=(1, 1))
    out = write_dataset(SHAPES, EPI1, tmp_path / "ds", n=1, scene=cfg, workers=1)
    for sub in ("images", "masks", "instances", "labels"):
        img = read_tiff(out / sub / "img_000000.tif")
        assert img.data.shape == (3, 32, 32)
        assert img.pixel_size_nm == pytest.approx((109.0, 109.0))
        assert img.z_step_nm == pytest.approx(300.0)
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["z_step_nm"] == 300 and meta["scene"]["acquisition"]["z_planes"] == 3


def test_dataset_image_k_depends_on_seed_and_k_only(tmp_path):
    cfg = SceneConfig(acquisition=Acquisition(size_px=48), objects=(1, 2))
    a = write_dataset(SHAPES, EPI1, tmp_path / "a", n=1, scene=cfg, seed=3, workers=1)
    b = write_dataset(SHAPES, EPI1, tmp_path / "b", n=2, scene=cfg, seed=3, workers=1)
    name = "img_000000.tif"
    assert (a / "images" / name).read_bytes() == (b / "images" / name).read_bytes()
    assert (b / "images" / name).read_bytes() != (b / "images" / "img_000001.tif").read_bytes()


def test_dataset_same_bytes_with_one_or_two_workers(tmp_path):
    cfg = SceneConfig(acquisition=Acquisition(size_px=48), objects=(1, 2))
    a = write_dataset(SHAPES, EPI1, tmp_path / "a", n=2, scene=cfg, seed=3, workers=1)
    b = write_dataset(SHAPES, EPI1, tmp_path / "b", n=2, scene=cfg, seed=3, workers=2)
    for sub in ("images", "masks", "instances"):
        for name in ("img_000000.tif", "img_000001.tif"):
            assert (a / sub / name).read_bytes() == (b / sub / name).read_bytes()
