"""Library summary (counts, sizes) and gallery picture."""

from __future__ import annotations

import numpy as np
import pytest

from shapelib import extract_library, library_gallery, library_summary
from shapelib._shape import ShapeParams


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    vol = np.zeros((20, 24, 40), np.uint8)
    vol[3:9, 4:10, 4:30] = 1
    vol[12:18, 12:18, 10:20] = 1
    out = tmp_path_factory.mktemp("lib") / "lib"
    extract_library(
        vol, out, voxel_size_nm=20,
        shape=ShapeParams(n_surface_points=300, n_occupancy_points=300), n_workers=1,
    )  # fmt: skip
    return out


def test_summary_counts_and_text(library):
    s = library_summary(library)
    assert s.n_instances == 2 and sum(s.counts.values()) == 2
    assert s.stats.loc["all", "count"] == 2
    assert "2 instances" in s.to_text()


def test_gallery_writes_a_png(library, tmp_path):
    path = library_gallery(library, tmp_path / "g.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="not in"):
        library_gallery(library, tmp_path / "h.png", shape_class="nope")


def test_summary_of_a_non_library(tmp_path):
    with pytest.raises(FileNotFoundError):
        library_summary(tmp_path)
