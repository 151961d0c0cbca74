"""Tiny data for the web app, built once per session with the libraries' own functions: a
phantom library (`extract_library`), a simulator dataset (`write_dataset`), and two runs trained
for a few steps (`train`): a deterministic U-Net and an interactive probabilistic U-Net."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

# FastAPI's TestClient warns (once, on import) that starlette prefers httpx2; httpx is fine here.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import fastapi.testclient  # noqa: F401


@dataclass(frozen=True)
class WebappData:
    library: Path
    dataset: Path
    run: Path
    images: Path
    interactive_run: Path


@pytest.fixture(scope="session")
def webapp_data(tmp_path_factory) -> WebappData:
    from segtrain import DataSource, TrainConfig, train
    from shapelib import ShapeParams, extract_library
    from shapelib.phantoms import phantom_volume
    from simulator import EPI1, Acquisition, SceneConfig, write_dataset
    from simulator.io import read_shapes

    root = tmp_path_factory.mktemp("webapp_data")
    vol = phantom_volume(5, voxel_size_nm=30.0, rng=0)
    extract_library(
        vol.labels,
        root / "lib",
        voxel_size_nm=vol.voxel_size_nm,
        shape=ShapeParams(n_surface_points=300, n_occupancy_points=300),
        n_workers=1,
        seed=0,
    )
    scene = SceneConfig(acquisition=Acquisition(size_px=96), objects=(2, 4))
    write_dataset(read_shapes(root / "lib"), EPI1, root / "ds", n=3, scene=scene, workers=1)
    cfg = TrainConfig(
        train=[DataSource(path=str(root / "ds"))],
        run_dir=str(root / "run"),
        model_params={"depth": 2, "width": 4},
        patch_px=64,
        batch_size=2,
        val_patches=2,
        max_steps=3,
        amp=False,
        device="cpu",
    )
    train(cfg)
    inter = {"run_dir": str(root / "interactive"), "model": "prob_unet", "loss": "elbo",
             "interactive": True, "num_threads": 1}  # fmt: skip
    inter = cfg.model_copy(update=inter)
    train(TrainConfig(**inter.model_dump()))
    return WebappData(
        root / "lib", root / "ds", root / "run", root / "ds" / "images", root / "interactive"
    )


def make_client(cfg, **kw):
    """A TestClient addressing the app as the loopback host (the Host check passes); sessions
    saved in a fresh temporary folder unless `cfg` names one."""
    import tempfile

    from fastapi.testclient import TestClient

    from webapp import create_app

    if cfg.state is None:
        cfg = cfg.model_copy(update={"state": Path(tempfile.mkdtemp(prefix="mitoshape-state-"))})
    return TestClient(create_app(cfg), base_url="http://127.0.0.1", **kw)


@pytest.fixture
def session_headers():
    """Headers of one browser tab (its session id)."""
    return {"X-Session-Id": "tab-" + "a" * 12}


class FakeSegmenter:
    """Stands in for the adapter where a test checks plumbing, not a model: the mask is the
    image above its mean, the uncertainty peaks where the image is brightest."""

    uses_clicks = False
    uncertainty_label = "fake"
    note = "fake model"
    name = "fake"

    def predict(self, image):
        from webapp._segment import Prediction, Suggestion

        img = np.asarray(image, dtype=np.float32)
        mask = (img > img.mean() + img.std()).astype(np.uint8)
        unc = (img - img.min()) / max(float(img.max() - img.min()), 1e-6)
        y, x = np.unravel_index(int(np.argmax(unc)), unc.shape)
        return Prediction(
            probability=mask.astype(np.float32),
            mask=mask,
            uncertainty=unc.astype(np.float32),
            suggestions=(Suggestion(int(x), int(y), float(unc[y, x])),),
            seconds=0.0,
        )

    def refine(self, image, clicks, previous):
        return previous


@pytest.fixture
def fake_segmenter():
    return FakeSegmenter()
