"""Run NumPy's BLAS on one thread for a while (the PSF tables' and the bead fit's products).

OpenBLAS threads spin while they wait; on a machine whose cores are busy (parallel workers,
other jobs) a multithreaded product of a few hundred rows then runs ~100x slower than on one
thread. The PSF matrix products are small, so one thread costs nothing when the machine is
idle. The thread count is set through OpenBLAS's own C entry points found among the loaded
libraries (as threadpoolctl does); where none is found this is a no-op.
"""

from __future__ import annotations

import ctypes
import re
from contextlib import contextmanager
from functools import lru_cache

__all__ = ["single_blas_thread"]

_SETTERS = ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_",
            "openblas_set_num_threads")  # fmt: skip
_GETTERS = ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_",
            "openblas_get_num_threads")  # fmt: skip


@lru_cache(maxsize=1)
def _openblas() -> tuple:
    """(getter, setter) pairs of every OpenBLAS loaded in this process."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as f:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", f.read())))
    except OSError:
        return ()
    found = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        get = next((getattr(lib, n) for n in _GETTERS if hasattr(lib, n)), None)
        put = next((getattr(lib, n) for n in _SETTERS if hasattr(lib, n)), None)
        if get is not None and put is not None:
            get.restype = ctypes.c_int
            found.append((get, put))
    return tuple(found)


@contextmanager
def single_blas_thread():
    """Within the block, BLAS products run on one thread; the previous count comes back."""
    import numpy  # noqa: F401  (its OpenBLAS must be loaded to be found)

    libs = _openblas()
    before = [get() for get, _ in libs]
    for _, put in libs:
        put(1)
    try:
        yield
    finally:
        for (_, put), n in zip(libs, before, strict=True):
            put(n)
