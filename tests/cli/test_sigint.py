"""SIGINT for real: `mitoshape` in a subprocess, interrupted as Ctrl-C does (the whole process
group, workers included), exits 130 with one line on stderr; re-running resumes or is refused
with one line."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.cli._world import TRAIN_FAST, snapshot
from tests.segtrain._tiny import write_pairs

ROOT = Path(__file__).resolve().parents[2]


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _start(args, cwd: Path, *, as_background_job: bool = False) -> subprocess.Popen:
    """Start ``mitoshape ARGS``; ``as_background_job``: with SIGINT ignored, as a shell starts
    ``cmd &`` in a script (mitoshape must still stop on ``kill -INT``)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "cli", *map(str, args)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, so killpg reaches the workers too
        preexec_fn=_ignore_sigint if as_background_job else None,
    )


def _interrupt_when(
    proc: subprocess.Popen, ready, timeout_s: float = 120, *, again_after_s: float | None = None
) -> tuple[int, str]:
    """Send SIGINT to the process group once ``ready()`` is true (and once more after
    ``again_after_s``, as a user pressing Ctrl-C twice); return (exit code, stderr)."""
    t0 = time.monotonic()
    while not ready():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"finished before the interrupt: {proc.returncode} {err.decode()}")
        if time.monotonic() - t0 > timeout_s:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("never got ready")
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    if again_after_s is not None:
        time.sleep(again_after_s)
        with contextlib.suppress(ProcessLookupError):  # already gone: nothing to interrupt
            os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err.decode()


def _run(args, cwd: Path) -> tuple[int, str]:
    proc = _start(args, cwd)
    _, err = proc.communicate(timeout=600)
    return proc.returncode, err.decode()


def _one_line(err: str) -> str:
    line = err.strip()
    assert "Traceback" not in err and "\n" not in line and line.startswith("error:"), err
    return line


def test_train_interrupted_exits_130_then_resumes(tmp_path, invoke):
    data = write_pairs(tmp_path / "d", n=2, size=32)
    cfg = tmp_path / "train.yaml"
    held_out = {"train": [{"path": str(data)}], "val_fraction": 0.5}  # no warning on stderr
    cfg.write_text(yaml.safe_dump({**held_out, **TRAIN_FAST}))
    run = tmp_path / "run"
    args = ["train", "--config", cfg, "--run-dir", run, "--max-steps", 100000]
    proc = _start(args, tmp_path, as_background_job=True)
    # Ctrl-C twice: the second arrives while the first one's exit is under way (interpreter
    # shutdown), where it used to kill the process by SIGINT (-2) in 10 of 12 tries.
    code, err = _interrupt_when(proc, lambda: (run / "last.pt").is_file(), again_after_s=0.3)
    assert code == 130, (code, err)
    assert "interrupted" in _one_line(err)
    kept = snapshot(run)
    # Without --resume the interrupted run is refused with one line and left as it is.
    r = invoke("train", "--config", cfg, "--run-dir", run, "--max-steps", 3)
    assert r.exit_code == 2 and "--resume" in _one_line(r.stderr) and snapshot(run) == kept
    code, err = _run(
        ["train", "--config", cfg, "--run-dir", run, "--max-steps", 5, "--resume"], tmp_path
    )
    assert code == 0, err
    assert (run / "curves.png").is_file()


@pytest.mark.slow
def test_extract_interrupted_exits_130_and_resumes_to_the_same_bytes(tmp_path):
    from shapelib.io import write_volume
    from shapelib.phantoms import phantom_volume

    pv = phantom_volume(8, rng=0)
    vol = write_volume(tmp_path / "vol.tif", pv.labels, voxel_size_nm=pv.voxel_size_nm)
    fast = ["--points", 20000, "--occupancy-points", 20000, "--workers", 2]
    lib = tmp_path / "lib"
    proc = _start(["extract", vol, "-o", lib, *fast], tmp_path)
    code, err = _interrupt_when(proc, lambda: any(lib.glob("*/meta.json")))
    assert code == 130 and "interrupted" in _one_line(err)
    assert not (lib / "library.csv").exists()
    code, err = _run(["extract", vol, "-o", lib, *fast], tmp_path)
    assert code == 0, err
    ref = tmp_path / "ref"
    code, err = _run(["extract", vol, "-o", ref, *fast], tmp_path)
    assert code == 0, err

    def files(root):
        return {p.relative_to(root): b for p, b in snapshot(root).items()}

    assert files(lib) == files(ref)


@pytest.mark.slow
def test_simulate_interrupted_exits_130_and_needs_overwrite(tmp_path):
    from tests.simulator._shapes import capsule, sphere, write_library

    shapes = {i: (capsule(600.0 + 50 * i, 200.0) if i % 2 else sphere(300), "rod") for i in
              range(1, 13)}  # fmt: skip
    lib = write_library(tmp_path / "lib", shapes)
    out = tmp_path / "sim"
    args = ["simulate", lib, "-o", out, "--size", 64, "--workers", 2]
    proc = _start(args, tmp_path)
    code, err = _interrupt_when(proc, lambda: any(out.glob("*/*_imgs/*.tif")))
    assert code == 130 and "interrupted" in _one_line(err)
    code, err = _run(args, tmp_path)
    assert code == 2 and "--overwrite" in _one_line(err)
    code, err = _run([*args, "--overwrite", "--views", "0"], tmp_path)
    assert code == 0, err
    # --overwrite removed the earlier, interrupted run's files: one view per shape is left.
    assert len(list(out.glob("*/Conf1_imgs/*.tif"))) == 12


def _alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (a zombie counts as gone)."""
    left = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            left.add(pid)
    return left


def _children(pid: int) -> set[int]:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.add(int(stat.parent.name))
    return out


def _children_until_first_shape(proc, lib, *, timeout_s: float) -> set[int]:
    """The child processes of `proc` seen until `lib` holds its first shape (meta.json); the
    test fails if the command ends or stalls before."""
    seen: set[int] = set()
    t0 = time.monotonic()
    while not any(lib.glob("*/meta.json")):
        seen |= _children(proc.pid)
        if proc.poll() is not None or time.monotonic() - t0 > timeout_s:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"finished or stuck before the signal: {proc.communicate()[1]!r}")
        time.sleep(0.02)
    return seen | _children(proc.pid)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs Linux /proc")
@pytest.mark.parametrize("whole_group", [False, True], ids=["process", "group"])
def test_extract_terminated_stops_its_workers_and_exits_143(tmp_path, whole_group):
    """SIGTERM, to the process alone (`docker stop`) or its group (`timeout`, Slurm): exit 143
    with one line, no worker left running, no file written after the exit."""
    from shapelib.io import write_volume
    from shapelib.phantoms import phantom_volume

    pv = phantom_volume(8, rng=0)
    vol = write_volume(tmp_path / "vol.tif", pv.labels, voxel_size_nm=pv.voxel_size_nm)
    lib = tmp_path / "lib"
    args = ["extract", vol, "-o", lib, "--points", 20000, "--occupancy-points", 20000]
    proc = _start([*args, "--workers", 2], tmp_path)
    workers = _children_until_first_shape(proc, lib, timeout_s=120)
    assert len(workers) >= 2, workers  # the pool's workers were seen
    (os.killpg if whole_group else os.kill)(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, (proc.returncode, err.decode())
    assert "terminated (SIGTERM)" in _one_line(err.decode())
    time.sleep(0.5)
    assert not _alive(workers), "pool workers outlived the command"
    kept = snapshot(lib)
    time.sleep(1.0)
    assert snapshot(lib) == kept  # nobody writes into -o any more
    assert not (lib / "library.csv").exists()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs Linux /proc")
def test_extract_chunked_on_dask_terminated_exits_143_and_resumes(tmp_path):
    """SIGTERM to `extract --chunked --scheduler` (a Dask cluster of 2 workers): exit 143 with
    one line, no process of its own left, the tasks the workers were running waited for (a
    Dask worker cannot stop one) and the rest cancelled, so nothing is written after the exit;
    the re-run resumes to the whole library."""
    from shapelib.io import write_volume
    from shapelib.phantoms import phantom_volume

    pv = phantom_volume(8, rng=0)
    vol = write_volume(tmp_path / "vol.tif", pv.labels, voxel_size_nm=pv.voxel_size_nm)
    address = f"tcp://127.0.0.1:{_free_port()}"
    py = [sys.executable, "-m"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True,
             "env": dict(os.environ, PYTHONPATH=str(ROOT))}  # fmt: skip
    cluster = [  # workers import this checkout's shapelib, as the command does
        subprocess.Popen([*py, "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                          "--port", address.rsplit(":", 1)[1], "--no-dashboard"], **quiet),
        subprocess.Popen([*py, "distributed.cli.dask_worker", address, "--nworkers", "2",
                          "--nthreads", "1", "--no-dashboard", "--local-directory",
                          str(tmp_path / "dask")], **quiet),
    ]  # fmt: skip
    try:
        lib = tmp_path / "lib"
        args = ["extract", vol, "-o", lib, "--points", 20000, "--occupancy-points", 20000,
                "--chunked", "--scheduler", address]  # fmt: skip
        proc = _start(args, tmp_path)
        own = _children_until_first_shape(proc, lib, timeout_s=180)
        os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 143, (proc.returncode, err.decode())
        assert "terminated (SIGTERM)" in _one_line(err.decode())
        assert not _alive(own | {proc.pid}), "a process of the command outlived it"
        kept = snapshot(lib)
        time.sleep(3.0)  # longer than a task: a running one would have written by now
        assert snapshot(lib) == kept  # nobody writes into -o any more
        assert not (lib / "library.csv").exists()
        code, err = _run(args, tmp_path)
        assert code == 0, err
        rows = (lib / "library.csv").read_text().splitlines()
        assert len(rows) - 1 == len(list(lib.glob("*/meta.json"))) >= 2
    finally:
        for p in cluster:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in cluster:
            p.wait(timeout=30)


# A Ctrl-C lost inside numba's compile step: raised in a ``__del__`` (numba's compiler runs
# many; Python prints such an exception and goes on), or caught by a library's ``except
# BaseException`` (trimesh's imports of its soft dependencies). The command ran on to exit 0.
_LOST_IN = {
    "del": """
class Dropped:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(100000):  # the handler runs here, inside __del__
            pass
Dropped()
""",
    "except-baseexception": """
try:
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(100000):
        pass
except BaseException:
    pass
""",
}


@pytest.mark.parametrize("where", sorted(_LOST_IN))
def test_ctrl_c_lost_during_the_numba_compile_still_stops_with_one_line(tmp_path, where):
    from shapelib.io import write_volume
    from tests.cli._world import tiny_volume

    vol = write_volume(tmp_path / "vol.tif", tiny_volume(), voxel_size_nm=12)
    lib = tmp_path / "lib"
    lost = "\n".join("    " + line for line in _LOST_IN[where].strip().splitlines())
    script = f"""
import os, signal, sys
import shapelib._fingerprint as fp

compile_kernel = fp._numba_hash

def _numba_hash():  # the compile step, with a Ctrl-C that a library loses
{lost}
    return compile_kernel()

fp._numba_hash = _numba_hash
sys.argv = ["mitoshape", "extract", {str(vol)!r}, "-o", {str(lib)!r}, "--points", "500",
            "--occupancy-points", "500", "--workers", "1"]
import cli
cli.main()
"""
    env = dict(os.environ, PYTHONPATH=str(ROOT), NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, timeout=300)  # fmt: skip
    err = proc.stderr.decode()
    assert proc.returncode == 130, (proc.returncode, err)
    assert "interrupted (SIGINT)" in _one_line(err)
    assert not (lib / "library.csv").exists()


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_while_the_command_starts_is_one_line(tmp_path, sig):
    """A signal while `mitoshape`'s modules load (seconds on a busy machine) was a traceback
    of the import under way."""
    script = f"""
import builtins, os, signal

real_import = builtins.__import__

def import_(name, *args, **kw):  # the signal comes while typer loads
    if name == "typer":
        os.kill(os.getpid(), signal.{sig})
        for _ in range(100000):
            pass
    return real_import(name, *args, **kw)

builtins.__import__ = import_
import cli
raise SystemExit("not stopped")
"""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, timeout=120)  # fmt: skip
    code = {"SIGINT": 130, "SIGTERM": 143}[sig]
    assert proc.returncode == code, (proc.returncode, proc.stderr.decode())
    assert f"({sig}) while starting" in _one_line(proc.stderr.decode())
