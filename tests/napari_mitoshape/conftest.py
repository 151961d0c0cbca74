"""Shared fixtures of the napari plugin's tests: a tiny plain run, an interactive network
whose answer is known, and a napari viewer (skipped without napari or a display)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    from tests.segtrain._tiny import train_tiny_run

    return train_tiny_run(tmp_path_factory.mktemp("napari_run"))


@pytest.fixture(scope="session")
def phantom_library(tmp_path_factory):
    """A library extracted from a phantom volume (as tests/webapp/conftest.py makes one)."""
    from shapelib import ShapeParams, extract_library
    from shapelib.phantoms import phantom_volume

    root = tmp_path_factory.mktemp("napari_library")
    kinds = ["dot", "rod", "donut", "network"]
    vol = phantom_volume(4, voxel_size_nm=40.0, kinds=kinds, rng=0)
    extract_library(
        vol.labels,
        root / "lib",
        voxel_size_nm=vol.voxel_size_nm,
        shape=ShapeParams(n_surface_points=100, n_occupancy_points=100),
        n_workers=1,
        seed=0,
    )
    return root / "lib"


@pytest.fixture
def click_run():
    """An interactive `Run` of a hand-made network (tests/segtrain/test_refine.py): bright
    pixels are object, a positive click's disk is object, a negative one's background."""
    from segtrain import DataSource, InferenceConfig, Run, TrainConfig
    from segtrain.inference._clicks import click_settings
    from tests.segtrain.test_refine import _net

    net = _net()
    cfg = TrainConfig(train=[DataSource(path="-")], interactive=True, clicks=click_settings(net))
    return Run.from_model(net, cfg, InferenceConfig(tile_px=64, overlap_px=16, device="cpu"))


@pytest.fixture
def qt(request):
    """pytest-qt's qtbot, or a skip when napari, pytest-qt or a display is missing."""
    pytest.importorskip("napari", reason="napari is not installed (mitoshape[napari])")
    pytest.importorskip("pytestqt", reason="pytest-qt is not installed")
    if not os.environ.get("DISPLAY"):
        pytest.skip("no display: run under xvfb-run")
    return request.getfixturevalue("qtbot")


@pytest.fixture
def viewer(qt):
    import napari

    v = napari.Viewer(show=False)
    yield v
    v.close()
