"""Resource bombs: tiny inputs or options that ask for unbounded memory or time are refused
before any work, in one line naming the option (or file) and what fits, within a second of
the command starting and without growing the process (docs/reliability.md)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from tests.cli._world import tiny_volume

ROOT = Path(__file__).resolve().parents[2]


def _zarr(t: Path) -> Path:
    zarr = pytest.importorskip("zarr")
    z = zarr.open(str(t / "bomb.zarr"), mode="w", shape=(100000,) * 3, chunks=(256,) * 3,
                  dtype="uint8")  # fmt: skip
    z.attrs["voxel_size_nm"] = [10, 10, 10]
    return t / "bomb.zarr"


def _hdf5(t: Path) -> Path:
    h5py = pytest.importorskip("h5py")
    with h5py.File(t / "bomb.h5", "w") as f:
        f.create_dataset("labels", shape=(100000,) * 3, chunks=(64,) * 3, dtype="uint8")
    return t / "bomb.h5"


def _png(t: Path) -> Path:
    """A 300-byte PNG whose header claims 50000 x 50000 pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    w = h = 50000
    head = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\0" * (w + 1) * 4)
    folder = t / "pngs"
    folder.mkdir()
    (folder / "im00.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head)
                                      + chunk(b"IDAT", body) + chunk(b"IEND", b""))  # fmt: skip
    return folder


def _tiff(t: Path) -> Path:
    """An 8 kB TIFF whose header claims a page of 4x the memory allowed (the data cut off)."""
    import tifffile

    from shapelib._memory import max_array_bytes

    side = int((4 * max_array_bytes()) ** 0.5) + 1
    folder = t / "tifs"
    folder.mkdir()
    f = folder / "im00.tif"
    tifffile.imwrite(f, shape=(side, side), dtype="uint8", photometric="minisblack")
    os.truncate(f, 8192)  # a sparse file until now: keep the header only
    return folder


def _volume(t: Path) -> Path:
    from shapelib.io import write_volume

    return write_volume(t / "vol.tif", tiny_volume(), voxel_size_nm=12)


def _library(t: Path) -> Path:
    from tests.simulator._shapes import sphere, write_library

    return write_library(t / "lib", {1: (sphere(300), "dot")})


# name: (inputs to build, command line from them, a word the one line must hold)
BOMBS = {
    "zarr-header-100000^3": (_zarr, lambda p, t: ["extract", p, "-o", t / "o",
                             "--voxel-size-nm", 10], "claims 100000 x 100000 x 100000"),
    "hdf5-header-100000^3": (_hdf5, lambda p, t: ["extract", p, "-o", t / "o",
                             "--voxel-size-nm", 10], "claims 100000 x 100000 x 100000"),
    "png-header-50000^2": (_png, lambda p, t: ["quantify", p, "-o", t / "q.csv"], "pixels"),
    "tiff-header-4x-memory": (_tiff, lambda p, t: ["quantify", p, "-o", t / "q.csv"],
                              "Crop or tile it"),
    "extract-voxel-size-0.001": (_volume, lambda p, t: ["extract", p, "-o", t / "o",
                                 "--voxel-size-nm", 0.001], "--voxel-size-nm"),
    "dataset-n-1e9": (_library, lambda p, t: ["dataset", p, "-o", t / "o", "--n", 10**9],
                      "the largest that fits is --n "),
    "dataset-objects-1e6": (_library, lambda p, t: ["dataset", p, "-o", t / "o", "--objects",
                            "1-1000000"], "--objects"),
    "simulate-views-random-1e8": (_library, lambda p, t: ["simulate", p, "-o", t / "o",
                                  "--views", "random:100000000"], "--views"),
    "phantom-objects-1e6": (None, lambda p, t: ["phantom", "-o", t / "v.tif", "--objects",
                            10**6], "the largest that fits is --objects "),
    "clicks-max-clicks-1e9": (None, lambda p, t: ["clicks", t / "run", "--data", t / "d", "-o",
                              t / "o", "--max-clicks", 10**9], "--max-clicks"),
    "predict-threads-1e5": (None, lambda p, t: ["predict", t / "run", t / "d", "-o", t / "o",
                            "--threads", 100000], "the largest --threads"),
    "train-threads-1e5": (None, lambda p, t: ["train", "--data", t / "d", "--run-dir", t / "r",
                          "--threads", 100000], "the largest --threads"),
    # --workers 100000 forked processes without end (360 after 3 minutes)
    "extract-workers-1e5": (_volume, lambda p, t: ["extract", p, "-o", t / "o", "--workers",
                            100000], "the largest --workers"),
    "simulate-workers-1e5": (_library, lambda p, t: ["simulate", p, "-o", t / "o", "--workers",
                             100000], "the largest --workers"),
    "dataset-workers-1e5": (_library, lambda p, t: ["dataset", p, "-o", t / "o", "--workers",
                            100000], "the largest --workers"),
}  # fmt: skip

_PROBE = """
import json, resource, sys, time
from cli import app
from cli._errors import run_guarded

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
out = []
for args in json.loads(sys.argv[1]):
    run_guarded(app, args)  # once to import what the command imports (torch: ~2 s, ~200 MB)
    before = rss_mb()
    t0 = time.perf_counter()
    code = run_guarded(app, args)
    out.append({"code": code, "s": time.perf_counter() - t0, "grew_mb": rss_mb() - before})
print(json.dumps(out))
"""


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc")
def test_resource_bombs_are_refused_at_once_in_one_line(tmp_path):
    """All cases in one process, each run twice (the first pays the imports): the second is
    refused with exit 2 in under a second, its peak memory grown by under 100 MB, nothing
    written; one line each."""
    cases, words = [], []
    for name, (build, line, word) in sorted(BOMBS.items()):
        t = tmp_path / name
        t.mkdir()
        made = build(t) if build else None
        cases.append([str(a) for a in line(made, t)])
        words.append((name, word, t, set(t.rglob("*"))))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(cases)], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = [x for x in r.stderr.splitlines() if not x.startswith("WARNING ")]  # logged notes
    assert "Traceback" not in r.stderr and len(lines) == 2 * len(cases), r.stderr
    lines = lines[1::2]
    for (name, word, t, before), res, err in zip(words, json.loads(r.stdout), lines, strict=True):
        assert res["code"] == 2 and err.startswith("error:"), (name, res, err)
        assert word in err, (name, err)
        assert res["s"] < 1.0, (name, res)
        assert res["grew_mb"] < 100, (name, res)
        assert set(t.rglob("*")) == before, (name, "wrote files")


def test_count_pricing_names_the_largest_value_that_fits():
    from shapelib import InputError, check_count

    check_count(10, each_bytes=100, option="--n", what="image", limit_bytes=1000)
    with pytest.raises(InputError, match=r"the largest that fits is --n 10\.") as e:
        check_count(11, each_bytes=100, option="--n", what="image", limit_bytes=1000)
    assert "\n" not in str(e.value)
    with pytest.raises(InputError, match="the largest that fits is --n 0"):
        check_count(float("inf"), each_bytes=np.float64(1), option="--n", what="x",
                    limit_bytes=0)  # fmt: skip
