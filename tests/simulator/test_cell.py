"""Cell-like scenes: shapes in the cytoplasm, blur from out of focus, masks on in-focus light."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shapelib.io import read_tiff
from simulator import (
    EPI1,
    Acquisition,
    CellSceneConfig,
    SceneShape,
    plan_cell_scene,
    render_cell_scene,
    render_emitters,
    write_dataset,
)

from ._shapes import capsule, sphere

SHAPES = [SceneShape(capsule(900.0, 150.0), 1, "rod"), SceneShape(sphere(250.0), 2, "dot")]
CFG = CellSceneConfig(acquisition=Acquisition(size_px=96), objects=(25, 25),
                      cell_radius_um=(3.0, 4.0), depth_spread_nm=1500)  # fmt: skip


def test_every_mask_pixel_sits_on_in_focus_light():
    plan = plan_cell_scene(SHAPES, EPI1, CFG, rng=0)
    focal, half = plan.focal_depths_nm[0], EPI1.optics.dof_nm / 2
    near = np.abs(plan.emitters[:, 2] - focal) <= half  # emitters in the focal slab only
    w = np.full(len(plan.emitters), EPI1.labelling.photons_per_fluorophore)
    in_focus_light = render_emitters(plan.emitters[near], w[near], EPI1.optics, size_px=96,
                                     focal_depths_nm=(focal,))[0]  # fmt: skip
    all_light = render_emitters(plan.emitters, w, EPI1.optics, size_px=96,
                                focal_depths_nm=(focal,))[0]  # fmt: skip
    mask = plan.instances[0] > 0
    assert mask.sum() > 50
    level = np.percentile(in_focus_light[mask], 99)
    assert in_focus_light[mask].min() > 0.05 * level
    # objects out of focus are not in the truth, but their blur reaches the image
    out = [o for o in plan.objects if not o["in_focus"]]
    assert out and all(o["label"] == 0 for o in out)
    labels = {o["label"] for o in plan.objects if o["in_focus"]}
    assert set(np.unique(plan.instances)) - {0} <= labels
    blur = all_light - in_focus_light
    assert blur[~mask].sum() > 0.2 * all_light[~mask].sum()


def test_shapes_stay_in_the_cytoplasm_and_the_haze_in_the_cell():
    cfg = CFG.model_copy(update={"haze_blur_nm": 200.0})
    plan = plan_cell_scene(SHAPES, EPI1, cfg, rng=1)
    mask = plan.instances[0] > 0
    assert not np.any(mask & plan.nucleus) and not np.any(mask & ~plan.cell)
    assert plan.nucleus.any() and (plan.cell & ~plan.nucleus).any()
    bg = plan.background[0]
    a2 = (EPI1.optics.pixel_size_nm / 1000) ** 2  # um^2 per pixel
    # autofluorescence everywhere in the cell; far outside the cell nothing
    from scipy.ndimage import distance_transform_edt

    far = distance_transform_edt(~plan.cell) * EPI1.optics.pixel_size_nm > 5 * cfg.haze_blur_nm
    assert far.any() and bg[far].max() < 1e-3 * bg.max()
    deep = distance_transform_edt(plan.cell) * EPI1.optics.pixel_size_nm > 5 * cfg.haze_blur_nm
    assert deep.any()
    assert bg[deep].min() >= 0.99 * cfg.autofluorescence_photons_per_um2 * a2
    # the cytosol adds its dome of thickness over the cytoplasm: well above autofluorescence
    assert bg[deep & ~plan.nucleus].max() > 2 * cfg.autofluorescence_photons_per_um2 * a2


def test_cell_scene_determinism_stack_and_dataset(tmp_path):
    a = render_cell_scene(SHAPES, EPI1, CFG, rng=5)
    b = render_cell_scene(SHAPES, EPI1, CFG, rng=5)
    assert a.image.tobytes() == b.image.tobytes() and a.objects == b.objects
    assert a.image.shape == (96, 96) and a.mask.dtype == np.uint8
    stack = CFG.model_copy(update={"acquisition": Acquisition(size_px=64, z_planes=3)})
    sc = render_cell_scene(SHAPES, EPI1, stack.model_copy(update={"objects": (8, 8)}), rng=2)
    assert sc.image.shape == sc.instances.shape == sc.labels.shape == (3, 64, 64)
    out = write_dataset(SHAPES, EPI1, tmp_path / "ds", n=2, scene=CFG, workers=1)
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["scene"]["kind"] == "cell" and len(meta["images"]) == 2
    assert read_tiff(out / "masks" / "img_000001.tif").data.shape == (96, 96)


def test_cell_config_is_checked():
    with pytest.raises(ValueError, match="MIN, MAX"):
        CellSceneConfig(objects=(30, 10))
    with pytest.raises(ValueError, match="nucleus_fraction"):
        CellSceneConfig(nucleus_fraction=(0.5, 0.95))
