"""The batch workflow: images keyed by (seed, shape, microscope, view); TIFFs keep their scale."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from shapelib import InputError
from shapelib.io import read_tiff
from simulator import CONF1, EPI1, Acquisition, write_simulations
from simulator.io import read_shapes

from ._shapes import capsule, sphere, write_library

ACQ = Acquisition(size_px=24)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("lib") / "lib"
    shapes = {1: (capsule(800.0, 200.0), "rod"), 2: (sphere(300.0), "dot")}
    shapes[3] = (capsule(400.0, 150.0), "rod")
    return write_library(root, shapes)


def _tiffs(out):
    return {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*.tif"))}


def test_filtered_run_writes_the_same_bytes_as_the_full_run(library, tmp_path):
    full = write_simulations(read_shapes(library), [EPI1, CONF1], tmp_path / "full",
                             views=["0", "x90"], acquisition=ACQ, seed=5, workers=1)  # fmt: skip
    rods = read_shapes(library, classes=["rod"])
    assert [s.id for s in rods] == [1, 3]  # shape 3 is second here, third in the full run
    part = write_simulations(rods, [EPI1, CONF1], tmp_path / "rods", views=["0", "x90"],
                             acquisition=ACQ, seed=5, workers=1)  # fmt: skip
    a, b = _tiffs(full), _tiffs(part)
    assert b and set(b) < set(a) and not any(p.parts[0] == "2" for p in b)
    for name, data in b.items():
        assert a[name] == data, name
    # another seed or another view: other images
    img = Path("3/Epi1_imgs/0_3_0.tif")
    other = write_simulations(rods, [EPI1], tmp_path / "s6", views=["0"], acquisition=ACQ,
                              seed=6, workers=1)  # fmt: skip
    assert a[img] != (other / img).read_bytes()
    assert a[img] != a[Path("3/Epi1_imgs/0_3_x90.tif")]


def test_a_subset_of_views_writes_the_same_bytes(library, tmp_path):
    shapes = read_shapes(library, classes=["dot"])
    six = write_simulations(shapes, [EPI1], tmp_path / "six", acquisition=ACQ, seed=1,
                            workers=1)  # fmt: skip
    some = write_simulations(shapes, [EPI1], tmp_path / "two", views=["x90", "0"],
                             acquisition=ACQ, seed=1, workers=1)  # fmt: skip
    a, b = _tiffs(six), _tiffs(some)
    assert len(b) == 2 * 3 and set(b) < set(a)  # images, masks, projections of two views
    for name, data in b.items():
        assert a[name] == data, name
    r2 = _tiffs(write_simulations(shapes, [EPI1], tmp_path / "r2", views=2, acquisition=ACQ,
                                  seed=1, workers=1))  # fmt: skip
    r3 = _tiffs(write_simulations(shapes, [EPI1], tmp_path / "r3", views=3, acquisition=ACQ,
                                  seed=1, workers=1))  # fmt: skip
    assert set(r2) < set(r3) and all(r3[k] == v for k, v in r2.items())


def test_simulated_stacks_keep_pixel_size_and_z_step(library, tmp_path):
    acq = Acquisition(size_px=24, z_planes=3, z_step_nm=200)
    calls = []
    out = write_simulations(read_shapes(library, classes=["dot"]), [CONF1], tmp_path / "s",
                            views=["0"], acquisition=acq, workers=1,
                            progress=lambda d, t: calls.append((d, t)))  # fmt: skip
    assert calls == [(1, 1)]
    for sub, shape in (("imgs", (3, 24, 24)), ("masks", (3, 24, 24)), ("labels", (3, 24, 24))):
        img = read_tiff(out / "2" / f"Conf1_{sub}" / "N_0_2_0.tif")
        assert img.data.shape == shape
        assert img.pixel_size_nm == pytest.approx((70.0, 70.0))
        assert img.z_step_nm == pytest.approx(200.0)
    proj = read_tiff(out / "2" / "Conf1_projection" / "N_0_2_0.tif")
    assert proj.data.shape == (24, 24) and proj.pixel_size_nm == pytest.approx((70.0, 70.0))
    meta = json.loads((out / "simulate.json").read_text())
    (rec,) = meta["images"]
    r = np.asarray(rec["rotation"])
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-5)


def test_bad_seed_and_views_fail_before_writing(library, tmp_path):
    shapes = read_shapes(library, classes=["dot"])
    with pytest.raises(InputError, match="seed"):
        write_simulations(shapes, [EPI1], tmp_path / "a", seed=-1, workers=1)
    with pytest.raises(InputError, match="unknown view"):
        write_simulations(shapes, [EPI1], tmp_path / "b", views=["0", "q1"], workers=1)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_dask_cluster_renders_the_same_dataset(library, tmp_path):
    from distributed import Client, LocalCluster

    from simulator import SceneConfig, write_dataset

    shapes = read_shapes(library)
    scene = SceneConfig(acquisition=Acquisition(size_px=32), objects=(1, 2))
    here = write_dataset(shapes, EPI1, tmp_path / "here", n=4, scene=scene, seed=2, workers=1)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, host="127.0.0.1",
                           protocol="tcp", dashboard_address=None)  # fmt: skip
    with cluster, Client(cluster) as c:
        there = write_dataset(shapes, EPI1, tmp_path / "dask", n=4, scene=scene, seed=2,
                              scheduler=c)  # fmt: skip
    a = {p.relative_to(here): p.read_bytes() for p in here.rglob("*") if p.is_file()}
    b = {p.relative_to(there): p.read_bytes() for p in there.rglob("*") if p.is_file()}
    assert len(a) == 4 * 3 + 3 + 1 and a == b  # images, masks, labels; json, yaml, sheet; manifest
