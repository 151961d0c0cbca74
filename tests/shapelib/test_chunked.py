"""Chunked extraction gives the in-memory library, byte for byte, here, on a pool and on Dask."""

from __future__ import annotations

import numpy as np
import pytest

from shapelib import ExtractParams, InputError, ShapeParams, TaskRunner, extract_library
from shapelib._chunked import choose_block_shape, chunked_instances
from shapelib._fingerprint import content_fingerprint
from shapelib.io import open_volume
from shapelib.phantoms import phantom_volume

from .test_library import _assert_same_library, _files

SHAPE = ShapeParams(n_surface_points=300, n_occupancy_points=300)


@pytest.fixture(scope="module")
def phantoms():
    """Single phantoms and two touching pairs: objects the blocks below cut in every axis."""
    return phantom_volume(6, touching_pairs=2, rng=3)


@pytest.fixture(scope="module")
def reference(phantoms, tmp_path_factory):
    out = tmp_path_factory.mktemp("mem") / "lib"
    extract_library(phantoms.labels, out, voxel_size_nm=30, shape=SHAPE, n_workers=1)
    return out


def _zarr(path, data, chunks, zarr_format=3):
    import zarr

    arr = zarr.open_array(str(path), mode="w", shape=data.shape, dtype=data.dtype,
                          chunks=chunks, zarr_format=zarr_format)  # fmt: skip
    arr[...] = data
    return path


def _instances_equal(a, b):
    assert [i.id for i in a] == [r.id for r in b]
    for inst, rec in zip(a, b, strict=True):
        other = rec.to_instance()
        assert inst.offset_vox == other.offset_vox and inst.voxel_size_nm == other.voxel_size_nm
        assert inst.touches_border == other.touches_border
        assert inst.source_label == other.source_label and inst.extra == other.extra
        np.testing.assert_array_equal(inst.mask, other.mask)


@pytest.mark.parametrize("block_shape", [(23, 17, 29), 40])
def test_chunked_library_equals_the_in_memory_one(phantoms, reference, tmp_path, block_shape):
    out = tmp_path / "lib"
    extract_library(phantoms.labels, out, voxel_size_nm=30, shape=SHAPE, n_workers=1,
                    chunked=True, block_shape=block_shape)  # fmt: skip
    _assert_same_library(reference, out)  # library.csv, library.json, every instance's files


def test_zarr_v2_and_v3_chunked_equal_in_memory(phantoms, reference, tmp_path):
    for fmt in (2, 3):
        store = _zarr(tmp_path / f"v{fmt}.zarr", phantoms.labels, (32, 32, 32), fmt)
        vol = open_volume(store, voxel_size_nm=30)
        mem, blocks = tmp_path / f"mem{fmt}", tmp_path / f"blk{fmt}"
        extract_library(vol, mem, shape=SHAPE, n_workers=1, chunked=False)
        # two forked workers, after this process has read the store (zarr runs its own loop)
        extract_library(vol, blocks, shape=SHAPE, n_workers=2, chunked=True)
        _assert_same_library(mem, blocks)
        # the source (in meta.json and the index) differs from the array's; the shapes do not
        ref, got = _files(reference), _files(blocks)
        # (the manifest records the run, whose source differs too)
        shapes = [k for k in ref if not k.endswith((".json", ".csv", ".jsonl"))]
        assert len(shapes) >= 3 * 6 and all(ref[k] == got[k] for k in shapes)


@pytest.mark.parametrize(
    "params",
    [
        ExtractParams(instances=True),
        ExtractParams(instances=True, downsample=2, min_voxels=5),
        ExtractParams(downsample=3, erode_radius_vox=1.5, min_voxels=5),
        ExtractParams(labels=(2, 5, 7), connectivity=6),
        ExtractParams(erode_radius_vox=0, connectivity=18),
    ],
)
def test_every_extraction_mode_gives_the_same_instances(phantoms, params):
    from shapelib import extract_instances

    mem = extract_instances(phantoms.labels, voxel_size_nm=30, params=params, source="v")
    with TaskRunner(phantoms.labels, n_workers=1) as run:
        got = chunked_instances(phantoms.labels, voxel_size_nm=(30.0,) * 3, params=params,
                                runner=run, block_shape=(19, 26, 21), name="v")  # fmt: skip
    assert len(mem) > 0
    _instances_equal(mem, got.records)


def test_signed_and_float_volumes_are_checked_block_by_block(phantoms):
    from shapelib import extract_instances

    signed = phantoms.labels.astype(np.int16)
    mem = extract_instances(signed, voxel_size_nm=30)
    with TaskRunner(signed, n_workers=1) as run:
        got = chunked_instances(signed, voxel_size_nm=(30.0,) * 3, params=ExtractParams(),
                                runner=run, block_shape=32)  # fmt: skip
    _instances_equal(mem, got.records)
    assert got.dtype == "uint32"
    assert got.fingerprint == content_fingerprint(phantoms.labels.astype(np.uint32))
    bad = signed.copy()
    bad[-1, -1, -1] = -4
    with TaskRunner(bad, n_workers=1) as run, pytest.raises(InputError, match="-4"):
        chunked_instances(bad, voxel_size_nm=(30.0,) * 3, params=ExtractParams(),
                          runner=run, block_shape=32)  # fmt: skip
    image = np.full((8, 8, 8), 0.5, np.float32)
    with TaskRunner(image, n_workers=1) as run, pytest.raises(InputError, match="0/1 mask"):
        chunked_instances(image, voxel_size_nm=(8.0,) * 3, params=ExtractParams(), runner=run)


def test_an_empty_volume_gives_an_empty_library(tmp_path, caplog):
    out = tmp_path / "lib"
    summary = extract_library(np.zeros((9, 9, 9), np.uint8), out, voxel_size_nm=8,
                              n_workers=1, chunked=True, block_shape=4)  # fmt: skip
    assert summary.n_instances == 0
    assert "no foreground" in caplog.text


@pytest.mark.parametrize("chunked", [True, False])
def test_a_label_missing_from_the_volume_is_named(tmp_path, caplog, chunked):
    """`extract --label 99` of a volume without 99 said "no foreground voxels" (issue 31)."""
    vol = np.zeros((9, 9, 9), np.uint8)
    vol[2:7, 2:7, 2:7] = 1
    summary = extract_library(vol, tmp_path / "lib", voxel_size_nm=8, n_workers=1,
                              chunked=chunked, block_shape=4, extract={"labels": [99]})  # fmt: skip
    assert summary.n_instances == 0
    assert "no voxel of label(s) [99] (check --label)" in caplog.text


def test_a_damaged_chunk_stops_with_one_line_naming_it(phantoms, tmp_path):
    store = _zarr(tmp_path / "v.zarr", phantoms.labels, (32, 32, 32))
    chunk = store / "c" / "1" / "0" / "1"
    assert chunk.is_file()
    chunk.write_bytes(b"not a chunk" * 10)
    vol = open_volume(store, voxel_size_nm=30)
    with pytest.raises(InputError, match=r"chunk \(1, 0, 1\) \(voxels 32:64, 0:32, 32:64\)") as e:
        extract_library(vol, tmp_path / "lib", shape=SHAPE, n_workers=1, chunked=True)
    assert "\n" not in str(e.value)
    assert not (tmp_path / "lib").exists()


def test_resume_keeps_finished_instances(phantoms, reference, tmp_path):
    class Stop(Exception):
        pass

    def stop(done, total):
        if done >= 3:
            raise Stop

    out = tmp_path / "lib"
    kw = dict(voxel_size_nm=30, shape=SHAPE, n_workers=1, chunked=True, block_shape=32)
    with pytest.raises(Stop):
        extract_library(phantoms.labels, out, progress=stop, **kw)
    seen = []
    extract_library(phantoms.labels, out, progress=lambda d, t: seen.append(d), **kw)
    assert seen[0] == 3
    _assert_same_library(reference, out)


def test_two_local_processes_give_the_same_library(phantoms, reference, tmp_path):
    out = tmp_path / "lib"
    extract_library(phantoms.labels, out, voxel_size_nm=30, shape=SHAPE, n_workers=2,
                    chunked=True, block_shape=40)  # fmt: skip
    _assert_same_library(reference, out)


def test_a_dask_cluster_gives_the_same_library(phantoms, reference, tmp_path):
    from distributed import LocalCluster

    store = _zarr(tmp_path / "v.zarr", phantoms.labels, (32, 32, 32))
    vol = open_volume(store, voxel_size_nm=30)
    local = tmp_path / "local"
    extract_library(vol, local, shape=SHAPE, n_workers=1, chunked=True)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, host="127.0.0.1",
                      protocol="tcp", dashboard_address=None) as cluster:  # fmt: skip
        on_dask = tmp_path / "dask"
        extract_library(vol, on_dask, shape=SHAPE, chunked=True,
                        scheduler=cluster.scheduler_address)  # fmt: skip
        mem_on_dask = tmp_path / "mem_dask"
        extract_library(vol, mem_on_dask, shape=SHAPE, chunked=False,
                        scheduler=cluster.scheduler_address)  # fmt: skip
    _assert_same_library(local, on_dask)
    _assert_same_library(local, mem_on_dask)


def test_an_unreachable_scheduler_is_one_clear_error(phantoms, tmp_path, monkeypatch):
    import socket

    import shapelib._runner

    monkeypatch.setattr(shapelib._runner, "CONNECT_TIMEOUT_S", 1)
    with socket.socket() as s:  # a free loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(InputError, match="could not connect to the Dask scheduler"):
        extract_library(phantoms.labels, tmp_path / "lib", voxel_size_nm=30, shape=SHAPE,
                        scheduler=f"tcp://127.0.0.1:{port}")  # fmt: skip


def test_auto_choice_reads_small_lazy_volumes_whole(phantoms, tmp_path, monkeypatch):
    import shapelib._library as lib

    store = _zarr(tmp_path / "v.zarr", phantoms.labels, (32, 32, 32))
    vol = open_volume(store, voxel_size_nm=30)
    assert not lib._use_blocks(vol.data, None) and not lib._use_blocks(phantoms.labels, None)
    monkeypatch.setattr(lib, "IN_MEMORY_MAX_BYTES", 1000)
    assert lib._use_blocks(vol.data, None) and not lib._use_blocks(vol.data, False)


def test_blocks_follow_the_store_chunks():
    assert choose_block_shape((1000, 1000, 1000), chunks=(64, 64, 64)) == (256, 256, 256)
    assert choose_block_shape((1000, 1000, 1000), chunks=(100, 100, 100)) == (200, 200, 200)
    # TIFF strips of whole rows: fewer planes per block, whole strips
    z, y, x = choose_block_shape((165, 768, 1024), chunks=(1, 256, 1024))
    assert (y, x) == (256, 1024) and z * y * x <= 2 * (1 << 24)
    # downsampled blocks read about the same source voxels
    assert choose_block_shape((400, 400, 400), chunks=(64, 64, 64), factor=2) == (128, 128, 128)


def test_lucchi_crop_chunked_equals_in_memory(shared_data, tmp_path):
    import tifffile

    src = shared_data / "lucchi_pp" / "test_labels_3d.tif"
    crop = tifffile.imread(src)[40:80, 100:400, 300:700]
    tif = tmp_path / "crop.tif"
    tifffile.imwrite(tif, crop, rowsperstrip=64)  # strips: read through tifffile's zarr store
    vol = open_volume(tif, voxel_size_nm=5)
    assert vol.data.chunks[0] == 1
    mem, blocks = tmp_path / "mem", tmp_path / "blk"
    summary = extract_library(vol, mem, shape=SHAPE, n_workers=1, chunked=False)
    extract_library(vol, blocks, shape=SHAPE, n_workers=1, chunked=True, block_shape=(16, 96, 128))
    assert summary.n_instances >= 3
    _assert_same_library(mem, blocks)


@pytest.mark.slow
def test_lucchi_whole_volume_chunked_equals_in_memory(shared_data, tmp_path):
    vol = open_volume(shared_data / "lucchi_pp" / "test_labels_3d.tif", voxel_size_nm=5)
    mem, blocks = tmp_path / "mem", tmp_path / "blk"
    summary = extract_library(vol, mem, shape=SHAPE, chunked=False)
    extract_library(vol, blocks, shape=SHAPE, chunked=True, block_shape=(64, 256, 256))
    assert summary.n_instances >= 20
    _assert_same_library(mem, blocks)
