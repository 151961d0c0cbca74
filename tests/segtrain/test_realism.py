"""The realism two-sample test: region splits, AUC, and its two known answers on real data."""

from __future__ import annotations

import numpy as np
import pytest

from segtrain import Crops, realism_test, region_crops, roc_auc, two_sample_auc
from shapelib import InputError


def test_roc_auc_known_answers():
    y = np.r_[np.zeros(50), np.ones(50)]
    assert roc_auc(np.r_[np.zeros(50), np.ones(50)], y) == 1.0
    assert roc_auc(np.r_[np.ones(50), np.zeros(50)], y) == 0.0
    assert roc_auc(np.ones(100), y) == 0.5  # ties count half
    with pytest.raises(InputError, match="both classes"):
        roc_auc(np.ones(5), np.ones(5))


def test_crops_of_two_regions_are_never_neighbours():
    img = np.random.default_rng(0).normal(size=(512, 512))
    c = region_crops(img, crop_px=64, region_px=256)
    assert len(np.unique(c.groups)) == 4 and c.images.shape[1:] == (64, 64)
    assert np.all(np.bincount(c.groups) == 6 * 6) and c.images.dtype == np.float32
    # the gap between crops of different regions is at least half a crop
    y, x = c.corners[:, 0], c.corners[:, 1]
    gap_y = np.maximum(y[:, None], y[None, :]) - (np.minimum(y[:, None], y[None, :]) + 64)
    gap_x = np.maximum(x[:, None], x[None, :]) - (np.minimum(x[:, None], x[None, :]) + 64)
    other = c.groups[:, None] != c.groups[None, :]
    assert np.maximum(gap_y, gap_x)[other].min() >= 32
    np.testing.assert_allclose(c.images[0], region_crops(img[16:80, 16:80], crop_px=64).images[0])
    with pytest.raises(InputError, match="cannot hold"):
        region_crops(img, crop_px=64, region_px=80)


def _real_halves(real, crop_px=32, region_px=128):
    c = region_crops(real, crop_px=crop_px, region_px=region_px, stride_px=crop_px)
    n = real.shape[1] // region_px
    gy, gx = np.divmod(c.groups - c.groups.min(), n)
    half = (gy + gx) % 2 == 0  # a checkerboard of regions: two exchangeable halves
    return Crops(c.images[half], c.groups[half]), Crops(c.images[~half], c.groups[~half])


@pytest.mark.realdata
def test_two_halves_of_the_real_image_cannot_be_told_apart(shared_data):
    import tifffile

    real = tifffile.imread(shared_data / "fluorescence" / "mcc13_human_mito_80nm.tif")
    a, b = _real_halves(real[:, :640])
    score = two_sample_auc(a, b, folds=2, epochs=4, seed=0, threads=1)
    assert abs(score.auc - 0.5) < 0.15, score


@pytest.mark.realdata
def test_a_trivially_different_synthetic_is_told_apart(shared_data):
    import tifffile
    from scipy.ndimage import gaussian_filter

    real = tifffile.imread(shared_data / "fluorescence" / "mcc13_human_mito_80nm.tif")[:512, :512]
    rng = np.random.default_rng(0)
    smooth = [100 + 50 * gaussian_filter(rng.normal(size=(128, 128)), 3) for _ in range(8)]
    result = realism_test(real, {"smooth, noise-free": smooth}, crop_px=32, region_px=128,
                          folds=2, epochs=4, seed=0, threads=1)  # fmt: skip
    score = result.scores["smooth, noise-free"]
    assert score.auc > 0.95, score
    assert result.summary()["auc"]["smooth, noise-free"]["mean"] == score.auc


def test_realism_test_checks_its_inputs():
    with pytest.raises(InputError, match="at least one set"):
        realism_test(np.zeros((256, 256)), {})
    with pytest.raises(InputError, match="holds no image"):
        realism_test(np.random.default_rng(0).normal(size=(256, 256)), {"x": []}, crop_px=32,
                     region_px=64)  # fmt: skip
