"""Morphology: rotating-calipers rectangle, classes, per-image density, comparison, 3D."""

import numpy as np
import pytest
from skimage.draw import polygon

from segtrain import (
    QuantifyParams,
    compare_morphology,
    min_area_rect,
    quantify_mask,
    quantify_masks,
)


def test_rect_of_axis_aligned_bar():
    m = np.zeros((20, 40), bool)
    m[5:9, 3:33] = True  # 4 x 30 pixels
    w, h, ang = min_area_rect(np.argwhere(m))
    assert (w, h) == (4.0, 30.0) and ang == pytest.approx(0.0)


def test_rect_of_rotated_rectangle():
    # A 10 x 40 rectangle rotated by 30 degrees: the calipers find its sides, not the bbox.
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    pts = np.array([[-20, -5], [20, -5], [20, 5], [-20, 5]]) @ np.array([[c, s], [-s, c]])
    rr, cc = polygon(pts[:, 1] + 50, pts[:, 0] + 50, (100, 100))
    m = np.zeros((100, 100), bool)
    m[rr, cc] = True
    w, h, ang = min_area_rect(np.argwhere(m))
    assert w == pytest.approx(10, abs=1.5) and h == pytest.approx(40, abs=1.5)
    assert min(abs(ang - 30), abs(ang - 150)) < 5


def test_classes_density_and_units():
    m = np.zeros((100, 100), np.uint8)
    m[10:20, 10:20] = 1  # round, 100 px
    m[40:44, 10:60] = 1  # tubular, aspect > 3
    m[70:72, 70:72] = 1  # fragmented (4 px)
    p = QuantifyParams(pixel_size_nm=50, fragment_max_area_um2=0.02)
    t = quantify_mask(m, params=p)
    assert sorted(t["class"]) == ["fragmented", "round", "tubular"]
    assert t.loc[t["area_px"] == 100, "area_um2"].item() == pytest.approx(100 * 0.05**2)
    objs, per = quantify_masks({"a": m}, params=p)
    assert per["count"].item() == 3
    assert per["density_per_um2"].item() == pytest.approx(3 / (100 * 100 * 0.05**2))


def test_compare_relative_error_and_fold_change():
    gt = np.zeros((50, 50), np.uint8)
    gt[10:20, 10:20] = 1
    pred = np.zeros_like(gt)
    pred[10:20, 10:30] = 1  # twice the area, twice the height
    p = QuantifyParams(pixel_size_nm=10)
    _, a = quantify_masks({"x": pred}, params=p)
    _, b = quantify_masks({"x": gt}, params=p)
    c = compare_morphology(a, b).set_index("parameter")
    assert c.loc["mean_area_um2", "fold_change"] == pytest.approx(2.0)
    assert c.loc["mean_area_um2", "relative_error"] == pytest.approx(1.0)
    assert c.loc["count", "relative_error"] == 0


def test_quantify_volume_two_boxes():
    from segtrain import quantify_volume

    v = np.zeros((12, 20, 30), np.uint8)
    v[2:8, 2:8, 2:20] = 1
    v[2:5, 12:16, 24:28] = 1
    t = quantify_volume(v, voxel_size_nm=10)
    assert len(t) == 2
    assert sorted(t["n_voxels"]) == [48, 648]
    assert t["voxel_volume_um3"].max() == pytest.approx(648 * 1e-6)
    assert "volume_um3" not in t.columns and "mesh_volume_um3" in t.columns


def test_connectivity_is_4_or_8():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="connectivity"):
        QuantifyParams(pixel_size_nm=1, connectivity=6)
