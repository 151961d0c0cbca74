"""The bytes of a library do not change when extraction gets faster.

Two libraries are extracted and every file hashed (``library.json`` without its ``versions``):
a phantom volume with touching pairs at 30 nm (every class, the split, occupancy from the
mask) and, with ../shared/data, a Lucchi++ crop at 5 nm (the skeleton thinned on a max-pooled
copy, border-touching instances). The hashes were recorded from the code before issue 29
changed how the library is built (`library_hashes.json`); a faster path must give the same.

The recorded hashes hold for the package versions recorded with them: under other versions of
numpy, scipy, scikit-image, open3d, ... floating point may legitimately differ, and the test
skips saying so. Re-record (after proving equality another way, e.g. against the previous
commit) with::

    .venv/bin/python -m tests.shapelib.test_library_bytes > tests/shapelib/library_hashes.json
"""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import version
from pathlib import Path

import pytest

RECORD = Path(__file__).with_name("library_hashes.json")
# packages whose floating point reaches the files
PACKAGES = (
    "numpy",
    "scipy",
    "scikit-image",
    "connected-components-3d",
    "edt",
    "skan",
    "trimesh",
    "open3d-cpu",
    "numba",
)
LUCCHI = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "lucchi_pp" / "test_labels_3d.tif"
)


def _versions() -> dict:
    return {name: version(name) for name in PACKAGES}


def library_hashes(out: Path) -> dict[str, str]:
    """sha256 of every file of a library folder (``library.json`` without ``versions``)."""
    hashes = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.name == "library.json":
            info = json.loads(data)
            info.pop("versions", None)
            data = json.dumps(info, sort_keys=True).encode()
        hashes[path.relative_to(out).as_posix()] = hashlib.sha256(data).hexdigest()
    return hashes


def extract_case(name: str, out: Path) -> dict[str, str]:
    from shapelib import ShapeParams, extract_library

    shape = ShapeParams(n_surface_points=5000, n_occupancy_points=5000)
    if name == "phantoms":
        from shapelib.phantoms import phantom_volume

        vol = phantom_volume(24, touching_pairs=2, rng=0)
        extract_library(
            vol.labels, out, voxel_size_nm=vol.voxel_size_nm, shape=shape, seed=0, n_workers=1
        )
    else:
        from shapelib.io import read_volume

        labels = read_volume(LUCCHI, voxel_size_nm=5).data[:, :320, :384]
        extract_library(labels, out, voxel_size_nm=5, shape=shape, seed=0, n_workers=1)
    return library_hashes(out)


@pytest.mark.parametrize(
    "case", ["phantoms", pytest.param("lucchi_crop", marks=pytest.mark.realdata)]
)
def test_library_bytes_are_those_recorded(case, tmp_path):
    record = json.loads(RECORD.read_text())
    if record["versions"] != _versions():
        pytest.skip(f"hashes recorded with {record['versions']}, these are {_versions()}")
    if case == "lucchi_crop" and not LUCCHI.is_file():
        pytest.skip(f"{LUCCHI} is absent (../shared/data)")
    got = extract_case(case, tmp_path / "lib")
    want = record[case]
    assert set(got) == set(want), sorted(set(got) ^ set(want))
    changed = sorted(f for f in want if got[f] != want[f])
    assert not changed, f"{len(changed)} files changed bytes: {changed[:10]}"


if __name__ == "__main__":  # print a new record (see the module docstring)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = {"versions": _versions()}
        for case in ("phantoms", "lucchi_crop"):
            out[case] = extract_case(case, Path(tmp) / case)
    print(json.dumps(out, indent=1, sort_keys=True))
