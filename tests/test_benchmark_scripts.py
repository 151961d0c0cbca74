"""The benchmark scripts run end to end in their --smoke mode (tiny models, a few steps).

RESULTS.md figures come from these scripts' full runs, which take hours; the smoke runs keep
them from breaking between rounds (an output-folder check once made two of them refuse their
own data folder, found only when the long run started).
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_script(name: str, *args) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(ROOT / "benchmarks" / name), *map(str, args)]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def check_ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_lucchi_smoke(shared_data, tmp_path):
    out = tmp_path / "lucchi"
    check_ok(run_script("lucchi.py", "--smoke", "--out", out))
    table = rows(out / "table.csv")
    models = {r["model"] for r in table}
    assert models == {"unet", "attention_res_unet", "efficientnet_unet", "patch_cnn"}
    assert {r["test_set"] for r in table} == {"lucchi_test"}
    assert all(float(r["steps"]) == 2 for r in table)
    assert all(0.0 <= float(r["iou_pooled_mean"]) <= 1.0 for r in table)
    # The smoke test slices live beside OUT, not in it (the bench owns OUT).
    assert (tmp_path / "lucchi_smoke_test" / "image").is_dir()


def test_synthetic_transfer_smoke(shared_data, tmp_path):
    out, data = tmp_path / "bench", tmp_path / "data"
    check_ok(run_script("synthetic_transfer.py", "--smoke", "--out", out, "--data", data))
    table = rows(out / "table.csv")
    assert {r["test_set"] for r in table} == {"Epi1", "Conf1", "Conf2"}
    assert len({r["model"] for r in table}) == 4
    for name in ("epi1_train", "epi1_test", "conf1_test", "conf2_test"):
        assert json.loads((data / name / "dataset.json").read_text())
    timing = json.loads((out / "timing.json").read_text())
    assert timing["bench_s"] > 0
    # A second sitting reuses the rendered data (no render: data time is near zero) and
    # writes its own bench folder.
    out2 = tmp_path / "bench2"
    args = ["--smoke", "--out", out2, "--data", data, "--models", "unet", "--resample"]
    check_ok(run_script("synthetic_transfer.py", *args))
    assert json.loads((out2 / "timing.json").read_text())["data_s"] < timing["data_s"]
    # --resample: each test set once more at the training pixel size.
    assert {r["output"] for r in rows(out2 / "table.csv")} >= {"plain", "plain@train_px"}


def test_synthetic_transfer_refuses_data_in_out(tmp_path):
    proc = run_script("synthetic_transfer.py", "--smoke", "--out", tmp_path, "--data", tmp_path)
    assert proc.returncode == 2
    assert "--data and --out must be different folders" in proc.stderr


def test_context_2p5d_smoke_and_merge(shared_data, tmp_path):
    out = tmp_path / "ctx"
    check_ok(run_script("context_2p5d.py", "--smoke", "--out", out))
    seeds = rows(out / "context_seeds.csv")
    assert sorted(int(r["context_slices"]) for r in seeds) == [0, 1, 2]
    assert all(math.isfinite(float(r["iou_pooled"])) for r in seeds)
    merged = tmp_path / "merged"
    check_ok(run_script("context_2p5d.py", "--merge", out, "--out", merged))
    assert rows(merged / "context_seeds.csv") == seeds
    # The same sitting twice would count each (context, seed) twice: refused.
    proc = run_script("context_2p5d.py", "--merge", out, out, "--out", tmp_path / "twice")
    assert proc.returncode != 0


def test_repro_smoke(shared_data, tmp_path):
    out = tmp_path / "repro"
    check_ok(run_script("repro_segtrain.py", "--smoke", "--out", out))
    got = json.loads((out / "repro.json").read_text())
    # Same seed, same machine, float32: the same weights.
    assert got["fp32"]["identical"] is True
    assert got["fp32"]["max_abs"] == 0.0
    assert got["settings"]["steps"] == 3


@pytest.mark.slow
def test_interactive_smoke(shared_data, tmp_path):
    out = tmp_path / "interactive"
    check_ok(run_script("interactive.py", "--smoke", "--out", out))
    got = json.loads((out / "results.json").read_text())
    assert got["smoke"] is True
    assert set(got["runs"]) >= {"unet", "unet_interactive", "prob_unet_interactive"}
    assert all(t["click_median_s"] > 0 for t in got["timing"])


@pytest.mark.slow
def test_shipped_model_smoke(shared_data, tmp_path):
    """The build of the shipped model, tiny: every step runs and writes what RESULTS quotes."""
    out = tmp_path / "shipped"
    proc = run_script("shipped_model.py", "--smoke", "--out", out)
    check_ok(proc)
    fg = rows(out / "h9c2_foreground.csv")
    assert len(fg) == 80 and sum(r["background_only"] == "True" for r in fg) == 15
    assert (out / "h9c2_sheet_0.png").is_file()
    held_out = rows(out / "synthetic_held_out.csv")
    assert [r["preset"] for r in held_out] == ["Epi1", "Conf1", "Conf2"]
    assert all(0.0 <= float(r["pooled_fg_iou"]) <= 1.0 for r in held_out)
    assert "realism vs h9c2" in proc.stdout and "realism vs mcc13" in proc.stdout


@pytest.mark.slow
def test_webapp_load_smoke(tmp_path):
    """The web app's load script, tiny (its own tiny interactive run, 2 users, a restart)."""
    out = tmp_path / "load"
    check_ok(run_script("bench_webapp_load.py", "--users", 2, "--clicks", 2, "--size", "256x192",
                        "--big", "--big-px", 256, "--restart", "--out", out))  # fmt: skip
    results = json.loads((out / "results.json").read_text())
    assert results, "no results written"
