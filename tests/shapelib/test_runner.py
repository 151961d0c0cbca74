"""TaskRunner: the same results here, on a pool and on Dask; errors, retries, a killed worker."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from shapelib import InputError, ShapeParams, TaskRunner, extract_library
from shapelib.phantoms import phantom_volume


def _scaled(shared, x):
    return shared * x


def _fails_on(shared, x):
    if x == shared:
        raise InputError(f"task {x} is bad")
    return x


def _fails_once(marker, x):
    """Raises the first time it runs anywhere (a marker file remembers), then succeeds."""
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return x
    os.close(fd)
    raise OSError("a transient read error")


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, host="127.0.0.1",
                      protocol="tcp", dashboard_address=None) as c:  # fmt: skip
        yield c


@pytest.mark.parametrize("where", ["here", "pool", "dask"])
def test_every_runner_gives_the_same_results(where, cluster):
    kw = {"here": {"n_workers": 1}, "pool": {"n_workers": 2},
          "dask": {"scheduler": cluster.scheduler_address}}[where]  # fmt: skip
    args = [(i,) for i in range(23)]
    with TaskRunner(3, window=5, **kw) as run:
        assert run.where == where
        got = dict(run.imap_unordered(_scaled, args))
        ordered = list(run.imap(_scaled, args))
    assert got == {i: 3 * i for i in range(23)}
    assert ordered == [3 * i for i in range(23)]


@pytest.mark.parametrize("where", ["here", "pool", "dask"])
def test_a_task_error_reaches_the_caller(where, cluster):
    kw = {"here": {"n_workers": 1}, "pool": {"n_workers": 2},
          "dask": {"scheduler": cluster.scheduler_address, "retries": 0}}[where]  # fmt: skip
    with TaskRunner(7, **kw) as run, pytest.raises(InputError, match="task 7 is bad"):
        list(run.imap_unordered(_fails_on, [(i,) for i in range(12)]))


def test_dask_retries_a_task_that_raised(cluster, tmp_path):
    marker = str(tmp_path / "failed-once")
    with TaskRunner(marker, scheduler=cluster.scheduler_address, retries=1) as run:
        assert list(run.imap(_fails_once, [(5,)])) == [5]
    assert Path(marker).exists()
    Path(marker).unlink()
    with TaskRunner(marker, scheduler=cluster.scheduler_address, retries=0) as run:
        with pytest.raises(OSError, match="transient"):
            list(run.imap(_fails_once, [(5,)]))


def _slow_write(folder, x):
    """Sleeps, then writes its file: a task that would write after a stopped caller left."""
    import time

    time.sleep(0.1 if x == 0 else 1.0)
    Path(folder, f"{x}.txt").write_text("done")
    return x


def test_dask_stopped_early_waits_for_running_tasks_and_cancels_the_rest(cluster, tmp_path):
    """A Dask worker cannot stop a running task: stopping (Ctrl-C, SIGTERM, an error) waits
    for the running ones, so nothing is written once the caller has gone; the others never
    start."""
    import time

    with TaskRunner(str(tmp_path), scheduler=cluster.scheduler_address, window=4) as run:
        results = run.imap_unordered(_slow_write, [(i,) for i in range(12)])
        assert next(results) == (0, 0)
        results.close()  # as a KeyboardInterrupt at the caller's `for` does
        after_stop = sorted(p.name for p in tmp_path.iterdir())
    time.sleep(2.5)
    assert sorted(p.name for p in tmp_path.iterdir()) == after_stop  # nothing written since
    assert 1 < len(after_stop) < 12, after_stop  # the running tasks ended, the rest never ran


def test_bad_arguments():
    with pytest.raises(InputError, match="n_workers"):
        TaskRunner(n_workers=0)
    with pytest.raises(InputError, match="retries"):
        TaskRunner(retries=-1)
    with TaskRunner(n_workers=1) as run:
        assert list(run.imap(_scaled, [])) == []


class _KillOnce:
    """A Dask worker plugin: the worker's process dies the first time it starts a task whose
    name starts with ``prefix`` (a marker file remembers, across restarted workers)."""

    def __init__(self, marker, prefix):
        self.marker, self.prefix = str(marker), prefix

    def setup(self, worker):
        pass

    def teardown(self, worker):
        pass

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing" and str(key).startswith(self.prefix):
            try:
                fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return
            os.close(fd)
            os._exit(1)


@pytest.mark.slow
@pytest.mark.parametrize("task", ["_block_task", "_component_task", "_make_task"])
def test_a_killed_worker_has_its_task_rerun_and_the_library_is_complete(tmp_path, task):
    """Two worker processes; one dies in the middle of a task; the library is the same."""
    from distributed import Client, LocalCluster
    from distributed.diagnostics.plugin import WorkerPlugin

    class KillOnce(_KillOnce, WorkerPlugin):
        pass

    shape = ShapeParams(n_surface_points=300, n_occupancy_points=300)
    pv = phantom_volume(4, touching_pairs=1, rng=2)
    ref = tmp_path / "ref"
    extract_library(pv.labels, ref, voxel_size_nm=30, shape=shape, n_workers=1, chunked=True,
                    block_shape=32)  # fmt: skip
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:  # fmt: skip
        client.register_plugin(KillOnce(tmp_path / "killed", task))
        out = tmp_path / "lib"
        extract_library(pv.labels, out, voxel_size_nm=30, shape=shape, scheduler=client,
                        chunked=True, block_shape=32)  # fmt: skip
    assert (tmp_path / "killed").exists()  # a worker did die
    files = {p.relative_to(ref): p.read_bytes() for p in ref.rglob("*") if p.is_file()}
    again = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert files == again
    assert np.sum([p.name == "meta.json" for p in files]) == len(pv.objects) == 4
