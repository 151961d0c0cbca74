"""Instances per second of a whole library, and its ratio to the bare cost of one cc3d pass plus
one skimage marching cubes per instance (target: within 5x).

Usage: .venv/bin/python benchmarks/bench_extract.py [--lucchi] [--phantoms N] [--points N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def bare_cost(labels, params) -> float:
    import cc3d
    from skimage.measure import marching_cubes

    from shapelib import extract_instances

    insts = extract_instances(labels, voxel_size_nm=1, params=params)
    t0 = time.perf_counter()
    cc3d.connected_components(labels > 0, connectivity=params.connectivity)
    for inst in insts:
        marching_cubes(np.pad(inst.mask, 1).astype(np.float32), 0.5)
    return time.perf_counter() - t0


def run(name, labels, voxel_size_nm, params, shape, workers):
    from shapelib import extract_library

    bare = bare_cost(labels, params)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        s = extract_library(
            labels, Path(tmp) / "lib", voxel_size_nm=voxel_size_nm, extract=params,
            shape=shape, n_workers=workers,
        )  # fmt: skip
        total = time.perf_counter() - t0
    print(
        f"{name}: {s.n_instances} instances in {total:.1f} s = {s.n_instances / total:.2f} inst/s; "
        f"bare cc3d + marching cubes {bare:.2f} s; ratio {total / bare:.1f}x ({workers} workers)"
    )


def main() -> None:
    from shapelib import ExtractParams
    from shapelib._shape import ShapeParams

    ap = argparse.ArgumentParser()
    ap.add_argument("--lucchi", action="store_true")
    ap.add_argument("--phantoms", type=int, default=0)
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    if not a.lucchi and not a.phantoms:
        a.lucchi, a.phantoms = True, 200
    shape = ShapeParams(n_surface_points=a.points, n_occupancy_points=a.points)
    if a.lucchi:
        from shapelib.io import read_volume

        vol = read_volume(DATA / "lucchi_pp" / "test_labels_3d.tif", voxel_size_nm=5)
        run("lucchi++ (downsample 3)", vol.data, 5, ExtractParams(downsample=3), shape, a.workers)
    if a.phantoms:
        from shapelib.phantoms import phantom_volume

        pv = phantom_volume(a.phantoms, rng=0)
        run(f"phantoms x{a.phantoms}", pv.labels, pv.voxel_size_nm, ExtractParams(), shape,
            a.workers)  # fmt: skip


if __name__ == "__main__":
    main()
