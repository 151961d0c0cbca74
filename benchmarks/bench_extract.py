"""Library extraction speed: instances per second, and the ratio to a bare cc3d + marching cubes.

For each volume: ``extract_library`` (components, split, then per instance mesh, point cloud,
occupancy, skeleton, class, files) timed end to end in one process (``--workers``, default 1),
then in the same process the bare cost: one ``cc3d.connected_components`` pass over the volume
plus one ``skimage.measure.marching_cubes`` per instance mask (padded by one voxel).
Target: total within 5x of the bare cost.

``--chunked`` extracts block by block (``extract_library(..., chunked=True)``: the blockwise
passes, then the same per-instance work; the library is the same).

Run: .venv/bin/python benchmarks/bench_extract.py [--workers 1] [--crop z0:z1,y0:y1,x0:x1]
[--chunked]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

LUCCHI = Path(__file__).resolve().parents[2] / "shared" / "data" / "lucchi_pp"


def bare_cost_s(labels: np.ndarray, instances) -> tuple[float, float]:
    """Seconds of one cc3d pass over ``labels`` and of one marching cubes per instance."""
    import cc3d
    from skimage.measure import marching_cubes

    t0 = time.perf_counter()
    cc3d.connected_components(labels != 0, connectivity=26)
    t_cc = time.perf_counter() - t0
    t0 = time.perf_counter()
    for inst in instances:
        m = np.pad(inst.mask, 1).astype(np.float32)
        marching_cubes(m, level=0.5, spacing=inst.voxel_size_nm)
    return t_cc, time.perf_counter() - t0


def bench(name: str, labels: np.ndarray, voxel_size_nm, args) -> dict:
    from shapelib import ShapeParams, extract_instances, extract_library

    shape = ShapeParams(n_surface_points=args.points, n_occupancy_points=args.occupancy_points)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        instances = extract_instances(labels, voxel_size_nm=voxel_size_nm)
        t_split = time.perf_counter() - t0
        t0 = time.perf_counter()
        summary = extract_library(
            labels, Path(tmp) / "lib", voxel_size_nm=voxel_size_nm, shape=shape,
            n_workers=args.workers, **({"chunked": True} if args.chunked else {}),
        )  # fmt: skip
        t_total = time.perf_counter() - t0
    t_cc, t_mc = bare_cost_s(labels, instances)
    n = summary.n_instances
    steps = step_ms(instances, shape) if args.steps else {}
    return {
        "volume": name,
        "shape": "x".join(map(str, labels.shape)),
        "instances": n,
        "total_s": t_total,
        "split_s": t_split,
        "inst_per_s": n / t_total,
        "ms_per_inst": 1e3 * (t_total - t_split) / max(n, 1),
        "bare_s": t_cc + t_mc,
        "ratio": t_total / (t_cc + t_mc),
        "classes": summary.counts,
        "steps_ms": steps,
    }


def step_ms(instances, shape) -> dict:
    """Mean milliseconds per instance of each ``build_shape`` step (a second, separate pass)."""
    from shapelib import build_shape

    total: dict[str, float] = {}
    for inst in instances:
        for k, v in build_shape(inst, shape, rng=0).timings_s.items():
            total[k] = total.get(k, 0.0) + v
    return {k: 1e3 * v / max(len(instances), 1) for k, v in total.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--occupancy-points", type=int, default=100_000)
    ap.add_argument("--phantoms", type=int, default=200, help="objects in the phantom volume")
    ap.add_argument("--crop", default=None, help="Lucchi++ crop z0:z1,y0:y1,x0:x1 (default: all)")
    ap.add_argument("--skip-lucchi", action="store_true")
    ap.add_argument("--steps", action="store_true", help="also time each build_shape step")
    ap.add_argument("--chunked", action="store_true", help="extract block by block")
    args = ap.parse_args()

    from shapelib.io import read_volume
    from shapelib.phantoms import phantom_volume

    # Warm up numba caches and imports on a tiny volume so they do not count.
    warm = phantom_volume(2, rng=0)
    bench("warm-up", warm.labels, warm.voxel_size_nm, args)

    rows = []
    if not args.skip_lucchi:
        vol = read_volume(LUCCHI / "test_labels_3d.tif", voxel_size_nm=5)
        data, name = vol.data, "Lucchi++ test, 5 nm"
        if args.crop:
            sl = tuple(slice(*map(int, s.split(":"))) for s in args.crop.split(","))
            data, name = np.ascontiguousarray(data[sl]), f"{name}, crop {args.crop}"
        rows.append(bench(name, data, 5.0, args))
    pv = phantom_volume(args.phantoms, rng=0)
    rows.append(bench(f"phantoms x{args.phantoms}, 30 nm", pv.labels, pv.voxel_size_nm, args))

    print(  # noqa: T201
        f"workers {args.workers}, points {args.points}, occupancy points "
        f"{args.occupancy_points}{', chunked' if args.chunked else ''}\n"
        "| volume | shape | instances | total s | split s | inst/s | ms/inst (after split) "
        "| bare cc3d+MC s | total / bare |\n|---|---|---|---|---|---|---|---|---|"
    )
    for r in rows:
        print(  # noqa: T201
            f"| {r['volume']} | {r['shape']} | {r['instances']} | {r['total_s']:.1f} | "
            f"{r['split_s']:.1f} | {r['inst_per_s']:.2f} | {r['ms_per_inst']:.0f} | "
            f"{r['bare_s']:.2f} | {r['ratio']:.1f}x |"
        )
    for r in rows:
        print(f"{r['volume']}: classes {r['classes']}")  # noqa: T201
        if r["steps_ms"]:
            per = ", ".join(f"{k} {v:.0f}" for k, v in r["steps_ms"].items())
            print(f"{r['volume']}: build_shape ms/instance: {per}")  # noqa: T201


if __name__ == "__main__":
    main()
