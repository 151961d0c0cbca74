"""Time a whole training set on all cores: `write_dataset` end to end (render, truth, TIFFs).

The issue-14 target: 10,000 images of 256x256 px (Epi1, 5 objects each, the released
instances 1 and 920) in <= 30 minutes on this machine's 2 cores. Run it alone:

    .venv/bin/python benchmarks/bench_dataset.py --n 10000 --workers 2 --out /tmp/ds10k

(a quick check: ``--n 40``). Prints the wall time, images per second and the projected time for
10,000 images; a folder given with ``--out`` is kept for inspection (delete it after), the
default temporary one is removed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main(argv=None) -> None:
    from simulator import EPI1, Acquisition, CellSceneConfig, SceneConfig, write_dataset
    from simulator.io import read_shapes

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10000, help="images")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--objects", type=int, default=5)
    ap.add_argument("--scene", choices=("objects", "cell"), default="objects")
    ap.add_argument("--out", type=Path, default=None, help="output folder (default: a temporary "
                    "one, removed after)")  # fmt: skip
    args = ap.parse_args(argv)
    keep = args.out is not None
    out = args.out or Path(tempfile.mkdtemp(prefix="mitoshape_ds_")) / "dataset"

    shapes = read_shapes(DATA / "3dmsl_samples" / "1") + read_shapes(DATA / "3dmsl_samples" / "920")
    acq = Acquisition(size_px=args.size)
    if args.scene == "cell":
        scene = CellSceneConfig(acquisition=acq)
    else:
        scene = SceneConfig(acquisition=acq, objects=(args.objects, args.objects))
    t0, c0 = time.perf_counter(), time.process_time()
    write_dataset(shapes, EPI1, out, n=args.n, scene=scene, seed=0, workers=args.workers)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"## write_dataset: {args.n} {args.scene} images of {args.size}x{args.size} px, "
          f"{args.workers} worker process(es)")  # fmt: skip
    print(f"wall {wall:.1f} s = {args.n / wall:.2f} images/s ({1000 * wall / args.n:.0f} ms "
          f"per image); parent CPU (writing TIFFs) {cpu:.1f} s")  # fmt: skip
    print(f"projected for 10,000 images: {10000 * wall / args.n / 60:.1f} min (target <= 30)")
    if not keep:
        shutil.rmtree(out.parent)


if __name__ == "__main__":
    main()
