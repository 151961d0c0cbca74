"""Chunked extraction at scale: wall time and peak memory of the whole process tree vs volume size.

Volumes: compressed Zarr (v3, zstd, 64^3 chunks) label volumes (uint32) tiled from one phantom
tile (``phantom_volume(--tile-objects, touching_pairs=--tile-pairs)``, padded to whole chunks,
ids made unique per tile). Objects keep two voxels from their tile's sides, so no object of one
tile touches another's: the volume holds exactly ``tiles x objects per tile`` instances.

Each extraction runs in a child process (``extract_library(open_volume(...), chunked=True)``,
``--workers`` processes); a thread here samples the resident memory of the child and all its
descendants (psutil; with ``--cluster`` also the scheduler and workers) every 0.2 s and keeps
the peak. Prints one table row per size, the exponent of wall time vs size (least squares in
log-log), and the peak memory's spread. Optional proofs:

- ``--equality``: the first size also in memory; every file of both libraries compared
  (library.csv, library.json, every instance's files), and the same for Lucchi++
  (``../shared/data/lucchi_pp/test_labels_3d.tif`` at 5 nm) chunked vs in memory.
- ``--cluster``: the first size on ``dask scheduler`` + two ``dask worker`` processes on
  127.0.0.1 (``--scheduler tcp://...``), compared with the local chunked library, timed.

The lead's run (alone on the machine; volumes are cached in --workdir, libraries deleted after
each measurement unless --keep):

    .venv/bin/python benchmarks/bench_scale.py --sizes-gib 1,2,4,8 --equality --cluster

A few seconds, to try it: ``--sizes-gib 0.01,0.02 --tile-objects 4 --tile-pairs 1 --equality
--cluster --points 200 --occupancy-points 200``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LUCCHI = ROOT.parent / "shared" / "data" / "lucchi_pp" / "test_labels_3d.tif"
CHUNK = 64
GIB = 1 << 30


# -- volumes -------------------------------------------------------------------------------------
def make_tile(n_objects: int, n_pairs: int, seed: int):
    """One phantom tile padded to whole chunks: (labels uint32, objects placed, instances the
    in-memory extraction finds in the tile alone)."""
    from shapelib import extract_instances
    from shapelib.phantoms import phantom_volume

    pv = phantom_volume(n_objects, touching_pairs=n_pairs, rng=seed)
    shape = [-(-s // CHUNK) * CHUNK for s in pv.labels.shape]
    tile = np.zeros(shape, np.uint32)
    tile[tuple(slice(0, s) for s in pv.labels.shape)] = pv.labels
    alone = len(extract_instances(tile, voxel_size_nm=30.0))
    return tile, len(pv.objects), alone


def tile_grid(n_tiles: int) -> tuple[int, int, int]:
    """The smallest near-cubic grid (sides within 3x of each other) of at least n_tiles."""
    best = None
    for a in range(1, n_tiles + 1):
        for b in range(a, n_tiles + 1):
            c = max(b, -(-n_tiles // (a * b)))
            if c > 3 * a:
                continue
            key = (a * b * c, c / a)
            if best is None or key < best[0]:
                best = (key, (a, b, c))
            if a * b > n_tiles:
                break
    return best[1]


def build_volume(path: Path, target_gib: float, tile: np.ndarray, n_per_tile: int,
                 objects_per_tile: int) -> dict:  # fmt: skip
    """A tiled Zarr label volume of at least target_gib (cached: reused when it exists)."""
    import zarr

    n_tiles = max(1, math.ceil(target_gib * GIB / tile.nbytes))
    grid = tile_grid(n_tiles)
    shape = tuple(g * s for g, s in zip(grid, tile.shape, strict=True))
    info = {"grid": grid, "shape": shape, "tile": tile.shape, "expected": math.prod(grid) *
            n_per_tile, "objects": math.prod(grid) * objects_per_tile,
            "nbytes": math.prod(shape) * 4}  # fmt: skip
    marker = path / "bench_scale.json"
    if marker.is_file() and json.loads(marker.read_text()) == json.loads(json.dumps(info)):
        return info
    if path.exists():
        shutil.rmtree(path)
    arr = zarr.open_array(str(path), mode="w", shape=shape, dtype=np.uint32, chunks=(CHUNK,) * 3)
    arr.attrs["voxel_size_nm"] = [30.0, 30.0, 30.0]
    ids = int(tile.max())
    fg = tile > 0
    for k, idx in enumerate(np.ndindex(*grid)):
        block = tile.copy()
        block[fg] += np.uint32(k * ids)
        arr[tuple(slice(i * s, (i + 1) * s) for i, s in zip(idx, tile.shape, strict=True))] = block
    marker.write_text(json.dumps(info))
    return info


def store_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


# -- measuring -----------------------------------------------------------------------------------
class TreeMemory:
    """Peak summed resident memory of some processes and all their descendants."""

    def __init__(self, pids, period_s: float = 0.2):
        import psutil

        self._psutil = psutil
        self.roots = [psutil.Process(p) for p in pids]
        self.period_s = period_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def add(self, pid: int) -> None:
        self.roots.append(self._psutil.Process(pid))

    def sample(self) -> int:
        seen, total = set(), 0
        for root in list(self.roots):
            try:
                procs = [root, *root.children(recursive=True)]
            except self._psutil.Error:
                continue
            for p in procs:
                if p.pid in seen:
                    continue
                seen.add(p.pid)
                try:
                    total += p.memory_info().rss
                except self._psutil.Error:
                    pass
        return total

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.sample())
            self._stop.wait(self.period_s)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_extract(volume: str, out: Path, args, *, chunked: bool, scheduler=None, voxel=None,
                watch=()) -> dict:  # fmt: skip
    """Extract in a child process; wall time (child's own), peak tree memory, instances."""
    job = {"volume": volume, "out": str(out), "chunked": chunked, "scheduler": scheduler,
           "workers": args.workers, "points": args.points, "occ": args.occupancy_points,
           "voxel": voxel}  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, __file__, "_child", json.dumps(job)], env=env,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    with TreeMemory([proc.pid, *watch]) as mem:
        stdout, _ = proc.communicate()
        mem.peak = max(mem.peak, 0)
    if proc.returncode != 0:
        raise SystemExit(f"extraction of {volume} failed (exit {proc.returncode})")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_gib"] = mem.peak / GIB
    return result


def child(job_json: str) -> None:
    """In the child: one extraction, then a JSON line with its time and instance count."""
    sys.path.insert(0, str(ROOT))
    from shapelib import ShapeParams, extract_library
    from shapelib.io import open_volume

    job = json.loads(job_json)
    t0 = time.perf_counter()
    vol = open_volume(job["volume"], voxel_size_nm=job["voxel"])
    summary = extract_library(
        vol, job["out"], chunked=job["chunked"], scheduler=job["scheduler"],
        n_workers=job["workers"], shape=ShapeParams(n_surface_points=job["points"],
                                                    n_occupancy_points=job["occ"]),
    )  # fmt: skip
    print(json.dumps({"seconds": time.perf_counter() - t0, "instances": summary.n_instances}))


def same_library(a: Path, b: Path) -> tuple[bool, int]:
    """(every file byte-identical, number of files)."""
    fa = {p.relative_to(a): p for p in sorted(a.rglob("*")) if p.is_file()}
    fb = {p.relative_to(b): p for p in sorted(b.rglob("*")) if p.is_file()}
    if set(fa) != set(fb):
        return False, len(fa)
    return all(fa[k].read_bytes() == fb[k].read_bytes() for k in fa), len(fa)


def start_cluster(workdir: Path, n_workers: int = 2):
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1: (address, processes)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    sched_file = workdir / "scheduler.json"
    sched_file.unlink(missing_ok=True)
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host",
                               "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file",
                               str(sched_file)], env=env, stderr=subprocess.DEVNULL)]  # fmt: skip
    for _ in range(100):
        if sched_file.is_file():
            break
        time.sleep(0.2)
    address = json.loads(sched_file.read_text())["address"]
    for _ in range(n_workers):
        procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker",
                                       address, "--nthreads", "1", "--nworkers", "1", "--host",
                                       "127.0.0.1", "--no-dashboard"], env=env,
                                      stderr=subprocess.DEVNULL))  # fmt: skip
    return address, procs


def stop_cluster(procs) -> None:
    for p in reversed(procs):
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


# -- main ----------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes-gib", default="1,2,4,8", help="volume sizes (uncompressed GiB)")
    ap.add_argument("--tile-objects", type=int, default=200, help="phantoms per tile")
    ap.add_argument("--tile-pairs", type=int, default=10, help="touching pairs per tile")
    ap.add_argument("--workers", type=int, default=None, help="processes (default: all)")
    ap.add_argument("--points", type=int, default=2000, help="surface points per instance")
    ap.add_argument("--occupancy-points", type=int, default=2000)
    ap.add_argument("--equality", action="store_true", help="in-memory comparison + Lucchi++")
    ap.add_argument("--cluster", action="store_true", help="scheduler + 2 workers on loopback")
    ap.add_argument("--workdir", type=Path, default=None, help="volumes and libraries")
    ap.add_argument("--keep", action="store_true", help="keep the libraries")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))

    workdir = args.workdir or Path(tempfile.gettempdir()) / "mitoshape-bench-scale"
    workdir.mkdir(parents=True, exist_ok=True)
    sizes = [float(s) for s in args.sizes_gib.split(",")]
    tile, objects_per_tile, n_per_tile = make_tile(args.tile_objects, args.tile_pairs, seed=0)
    print(f"tile {tile.shape} uint32 ({tile.nbytes / 2**20:.0f} MiB), {objects_per_tile} "
          f"objects placed, {n_per_tile} instances when extracted alone in memory; "
          f"workers {args.workers or os.cpu_count()}, points {args.points}, occupancy points "
          f"{args.occupancy_points}", flush=True)  # fmt: skip

    rows, notes = [], []
    for size in sizes:
        store = workdir / f"tiles_{size:g}gib.zarr"
        t0 = time.perf_counter()
        info = build_volume(store, size, tile, n_per_tile, objects_per_tile)
        print(f"volume {store.name}: {info['shape']} built/checked in "
              f"{time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
        out = workdir / f"lib_{size:g}gib"
        shutil.rmtree(out, ignore_errors=True)
        r = run_extract(str(store), out, args, chunked=True)
        rows.append((size, info, store_mib(store), r))
        print(f"  chunked: {r['seconds']:.1f} s, peak {r['peak_gib']:.2f} GiB, "
              f"{r['instances']} / {info['expected']} instances", flush=True)  # fmt: skip
        first = size == sizes[0]
        if first and args.equality:
            mem = workdir / f"lib_{size:g}gib_memory"
            shutil.rmtree(mem, ignore_errors=True)
            rm = run_extract(str(store), mem, args, chunked=False)
            same, n_files = same_library(out, mem)
            notes.append(f"equality {info['nbytes'] / GIB:.2f} GiB phantoms: chunked vs in memory "
                         f"{'IDENTICAL' if same else 'DIFFERENT'} ({n_files} files); in memory "
                         f"{rm['seconds']:.1f} s, peak {rm['peak_gib']:.2f} GiB")  # fmt: skip
            if not args.keep:
                shutil.rmtree(mem)
        if first and args.cluster:
            address, procs = start_cluster(workdir)
            try:
                dsk = workdir / f"lib_{size:g}gib_dask"
                shutil.rmtree(dsk, ignore_errors=True)
                rc = run_extract(str(store), dsk, args, chunked=True, scheduler=address,
                                 watch=[p.pid for p in procs])  # fmt: skip
            finally:
                stop_cluster(procs)
            same, n_files = same_library(out, dsk)
            notes.append(f"cluster (scheduler + 2 workers, 127.0.0.1) {info['nbytes'] / GIB:.2f} "
                         f"GiB: {rc['seconds']:.1f} s, peak {rc['peak_gib']:.2f} GiB (scheduler, "
                         f"workers, client), library {'IDENTICAL' if same else 'DIFFERENT'} to "
                         f"the local chunked run ({n_files} files)")  # fmt: skip
            if not args.keep:
                shutil.rmtree(dsk)
        if not args.keep:
            shutil.rmtree(out)
    if args.equality and LUCCHI.is_file():
        a, b = workdir / "lucchi_chunked", workdir / "lucchi_memory"
        for p in (a, b):
            shutil.rmtree(p, ignore_errors=True)
        ra = run_extract(str(LUCCHI), a, args, chunked=True, voxel=5)
        rb = run_extract(str(LUCCHI), b, args, chunked=False, voxel=5)
        same, n_files = same_library(a, b)
        notes.append(f"equality Lucchi++ (165x768x1024, {ra['instances']} instances): chunked vs "
                     f"in memory {'IDENTICAL' if same else 'DIFFERENT'} ({n_files} files); "
                     f"{ra['seconds']:.1f} s vs {rb['seconds']:.1f} s")  # fmt: skip
        if not args.keep:
            shutil.rmtree(a)
            shutil.rmtree(b)

    print("\n| volume GiB | shape | compressed MiB | objects placed | instances expected (tiles "
          "x one tile in memory) | instances found | wall s | s per GiB | peak RSS, process "
          "tree, GiB |\n|---|---|---|---|---|---|---|---|---|")  # fmt: skip
    for _size, info, mib, r in rows:
        gib = info["nbytes"] / GIB
        print(f"| {gib:.2f} | {'x'.join(map(str, info['shape']))} | {mib:.0f} | "
              f"{info['objects']} | {info['expected']} | {r['instances']} | {r['seconds']:.1f} | "
              f"{r['seconds'] / gib:.1f} | {r['peak_gib']:.2f} |")  # fmt: skip
    if len(rows) >= 2:
        gib = np.array([info["nbytes"] / GIB for _, info, _, _ in rows])
        sec = np.array([r["seconds"] for *_, r in rows])
        peak = np.array([r["peak_gib"] for *_, r in rows])
        slope = np.polyfit(np.log(gib), np.log(sec), 1)[0]
        print(f"\nwall time ~ size^{slope:.2f} (least squares, log-log); peak memory "
              f"{peak.min():.2f}-{peak.max():.2f} GiB over {gib.min():.2f}-{gib.max():.2f} GiB "
              f"(max/min {peak.max() / peak.min():.2f})")  # fmt: skip
    every = all(r["instances"] == info["expected"] for _, info, _, r in rows)
    print(f"every instance found: {'yes' if every else 'NO'}")
    for n in notes:
        print(n)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "_child":
        child(sys.argv[2])
    else:
        main()
