"""Cell-like scenes: networks and shapes in the cytoplasm of cropped cells, blur from out of
focus, masks on in-focus light, background-only fields, variants and exports recorded."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.ndimage import distance_transform_edt

from shapelib.io import read_tiff
from simulator import (
    EPI1,
    Acquisition,
    CellSceneConfig,
    Export,
    SceneShape,
    TubuleConfig,
    plan_cell_scene,
    render_cell_scene,
    render_emitters,
    write_dataset,
)

from ._shapes import capsule, sphere

SHAPES = [SceneShape(capsule(900.0, 150.0), 1, "rod"), SceneShape(sphere(250.0), 2, "dot")]
# shapes only, one whole cell in view, the microscope as given: the shapes' own checks
SHAPES_ONLY = CellSceneConfig(
    acquisition=Acquisition(size_px=96, mask="in_focus"), objects=(25, 25), cells=(1, 1),
    empty_fraction=0.0, cell_radius_um=(8.0, 10.0), nucleus_fraction=(0.2, 0.25),
    depth_spread_nm=1500, tubules=None,
    randomize=None, cell_height_nm=(4000.0, 4000.0), focal_height_nm=(2000.0, 2000.0),
)  # fmt: skip
# networks only, the default mask (visible), fixed microscope
NETWORKS = CellSceneConfig(
    acquisition=Acquisition(size_px=96, mask="visible"), objects=(0, 0), cells=(1, 1),
    empty_fraction=0.0, cell_radius_um=(4.0, 5.0), randomize=None,
    focal_height_nm=(800.0, 800.0), tubules=TubuleConfig(density_um_per_um2=(1.5, 1.5)),
)  # fmt: skip


def test_every_mask_pixel_sits_on_in_focus_light():
    plan = plan_cell_scene(SHAPES, EPI1, SHAPES_ONLY, rng=0)
    focal, half = plan.focal_depths_nm[0], EPI1.optics.dof_nm / 2
    near = np.abs(plan.emitters[:, 2] - focal) <= half  # emitters in the focal slab only
    w = plan.brightness * EPI1.labelling.photons_per_fluorophore
    in_focus_light = render_emitters(plan.emitters[near], w[near], EPI1.optics, size_px=96,
                                     focal_depths_nm=(focal,))[0]  # fmt: skip
    all_light = render_emitters(plan.emitters, w, EPI1.optics, size_px=96,
                                focal_depths_nm=(focal,))[0]  # fmt: skip
    mask = plan.instances[0] > 0
    assert mask.sum() > 50
    level = np.percentile(in_focus_light[mask], 99)
    assert in_focus_light[mask].min() > 0.02 * level
    # objects out of focus are not in the truth, but their blur reaches the image
    out = [o for o in plan.objects if not o["in_focus"]]
    assert out and all(o["label"] == 0 for o in out)
    labels = {o["label"] for o in plan.objects if o["in_focus"]}
    assert set(np.unique(plan.instances)) - {0} <= labels
    blur = all_light - in_focus_light
    assert blur[~mask].sum() > 0.2 * all_light[~mask].sum()


def test_shapes_stay_in_the_cytoplasm_and_the_haze_in_the_cell():
    cfg = SHAPES_ONLY.model_copy(update={"haze_blur_nm": 200.0, "medium_photons_per_um2": (0, 0)})
    plans = (plan_cell_scene(SHAPES, EPI1, cfg, rng=k) for k in range(1, 20))
    plan = next(p for p in plans if p.nucleus.any() and not p.nucleus.all())
    mask = plan.instances[0] > 0
    assert not np.any(mask & plan.nucleus) and not np.any(mask & ~plan.cell)
    assert plan.nucleus.any() and (plan.cell & ~plan.nucleus).any()
    bg = plan.background[0]
    a = EPI1.optics.pixel_size_nm
    auto = plan.params["autofluorescence_photons_per_um2"] * (a / 1000) ** 2
    far = distance_transform_edt(~plan.cell) * a > 5 * cfg.haze_blur_nm
    deep = distance_transform_edt(plan.cell) * a > 5 * cfg.haze_blur_nm
    if far.any():  # outside the cell, far from it: no light (no medium here)
        assert bg[far].max() < 1e-3 * bg.max()
    assert deep.any() and bg[deep].min() >= 0.99 * auto
    # the cytosol adds its dome of thickness over the cytoplasm: above autofluorescence
    assert bg[deep & ~plan.nucleus].max() > 1.2 * auto


def test_networks_stay_in_the_cytoplasm_and_visible_holds_in_focus():
    plan_v = plan_cell_scene([], EPI1, NETWORKS, rng=2)
    cfg_f = NETWORKS.model_copy(update={"acquisition": Acquisition(size_px=96, mask="in_focus")})
    plan_f = plan_cell_scene([], EPI1, cfg_f, rng=2)  # the same draws, another mask
    vis, foc = plan_v.instances[0] > 0, plan_f.instances[0] > 0
    assert foc.sum() > 100 and np.all(vis[foc]) and vis.sum() > 1.15 * foc.sum()
    # centrelines run in the cytoplasm: in-focus pixels lie within a radius of it
    a = EPI1.optics.pixel_size_nm
    off = distance_transform_edt(~(plan_f.cell & ~plan_f.nucleus)) * a
    assert off[foc].max() <= 400.0 / 2 * 1.3 + a
    kinds = {o["kind"] for o in plan_v.objects}
    assert kinds == {"network"} and plan_v.params["tubule_length_um"] > 10


def test_a_field_without_cells_is_background_only():
    cfg = NETWORKS.model_copy(update={"empty_fraction": 1.0})
    sc = render_cell_scene(SHAPES, EPI1, cfg, rng=3)
    assert sc.mask.sum() == 0 and sc.objects == [] and sc.params["n_cells"] == 0
    assert sc.image.std() > 0  # camera noise


def test_variants_and_export_are_drawn_seeded_and_recorded():
    randomize = CellSceneConfig().randomize.model_copy(update={"optics_variants": 3})
    acq = Acquisition(size_px=48, mask="visible")
    update = {"randomize": randomize, "export": Export(mode="stretch8"), "acquisition": acq}
    cfg = NETWORKS.model_copy(update=update)
    a = render_cell_scene([], EPI1, cfg, rng=4)
    b = render_cell_scene([], EPI1, cfg, rng=4)
    assert a.image.tobytes() == b.image.tobytes() and a.params == b.params
    assert a.image.dtype == np.uint8 and a.params["export"] == "stretch8"
    lo, hi = a.params["low_level"], a.params["high_level"]
    assert abs(int(a.image.min()) - lo) <= 0.5 and abs(int(a.image.max()) - hi) <= 0.5
    px, px0 = a.params["pixel_size_nm"], EPI1.optics.pixel_size_nm
    assert 0.8 * px0 - 0.01 <= px <= 1.2 * px0 + 0.01
    seen = {render_cell_scene([], EPI1, cfg, rng=k).params["optics_variant"] for k in range(16)}
    assert seen == {0, 1, 2}


def test_cell_scene_determinism_stack_and_dataset(tmp_path):
    a = render_cell_scene(SHAPES, EPI1, SHAPES_ONLY, rng=5)
    b = render_cell_scene(SHAPES, EPI1, SHAPES_ONLY, rng=5)
    assert a.image.tobytes() == b.image.tobytes() and a.objects == b.objects
    assert a.image.shape == (96, 96) and a.mask.dtype == np.uint8
    acq = Acquisition(size_px=48, z_planes=3, mask="in_focus")
    stack = SHAPES_ONLY.model_copy(update={"acquisition": acq, "objects": (4, 4)})
    sc = render_cell_scene(SHAPES, EPI1, stack, rng=2)
    assert sc.image.shape == sc.instances.shape == sc.labels.shape == (3, 48, 48)
    out = write_dataset(SHAPES, EPI1, tmp_path / "ds", n=2, scene=NETWORKS, workers=1)
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["scene"]["kind"] == "cell" and len(meta["images"]) == 2
    assert "params" in meta["images"][0]
    assert read_tiff(out / "masks" / "img_000001.tif").data.shape == (96, 96)


def test_cell_config_is_checked():
    with pytest.raises(ValueError, match="MIN, MAX"):
        CellSceneConfig(objects=(30, 10))
    with pytest.raises(ValueError, match="nucleus_fraction"):
        CellSceneConfig(nucleus_fraction=(0.5, 0.95))
    # a scalar level is the range (v, v)
    assert CellSceneConfig(cytosol_photons_per_um3=200).cytosol_photons_per_um3 == (200, 200)
