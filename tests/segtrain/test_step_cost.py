"""benchmarks/bench_step_cost.py runs in its --smoke mode and names the CPU and the ratios."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_step_cost_smoke():
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_step_cost.py"), "--smoke"]
    cmd += ["--models", "unet,patch_cnn", "--threads", "1"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("CPU: ") and "native bf16:" in lines[0]
    rows = [ln.split() for ln in lines[3:]]
    assert [(r[0], r[1]) for r in rows] == [
        ("unet", "float32"),
        ("unet", "bf16"),
        ("patch_cnn", "float32"),
        ("patch_cnn", "bf16"),
    ]
    # model, precision, layout (as training runs it), s/step, ratio to the first row
    assert [r[2] for r in rows] == ["contiguous", "channels_last"] * 2
    assert rows[0][4] == "1.00" and all(float(r[3]) > 0 for r in rows)


def test_step_cost_layouts_and_compile_rows():
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_step_cost.py"), "--smoke"]
    cmd += ["--models", "unet", "--threads", "1", "--layouts", "--compile", "unet"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [ln.split() for ln in proc.stdout.splitlines()[3:]]
    layouts = [(r[1], r[2]) for r in rows if r[0] == "unet"]
    # each precision in both layouts, then under torch.compile (or a line saying it failed)
    assert ("float32", "channels_last") in layouts and ("bf16", "contiguous") in layouts
    assert len(rows) == 6
