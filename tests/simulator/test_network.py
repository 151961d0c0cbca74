"""Tubule networks: widths, lengths and junction degrees against their parameters; exact truth
of tubes against closed forms; membrane fluorophores on the membrane."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator import EPI1, Labelling, TubuleConfig, grow_network
from simulator._tubes import stamp_disks, tube_emitters, visible_growth_nm


class Slab:
    """A big flat region: cytoplasm everywhere in a square, 2 um thick."""

    def __init__(self, side_nm=200_000.0, top_nm=2000.0):
        self.side, self.top = side_nm, top_nm

    def top_nm(self, x, y):
        return self.top if (0 <= x < self.side and 0 <= y < self.side) else 0.0

    def seed_point(self, rng, margin_nm):
        c = self.side / 2
        return np.array([*rng.uniform(c - 20_000, c + 20_000, 2), rng.uniform(300, 1700)])


def grow(cfg, area_um2=400.0, seed=0, region=None):
    return grow_network(cfg, area_um2=area_um2, region=region or Slab(), rng=seed)


def test_widths_lengths_and_total_follow_the_parameters():
    cfg = TubuleConfig(width_nm=(250.0, 350.0), length_um=(2.0, 6.0), fusion=(1.0, 1.0),
                       density_um_per_um2=(0.5, 0.5), branch_per_um=0.0)  # fmt: skip
    net = grow(cfg)
    assert net.n_networks == len(net.tubules) > 10  # no branches: one tubule per network
    diam = np.array([2 * np.median(t.radius) for t in net.tubules])
    assert diam.min() >= 250 * 0.85 and diam.max() <= 350 * 1.15
    assert 280 <= diam.mean() <= 320
    lengths = np.array([t.length_nm for t in net.tubules]) / 1000
    step_um = cfg.step_nm / 1000
    assert lengths.min() >= 2.0 - step_um and lengths.max() <= 6.0 + step_um
    # total length: density x area, the last tubule may overshoot by one tubule
    assert 0.5 * 400 <= net.total_length_um <= 0.5 * 400 + 6.0 + step_um


def test_fragmented_cells_have_short_unbranched_pieces():
    cfg = TubuleConfig(fusion=(0.0, 0.0), fragment_length_um=(0.5, 1.5), branch_per_um=2.0)
    net = grow(cfg, area_um2=100.0)
    lengths = np.array([t.length_nm for t in net.tubules]) / 1000
    assert lengths.max() <= 1.5 + cfg.step_nm / 1000 and lengths.min() >= 0.5 - 0.05
    assert len(net.junction_degrees()) == 0  # fusion 0: no branching


def test_junctions_have_degree_three_or_four_in_the_asked_mix():
    cfg = TubuleConfig(fusion=(1.0, 1.0), branch_per_um=0.5, degree4_fraction=0.3)
    degrees = np.concatenate([grow(cfg, area_um2=300.0, seed=s).junction_degrees()
                              for s in range(4)])  # fmt: skip
    assert len(degrees) > 80
    assert set(np.unique(degrees)) <= {3, 4}
    assert abs(np.mean(degrees == 4) - 0.3) < 0.1


def test_tubules_stay_in_the_cytoplasm_and_between_coverslip_and_top():
    region = Slab(side_nm=30_000.0, top_nm=1500.0)
    cfg = TubuleConfig(fusion=(1.0, 1.0), density_um_per_um2=(2.0, 2.0))
    net = grow(cfg, area_um2=900.0, region=region)
    for t in net.tubules:
        r_max = t.radius.max()
        assert t.points[:, :2].min() >= 0 and t.points[:, :2].max() < 30_000
        assert t.points[:, 2].min() >= r_max - 1 and t.points[:, 2].max() <= 1500 - r_max + 1
        # each tubule hangs on its parent where the parent is
        if t.parent >= 0:
            p = net.tubules[t.parent].points[t.parent_node]
            assert np.allclose(t.points[0], p)


def test_same_seed_same_network():
    cfg = TubuleConfig()
    a, b = grow(cfg, seed=3), grow(cfg, seed=3)
    assert len(a.tubules) == len(b.tubules)
    assert all(
        np.array_equal(s.points, t.points) for s, t in zip(a.tubules, b.tubules, strict=True)
    )


def test_config_is_checked():
    with pytest.raises(ValueError, match="MIN, MAX"):
        TubuleConfig(width_nm=(400.0, 200.0))
    with pytest.raises(ValueError, match="fusion"):
        TubuleConfig(fusion=(0.5, 1.5))


# --- the exact truth of a tube ------------------------------------------------------------


def test_stamped_disk_holds_the_pixel_centres_within_its_radius():
    a = 10.0
    out = stamp_disks((64, 64), np.array([[321.0, 305.0]]), np.array([123.0]), np.array([7]), a)
    jj, ii = np.meshgrid(np.arange(64), np.arange(64))
    want = ((jj + 0.5) * a - 321.0) ** 2 + ((ii + 0.5) * a - 305.0) ** 2 <= 123.0**2
    assert np.array_equal(out == 7, want)
    assert abs(want.sum() - math.pi * 12.3**2) < 2 * math.pi * 12.3  # about pi R^2


def _tube_truth(z_nm, kind, r=150.0, a=20.0):
    from simulator._cell import _network_truth
    from simulator._network import Network, Tubule

    x = np.arange(200.0, 1800.0, 40.0)
    pts = np.c_[x, np.full_like(x, 1000.0), np.full_like(x, z_nm)]
    net = Network([Tubule(pts, np.full(len(x), r), 0)], 1, 1.0)
    optics = EPI1.optics.model_copy(update={"pixel_size_nm": a})
    target, _ = _network_truth(net, (1000.0,), optics, 100, kind)
    return target[0] > 0, optics


@pytest.mark.parametrize("kind", ["in_focus", "projection", "visible"])
def test_a_tube_in_focus_has_its_closed_form_width(kind):
    mask, optics = _tube_truth(1000.0, kind)
    width = mask[:, 50].sum() * optics.pixel_size_nm  # a column across the tube
    want = 300.0 if kind != "visible" else math.sqrt(300.0**2 + optics.nominal_fwhm_nm**2)
    if kind == "visible":
        assert abs(visible_growth_nm(150.0, optics.nominal_fwhm_nm) * 2 + 300 - want) < 1e-9
    assert abs(width - want) <= optics.pixel_size_nm + 1e-6


def test_a_tube_far_from_focus_is_only_in_the_projection():
    far = 1000.0 + EPI1.optics.dof_nm / 2 + 150.0 + 50.0
    for kind in ("in_focus", "visible"):
        assert not _tube_truth(far, kind)[0].any()
    assert _tube_truth(far, "projection")[0].any()


def test_membrane_fluorophores_lie_on_the_membrane_at_the_asked_density():
    rng = np.random.default_rng(0)
    x = np.arange(0.0, 5001.0, 40.0)
    pts = np.c_[x, np.zeros_like(x), np.full_like(x, 1000.0)]
    r = np.full(len(x), 150.0)
    lab = Labelling(density_per_um2=2000.0)
    em = tube_emitters(pts, r, lab, rng=rng)
    area_um2 = (2 * math.pi * 150 * 5000 + 4 * math.pi * 150**2) / 1e6
    assert abs(len(em) - 2000 * area_um2) < 4 * math.sqrt(2000 * area_um2)
    inner = (em[:, 0] > 0) & (em[:, 0] < 5000)
    dist = np.hypot(em[inner, 1], em[inner, 2] - 1000.0)
    assert np.allclose(dist, 150.0, atol=1e-6)
