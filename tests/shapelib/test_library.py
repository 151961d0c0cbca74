"""extract_library on small phantom volumes: index files, classes, resume, refusal, determinism."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shapelib import ShapeParams, extract_instances, extract_library
from shapelib.phantoms import phantom_volume

SHAPE = ShapeParams(n_surface_points=2000, n_occupancy_points=2000)
CSV_COLUMNS = [
    "id", "class", "voxel_count", "mesh_volume_um3", "surface_area_um2", "skeleton_length_um",
    "n_branches", "n_junctions", "n_loops", "genus",
    "bbox_z0_px", "bbox_y0_px", "bbox_x0_px", "bbox_z1_px", "bbox_y1_px", "bbox_x1_px",
    "centroid_z_px", "centroid_y_px", "centroid_x_px", "touches_border",
]  # fmt: skip


def _files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes)."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _assert_same_library(a: Path, b: Path) -> None:
    fa, fb = _files(a), _files(b)
    assert sorted(fa) == sorted(fb)
    differ = [k for k in fa if fa[k] != fb[k]]
    assert not differ, f"files differ: {differ}"


@pytest.fixture(scope="module")
def phantoms():
    return phantom_volume(5, rng=1)


@pytest.fixture(scope="module")
def reference(phantoms, tmp_path_factory):
    """The library of ``phantoms`` built in one uninterrupted run in this process."""
    out = tmp_path_factory.mktemp("ref") / "lib"
    summary = extract_library(
        phantoms.labels, out, voxel_size_nm=phantoms.voxel_size_nm, shape=SHAPE, n_workers=1
    )
    return out, summary


def _build(phantoms, out, **kw):
    kw.setdefault("n_workers", 1)
    return extract_library(
        phantoms.labels, out, voxel_size_nm=phantoms.voxel_size_nm, shape=SHAPE, **kw
    )


def test_library_csv_has_one_row_per_instance_and_the_columns(phantoms, reference):
    out, summary = reference
    table = pd.read_csv(out / "library.csv", dtype={"folder": str})
    assert set(CSV_COLUMNS) <= set(table.columns)
    assert len(table) == len(phantoms.objects) == summary.n_instances
    assert list(table["id"]) == list(range(1, len(table) + 1))
    for iid, folder in zip(table["id"], table["folder"], strict=True):
        assert folder == f"{iid:06d}"
        meta = json.loads((out / folder / "meta.json").read_text())
        assert meta["id"] == iid
        for name in ("raw_mesh.off", "pointcloud.ply", "occupancies.npz"):
            assert (out / folder / name).is_file()
    assert (table["mesh_volume_um3"] > 0).all()
    assert (table["surface_area_um2"] > 0).all()
    assert set(table["touches_border"]) <= {True, False}


def test_every_phantom_gets_its_expected_class(phantoms, reference):
    out, _ = reference
    table = pd.read_csv(out / "library.csv").set_index("id")
    expected = {o["id"]: o["expected_class"] for o in phantoms.objects}
    got = {}
    for inst in extract_instances(phantoms.labels, voxel_size_nm=phantoms.voxel_size_nm):
        box = tuple(slice(o, o + s) for o, s in zip(inst.offset_vox, inst.mask.shape, strict=True))
        ids = np.unique(phantoms.labels[box][inst.mask])
        assert len(ids) == 1, (inst.id, ids)  # each instance is one whole phantom
        got[int(ids[0])] = table.loc[inst.id, "class"]
    assert got == expected


def test_library_json_has_parameters_and_versions(reference):
    out, _ = reference
    info = json.loads((out / "library.json").read_text())
    run = info["run"]
    assert run["extract"]["erode_radius_vox"] == 3.5
    assert run["extract"]["downsample"] == 1
    assert run["shape"]["n_surface_points"] == 2000
    assert run["input"]["voxel_size_nm"] == [30.0, 30.0, 30.0]
    assert run["seed"] == 0
    assert info["versions"]["numpy"] == np.__version__
    assert info["n_instances"] == 5


def test_interrupted_run_resumes_to_the_same_bytes(phantoms, reference, tmp_path):
    ref, _ = reference

    class Stop(Exception):
        pass

    def stop_after_two(done, total):
        if done >= 2:
            raise Stop

    out = tmp_path / "lib"
    with pytest.raises(Stop):
        _build(phantoms, out, progress=stop_after_two)
    assert not (out / "library.csv").exists()
    # Also a half-written folder (no meta.json, a cut mesh), as a crash leaves one.
    (out / "000002" / "meta.json").unlink()
    (out / "000002" / "raw_mesh.off").write_text("truncated")
    seen = []
    _build(phantoms, out, progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (1, 5)  # one was complete and not made again
    _assert_same_library(ref, out)  # the manifest included


def test_deleting_instances_after_a_run_and_rerunning_restores_them(phantoms, reference, tmp_path):
    ref, _ = reference
    out = tmp_path / "lib"
    shutil.copytree(ref, out)
    shutil.rmtree(out / "000002")
    (out / "000005" / "meta.json").unlink()
    (out / "library.csv").unlink()
    _build(phantoms, out)
    _assert_same_library(ref, out)


def test_a_different_library_is_refused_unless_overwrite(phantoms, reference, tmp_path):
    ref, _ = reference
    out = tmp_path / "lib"
    shutil.copytree(ref, out)
    with pytest.raises(FileExistsError, match="different library.*seed.*--overwrite"):
        _build(phantoms, out, seed=1)
    _assert_same_library(ref, out)  # untouched
    (out / "keep.txt").write_text("mine")
    _build(phantoms, out, seed=1, overwrite=True)
    assert (out / "keep.txt").read_text() == "mine"  # only the library's own files go
    assert json.loads((out / "library.json").read_text())["run"]["seed"] == 1
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("x")
    with pytest.raises(FileExistsError, match="did not write"):
        _build(phantoms, other)


def test_overwrite_keeps_the_users_files_and_folders(phantoms, reference, tmp_path):
    ref, _ = reference
    out = tmp_path / "lib"
    shutil.copytree(ref, out)
    (out / "2024").mkdir()  # an all-digit folder of the user's
    (out / "2024" / "notes.txt").write_text("mine")
    (out / "000001" / "my_annotation.txt").write_text("mine too")
    _build(phantoms, out, seed=2, overwrite=True)
    assert (out / "2024" / "notes.txt").read_text() == "mine"
    assert (out / "000001" / "my_annotation.txt").read_text() == "mine too"


def test_a_path_is_read_and_never_written_over(phantoms, tmp_path):
    from shapelib.io import write_volume

    tif = write_volume(tmp_path / "vol.tif", phantoms.labels, voxel_size_nm=phantoms.voxel_size_nm)
    before = tif.read_bytes()
    summary = extract_library(str(tif), tmp_path / "lib", shape=SHAPE, n_workers=1)
    assert summary.n_instances == 5
    for out in (tif, tmp_path):  # the input itself; a folder holding it
        with pytest.raises(FileExistsError, match="is an input|did not write"):
            extract_library(tif, out, shape=SHAPE, n_workers=1, overwrite=True)
    assert tif.read_bytes() == before


def test_exclude_border_drops_cut_instances_and_most_cut_warns(tmp_path, caplog):
    vol = np.zeros((12, 30, 60), np.uint8)
    vol[0:6, 5:12, 5:40] = 1  # touches z = 0
    vol[4:10, 18:26, 10:50] = 1  # inside
    vol[3:9, 14:20, 52:60] = 1  # touches x = end
    with caplog.at_level(logging.WARNING):
        found = extract_instances(vol, voxel_size_nm=10)
    assert sum(i.touches_border for i in found) == 2 and "--exclude-border" in caplog.text
    kept = extract_instances(vol, voxel_size_nm=10, params={"exclude_border": True})
    assert [i.id for i in kept] == [i.id for i in found if not i.touches_border]


@pytest.mark.parametrize(
    ("data", "size", "match"),
    [
        (np.ones((8, 8), np.uint8), 30, "3D"),
        (np.ones((2, 4, 8, 8), np.uint8), 30, "3D"),
        (np.full((4, 8, 8), 0.5), 30, "0/1 mask"),
        (np.ones((4, 8, 8), np.uint8), 0, "voxel"),
        (np.ones((4, 8, 8), np.uint8), float("nan"), "voxel"),
        (np.ones((4, 8, 8), np.uint8), None, "voxel"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(data, size, match, tmp_path):
    out = tmp_path / "lib"
    with pytest.raises(ValueError, match=match):
        extract_library(data, out, voxel_size_nm=size, shape=SHAPE, n_workers=1)
    assert not out.exists()


def test_empty_volume_gives_an_empty_library_and_a_warning(tmp_path, caplog):
    out = tmp_path / "lib"
    with caplog.at_level(logging.WARNING):
        summary = extract_library(
            np.zeros((6, 10, 12), np.uint8), out, voxel_size_nm=8, shape=SHAPE, n_workers=1
        )
    assert summary.n_instances == 0 and summary.counts == {}
    assert "no foreground" in caplog.text
    table = pd.read_csv(out / "library.csv")
    assert len(table) == 0 and "class" in table.columns
    assert json.loads((out / "library.json").read_text())["n_instances"] == 0
    assert not [p for p in out.iterdir() if p.is_dir()]


def test_same_seed_same_bytes_with_one_and_two_workers(phantoms, reference, tmp_path):
    ref, _ = reference
    out = tmp_path / "lib"
    _build(phantoms, out, n_workers=2)
    _assert_same_library(ref, out)


def _check_library_files(out: Path, voxel_size_nm: float) -> int:
    """Every output file of a library is valid; returns the number of instances checked."""
    import trimesh

    table = pd.read_csv(out / "library.csv", dtype={"folder": str})
    info = json.loads((out / "library.json").read_text())
    assert info["n_instances"] == len(table)
    n_occ = info["run"]["shape"]["n_occupancy_points"]
    n_pts = info["run"]["shape"]["n_surface_points"]
    for row in table.itertuples():
        folder = out / row.folder
        meta = json.loads((folder / "meta.json").read_text())
        mesh = trimesh.load(folder / "raw_mesh.off", process=False, force="mesh")
        assert mesh.is_watertight and mesh.is_winding_consistent, row.id
        assert mesh.volume > 0
        # Vertices in nm inside the instance's box (x, y, z), one voxel of slack.
        lo = np.array([row.bbox_x0_px, row.bbox_y0_px, row.bbox_z0_px]) * voxel_size_nm
        hi = np.array([row.bbox_x1_px, row.bbox_y1_px, row.bbox_z1_px]) * voxel_size_nm
        assert np.all(mesh.vertices >= lo - voxel_size_nm) and np.all(mesh.vertices <= hi + 1)
        assert mesh.volume / 1e9 == pytest.approx(row.mesh_volume_um3, rel=1e-6)
        assert mesh.volume / 1e9 == pytest.approx(row.voxel_count * voxel_size_nm**3 / 1e9, rel=0.1)
        # pointcloud.ply: ascii x y z nx ny nz, unit-cube coordinates, unit normals.
        text = (folder / "pointcloud.ply").read_text()
        header, body = text.split("end_header\n")
        assert f"element vertex {n_pts}" in header
        ply = np.loadtxt(body.splitlines(), dtype=np.float64)
        assert ply.shape == (n_pts, 6)
        assert np.abs(ply[:, :3]).max() <= 0.5 + 1e-6
        assert np.allclose(np.linalg.norm(ply[:, 3:], axis=1), 1, atol=1e-4)
        # occupancies.npz: 3DMSL keys, dtypes and shapes; labels agree with the mesh.
        with np.load(folder / "occupancies.npz") as npz:
            assert sorted(npz.files) == ["loc", "occupancies", "points", "scale"]
            pts, occ, loc, scale = (npz[k] for k in ("points", "occupancies", "loc", "scale"))
        assert pts.dtype == np.float16 and pts.shape == (n_occ, 3)
        assert np.abs(pts.astype(float)).max() <= 0.55 + 1e-3
        assert occ.dtype == np.uint8 and occ.shape == ((n_occ + 7) // 8,)
        assert loc.shape == (3,) and scale.shape == ()
        np.testing.assert_allclose(loc, meta["pointcloud"]["loc"], rtol=1e-6)
        inside = np.unpackbits(occ)[:n_occ].astype(bool)
        box_nm3 = (1.1 * float(scale)) ** 3
        frac = mesh.volume / box_nm3
        sigma = np.sqrt(frac * (1 - frac) / n_occ)
        assert abs(inside.mean() - frac) < 4 * sigma + 0.002, (row.id, inside.mean(), frac)
        assert meta["id"] == row.id and meta["class"] == row._3
    return len(table)


def test_lucchi_crop_every_output_is_valid(shared_data, tmp_path):
    from shapelib.io import read_volume

    vol = read_volume(shared_data / "lucchi_pp" / "test_labels_3d.tif", voxel_size_nm=5)
    crop = vol.data[0:40, 0:384, 0:512]
    shape = ShapeParams(n_surface_points=1000, n_occupancy_points=20000)
    summary = extract_library(crop, tmp_path / "lib", voxel_size_nm=5, shape=shape, n_workers=1)
    assert summary.n_instances >= 5
    assert _check_library_files(tmp_path / "lib", 5.0) == summary.n_instances


@pytest.mark.slow
def test_lucchi_whole_volume_every_output_is_valid(shared_data, tmp_path):
    from shapelib.io import read_volume

    vol = read_volume(shared_data / "lucchi_pp" / "test_labels_3d.tif", voxel_size_nm=5)
    shape = ShapeParams(n_surface_points=2000, n_occupancy_points=20000)
    summary = extract_library(vol, tmp_path / "lib", shape=shape)
    assert summary.n_instances >= 20
    assert _check_library_files(tmp_path / "lib", 5.0) == summary.n_instances
