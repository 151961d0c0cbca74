"""numba's compiled functions are cached in a user cache folder, never in the source tree, and
the cache hits: a second `extract` compiles nothing (no new cache file)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _compiled(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.suffix in (".nbi", ".nbc")}


@pytest.mark.slow
def test_numba_cache_is_outside_the_checkout_and_hits(tmp_path):
    from shapelib.io import write_volume
    from tests.cli._world import tiny_volume

    vol = write_volume(tmp_path / "vol.tif", tiny_volume(), voxel_size_nm=12)
    cache_home = tmp_path / "cache"
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(PYTHONPATH=str(ROOT), XDG_CACHE_HOME=str(cache_home))
    in_checkout = _compiled(ROOT)
    seen = []
    for run in ("a", "b"):
        args = ["extract", vol, "-o", tmp_path / run, "--points", 500, "--occupancy-points",
                500, "--workers", 1]  # fmt: skip
        r = subprocess.run([sys.executable, "-m", "cli", *map(str, args)], cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
        assert r.returncode == 0, r.stderr
        seen.append({(p.relative_to(cache_home), p.stat().st_size) for p in _compiled(cache_home)})
    assert seen[0], "numba cached nothing in the user cache folder"
    assert all(str(p).startswith("mitoshape/numba/") for p, _ in seen[0])
    assert seen[1] == seen[0], f"the second run compiled again: {sorted(seen[1] - seen[0])}"
    assert _compiled(ROOT) <= in_checkout, "numba wrote into the checkout"
