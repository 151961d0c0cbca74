"""Model work of all tabs: a bounded pool of worker threads with a queue per session.

Each session's tasks run one at a time, in the order they came (a click after an upload
answers the new image); sessions take turns (round robin), so one tab's long upload holds one
worker and another tab's click runs on the next free one. Whole-image predictions (opening
an image) are "heavy": at most `workers - 1` of them run at once, so a worker is always left
for clicks, and the memory of whole-image predictions stays that of one at a time (2
workers); after each, the memory it freed goes back to the system (`give_back_memory`).
There is no global lock around model calls: a network in inference mode is read-only, and
two workers may run it at once.

`ModelPool.run` blocks the calling request thread until its task is done (FastAPI runs plain
handlers in its thread pool); `ModelPool.pending` tells how much work is queued.
"""

from __future__ import annotations

import ctypes
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

__all__ = ["ModelPool", "give_back_memory"]

T = TypeVar("T")


def give_back_memory() -> None:
    """Hand the C heap's free memory back to the system (glibc's ``malloc_trim``; nothing
    elsewhere). A whole-image prediction frees hundreds of MB that glibc would otherwise keep
    (seen: 671 MB resident after two 1024 x 768 predictions, 306 MB after the trim)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class ModelPool:
    """`workers` threads (started on first use) serving one FIFO queue per session key.

    Examples
    --------
    >>> pool = ModelPool(workers=2)
    >>> pool.run("tab-a", lambda: 1 + 1)
    2
    >>> pool.close()
    """

    def __init__(self, workers: int = 2, heavy: int | None = None):
        if workers < 1:
            raise ValueError(f"a model pool needs at least 1 worker; got {workers}")
        self.workers = int(workers)
        # whole-image predictions at once: one worker is always left for clicks
        self.heavy_limit = max(1, self.workers - 1) if heavy is None else int(heavy)
        self._heavy = 0
        self._cv = threading.Condition()
        self._queues: dict[str, deque] = {}
        self._ready: deque[str] = deque()  # sessions with work waiting and none running
        self._running: set[str] = set()
        self._threads: list[threading.Thread] = []
        self._closed = False

    def submit(self, key: str, fn: Callable[[], T], *, heavy: bool = False) -> Future:
        """Queue `fn` behind the earlier tasks of session `key`; its Future. A `heavy` task
        (a whole image) waits while `heavy_limit` others run; light ones pass it."""
        fut: Future = Future()
        with self._cv:
            if self._closed:
                raise RuntimeError("the model pool is closed")
            if not self._threads:
                self._start()
            q = self._queues.setdefault(key, deque())
            q.append((fn, fut, heavy))
            if key not in self._running and len(q) == 1:
                self._ready.append(key)
                self._cv.notify()
        return fut

    def run(self, key: str, fn: Callable[[], T], *, heavy: bool = False) -> T:
        """`fn`'s result (or its exception), run on a worker in session `key`'s turn."""
        return self.submit(key, fn, heavy=heavy).result()

    def pending(self, key: str | None = None) -> int:
        """Tasks of session `key` queued or running (of all sessions, without a key)."""
        with self._cv:
            if key is None:
                return len(self._running) + sum(len(q) for q in self._queues.values())
            return len(self._queues.get(key, ())) + (key in self._running)

    def close(self) -> None:
        """Stop the workers once the queued tasks are done."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        for t in self._threads:
            t.join(timeout=5)

    def _start(self) -> None:
        for k in range(self.workers):
            t = threading.Thread(target=self._work, name=f"mitoshape-model-{k}", daemon=True)
            t.start()
            self._threads.append(t)

    def _pick(self) -> str | None:
        """The first session in turn whose next task may start now (with the lock held)."""
        for i, key in enumerate(self._ready):
            if not self._queues[key][0][2] or self._heavy < self.heavy_limit:
                del self._ready[i]
                return key
        return None

    def _work(self) -> None:
        while True:
            with self._cv:
                key = self._pick()
                while key is None:
                    if self._closed and not self._ready and not self._running:
                        return
                    self._cv.wait(timeout=1.0 if self._closed else None)
                    key = self._pick()
                fn, fut, heavy = self._queues[key].popleft()
                self._heavy += heavy
                self._running.add(key)
            if fut.set_running_or_notify_cancel():
                try:
                    result = fn()
                except BaseException as err:  # handed to the waiting request
                    fut.set_exception(err)
                else:
                    if heavy:
                        give_back_memory()
                    fut.set_result(result)
            with self._cv:
                self._running.discard(key)
                self._heavy -= heavy
                if self._queues[key]:
                    self._ready.append(key)
                else:
                    del self._queues[key]
                self._cv.notify_all()  # a heavy task may go now, or a closed pool end
