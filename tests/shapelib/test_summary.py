"""library_summary and library_gallery: counts, statistics, errors, the picture."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shapelib import ShapeParams, extract_library, library_gallery, library_summary
from shapelib._summary import summarize_table


def test_summarize_table_counts_and_stats():
    table = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "class": ["rod", "dot", "rod", None],
            "voxel_count": [100, 10, 300, 50],
            "mesh_volume_um3": [1.0, 0.1, 3.0, 0.5],
            "surface_area_um2": [2.0, 0.5, 4.0, 1.0],
            "skeleton_length_um": [1.0, 0.2, 2.0, 0.4],
            "touches_border": [True, False, "true", False],
        }
    )
    s = summarize_table(table, path="lib")
    assert s.n_instances == 4
    assert s.counts == {"dot": 1, "rod": 2, "unclassified": 1}
    assert s.n_touching_border == 2
    assert s.stats.loc["all", "count"] == 4
    assert s.stats.loc["rod", "mesh_volume_um3_median"] == pytest.approx(2.0)
    assert s.stats.loc["rod", "voxel_count_max"] == 300
    text = s.to_text()
    assert "4 instances" in text and "rod 2" in text and "touching the volume border: 2" in text


def test_empty_table_summary():
    s = summarize_table(pd.DataFrame(columns=["id", "class", "voxel_count", "touches_border"]))
    assert s.n_instances == 0 and s.counts == {}
    assert "0 instances" in s.to_text()


def test_summary_of_a_folder_without_library_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="mitoshape extract"):
        library_summary(tmp_path)


@pytest.fixture(scope="module")
def small_library(tmp_path_factory):
    vol = np.zeros((16, 30, 60), np.uint8)
    vol[3:13, 3:13, 3:55] = 1  # a rod
    vol[5:11, 18:24, 10:16] = 1  # a dot
    out = tmp_path_factory.mktemp("sum") / "lib"
    shape = ShapeParams(n_surface_points=500, n_occupancy_points=500)
    extract_library(vol, out, voxel_size_nm=20, shape=shape, n_workers=1)
    return out


def test_library_summary_of_a_folder(small_library):
    s = library_summary(small_library)
    assert s.n_instances == 2 and sum(s.counts.values()) == 2


def test_a_format_1_table_reads_its_volume_as_the_mesh_volume(tmp_path):
    old = "id,folder,class,voxel_count,volume_um3\n1,000001,rod,9,0.5\n"
    (tmp_path / "library.csv").write_text(old)
    s = library_summary(tmp_path)
    assert s.stats.loc["rod", "mesh_volume_um3_median"] == pytest.approx(0.5)


def test_gallery_png_and_class_filter(small_library, tmp_path):
    import matplotlib

    backend = matplotlib.get_backend()
    s = library_summary(small_library)
    cls = next(iter(s.counts))
    png = library_gallery(small_library, tmp_path / "g.png", shape_class=cls, n_per_class=2)
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert matplotlib.get_backend() == backend  # the caller's backend is left alone
    assert not list(tmp_path.glob(".*tmp*"))  # written atomically, no temporary file left
    with pytest.raises(ValueError, match="not in"):
        library_gallery(small_library, tmp_path / "h.png", shape_class="nope")
    with pytest.raises(ValueError, match="n_per_class"):
        library_gallery(small_library, tmp_path / "h.png", n_per_class=0)
