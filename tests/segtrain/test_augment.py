"""Each augmentation on a known image: what it must keep, what it must change, and its seed."""

import numpy as np
import pytest

from segtrain import AugmentConfig, augment_patch
from segtrain.training._augment import Geometry, sample_patch

OFF = AugmentConfig.none()


def _disk(size=64, r=12.0, cy=None, cx=None):
    yy, xx = np.mgrid[:size, :size]
    cy = (size - 1) / 2 if cy is None else cy
    cx = (size - 1) / 2 if cx is None else cx
    m = ((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r).astype(np.uint8)
    return m.astype(np.float32), m


def _only(**kw) -> AugmentConfig:
    return OFF.model_copy(update=kw)


def test_no_augmentation_is_the_identity():
    im, m = _disk()
    a, b = augment_patch(im, m, 0, config=OFF)
    assert np.array_equal(a, im) and np.array_equal(b, m)


@pytest.mark.parametrize("seed", range(4))
def test_any_angle_rotation_keeps_a_disk_area_and_centre(seed):
    im, m = _disk(cy=30.0, cx=34.0)
    cfg = _only(warp_p=1.0, rotate_deg=180, scale=0, elastic_px=0)
    a, b = augment_patch(im, m, seed, config=cfg)
    assert abs(int(b.sum()) - int(m.sum())) <= 0.02 * m.sum()
    # The disk's centre turns about the patch centre: its distance from it is kept.
    yy, xx = np.nonzero(b)
    c = (63 / 2, 63 / 2)
    before = np.hypot(30.0 - c[0], 34.0 - c[1])
    assert abs(np.hypot(yy.mean() - c[0], xx.mean() - c[1]) - before) < 0.5
    # Image and mask stay aligned.
    assert np.mean((a >= 0.5) == b.astype(bool)) > 0.995


def test_a_quarter_turn_by_the_warp_equals_rot90():
    rng = np.random.default_rng(0)
    im = rng.random((1, 40, 40)).astype(np.float32)
    m = (im[0] > 0.5).astype(np.uint8)
    quarter = Geometry(matrix=np.array([[0.0, -1.0], [1.0, 0.0]]))
    a, b = sample_patch(im, m, (19.5, 19.5), 40, quarter)
    np.testing.assert_allclose(a[0], np.rot90(im[0], -1), atol=1e-5)
    assert np.array_equal(b, np.rot90(m, -1))


def test_scale_changes_area_by_the_square_of_the_zoom():
    im, m = _disk(r=10)
    zoom = 1.25
    g = Geometry(matrix=np.eye(2) / zoom)
    _, b = sample_patch(im[None], m, (31.5, 31.5), 64, g)
    assert b.sum() / m.sum() == pytest.approx(zoom**2, rel=0.04)
    cfg = _only(warp_p=1.0, rotate_deg=0, scale=0.3, elastic_px=0)
    areas = [augment_patch(im, m, s, config=cfg)[1].sum() / m.sum() for s in range(20)]
    assert min(areas) >= 0.7**2 * 0.95 and max(areas) <= 1.3**2 * 1.05
    assert max(areas) / min(areas) > 1.2  # the zoom does vary


def test_elastic_deforms_but_keeps_mask_and_image_aligned():
    yy, xx = np.mgrid[:64, :64]
    im = (0.5 + 0.5 * np.sin(xx / 5.0) * np.cos(yy / 7.0)).astype(np.float32)
    m = (im > 0.6).astype(np.uint8)
    cfg = _only(warp_p=1.0, rotate_deg=0, scale=0, elastic_px=4.0, elastic_spacing_px=16)
    a, b = augment_patch(im, m, 3, config=cfg)
    assert np.mean(b == m) < 0.97  # really deformed
    inside = (slice(4, -4), slice(4, -4))
    assert np.mean((a > 0.6)[inside] == b.astype(bool)[inside]) > 0.98


def test_blur_smooths_an_edge_and_keeps_the_mean():
    im = np.zeros((32, 32), np.float32)
    im[:, 16:] = 1
    m = (im > 0).astype(np.uint8)
    for seed in range(5):
        a, b = augment_patch(im, m, seed, config=_only(blur_p=1.0, blur_sigma_px=2.0))
        step = np.abs(np.diff(a, axis=1)).max()
        assert step < 0.95  # the unit step is spread over several pixels
        assert np.all(np.diff(a, axis=1) >= -1e-6)  # still a monotone edge
        assert a.mean() == pytest.approx(im.mean(), abs=0.01)
        assert np.array_equal(b, m)  # intensity changes never touch the mask


def test_contrast_is_linear_about_the_mean():
    rng = np.random.default_rng(1)
    im = rng.random((32, 32)).astype(np.float32)
    m = np.zeros((32, 32), np.uint8)
    a, _ = augment_patch(im, m, 5, config=_only(contrast=0.5))
    k = np.polyfit(im.ravel(), a.ravel(), 1)
    assert 0.5 <= k[0] <= 1.5 and abs(k[0] - 1) > 1e-3
    np.testing.assert_allclose(a, np.polyval(k, im), atol=1e-4)
    assert a.mean() == pytest.approx(im.mean(), abs=1e-4)


def test_gamma_is_a_power_within_its_range():
    im = np.linspace(0.05, 1, 32 * 32, dtype=np.float32).reshape(32, 32)
    m = np.zeros((32, 32), np.uint8)
    a, _ = augment_patch(im, m, 2, config=_only(gamma=0.4))
    keep = im < 0.99
    g = np.log(a[keep]) / np.log(im[keep])
    assert np.ptp(g) < 1e-3 and np.exp(-0.4) <= g.mean() <= np.exp(0.4)
    assert np.all(np.diff(a.ravel()) >= 0)  # order of intensities kept


def test_noise_is_bounded():
    im = np.full((64, 64), 0.5, np.float32)
    a, _ = augment_patch(im, np.zeros((64, 64), np.uint8), 0, config=_only(noise_std=0.05))
    assert 0 < (a - im).std() <= 0.05 * 1.1


def test_missing_section_flattens_a_neighbour_only():
    rng = np.random.default_rng(2)
    im = rng.random((3, 24, 24)).astype(np.float32)
    m = np.zeros((24, 24), np.uint8)
    a, _ = augment_patch(im, m, 0, config=_only(missing_section_p=1.0))
    assert np.array_equal(a[1], im[1])  # the centre slice is untouched
    for k in (0, 2):
        assert np.ptp(a[k]) == 0 and a[k][0, 0] == pytest.approx(im[k].mean())


def test_shifted_section_moves_a_neighbour_by_whole_pixels():
    rng = np.random.default_rng(3)
    im = rng.random((3, 24, 24)).astype(np.float32)
    m = np.zeros((24, 24), np.uint8)
    cfg = _only(shifted_section_p=1.0, shifted_section_px=3)
    a, _ = augment_patch(im, m, 1, config=cfg)
    assert np.array_equal(a[1], im[1])
    found = []
    for k in (0, 2):
        hits = [
            (dy, dx)
            for dy in range(-3, 4)
            for dx in range(-3, 4)
            if np.array_equal(a[k][4:-4, 4:-4], im[k][4 - dy : 20 - dy, 4 - dx : 20 - dx])
        ]
        assert len(hits) == 1
        found.append(hits[0])
    assert found != [(0, 0), (0, 0)]


def test_sections_leave_a_2d_patch_and_its_random_stream_alone():
    im, m = _disk()
    base = AugmentConfig(missing_section_p=0, shifted_section_p=0)
    with_sections = AugmentConfig(missing_section_p=1.0, shifted_section_p=1.0)
    a = augment_patch(im, m, 7, config=base)
    b = augment_patch(im, m, 7, config=with_sections)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_same_seed_same_patch_other_seed_other_patch():
    im, m = _disk()
    cfg = AugmentConfig(warp_p=1.0)
    a1, b1 = augment_patch(im, m, 11, config=cfg)
    a2, b2 = augment_patch(im, m, 11, config=cfg)
    a3, _ = augment_patch(im, m, 12, config=cfg)
    assert np.array_equal(a1, a2) and np.array_equal(b1, b2)
    assert not np.array_equal(a1, a3)


def test_non_square_patch_is_a_clear_error():
    with pytest.raises(ValueError, match="square"):
        augment_patch(np.zeros((8, 9), np.float32), np.zeros((8, 9), np.uint8), 0)
