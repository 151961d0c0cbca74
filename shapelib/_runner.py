"""Where many independent tasks run: in this process, on a local process pool, or on a Dask
cluster (``dask.distributed``, started with ``dask scheduler`` and ``dask worker``).

Every task is a module-level function ``fn(shared, *args)``: ``shared`` is one read-only object
every task needs (a volume reader, a list of shapes) sent to each worker once, ``args`` what
this task is. A task's result depends only on its arguments, never on where it ran, so a
cluster gives the same bytes as this process.

On a cluster, a worker that dies has its tasks re-run on another worker (the scheduler's
rule), and a task that raises is tried ``retries`` more times before its error stops the run.

Stopped early (Ctrl-C, SIGTERM, an error): a pool's workers are sent SIGTERM; on a cluster the
tasks not yet started are cancelled and the ones running (a Dask worker cannot stop a task
mid-way) are waited for, up to ``STOP_GRACE_S``, so none writes after the caller has gone.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from ._errors import InputError

__all__ = ["TaskRunner"]

log = logging.getLogger(__name__)

_SHARED = None  # the shared object in a pool worker process
CONNECT_TIMEOUT_S = 20  # to reach the scheduler
WORKER_TIMEOUT_S = 60  # for its first worker
STOP_GRACE_S = 20  # stopped early on a cluster: the longest wait for tasks already running


def _set_shared(shared) -> None:
    global _SHARED
    _SHARED = shared


def _call_shared(fn, *args):
    return fn(_SHARED, *args)


class TaskRunner:
    """Run ``fn(shared, *args)`` for many ``args``: here, on a process pool, or on Dask.

    Parameters
    ----------
    shared : object, optional
        Passed as the first argument of every task; sent to each worker once (forked into pool
        workers, scattered to Dask workers). Must be picklable for Dask.
    n_workers : int, optional
        Local processes (default: all cores; 1 runs every task in this process, in order).
        Ignored with ``scheduler``.
    scheduler : str or distributed.Client, optional
        Address of a running Dask scheduler (``tcp://HOST:PORT``), or a connected client.
    retries : int
        Dask only: times a task that raised is tried again.
    window : int, optional
        Tasks in flight at once (default: four per worker), so results never pile up.

    Examples
    --------
    >>> def square(_, x):
    ...     return x * x
    >>> with TaskRunner(n_workers=1) as run:
    ...     sorted(run.imap_unordered(square, [(1,), (2,), (3,)]))
    [(0, 1), (1, 4), (2, 9)]
    """

    def __init__(
        self,
        shared=None,
        *,
        n_workers: int | None = None,
        scheduler=None,
        retries: int = 2,
        window: int | None = None,
    ):
        if n_workers is not None and int(n_workers) < 1:
            raise InputError(f"n_workers must be >= 1; got {n_workers}.")
        if int(retries) < 0:
            raise InputError(f"retries must be >= 0; got {retries}.")
        self.shared = shared
        self.scheduler = scheduler
        self.retries = int(retries)
        self.n_workers = int(n_workers or os.cpu_count() or 1)
        self._window = window
        self._pool: ProcessPoolExecutor | None = None
        self._client: Any = None  # a dask.distributed Client once started
        self._own_client = False
        self._shared_future = None

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> TaskRunner:
        return self

    def __exit__(self, kind, *exc) -> None:
        # Stopped (Ctrl-C, or SIGTERM which the CLI turns into the same): stop the workers
        # too, or they would finish and write their tasks after this process has gone.
        self.close(stop=kind is not None and issubclass(kind, KeyboardInterrupt))

    def close(self, *, stop: bool = False) -> None:
        """Stop the pool, or disconnect from the cluster (a client passed in stays open).

        ``stop``: send the pool's workers SIGTERM rather than letting their tasks finish.
        """
        if self._pool is not None:
            if stop:
                _terminate_workers(self._pool)
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._client is not None:
            if self._shared_future is not None:
                self._shared_future.release()
            if self._own_client:
                self._client.close()
            self._client = None
            self._shared_future = None

    @property
    def where(self) -> str:
        """``"here"``, ``"pool"`` or ``"dask"``."""
        if self.scheduler is not None:
            return "dask"
        return "here" if self.n_workers == 1 else "pool"

    def _start(self) -> None:
        if self.where == "pool" and self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.n_workers, initializer=_set_shared, initargs=(self.shared,)
            )
        elif self.where == "dask" and self._client is None:
            self._client, self._own_client = _connect(self.scheduler)
            if self.shared is not None:
                # in a list: scatter would send a list's items one by one
                (self._shared_future,) = self._client.scatter(
                    [self.shared], broadcast=True, hash=False
                )

    def _slots(self) -> int:
        if self._window is not None:
            return max(1, int(self._window))
        if self.where == "dask":
            info = self._client.scheduler_info()
            threads = sum(w.get("nthreads", 1) for w in info.get("workers", {}).values())
            return max(4, 4 * threads)
        return 4 * self.n_workers

    # -- running ---------------------------------------------------------------------------
    def imap_unordered(self, fn: Callable, args: Iterable[tuple]) -> Iterator[tuple[int, object]]:
        """``(i, fn(shared, *args[i]))`` as tasks finish (in order when run here).

        A task's error is raised here; the tasks not yet finished are cancelled.
        """
        args = list(args)
        if not args:
            return
        if self.where == "here":
            for i, a in enumerate(args):
                yield i, fn(self.shared, *a)
            return
        self._start()
        if self.where == "dask":
            yield from self._dask_unordered(fn, args)
            return
        pool = self._pool
        assert pool is not None  # _start made it
        pending: dict = {}
        nxt, slots = 0, self._slots()
        try:
            while pending or nxt < len(args):
                while nxt < len(args) and len(pending) < slots:
                    pending[pool.submit(_call_shared, fn, *args[nxt])] = nxt
                    nxt += 1
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = pending.pop(fut)
                    yield i, fut.result()
        finally:
            for fut in pending:
                fut.cancel()

    def _dask_unordered(self, fn, args):
        from distributed import as_completed

        shared = self._shared_future if self._shared_future is not None else self.shared
        slots, nxt, index = self._slots(), 0, {}

        def submit():
            nonlocal nxt
            fut = self._client.submit(fn, shared, *args[nxt], retries=self.retries, pure=False)
            index[fut.key] = nxt
            nxt += 1
            return fut

        first = [submit() for _ in range(min(slots, len(args)))]
        queue = as_completed(first, loop=self._client.loop)
        try:
            for fut in queue:
                result = fut.result()
                i = index.pop(fut.key)
                fut.release()
                if nxt < len(args):
                    queue.add(submit())
                yield i, result
        finally:
            left = list(queue.futures)  # a copy: the queue's callbacks change it
            if left:
                self._stop_dask(left)

    def _stop_dask(self, left: list) -> None:
        """Cancel the tasks of `left` not yet started; wait (up to STOP_GRACE_S) for those a
        worker is running, which Dask cannot stop and which would write after we are gone."""
        import contextlib

        client = self._client
        busy: set = set()
        with contextlib.suppress(Exception):  # the scheduler gone: nothing to ask
            busy = {k for keys in client.processing().values() for k in keys}
        running = [f for f in left if f.key in busy]
        waiting = [f for f in left if f.key not in busy]
        if waiting:
            client.cancel(waiting)
        if running:
            log.info("waiting up to %d s for %d running task(s)", STOP_GRACE_S, len(running))
            deadline = time.monotonic() + STOP_GRACE_S
            while time.monotonic() < deadline and not all(f.done() for f in running):
                time.sleep(0.05)
            client.cancel(running)

    def imap(self, fn: Callable, args: Iterable[tuple]) -> Iterator:
        """``fn(shared, *a)`` for each ``a`` of ``args``, yielded in the order of ``args``."""
        held, want = {}, 0
        for i, result in self.imap_unordered(fn, args):
            held[i] = result
            while want in held:
                yield held.pop(want)
                want += 1


def _terminate_workers(pool: ProcessPoolExecutor) -> None:
    """SIGTERM to each worker of ``pool`` (a worker forked by the CLI stops as on Ctrl-C)."""
    import contextlib

    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):  # already gone
            proc.terminate()


def _connect(scheduler):
    """A client of the Dask scheduler at ``scheduler`` (or ``scheduler`` itself if a client)."""
    try:
        from distributed import Client
    except ImportError as err:  # pragma: no cover - distributed is a dependency
        raise InputError(
            f"--scheduler needs dask.distributed, which cannot be imported ({err}); "
            "install `distributed`."
        ) from None
    if isinstance(scheduler, Client):
        return scheduler, False
    address = str(scheduler)
    try:
        client = Client(address, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise InputError(
            f"could not connect to the Dask scheduler at {address} ({type(err).__name__}: "
            f"{err}); start one with `dask scheduler` and pass the address it prints "
            "(tcp://HOST:PORT)."
        ) from None
    try:
        client.wait_for_workers(1, timeout=WORKER_TIMEOUT_S)
    except TimeoutError:
        client.close()
        raise InputError(
            f"the Dask scheduler at {address} has no worker after {WORKER_TIMEOUT_S} s; start "
            "some with "
            f"`dask worker {address}`."
        ) from None
    log.info("running on the Dask cluster at %s", address)
    return client, True
