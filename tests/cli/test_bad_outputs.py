"""The bad-input matrix, part 2: names that would escape the output folder, outputs over
inputs (or over files mitoshape did not write), and numbers no machine can honour.

Same assertions as part 1 (`test_bad_inputs.py`): exit status != 0, one line on stderr without
a traceback, nothing written outside -o, every earlier file byte-identical.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile
import yaml

from tests.cli._world import TRAIN_FAST, assert_refused, bench_config, build_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return build_world(tmp_path_factory.mktemp("world"))


CASES: dict = {}


def case(name: str):
    def deco(fn):
        CASES[name] = fn
        return fn

    return deco


def _mic(t: Path, name: str) -> Path:
    from simulator import EPI1

    p = t / "mic.yaml"
    p.write_text(yaml.safe_dump(EPI1.model_copy().model_dump(mode="json") | {"name": name}))
    return p


def _earlier(folder: Path, command: str, files=("a.txt",)) -> Path:
    """A folder holding an earlier mitoshape run of ``command`` (manifest + its files)."""
    from shapelib.io import atomic_write, open_output_folder

    out = open_output_folder(folder, command=command)
    for f in files:
        atomic_write(out.path(f), b"earlier output")
    return folder


def _user_folder(t: Path) -> Path:
    d = t / "mine"
    (d / "2024").mkdir(parents=True)
    (d / "2024" / "notes.txt").write_text("the user's")
    (d / "README.md").write_text("the user's readme")
    return d


# --- names that become paths -------------------------------------------------------------------

ESCAPES = ["../x", "/abs/x", "a/b", ".hidden", "..", "", "a\\b", "x\nnewline"]

for i, name in enumerate(ESCAPES):

    @case(f"microscope-name-{i}:simulate")
    def _(w, t, name=name):
        return ["simulate", w.library, "--config", _mic(t, name), "-o", t / "o", "--size", 16,
                "--views", "0"], [t / "o"]  # fmt: skip

    @case(f"microscope-name-{i}:dataset")
    def _(w, t, name=name):
        return ["dataset", w.library, "--config", _mic(t, name), "-o", t / "o", "--n", 1,
                "--size", 16], [t / "o"]  # fmt: skip

    @case(f"microscope-name-{i}:psf")
    def _(w, t, name=name):
        return ["psf", "--config", _mic(t, name), "-o", t / "p.tif", "--size", 5], [t / "p.tif"]

    @case(f"test-set-name-{i}:bench")
    def _(w, t, name=name):
        cfg = t / "bench.yaml"
        cfg.write_text(yaml.safe_dump(bench_config(w.data, test_sets={name: str(w.data)})))
        return ["bench", cfg, "-o", t / "b"], [t / "b"]

    @case(f"source-name-{i}:train")
    def _(w, t, name=name):
        cfg = t / "train.yaml"
        cfg.write_text(
            yaml.safe_dump({"train": [{"path": str(w.data), "name": name}], **TRAIN_FAST})
        )
        return ["train", "--config", cfg, "--run-dir", t / "r"], [t / "r"]


# --- outputs over inputs or over files mitoshape did not write ---------------------------------


@case("predict-into-the-data:predict")
def _(w, t):
    return ["predict", w.run, w.data, "-o", w.data, "--overwrite"], []


@case("predict-into-the-images:predict")
def _(w, t):
    return ["predict", w.run, w.data / "images", "-o", w.data / "images" / "pred"], []


@case("predict-into-the-run:predict")
def _(w, t):
    return ["predict", w.run, w.data, "-o", w.run / "pred"], []


@case("predict-over-the-masks:predict")
def _(w, t):
    return ["predict", w.run, w.data, "-o", w.data / "masks", "--overwrite"], []


@case("predict-over-an-earlier-prediction:predict")
def _(w, t):
    _earlier(t / "pred", "predict")
    return ["predict", w.run, w.data, "-o", t / "pred"], []


@case("predict-over-a-dataset-with-overwrite:predict")
def _(w, t):
    ds = t / "ds"
    _earlier(ds, "dataset", files=("images/im00.tif", "masks/im00.tif"))
    shutil.copy(w.data / "images" / "im00.tif", ds / "images" / "im00.tif")
    return ["predict", w.run, ds / "images", "-o", ds, "--overwrite"], []


for name, target in {"the-truth-file": "masks/im00.tif", "in-the-truth": "masks/m.csv"}.items():

    @case(f"evaluate-o-{name}:evaluate")
    def _(w, t, target=target):
        return ["evaluate", "--pred", w.data, "--gt", w.data, "-o", w.data / target,
                "--overwrite"], []  # fmt: skip


@case("evaluate-o-exists:evaluate")
def _(w, t):
    (t / "m.csv").write_text("mine")
    return ["evaluate", "--pred", w.data, "--gt", w.data, "-o", t / "m.csv"], []


@case("evaluate-summary-exists:evaluate")
def _(w, t):
    (t / "m_summary.csv").write_text("mine")
    return ["evaluate", "--pred", w.data, "--gt", w.data, "-o", t / "m.csv"], []


@case("evaluate-figure-over-an-image:evaluate")
def _(w, t):
    return ["evaluate", "--pred", w.data, "--gt", w.data, "--images", w.data / "images",
            "--figure", w.data / "images" / "im00.tif", "--overwrite"], []  # fmt: skip


@case("calibrate-o-input:calibrate")
def _(w, t):
    return ["calibrate", w.raw, "-o", w.raw, "--overwrite"], []


@case("calibrate-o-exists:calibrate")
def _(w, t):
    (t / "cam.yaml").write_text("mine: 1\n")
    return ["calibrate", w.raw, "-o", t / "cam.yaml"], []


@case("quantify-o-input:quantify")
def _(w, t):
    m = w.data / "masks" / "im00.tif"
    return ["quantify", m, "-o", m, "--pixel-size-nm", 5, "--overwrite"], []


@case("quantify-o-in-input:quantify")
def _(w, t):
    return ["quantify", w.data / "masks", "-o", w.data / "masks" / "q.csv",
            "--pixel-size-nm", 5], []  # fmt: skip


@case("quantify-sidecar-exists:quantify")
def _(w, t):
    (t / "q_per_image.csv").write_text("mine")
    return ["quantify", w.data / "masks", "-o", t / "q.csv", "--pixel-size-nm", 5], []


@case("quantify-gt-sidecar-exists:quantify")
def _(w, t):
    (t / "q_vs_gt.png").write_bytes(b"mine")
    return ["quantify", w.data / "masks", "-o", t / "q.csv", "--pixel-size-nm", 5,
            "--gt", w.data], []  # fmt: skip


@case("psf-o-exists:psf")
def _(w, t):
    (t / "p.tif").write_bytes(b"mine")
    return ["psf", "-o", t / "p.tif", "--size", 5], []


@case("psf-yaml-sidecar-exists:psf")
def _(w, t):
    (t / "p.yaml").write_text("mine: 1\n")
    return ["psf", "-o", t / "p.tif", "--size", 5], []


@case("psf-sidecar-is-the-config:psf")
def _(w, t):
    cfg = shutil.copy(w.microscope, t / "p.yaml")
    return ["psf", "--config", cfg, "-o", t / "p.tif", "--size", 5, "--overwrite"], []


@case("psf-bad-pixel-over-a-good-file:psf")
def _(w, t):
    tifffile.imwrite(t / "good.tif", np.ones((3, 5, 5), np.float32), photometric="minisblack")
    return ["psf", "-o", t / "good.tif", "--size", 5, "--pixel-size-nm", -5, "--overwrite"], []


@case("extract-o-user-folder:extract")
def _(w, t):
    return ["extract", w.volume, "-o", _user_folder(t), "--overwrite"], []


@case("extract-o-input:extract")
def _(w, t):
    return ["extract", w.volume, "-o", w.volume, "--overwrite"], []


@case("extract-o-other-command:extract")
def _(w, t):
    _earlier(t / "o", "dataset")
    return ["extract", w.volume, "-o", t / "o"], []


@case("extract-o-the-folder-holding-the-input:extract")
def _(w, t):
    vol = shutil.copy(w.volume, t / "vol.tif")
    return ["extract", vol, "-o", t, "--overwrite"], []


for cmd in ("simulate", "dataset"):

    @case(f"{cmd}-o-library:{cmd}")
    def _(w, t, cmd=cmd):
        return [cmd, w.library, "-o", w.library, "--overwrite", "--size", 16], []

    @case(f"{cmd}-o-in-library:{cmd}")
    def _(w, t, cmd=cmd):
        return [cmd, w.library, "-o", w.library / "out", "--size", 16], []

    @case(f"{cmd}-o-user-folder:{cmd}")
    def _(w, t, cmd=cmd):
        return [cmd, w.library, "-o", _user_folder(t), "--overwrite", "--size", 16], []

    @case(f"{cmd}-o-earlier-run:{cmd}")
    def _(w, t, cmd=cmd):
        _earlier(t / "o", cmd)
        return [cmd, w.library, "-o", t / "o", "--size", 16], []


@case("train-run-dir-data:train")
def _(w, t):
    return ["train", "--config", w.train_yaml, "--run-dir", w.data, "--overwrite"], []


@case("train-run-dir-in-data:train")
def _(w, t):
    return ["train", "--config", w.train_yaml, "--run-dir", w.data / "run"], []


@case("train-over-a-run:train")
def _(w, t):
    return ["train", "--config", w.train_yaml, "--run-dir", w.run], []


@case("train-resume-user-folder:train")
def _(w, t):
    return ["train", "--config", w.train_yaml, "--run-dir", _user_folder(t), "--resume"], []


@case("train-resume-other-settings:train")
def _(w, t):
    run = shutil.copytree(w.run, t / "run")
    return ["train", "--config", w.train_yaml, "--run-dir", run, "--resume", "--seed", 9], []


@case("bench-o-data:bench")
def _(w, t):
    return ["bench", w.bench_yaml, "-o", w.data, "--overwrite"], []


@case("bench-over-an-earlier-bench:bench")
def _(w, t):
    _earlier(t / "b", "bench", files=("table.md", "runs/patch_cnn__real/best.pt"))
    return ["bench", w.bench_yaml, "-o", t / "b"], []


@case("phantom-o-exists:phantom")
def _(w, t):
    (t / "v.tif").write_bytes(b"mine")
    return ["phantom", "-o", t / "v.tif", "--objects", 1], []


@case("phantom-truth-exists:phantom")
def _(w, t):
    (t / "v.objects.json").write_text("{}")
    return ["phantom", "-o", t / "v.tif", "--objects", 1], []


@case("phantom-o-input-of-nothing-but-a-folder:phantom")
def _(w, t):
    return ["phantom", "-o", t, "--objects", 1], []


@case("gallery-o-in-library:gallery")
def _(w, t):
    return ["library", "gallery", w.library, "-o", w.library / "g.png"], []


@case("gallery-o-exists:gallery")
def _(w, t):
    (t / "g.png").write_bytes(b"mine")
    return ["library", "gallery", w.library, "-o", t / "g.png"], []


@case("demo-o-user-folder:demo")
def _(w, t):
    return ["demo", "-o", _user_folder(t)], []


@case("demo-o-a-library:demo")
def _(w, t):
    _earlier(t / "lib", "extract", files=("000001/meta.json", "library.csv"))
    return ["demo", "-o", t / "lib"], []


# --- numbers no machine can honour, and choices that do not exist ------------------------------

BAD_OPTIONS = {
    "psf": [["--size", 100001], ["--size", 0], ["--z-planes", 0], ["--depth-nm", 1e9],
            ["--depth-nm", -1], ["--pixel-size-nm", 0], ["--pixel-size-nm", -5],
            ["--pixel-size-nm", 1e300], ["--pixel-size-nm", "nan"], ["--z-step-nm", 0],
            ["--z-step-nm", "inf"], ["--preset", "Conf7"]],
    "calibrate": [["--patch", 0], ["--patch", -1], ["--patch", 1], ["--patch", 200]],
    "classify": [["--voxel-size-nm", 0.001], ["--voxel-size-nm", 1e300], ["--voxel-size-nm", 0],
                 ["--voxel-size-nm", "nan"], ["--voxel-size-nm", "a,b"],
                 ["--voxel-size-nm", "1,2"]],
    "extract": [["--voxel-size-nm", 1e300], ["--voxel-size-nm", 0], ["--voxel-size-nm", "nan"],
                ["--voxel-size-nm", -1], ["--voxel-size-nm", "1,2"], ["--downsample", 0],
                ["--connectivity", 5], ["--min-voxels", 0], ["--erode-radius-vox", -1],
                ["--workers", 0], ["--seed", -1], ["--label", -3], ["--points", -1]],
    "simulate": [["--views", "random:0"], ["--views", "random:x"], ["--views", "bogus"],
                 ["--views", ","], ["--size", 100000], ["--size", 0], ["--z-planes", 0],
                 ["--noise", "poisson"], ["--mask", "x"], ["--seed", -1], ["--z-step-nm", -1],
                 ["--preset", "Conf1", "--preset", "Conf1"], ["--class", "nope"],
                 ["--focal-depth-nm", 1e9], ["--size", 4096, "--z-planes", 512]],
    "dataset": [["--n", 0], ["--objects", "0-0"], ["--objects", "5-2"], ["--objects", "x"],
                ["--size", 4], ["--seed", -1], ["--class", "nope"], ["--z-planes", 100000]],
    "train": [["--device", "cuda:99"], ["--device", "bogus"], ["--lr", -1], ["--max-steps", 0],
              ["--model", "bogus"], ["--batch-size", 0], ["--patch-px", 3], ["--loss", "l2"],
              ["--minutes", -1]],
    "predict": [["--device", "cuda:99"], ["--device", "bogus"], ["--threshold", 2],
                ["--threshold", 0], ["--threshold", "nan"], ["--which", "bogus"],
                ["--tile-px", 0], ["--overlap-px", -1], ["--overlap-px", 1000]],
    "evaluate": [["--threshold", 2], ["--threshold", -1], ["--connectivity", 5],
                 ["--figure", "f.png"]],
    "quantify": [["--pixel-size-nm", 0], ["--pixel-size-nm", -1], ["--pixel-size-nm", "nan"],
                 ["--pixel-size-nm", "inf"], ["--pixel-size-nm", 1e9], ["--pixel-size-nm", 0.5],
                 ["--3d", "--voxel-size-nm", 0], ["--3d", "--gt", "."]],
    "phantom": [["--voxel-size-nm", 0.01], ["--voxel-size-nm", 0], ["--objects", 0],
                ["--objects", "abc"], ["--objects", 10**6],
                ["--objects", -5], ["--touching-pairs", 100], ["--seed", -1]],
    "gallery": [["-n", 0], ["--class", "nope"]],
}  # fmt: skip


def _base(cmd: str, w, t: Path) -> tuple[list, list]:
    """A valid command line of ``cmd`` (bad options are appended) and its outputs."""
    if cmd == "psf":
        return ["psf", "-o", t / "p.tif", "--size", 5, "--z-planes", 3], [t / "p.tif"]
    if cmd == "calibrate":
        return ["calibrate", w.raw, "-o", t / "c.yaml"], [t / "c.yaml"]
    if cmd == "classify":
        return ["classify", w.shape], []
    if cmd == "extract":
        return ["extract", w.volume, "-o", t / "lib", "--points", 500, "--occupancy-points", 500,
                "--workers", 1], [t / "lib"]  # fmt: skip
    if cmd == "simulate":
        return ["simulate", w.library, "-o", t / "o", "--size", 16, "--workers", 1], [t / "o"]
    if cmd == "dataset":
        return ["dataset", w.library, "-o", t / "o", "--size", 16, "--n", 1, "--workers", 1], [
            t / "o"
        ]
    if cmd == "train":
        return ["train", "--config", w.train_yaml, "--run-dir", t / "r"], [t / "r"]
    if cmd == "predict":
        return ["predict", w.run, w.data, "-o", t / "p"], [t / "p"]
    if cmd == "evaluate":
        return ["evaluate", "--pred", w.data, "--gt", w.data], []
    if cmd == "quantify":
        return ["quantify", w.data / "masks", "-o", t / "q.csv"], [t / "q.csv"]
    if cmd == "phantom":
        return ["phantom", "-o", t / "v.tif", "--objects", 2, "--touching-pairs", 0], [t / "v.tif"]
    return ["library", "gallery", w.library, "-o", t / "g.png"], [t / "g.png"]


for cmd, options in BAD_OPTIONS.items():
    for opts in options:

        @case(f"option-{' '.join(map(str, opts))}:{cmd}")
        def _(w, t, cmd=cmd, opts=opts):
            args, outs = _base(cmd, w, t)
            return [*args, *opts], outs


for dev in ("cuda", "mps"):

    @case(f"device-{dev}-absent:predict")
    def _(w, t, dev=dev):
        import torch

        present = torch.cuda.is_available() if dev == "cuda" else torch.backends.mps.is_available()
        if present:
            pytest.skip(f"this machine has {dev}")
        return ["predict", w.run, w.data, "-o", t / "p", "--device", dev], [t / "p"]

    @case(f"device-{dev}-absent:train")
    def _(w, t, dev=dev):
        import torch

        present = torch.cuda.is_available() if dev == "cuda" else torch.backends.mps.is_available()
        if present:
            pytest.skip(f"this machine has {dev}")
        return ["train", "--config", w.train_yaml, "--run-dir", t / "r", "--device", dev], [t / "r"]


@case("bench-regime-without-data:bench")
def _(w, t):
    cfg = t / "bench.yaml"
    cfg.write_text(yaml.safe_dump(bench_config(w.data, regimes=["synthetic"])))
    return ["bench", cfg, "-o", t / "b"], [t / "b"]


@case("bench-model-bogus:bench")
def _(w, t):
    cfg = t / "bench.yaml"
    cfg.write_text(yaml.safe_dump(bench_config(w.data, models={"bogus": {}})))
    return ["bench", cfg, "-o", t / "b"], [t / "b"]


@case("bench-test-set-missing:bench")
def _(w, t):
    cfg = t / "bench.yaml"
    cfg.write_text(yaml.safe_dump(bench_config(w.data, test_sets={"x": str(t / "nope")})))
    return ["bench", cfg, "-o", t / "b"], [t / "b"]


@case("train-data-missing:train")
def _(w, t):
    return ["train", "--data", t / "nope", "--run-dir", t / "r"], [t / "r"]


@case("train-val-is-the-training-data:train")
def _(w, t):
    """Validation on the training images passed without a word."""
    return ["train", "--data", w.data, "--val", w.data, "--run-dir", t / "r"], [t / "r"]


@case("train-config-num-threads-1e5:train")
def _(w, t):
    cfg = t / "train.yaml"
    cfg.write_text(yaml.safe_dump({"train": [{"path": str(w.data)}], "num_threads": 100000}))
    return ["train", "--config", cfg, "--run-dir", t / "r"], [t / "r"]


@case("train-data-without-masks:train")
def _(w, t):
    d = t / "d"
    shutil.copytree(w.data / "images", d / "images")
    return ["train", "--data", d, "--run-dir", t / "r"], [t / "r"]


@case("meta-json-voxel-size-bad:classify")
def _(w, t):
    folder = shutil.copytree(w.shape, t / "000001")
    meta = json.loads((folder / "meta.json").read_text())
    meta["measurements"] = {"voxel_size_nm": [0, 1, 1]}
    (folder / "meta.json").write_text(json.dumps(meta))
    return ["classify", folder], []


@case("overwrite-a-library-with-a-user-file-inside:extract")
def _(w, t):
    """--overwrite of an earlier library where a new instance's path holds the user's file:
    refused before the earlier library is removed (it used to leave neither)."""
    from shapelib import extract_library

    fast = {"n_surface_points": 500, "n_occupancy_points": 500}
    extract_library(w.volume, t / "lib", extract={"min_voxels": 500}, shape=fast, n_workers=1)
    assert not (t / "lib" / "000003").exists()  # the dot was dust: two instances
    (t / "lib" / "000003").mkdir()
    (t / "lib" / "000003" / "meta.json").write_text("the user's")
    return ["extract", w.volume, "-o", t / "lib", "--points", 500, "--occupancy-points", 500,
            "--workers", 1, "--overwrite"], []  # fmt: skip


@case("o-and-figure-the-same-file:evaluate")
def _(w, t):
    """Was: the CSV written into X.png, then the figure refused."""
    x = t / "X.png"
    return ["evaluate", "--pred", w.data, "--gt", w.data, "-o", x, "--figure", x, "--images",
            w.data / "images"], [x]  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_output_is_refused_and_changes_nothing(name, world, tmp_path, invoke):
    args, outs = CASES[name](world, tmp_path)
    assert_refused(invoke, world, tmp_path, args, outs)


def test_matrix_size():
    """The README's Reliability section reports the size of the matrix (parts 1 and 2)."""
    from tests.cli.test_bad_inputs import CASES as PART1

    assert len(CASES) >= 180, len(CASES)
    assert len(PART1) + len(CASES) >= 320
