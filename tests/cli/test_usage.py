"""Command-line mistakes: every usage error (an unknown command or option, a value of the wrong
type or out of range, a missing option, an unreadable config) is one line ``error: ...`` on
stderr and exit 2, before any work; a bug stays a traceback with exit 1 (docs/reliability.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]

# (command line, a word the one line must hold)
USAGE = {
    "unknown-command": (["foo"], "No such command 'foo'"),
    "unknown-option": (["psf", "-o", "p.tif", "--bogus"], "--bogus"),
    "unknown-option-root": (["--bogus"], "--bogus"),
    "int-not-a-number": (["phantom", "-o", "v.tif", "--objects", "abc"], "--objects"),
    "float-not-a-number": (["psf", "-o", "p.tif", "--pixel-size-nm", "x"], "--pixel-size-nm"),
    "missing-out": (["psf"], "'-o'"),
    "missing-argument": (["extract"], "Missing argument"),
    "option-without-value": (["psf", "-o"], "-o"),
    "samples-zero": (["predict", "run", "data", "-o", "p", "--samples", "0"], "--samples"),
    "choice-unknown": (["psf", "-o", "p.tif", "--preset", "Conf7"], "Conf7"),
    "config-missing": (["train", "--config", "nope.yaml", "--run-dir", "r"], "nope.yaml"),
    "config-a-folder": (["train", "--config", ".", "--run-dir", "r"], "config file"),
    "realism-epochs-0": (["realism", "r.tif", "s", "-o", "o", "--epochs", "0"], "--epochs"),
    "realism-crop-px-0": (["realism", "r.tif", "s", "-o", "o", "--crop-px", "0"], "--crop-px"),
    "realism-crop-px-neg": (["realism", "r.tif", "s", "-o", "o", "--crop-px", "-64"], "--crop"),
    "realism-folds-0": (["realism", "r.tif", "s", "-o", "o", "--folds", "0"], "--folds"),
    "realism-max-images-0": (["realism", "r.tif", "s", "-o", "o", "--max-images", "0"],
                             "--max-images"),
    "demo-train-minutes-0": (["demo", "-o", "d", "--train-minutes", "0"], "--train-minutes"),
    "demo-train-minutes-nan": (["demo", "-o", "d", "--train-minutes", "nan"],
                               "--train-minutes"),
    "quantify-pixel-size-inf": (["quantify", "m", "-o", "q.csv", "--pixel-size-nm", "inf"],
                                "--pixel-size-nm"),
}  # fmt: skip


def _one_line(err: str) -> str:
    line = err.strip()
    assert "Traceback" not in err and "\n" not in line and line.startswith("error:"), err
    return line


@pytest.mark.parametrize("name", sorted(USAGE))
def test_usage_error_is_one_line_and_exit_2(name, invoke, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args, word = USAGE[name]
    r = invoke(*args)
    assert r.exit_code == 2, (args, r.stdout, r.stderr)
    line = _one_line(r.stderr)
    assert word.lower() in line.lower(), line
    if not name.startswith(("config-", "demo-", "choice-")):  # click says where to look
        assert "--help" in line, line
    assert not any(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize("how", ["deep-yaml", "deep-json"])
def test_deeply_nested_config_is_one_line(how, invoke, tmp_path):
    cfg = tmp_path / ("c.yaml" if how == "deep-yaml" else "c.json")
    depth = 100_000
    cfg.write_text("[" * depth + "]" * depth if how == "deep-yaml" else
                   '{"a":' * depth + "1" + "}" * depth)  # fmt: skip
    r = invoke("train", "--config", cfg, "--run-dir", tmp_path / "r")
    assert r.exit_code == 2
    assert "nested" in _one_line(r.stderr) and str(cfg) in r.stderr
    assert not (tmp_path / "r").exists()


def test_console_usage_error_and_help(tmp_path):
    """Through the real entry point: one line naming `mitoshape`, exit 2; --help exits 0."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = [sys.executable, "-m", "cli"]
    r = subprocess.run([*run, "phantom", "-o", "v.tif", "--objects", "abc"], cwd=tmp_path,
                       env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert _one_line(r.stderr).endswith("(see 'mitoshape phantom --help')")
    r = subprocess.run([*run, "phantom", "--help"], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0 and "Usage: mitoshape phantom" in r.stdout, r.stderr


def test_a_bug_keeps_its_traceback(invoke, monkeypatch):
    """Not a user error: raised (the console script shows a traceback and exits 1)."""
    import segtrain

    def broken(*a, **k):
        raise KeyError("a bug")

    monkeypatch.setattr(segtrain, "shipped_models", broken)
    with pytest.raises(KeyError):
        invoke("models")


def test_quantify_3d_of_an_empty_volume_counts_zero(invoke, tmp_path):
    """An all-zero label volume: no object, a count of 0 (was a KeyError traceback)."""
    import tifffile

    (tmp_path / "v").mkdir()
    tifffile.imwrite(tmp_path / "v" / "empty.tif", np.zeros((8, 16, 16), np.uint16))
    r = invoke("quantify", tmp_path / "v", "-o", tmp_path / "q.csv", "--3d",
               "--voxel-size-nm", 10)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "q_per_image.csv").read_text().split() == ["volume,count", "empty,0"]
    assert (tmp_path / "q.csv").read_text().startswith("volume,label,n_voxels")


@pytest.mark.parametrize(
    ("signal_name", "args", "code", "said"),
    [
        ("SIGINT", ["-v", "extract", "v.tif", "-o", "lib"], 130, "resume"),
        ("SIGINT", ["train", "--data", "d"], 130, "--resume"),
        ("SIGTERM", ["dataset", "lib", "-o", "d"], 143, "--overwrite"),  # a re-run is refused
    ],
)
def test_stop_line_says_what_a_rerun_does(signal_name, args, code, said, capsys):
    from cli import _errors

    _errors.stopped_by(signal_name)
    try:
        assert _errors._stopped(args) == code
    finally:
        _errors.stopped_by("SIGINT")
    line = _one_line(capsys.readouterr().err)
    assert f"({signal_name})" in line and said in line, line


def test_a_cut_tiled_tiff_is_one_line_without_the_readers_noise(tmp_path):
    """tifffile logged "invalid page offset" (and zarr's asyncio tasks "Task was destroyed")
    around the one error line; without -v only the line is left."""
    import tifffile

    vol = (np.random.default_rng(0).random((64, 128, 128)) > 0.5).astype(np.uint16)
    good = tmp_path / "good.tif"
    tifffile.imwrite(good, vol, tile=(64, 64), compression="zlib", metadata={"axes": "ZYX"})
    cut = tmp_path / "cut.tif"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "cli", "extract", str(cut), "-o", str(tmp_path / "o"),
                        "--voxel-size-nm", "10", "--workers", "1"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 2
    assert str(cut) in _one_line(r.stderr)


def test_a_cut_imagej_stack_says_cut_short(invoke, tmp_path):
    """A cut ImageJ stack read as its first page was refused as "must be 3D; got 2D"."""
    import tifffile

    vol = np.zeros((20, 64, 64), np.uint8)
    vol[5:15, 10:50, 10:50] = 1
    good = tmp_path / "good.tif"
    tifffile.imwrite(good, vol, imagej=True)
    cut = tmp_path / "cut.tif"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    r = invoke("extract", cut, "-o", tmp_path / "o", "--voxel-size-nm", 30)
    assert r.exit_code == 2
    assert "cut short" in _one_line(r.stderr) and "20 images" in r.stderr
