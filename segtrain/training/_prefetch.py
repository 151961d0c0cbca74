"""Items of a pure function of an index made ahead on a thread beside the training's."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["Prefetcher"]


class Prefetcher:
    """Items ``make(i)`` for i = 0, 1, 2, ... made `ahead` indices in advance on one thread
    beside the caller's (patch cutting and augmentation are NumPy and SciPy work that mostly
    runs without the GIL). `make` must be a pure function of `i`: an item is then the same
    whether it was made ahead or on demand, so the training is the same bytes either way.
    Indices from `stop` on are never made ahead. Use as a context manager (or `close`).
    """

    def __init__(self, make: Callable[[int], object], *, ahead: int, stop: int):
        self.make, self.ahead, self.stop = make, int(ahead), int(stop)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="segtrain-patches")
        self._pending: dict[int, Future] = {}

    def get(self, i: int):
        """Item `i` (made ahead when it was asked for in order), and the next ones queued."""
        future = self._pending.pop(i, None)
        # Items asked for out of order are dropped: a resumed run starts at another index.
        for k in [k for k in self._pending if k < i]:
            self._pending.pop(k).cancel()
        for k in range(i + 1, min(i + 1 + self.ahead, self.stop)):
            if k not in self._pending:
                self._pending[k] = self._pool.submit(self.make, k)
        return future.result() if future is not None else self.make(i)

    def close(self) -> None:
        for f in self._pending.values():
            f.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
