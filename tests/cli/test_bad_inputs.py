"""The bad-input matrix, part 1: corrupt files of every format and wrong dtypes and shapes,
through every command that reads them.

Each case must fail with exit status != 0 and one line on stderr (no traceback), write no file
outside its -o, and leave every file that existed before byte-identical (`assert_refused`).
Part 2 (`test_bad_outputs.py`): path-escaping names, outputs over inputs, impossible numbers;
SIGINT: `test_sigint.py`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tifffile

from tests.cli._world import assert_refused, build_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return build_world(tmp_path_factory.mktemp("world"))


# --- corrupt files ---------------------------------------------------------------------------

CORRUPT = {
    "zero": lambda data: b"",
    "cut": lambda data: data[: max(1, len(data) // 3)],
    "fake": lambda data: b"this is not what the name says\n" * 8,
}


def _corrupt(src: Path, dst: Path, how: str) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(CORRUPT[how](src.read_bytes()))
    return dst


def _tiff(tmp: Path, how: str, data=None) -> Path:
    good = tmp / "good.tif"
    arr = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) if data is None else data
    tifffile.imwrite(good, arr, compression="zlib", photometric="minisblack")
    out = _corrupt(good, tmp / "bad" / "im00.tif", how)
    good.unlink()
    return out


def _png(tmp: Path, how: str) -> Path:
    from PIL import Image

    good = tmp / "good.png"
    Image.fromarray((np.arange(32 * 32) % 255).astype(np.uint8).reshape(32, 32)).save(good)
    out = _corrupt(good, tmp / "bad" / "im00.png", how)
    good.unlink()
    return out


def _dataset_with(w, tmp: Path, which: str, bad: Path) -> Path:
    """A copy of the world's data folder whose first image or mask is ``bad``."""
    d = tmp / "set"
    shutil.copytree(w.data, d)
    (d / which / "im00.tif").unlink()
    shutil.move(bad, d / which / bad.name)
    return d


def _shape_with(w, tmp: Path, name: str, how: str) -> Path:
    folder = tmp / "shape" / "000001"
    shutil.copytree(w.shape, folder)
    if name == "occupancies.npz":
        pts, bits = np.zeros((8, 3), np.float16), np.zeros(1, np.uint8)
        np.savez(folder / name, points=pts, occupancies=bits, loc=np.zeros(3), scale=np.float64(1))
    if name == "pointcloud.ply":
        (folder / name).write_text(
            "ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\n"
            "property float z\nproperty float nx\nproperty float ny\nproperty float nz\n"
            "end_header\n0 0 0 0 0 1\n1 1 1 0 0 1\n"
        )
    _corrupt(folder / name, folder / name, how)
    return folder


def _library_with(w, tmp: Path, name: str, how: str) -> Path:
    lib = tmp / "lib"
    shutil.copytree(w.library, lib)
    target = lib / name
    _corrupt(target, target, how)
    return lib


Case = Callable[..., tuple[list, list]]
CASES: dict[str, Case] = {}


def case(name: str):
    def deco(fn):
        CASES[name] = fn
        return fn

    return deco


def _yaml(tmp: Path, text: str) -> Path:
    p = tmp / "cfg.yaml"
    p.write_text(text)
    return p


BAD_YAML = {
    "syntax": "a: [1, 2\nb: :",
    "python-tag": "name: !!python/object/apply:os.system ['echo pwned']\n",
    "not-a-mapping": "- 1\n- 2\n",
    "unknown-field": "nmae: x\n",
    "binary": "\udcff",  # written with surrogateescape: not UTF-8
}


def _bad_yaml(tmp: Path, kind: str) -> Path:
    p = tmp / "cfg.yaml"
    if kind == "binary":
        p.write_bytes(b"\xff\xfe\x00garbage")
    else:
        p.write_text(BAD_YAML[kind])
    return p


for how in CORRUPT:

    @case(f"tiff-{how}:extract")
    def _(w, t, how=how):
        bad = _tiff(t, how, data=np.zeros((4, 8, 8), np.uint8))
        return ["extract", bad, "-o", t / "lib", "--voxel-size-nm", 8], [t / "lib"]

    @case(f"tiff-{how}:calibrate")
    def _(w, t, how=how):
        bad = _tiff(t, how)
        return ["calibrate", bad, "-o", t / "cam.yaml"], [t / "cam.yaml"]

    @case(f"tiff-{how}:predict")
    def _(w, t, how=how):
        bad = _tiff(t, how)
        return ["predict", w.run, bad.parent, "-o", t / "pred"], [t / "pred"]

    @case(f"tiff-{how}:evaluate")
    def _(w, t, how=how):
        d = _dataset_with(w, t, "masks", _tiff(t, how))
        return ["evaluate", "--pred", w.data, "--gt", d, "-o", t / "m.csv"], [t / "m.csv"]

    @case(f"tiff-{how}:quantify")
    def _(w, t, how=how):
        bad = _tiff(t, how)
        return ["quantify", bad.parent, "-o", t / "q.csv", "--pixel-size-nm", 5], [t / "q.csv"]

    @case(f"tiff-{how}:train")
    def _(w, t, how=how):
        d = _dataset_with(w, t, "images", _tiff(t, how))
        return ["train", "--config", w.train_yaml, "--data", d, "--run-dir", t / "r"], [t / "r"]

    @case(f"png-{how}:predict")
    def _(w, t, how=how):
        bad = _png(t, how)
        return ["predict", w.run, bad.parent, "-o", t / "pred"], [t / "pred"]

    @case(f"png-{how}:evaluate")
    def _(w, t, how=how):
        d = _dataset_with(w, t, "masks", _png(t, how))
        return ["evaluate", "--pred", w.data, "--gt", d], []

    @case(f"png-{how}:train")
    def _(w, t, how=how):
        d = _dataset_with(w, t, "images", _png(t, how))
        return ["train", "--config", w.train_yaml, "--data", d, "--run-dir", t / "r"], [t / "r"]

    for suffix in (".h5", ".npy", ".zarr"):

        @case(f"{suffix[1:]}-{how}:extract")
        def _(w, t, how=how, suffix=suffix):
            bad = t / f"vol{suffix}"
            if suffix == ".zarr":
                bad.mkdir()
                _corrupt(w.volume, bad / ".zarray", how)
            else:
                _corrupt(w.volume, bad, how)
            return ["extract", bad, "-o", t / "lib", "--voxel-size-nm", 8], [t / "lib"]

    for name in ("raw_mesh.off", "meta.json", "occupancies.npz", "pointcloud.ply"):

        @case(f"{name}-{how}:classify")
        def _(w, t, how=how, name=name):
            folder = _shape_with(w, t, name, how)
            return ["classify", folder, "--voxel-size-nm", 25], []

    for name in ("raw_mesh.off", "meta.json"):

        @case(f"{name}-{how}:simulate")
        def _(w, t, how=how, name=name):
            folder = _shape_with(w, t, name, how)
            return ["simulate", folder, "-o", t / "sim", "--size", 16, "--views", "0"], [t / "sim"]

    for cmd in ("summary", "gallery", "simulate", "dataset"):

        @case(f"library.csv-{how}:{cmd}")
        def _(w, t, how=how, cmd=cmd):
            lib = _library_with(w, t, "library.csv", how)
            if cmd == "summary":
                return ["library", "summary", lib], []
            if cmd == "gallery":
                return ["library", "gallery", lib, "-o", t / "g.png"], [t / "g.png"]
            return [cmd, lib, "-o", t / "o", "--size", 32], [t / "o"]

    for name in ("best.pt", "config.json"):

        @case(f"run-{name}-{how}:predict")
        def _(w, t, how=how, name=name):
            run = t / "run"
            shutil.copytree(w.run, run)
            _corrupt(run / name, run / name, how)
            return ["predict", run, w.data / "images", "-o", t / "pred"], [t / "pred"]


for kind in BAD_YAML:
    for cmd in ("psf", "simulate", "dataset", "camera", "train", "bench"):

        @case(f"yaml-{kind}:{cmd}")
        def _(w, t, kind=kind, cmd=cmd):
            cfg = _bad_yaml(t, kind)
            if cmd == "psf":
                return ["psf", "--config", cfg, "-o", t / "p.tif"], [t / "p.tif"]
            if cmd in ("simulate", "dataset"):
                return [cmd, w.library, "--config", cfg, "-o", t / "o"], [t / "o"]
            if cmd == "camera":
                return ["simulate", w.library, "--camera", cfg, "-o", t / "o"], [t / "o"]
            if cmd == "train":
                return ["train", "--config", cfg, "--data", w.data, "--run-dir", t / "r"], [t / "r"]
            return ["bench", cfg, "-o", t / "b"], [t / "b"]


@case("meta.json-not-an-object:simulate")
def _(w, t):
    folder = _shape_with(w, t, "meta.json", "fake")
    (folder / "meta.json").write_text("[1, 2, 3]")
    return ["simulate", folder, "-o", t / "sim", "--size", 16, "--views", "0"], [t / "sim"]


@case("meta.json-id-is-text:classify")
def _(w, t):
    folder = _shape_with(w, t, "meta.json", "fake")
    (folder / "meta.json").write_text(json.dumps({"id": "one", "class": "rod"}))
    return ["classify", folder, "--voxel-size-nm", 25], []


@case("library.csv-cut-header:summary")
def _(w, t):
    lib = t / "lib"
    shutil.copytree(w.library, lib)
    (lib / "library.csv").write_text("id,fol")
    return ["library", "summary", lib], []


@case("library.csv-ragged-row:summary")
def _(w, t):
    lib = t / "lib"
    shutil.copytree(w.library, lib)
    (lib / "library.csv").write_text("id,folder,class\n1,000001,rod,extra\n2,000002\n")
    return ["library", "summary", lib], []


@case("library.csv-folder-escapes:simulate")
def _(w, t):
    lib = t / "lib"
    shutil.copytree(w.library, lib)
    (lib / "library.csv").write_text("id,folder,class\n1,../../etc,rod\n")
    return ["simulate", lib, "-o", t / "o"], [t / "o"]


# --- wrong dtypes and shapes -----------------------------------------------------------------


def _volume(t: Path, arr) -> Path:
    p = t / "v.tif"
    tifffile.imwrite(p, arr, photometric="minisblack")
    return p


for name, arr in {
    "2d": np.ones((16, 16), np.uint8),
    "4d": np.ones((2, 3, 8, 8), np.uint8),
    "float-image": np.linspace(0, 1, 512, dtype=np.float32).reshape(8, 8, 8),
    "negative": -np.ones((4, 8, 8), np.int16),
    "complex": np.ones((4, 8, 8), np.complex64),
}.items():

    @case(f"volume-{name}:extract")
    def _(w, t, arr=arr):
        return ["extract", _volume(t, arr), "-o", t / "lib", "--voxel-size-nm", 8], [t / "lib"]


@case("volume-empty-npy:extract")
def _(w, t):
    np.save(t / "v.npy", np.zeros((0, 8, 8), np.uint8))
    return ["extract", t / "v.npy", "-o", t / "lib", "--voxel-size-nm", 8], [t / "lib"]


@case("volume-object-npy:extract")
def _(w, t):
    np.save(t / "v.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return ["extract", t / "v.npy", "-o", t / "lib", "--voxel-size-nm", 8], [t / "lib"]


def _images(t: Path, arr, name="im00.tif") -> Path:
    folder = t / "imgs"
    folder.mkdir(exist_ok=True)
    rgb = arr.ndim == 3 and arr.shape[-1] == 3
    tifffile.imwrite(folder / name, arr, photometric="rgb" if rgb else "minisblack")
    return folder


RGB = np.stack([np.zeros((32, 32)), np.ones((32, 32)), np.eye(32)], -1).astype(np.uint8)
NAN = np.where(np.eye(32, dtype=bool), np.nan, 1.0).astype(np.float32)

for name, arr in {"rgb": RGB, "nan": NAN, "4d": np.ones((2, 2, 32, 32), np.uint8),
                  "complex": np.ones((32, 32), np.complex64)}.items():  # fmt: skip

    @case(f"image-{name}:predict")
    def _(w, t, arr=arr):
        return ["predict", w.run, _images(t, arr), "-o", t / "pred"], [t / "pred"]

    @case(f"image-{name}:train")
    def _(w, t, arr=arr):
        d = _dataset_with(w, t, "images", _images(t, arr) / "im00.tif")
        return ["train", "--config", w.train_yaml, "--data", d, "--run-dir", t / "r"], [t / "r"]

    @case(f"image-{name}:calibrate")
    def _(w, t, arr=arr):
        folder = _images(t, arr)
        return ["calibrate", folder / "im00.tif", "-o", t / "cam.yaml"], [t / "cam.yaml"]


@case("image-and-png-same-name:predict")
def _(w, t):
    folder = t / "imgs"
    shutil.copytree(w.data / "images", folder)
    from PIL import Image

    Image.fromarray(np.zeros((32, 32), np.uint8)).save(folder / "im00.png")
    return ["predict", w.run, folder, "-o", t / "pred"], [t / "pred"]


for name, arr in {"fractional": np.full((32, 32), 0.3, np.float32) + np.eye(32) * 2,
                  "3d": np.ones((3, 32, 32), np.uint8), "negative": -np.ones((32, 32), np.int16),
                  "rgb": RGB}.items():  # fmt: skip

    @case(f"mask-{name}:evaluate")
    def _(w, t, arr=arr):
        d = _dataset_with(w, t, "masks", _images(t, arr) / "im00.tif")
        return ["evaluate", "--pred", w.data, "--gt", d, "-o", t / "m.csv"], [t / "m.csv"]

    @case(f"mask-{name}:quantify")
    def _(w, t, arr=arr):
        folder = _images(t, arr)
        return ["quantify", folder, "-o", t / "q.csv", "--pixel-size-nm", 5], [t / "q.csv"]


@case("mask-shape-differs:evaluate")
def _(w, t):
    d = _dataset_with(w, t, "masks", _images(t, np.ones((16, 16), np.uint8)) / "im00.tif")
    return ["evaluate", "--pred", w.data, "--gt", d], []


@case("mask-shape-differs:train")
def _(w, t):
    d = _dataset_with(w, t, "masks", _images(t, np.ones((16, 16), np.uint8)) / "im00.tif")
    return ["train", "--config", w.train_yaml, "--data", d, "--run-dir", t / "r"], [t / "r"]


@case("gt-other-names:quantify")
def _(w, t):
    folder = _images(t, np.ones((32, 32), np.uint8), name="other.tif")
    args = ["quantify", w.data / "masks", "-o", t / "q.csv", "--pixel-size-nm", 5, "--gt", folder]
    return args, [t / "q.csv"]


@case("gt-other-size:quantify")
def _(w, t):
    folder = t / "gt"
    folder.mkdir()
    for p in (w.data / "masks").iterdir():
        tifffile.imwrite(folder / p.name, np.ones((16, 16), np.uint8))
    args = ["quantify", w.data / "masks", "-o", t / "q.csv", "--pixel-size-nm", 5, "--gt", folder]
    return args, [t / "q.csv"]


@case("open-mesh:classify")
def _(w, t):
    import trimesh

    folder = _shape_with(w, t, "meta.json", "fake")
    (folder / "meta.json").unlink()
    mesh = trimesh.creation.capsule(height=40, radius=10, count=[12, 12])
    mesh.update_faces(np.arange(len(mesh.faces)) % 7 != 0)  # holes: not watertight
    mesh.export(folder / "raw_mesh.off")
    return ["classify", folder, "--voxel-size-nm", 2], []


@case("labels-2d:quantify-3d")
def _(w, t):
    return ["quantify", w.data / "masks", "-o", t / "q.csv", "--3d", "--voxel-size-nm", 5], [
        t / "q.csv"
    ]


@case("run-best.pt-nan-weights:predict")
def _(w, t):
    """A diverged run: NaN weights would write NaN probabilities and empty masks."""
    import torch

    run = t / "run"
    shutil.copytree(w.run, run)
    ck = torch.load(run / "best.pt", map_location="cpu", weights_only=True)
    name = next(k for k, v in ck["state_dict"].items() if v.is_floating_point())
    ck["state_dict"][name] = torch.full_like(ck["state_dict"][name], float("nan"))
    torch.save(ck, run / "best.pt")
    return ["predict", run, w.data / "images", "-o", t / "pred"], [t / "pred"]


for how, body in {"missing-key": '{"rule": "x"}', "negative": '{"min_size_px": -1, '
                  '"max_hole_px": 0}'}.items():  # fmt: skip

    @case(f"run-postprocess.json-{how}:predict")
    def _(w, t, body=body):
        """A key missing was a KeyError traceback in predict --clean."""
        run = t / "run"
        shutil.copytree(w.run, run)
        (run / "postprocess.json").write_text(body)
        return ["predict", run, w.data / "images", "-o", t / "pred", "--clean"], [t / "pred"]


@case("synthetic-set-empty:realism")
def _(w, t):
    """Refused before -o is made: no folder holding only a manifest is left (outs: none)."""
    (t / "empty").mkdir()
    return ["realism", w.raw, t / "empty", "-o", t / "o"], []


class _Runs:  # a pickled object: loading it would call print (any callable)
    def __reduce__(self):
        return (print, ("code ran",))


@case("run-best.pt-a-pickle:predict")
def _(w, t):
    """Refused without repeating torch's advice to pass weights_only=False."""
    import torch

    run = t / "run"
    shutil.copytree(w.run, run)
    ck = torch.load(run / "best.pt", map_location="cpu", weights_only=True)
    torch.save({**ck, "extra": _Runs()}, run / "best.pt")
    return ["predict", run, w.data / "images", "-o", t / "pred"], [t / "pred"]


for cmd in ("explain", "report"):

    @case(f"png-header-50000^2:{cmd}")
    def _(w, t, cmd=cmd):
        """Refused before -o is made (outs: none): it was left holding only a manifest."""
        from tests.cli.test_budget import _png

        return [cmd, w.run, _png(t), "-o", t / "o", "--pixel-size-nm", 80], []


@case("png-header-50000^2:predict")
def _(w, t):
    from tests.cli.test_budget import _png

    return ["predict", w.run, _png(t), "-o", t / "pred"], [t / "pred"]


for name, (value, dtype) in {"id-2^62": (2**62, np.int64), "id-2^31": (2**31, np.uint32),
                             "negative": (-1, np.int16)}.items():  # fmt: skip

    @case(f"labels-3d-{name}:quantify-3d")
    def _(w, t, value=value, dtype=dtype):
        """Label ids are checked in 3D as in 2D (2^62 crashed with SIGBUS, -1 was dropped)."""
        vol = np.zeros((8, 16, 16), dtype)
        vol[2:5, 2:6, 2:6] = value
        vol[2:5, 8:12, 8:12] = 3
        (t / "v").mkdir()
        tifffile.imwrite(t / "v" / "v.tif", vol)
        return ["quantify", t / "v", "-o", t / "q.csv", "--3d", "--voxel-size-nm", 10], [
            t / "q.csv"
        ]


_SEEDS = ("model,training,train_data,test_set,output,seed,iou_mean\n"
          "unet,real,real,self,plain,0,0.5\nunet,real,real,self,plain,1,0.7\n")  # fmt: skip

for how, text in {"cut": _SEEDS[:-9], "header-only": _SEEDS.splitlines()[0] + "\n",
                  "no-seed-column": "model,iou_mean\nunet,0.5\n"}.items():  # fmt: skip

    @case(f"table_seeds-{how}:bench-merge")
    def _(w, t, text=text):
        """A cut or header-only table was pooled as "0.000 +- nan"."""
        good, bad = t / "good", t / "bad"
        for folder, body in ((good, _SEEDS.replace(",0,", ",2,").replace(",1,", ",3,")),
                             (bad, text)):  # fmt: skip
            folder.mkdir()
            (folder / "table_seeds.csv").write_text(body)
        return ["bench-merge", good, bad, "-o", t / "m"], [t / "m"]


for cmd in ("explain", "report"):

    @case(f"image-nan:{cmd}")
    def _(w, t, cmd=cmd):
        """predict refused a NaN image; explain and report wrote NaN heatmaps (exit 0). Refused
        before -o is made (outs: none)."""
        return [cmd, w.run, _images(t, NAN), "-o", t / "o", "--pixel-size-nm", 80], []


@case("size-0:dataset")
def _(w, t):
    """--size 0 made a dataset at the default 256 px (exit 0)."""
    return ["dataset", w.library, "-o", t / "o", "--n", 1, "--size", 0], []


def _no_foreground(w, t: Path, rows: slice) -> Path:
    """A copy of the world's data whose masks hold no foreground in `rows` (images as they
    were: the mitochondria are there, unlabelled)."""
    d = t / "set"
    shutil.copytree(w.data, d)
    for p in (d / "masks").iterdir():
        m = tifffile.imread(p)
        m[rows] = 0
        tifffile.imwrite(p, m)
    return d


@case("val-no-foreground-band:train")
def _(w, t):
    """A held-out band without foreground validated IoU 0 at every check (exit 0)."""
    d = _no_foreground(w, t, np.s_[-10:])
    args = ["train", "--config", w.train_yaml, "--data", d, "--holdout", "band"]
    return [*args, "--run-dir", t / "r"], [t / "r"]


@case("val-no-foreground-given:train")
def _(w, t):
    v = _no_foreground(w, t, np.s_[:])
    args = ["train", "--config", w.train_yaml, "--data", w.data, "--val", v, "--run-dir", t / "r"]
    return args, [t / "r"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_line_and_changes_nothing(name, world, tmp_path, invoke):
    args, outs = CASES[name](world, tmp_path)
    line = assert_refused(invoke, world, tmp_path, args, outs)
    assert "weights_only=False" not in line  # never advise loading a pickle


def test_matrix_size():
    """The README's Reliability section reports the size of the matrix (parts 1 and 2)."""
    assert len(CASES) >= 140, len(CASES)
