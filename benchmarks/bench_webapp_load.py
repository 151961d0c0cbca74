"""Load on the Segment page: simulated users against `mitoshape serve` on 127.0.0.1 only.

Starts the server as a child process (``python -m cli serve --run RUN --state DIR
--memory-gb G --port P``); each simulated user is a thread with its own session id that
uploads one image (``--size``, default 1024 x 768, smooth blobs, seeded) and clicks
``--clicks`` times at seeded places; a click's latency is the click's POST plus the mask
layer's GET of the box the click touched (what the page waits for before it shows the new
mask; the whole mask before issue 33's windowed layers). Measured:

- p50 / p95 / max click-to-mask latency of all users together;
- the slowest of 5 clicks of one user while another uploads a 2048 x 2048 image (``--big``,
  ``--big-px``);
- the server's resident memory (the process and its children, psutil, every 0.2 s): peak
  during the load, and settled (``--settle`` s after the last request);
- sessions lost: each user's session after the load must hold all its clicks (with
  ``--restart``, the server is stopped and started again on the same ``--state`` after half
  the clicks, and the users go on from their saved sessions).

Bounded: every request has a timeout (``--timeout`` s) and the whole run stops after
``--max-seconds``. Prints one table and writes ``results.json`` into ``--out``
(default ``benchmarks/runs/webapp_load``).

The measurement of the issue (alone on the machine):

    .venv/bin/python benchmarks/bench_webapp_load.py --users 8 --clicks 20 --big --restart

A few seconds, to try it: ``--users 2 --clicks 2 --size 256x192 --big --big-px 256``.

Without ``--run`` a tiny interactive run of the recipe's size (prob_unet, depth 4, width 16,
one training step on a phantom dataset) is made in the out folder first: its clicks cost
what a trained one's do.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._runs import default_out  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _image(shape: tuple[int, int], seed: int) -> bytes:
    """A TIFF of smooth bright blobs on a dark ground (uint16)."""
    import tifffile
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    spots = (rng.random(shape) > 0.9995).astype(np.float32)
    img = gaussian_filter(spots, 6) * 4e4 + rng.normal(100, 10, shape)
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.clip(img, 0, 65535).astype(np.uint16))
    return buf.getvalue()


def _tiny_run(out: Path) -> Path:
    """An interactive prob_unet of the recipe's size after one step (made once in `out`)."""
    run = out / "tiny_run"
    if (run / "last.pt").is_file() or (run / "best.pt").is_file():
        return run
    from segtrain import DataSource, TrainConfig, train
    from shapelib import ShapeParams, extract_library
    from shapelib.phantoms import phantom_volume
    from simulator import EPI1, Acquisition, SceneConfig, write_dataset
    from simulator.io import read_shapes

    vol = phantom_volume(5, voxel_size_nm=30.0, rng=0)
    shape = ShapeParams(n_surface_points=300, n_occupancy_points=300)
    extract_library(vol.labels, out / "lib", voxel_size_nm=vol.voxel_size_nm, shape=shape,
                    n_workers=1, seed=0, overwrite=True)  # fmt: skip
    scene = SceneConfig(acquisition=Acquisition(size_px=96), objects=(2, 4))
    write_dataset(
        read_shapes(out / "lib"), EPI1, out / "ds", n=3, scene=scene, workers=1, overwrite=True
    )  # a run that stopped before training left it
    cfg = TrainConfig(train=[DataSource(path=str(out / "ds"))], run_dir=str(run),
                      model="prob_unet", interactive=True, patch_px=64, batch_size=2,
                      val_patches=2, max_steps=1, plain_share=0.0, amp=False,
                      device="cpu")  # fmt: skip
    train(cfg)
    return run


class Server:
    """`mitoshape serve` in a child process, with its memory sampled."""

    def __init__(self, run: str, state: Path, memory_gb: float, workers: int):
        self.args = [sys.executable, "-m", "cli", "serve", "--run", run, "--state", str(state),
                     "--memory-gb", str(memory_gb), "--workers", str(workers)]  # fmt: skip
        self.proc: subprocess.Popen | None = None
        self.peak = 0
        self._stop = threading.Event()

    def start(self, timeout_s: float = 120.0) -> str:
        import httpx

        port = _free_port()
        self.proc = subprocess.Popen([*self.args, "--port", str(port)], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout_s:
            try:
                if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                    self._stop.clear()
                    threading.Thread(target=self._sample, daemon=True).start()
                    return url
            except httpx.HTTPError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("the server did not start")

    def rss(self) -> int:
        import psutil

        try:
            p = psutil.Process(self.proc.pid)
            return sum(q.memory_info().rss for q in [p, *p.children(recursive=True)])
        except psutil.Error:
            return 0

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(0.2)

    def stop(self) -> None:
        self._stop.set()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _user(k: int, a: argparse.Namespace, box: dict, image: bytes, clicks, record) -> None:
    """One user: upload (unless resuming), then its clicks, each timed to the new mask."""
    import httpx

    sid = f"bench-user-{k:04d}"
    h = {"X-Session-Id": sid}
    with httpx.Client(timeout=a.timeout) as c:
        if clicks[0] == 0:
            c.post(box["url"] + "/api/segment/upload", headers=h,
                   files={"file": (f"user{k}.tif", image)}, data={"pixel_size_nm": "8"},
                   ).raise_for_status()  # fmt: skip
        for x, y in clicks[1]:
            if time.monotonic() > box["deadline"]:
                return
            t0 = time.perf_counter()
            r = c.post(box["url"] + "/api/segment/click", headers=h,
                       json={"x_px": int(x), "y_px": int(y)})  # fmt: skip
            r.raise_for_status()
            # as the page does: the box the click touched, else the whole mask
            got = r.json().get("changed_box")
            q = {"box": ",".join(map(str, got))} if got else {}
            c.get(box["url"] + "/api/segment/layers/mask.png", headers=h,
                  params=q).raise_for_status()  # fmt: skip
            record(k, time.perf_counter() - t0)


def _run_users(a, box, images, plan, record) -> None:
    threads = [threading.Thread(target=_user, args=(k, a, box, images[k], plan[k], record))
               for k in range(a.users)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", help="run folder or shipped model (default: a tiny one made here)")
    p.add_argument("--users", type=int, default=8)
    p.add_argument("--clicks", type=int, default=20)
    p.add_argument("--size", default="1024x768", help="image width x height")
    p.add_argument("--big", action="store_true", help="clicks during a large upload")
    p.add_argument("--big-px", type=int, default=2048, help="side of the large upload")
    p.add_argument("--restart", action="store_true", help="restart the server halfway")
    p.add_argument("--memory-gb", type=float, default=1.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--max-seconds", type=float, default=1800.0)
    p.add_argument("--settle", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=default_out("webapp_load"))
    a = p.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    w, h = (int(v) for v in a.size.lower().split("x"))
    run = a.run or str(_tiny_run(a.out))
    state = a.out / "state"
    import shutil

    shutil.rmtree(state, ignore_errors=True)
    rng = np.random.default_rng(a.seed)
    images = [_image((h, w), a.seed + k) for k in range(a.users)]
    clicks = [list(zip(rng.integers(0, w, a.clicks), rng.integers(0, h, a.clicks), strict=True))
              for _ in range(a.users)]  # fmt: skip
    lat: list[tuple[int, float]] = []
    lock = threading.Lock()

    def record(k, s):
        with lock:
            lat.append((k, s))

    server = Server(run, state, a.memory_gb, a.workers)
    box = {"url": server.start(), "deadline": time.monotonic() + a.max_seconds}
    idle = server.rss()
    half = a.clicks // 2 if a.restart else a.clicks
    try:
        _run_users(a, box, images, [(0, c[:half]) for c in clicks], record)
        if a.restart:
            server.stop()
            box["url"] = server.start()
            _run_users(a, box, images, [(1, c[half:]) for c in clicks], record)
        big = None
        if a.big:
            import httpx

            slow: list[float] = []
            big_tif = _image((a.big_px, a.big_px), 99)

            def upload_big():
                httpx.post(box["url"] + "/api/segment/upload", timeout=a.timeout,
                           headers={"X-Session-Id": "bench-big-upload"},
                           files={"file": ("big.tif", big_tif)})  # fmt: skip

            up = threading.Thread(target=upload_big)
            up.start()
            time.sleep(0.5)
            _user(0, a, box, images[0], (1, clicks[0][:5]), lambda k, s: slow.append(s))
            up.join()
            big = max(slow) if slow else None
        time.sleep(a.settle)
        settled = server.rss()
        import httpx

        lost = 0
        for k in range(a.users):
            st = httpx.get(box["url"] + "/api/segment/state", timeout=a.timeout,
                           headers={"X-Session-Id": f"bench-user-{k:04d}"}).json()  # fmt: skip
            want = a.clicks + (len(clicks[0][:5]) if a.big and k == 0 else 0)
            lost += len(st.get("clicks", [])) != want
    finally:
        server.stop()
    s = np.array([v for _, v in lat]) if lat else np.zeros(1)
    res = {
        "users": a.users, "clicks": a.clicks, "size": [w, h], "run": run,
        "p50_s": float(np.percentile(s, 50)), "p95_s": float(np.percentile(s, 95)),
        "max_s": float(s.max()), "n_clicks": len(lat), "slowest_during_big_upload_s": big,
        "rss_idle_mb": idle / 2**20, "rss_peak_mb": server.peak / 2**20,
        "rss_settled_mb": settled / 2**20, "sessions_lost": lost, "restart": a.restart,
        "load_average": os.getloadavg(),
    }  # fmt: skip
    (a.out / "results.json").write_text(json.dumps(res, indent=2))
    print(f"{'users':>5} {'clicks':>6} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'big s':>7} "
          f"{'idle MB':>8} {'peak MB':>8} {'settled MB':>10} {'lost':>4}")  # fmt: skip
    print(f"{a.users:>5} {len(lat):>6} {res['p50_s']:>7.3f} {res['p95_s']:>7.3f} "
          f"{res['max_s']:>7.3f} {big if big is None else round(big, 3)!s:>7} "
          f"{res['rss_idle_mb']:>8.0f} {res['rss_peak_mb']:>8.0f} "
          f"{res['rss_settled_mb']:>10.0f} {lost:>4}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
