"""A small world of valid inputs for every command, built once per test module.

Bad-input tests copy or corrupt pieces of it; the world itself must stay byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile
import yaml

from tests.segtrain._tiny import write_pairs
from tests.simulator._shapes import capsule, sphere, write_library

TRAIN_FAST = {
    "model_params": {"depth": 2, "width": 4},
    "patch_px": 32,
    "batch_size": 2,
    "val_patches": 2,
    "val_every": 1,
    "max_steps": 1,
    "amp": False,
}


@dataclass(frozen=True)
class World:
    root: Path
    volume: Path  # label volume TIFF with its voxel size
    library: Path  # two shapes (rod, dot), meshes in nm
    shape: Path  # one shape folder of the library
    data: Path  # images/ + masks/ (2 pairs, 32 x 32)
    run: Path  # a trained run (1 step)
    raw: Path  # a raw camera image for calibrate
    microscope: Path  # a valid microscope YAML
    train_yaml: Path
    bench_yaml: Path


def tiny_volume() -> np.ndarray:
    """Two boxes and a dot, (Z, Y, X) uint8."""
    vol = np.zeros((20, 40, 60), np.uint8)
    vol[4:14, 5:15, 5:50] = 1
    vol[4:14, 24:34, 10:40] = 1
    vol[8:13, 18:22, 52:57] = 1
    return vol


def build_world(root: Path) -> World:
    from shapelib.io import write_volume
    from simulator import EPI1, PhysicalCamera, apply_camera

    root.mkdir(parents=True, exist_ok=True)
    volume = write_volume(root / "vol.tif", tiny_volume(), voxel_size_nm=12)
    library = write_library(
        root / "lib", {1: (capsule(800.0, 200.0), "rod"), 2: (sphere(300), "dot")}
    )
    data = write_pairs(root / "data", n=2, size=32)
    cam = PhysicalCamera(gain_adu_per_e=2.0, read_noise_e=2.0, background_photons=0)
    photons = np.repeat(np.linspace(0, 300, 256)[None, :], 256, axis=0)
    raw = root / "raw.tif"
    tifffile.imwrite(raw, apply_camera(photons, cam, rng=0))
    microscope = root / "mic.yaml"
    microscope.write_text(
        yaml.safe_dump(EPI1.model_copy(update={"name": "Mine"}).model_dump(mode="json"))
    )
    train_yaml = root / "train.yaml"
    train_yaml.write_text(yaml.safe_dump({"train": [{"path": str(data)}], **TRAIN_FAST}))
    bench_yaml = root / "bench.yaml"
    bench_yaml.write_text(yaml.safe_dump(bench_config(data)))

    from segtrain import TrainConfig, train

    run = root / "run"
    train(TrainConfig(train=[{"path": str(data)}], run_dir=str(run), **TRAIN_FAST))
    return World(root, volume, library, library / "000001", data, run, raw, microscope,
                 train_yaml, bench_yaml)  # fmt: skip


def bench_config(data: Path, **update) -> dict:
    cfg = {
        "models": {"patch_cnn": {"width": 2, "fc": 4}},
        "real": [{"path": str(data)}],
        "regimes": ["real"],
        "test_sets": {"self": str(data)},
        "train": {k: v for k, v in TRAIN_FAST.items() if k != "model_params"},
        "tile_px": 32,
        "overlap_px": 8,
    }
    cfg.update(update)
    return cfg


def snapshot(*roots: Path) -> dict[Path, bytes | None]:
    """Every file (bytes) and folder (None) under ``roots``."""
    out: dict[Path, bytes | None] = {}
    for root in roots:
        for p in sorted(root.rglob("*")):
            out[p] = None if p.is_dir() else p.read_bytes()
    return out


def _inside(p: Path, outs) -> bool:
    return any(p == o or o in p.parents for o in outs)


def assert_refused(invoke, world: World, tmp: Path, args: list, outs=()) -> str:
    """Run ``mitoshape ARGS``; it must fail with one line on stderr (no traceback), write
    nothing outside ``outs`` and leave every file that existed before byte-identical.

    Returns the error line.
    """
    outs = [Path(o) for o in outs]
    before = snapshot(world.root, tmp)
    r = invoke(*args)  # a bug (an exception that is not a user error) raises here
    after = snapshot(world.root, tmp)
    assert r.exit_code != 0, (args, r.stdout, r.stderr)
    line = r.stderr.strip()
    assert "Traceback" not in r.stderr and "\n" not in line and line.startswith("error:"), (
        args,
        r.stderr,
    )
    changed = [str(p) for p, b in before.items() if after.get(p, b"<gone>") != b]
    assert not changed, f"{args}: changed or removed {changed}"
    new = [str(p) for p in after if p not in before and not _inside(p, outs)]
    assert not new, f"{args}: wrote outside -o: {new}"
    return line
