"""Class rules: order and thresholds, and every phantom kind gets its class end to end."""

import numpy as np
import pytest
from pydantic import ValidationError

from shapelib import ClassThresholds, Instance, ShapeParams, Skeleton, build_shape, classify_shape
from shapelib import phantoms as ph


def _sk(length_um, n_junctions=0, n_loops=0):
    return Skeleton(length_um, 1 + 3 * n_junctions, n_junctions, 2, n_loops, (), np.zeros((0, 3)))


@pytest.mark.parametrize(
    "skel, volume, expected",
    [
        (_sk(50, n_loops=1), 5, "donut"),  # a loop wins over everything
        (_sk(0.5, n_loops=1), 0.01, "donut"),
        (_sk(0.9, n_junctions=2), 0.01, "dot"),  # dot before network
        (_sk(31, n_junctions=3), 5, "nano-tunnel"),  # nano-tunnel before mega
        (_sk(12), 1.5, "mega"),
        (_sk(12, n_junctions=2), 1.5, "mega"),
        (_sk(12), 0.5, "rod"),  # long but thin: not mega
        (_sk(3), 0.2, "rod"),
        (_sk(3, n_junctions=1), 0.2, "network"),
    ],
)
def test_rule_order(skel, volume, expected):
    assert classify_shape(skel, volume) == expected


def test_thresholds_are_parameters():
    t = ClassThresholds(dot_max_length_um=5)
    assert classify_shape(_sk(3), 0.2, thresholds=t) == "dot"
    with pytest.raises(ValidationError):
        ClassThresholds(dot_max_length_um=-1)
    with pytest.raises(ValidationError):
        ClassThresholds(unknown=1)
    # mega compares the mesh volume; the old field name still loads
    t = ClassThresholds(mega_min_mesh_volume_um3=2.0)
    assert classify_shape(_sk(12), 1.5, thresholds=t) == "rod"
    assert ClassThresholds(mega_min_volume_um3=2.0) == t
    assert "mega_min_mesh_volume_um3" in t.model_dump()


FAST = ShapeParams(n_surface_points=500, n_occupancy_points=500)


@pytest.mark.parametrize(
    "make",
    [
        lambda: ph.ellipsoid(voxel_size_nm=30),
        lambda: ph.capsule(2500, 150, voxel_size_nm=30),
        lambda: ph.capsule(3000, 150, voxel_size_nm=30, bend_deg=120),
        lambda: ph.torus(voxel_size_nm=30),
        lambda: ph.branched_tube(voxel_size_nm=30),
        lambda: ph.mega(voxel_size_nm=40),
        lambda: ph.nano_tunnel(voxel_size_nm=30),
    ],
)
def test_each_phantom_gets_its_class(make):
    p = make()
    s = build_shape(Instance(1, p.mask, (0, 0, 0), p.voxel_size_nm), FAST, rng=0)
    assert s.shape_class == p.expected_class
    assert s.measurements["genus"] == p.genus == s.measurements["n_loops"]
