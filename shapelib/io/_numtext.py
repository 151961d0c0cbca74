"""Numbers as text, fast: the rows of ``raw_mesh.off`` and ``pointcloud.ply``, byte for byte.

Every instance writes 100,000 PLY rows and an OFF mesh; Python's string formatting costs more
than building the shapes. Here each value is rounded once in numpy, exactly, and one compiled
pass (numba) writes the characters:

- ``|x| * 10**d`` is exact in float64 when ``x`` is a float32 value (24-bit mantissa) and
  ``5**d`` fits 24 bits (``d <= 10``): the product needs at most 48 bits. ``np.rint`` of it
  rounds half to even, the rule of Python's ``'%.{d}f'`` on the exact binary value, so the
  digits are Python's. Other inputs (float64 values, huge or non-finite ones) return ``None``
  and the caller formats them in Python.
- Integers are written as ``'{}'`` writes them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fixed_rows", "int_rows"]

_KERNELS = None


def _numba_kernels():
    """Compile (once, cached on disk) the two writers (unsigned arithmetic: plain division)."""
    from numba import njit

    # `put_uint` a module global, not a closure cell of `fixed` and `ints`: numba keys its disk
    # cache on the closure's pickled contents, which differ in every process for a compiled
    # function (the cache never hit and grew by one file per run).
    global put_uint
    ten = np.uint64(10)

    @njit(cache=True)
    def put_uint(out, pos, v):  # pragma: no cover - compiled
        if v == 0:
            out[pos] = 48  # '0'
            return pos + 1
        n = 0
        t = v
        while t > 0:
            t //= ten
            n += 1
        for i in range(n - 1, -1, -1):
            out[pos + i] = 48 + v % ten
            v //= ten
        return pos + n

    @njit(cache=True)
    def fixed(q, neg, decimals, scale, out):  # pragma: no cover - compiled
        n, k = q.shape
        pos = 0
        for r in range(n):
            for c in range(k):
                if neg[r, c]:
                    out[pos] = 45  # '-'
                    pos += 1
                v = q[r, c]
                whole = v // scale
                pos = put_uint(out, pos, whole)
                out[pos] = 46  # '.'
                frac = v - whole * scale
                for i in range(decimals, 0, -1):
                    out[pos + i] = 48 + frac % ten
                    frac //= ten
                pos += decimals + 1
                out[pos] = 32 if c < k - 1 else 10  # ' ' or '\n'
                pos += 1
        return pos

    @njit(cache=True)
    def ints(a, neg, out):  # pragma: no cover - compiled
        n, k = a.shape
        pos = 0
        for r in range(n):
            for c in range(k):
                if neg[r, c]:
                    out[pos] = 45
                    pos += 1
                pos = put_uint(out, pos, a[r, c])
                out[pos] = 32 if c < k - 1 else 10
                pos += 1
        return pos

    return fixed, ints


def _kernels():
    global _KERNELS
    if _KERNELS is None:
        _KERNELS = _numba_kernels()
    return _KERNELS


def fixed_rows(table: np.ndarray, decimals: int, *, sign_of_zero: bool) -> bytes | None:
    """Rows of ``'%.{decimals}f'`` values joined by spaces, each row ending in a newline.

    Parameters
    ----------
    table : (N, K) array of float
    decimals : int, 1..10
    sign_of_zero : bool
        True: a negative value that rounds to zero (and ``-0.0``) keeps its ``-``, as Python
        writes it. False: it is written without, as ``pointcloud.ply`` always has been.

    Returns
    -------
    bytes, or None when the exact fast path does not apply (not float32 values, non-finite,
    ``|x| * 10**decimals >= 2**53``): format those in Python.
    """
    table = np.asarray(table, dtype=np.float64)
    if table.ndim != 2 or not 1 <= decimals <= 10:
        return None
    n, k = table.shape
    if n == 0 or k == 0:
        return b""
    if not np.all(np.isfinite(table)) or not np.array_equal(table.astype(np.float32), table):
        return None
    scale = 10**decimals
    a = np.abs(table) * float(scale)
    if a.max() >= 2.0**53:
        return None
    q = np.rint(a).astype(np.uint64)
    neg = np.signbit(table) if sign_of_zero else (table < 0) & (q > 0)
    digits = len(str(int(q.max()) // scale))
    out = np.empty(n * k * (digits + decimals + 3), np.uint8)
    fixed, _ = _kernels()
    end = fixed(q, neg.view(np.uint8), int(decimals), np.uint64(scale), out)
    return out[:end].tobytes()


def int_rows(table: np.ndarray) -> bytes:
    """Rows of integers (``'{}'``) joined by spaces, each row ending in a newline."""
    a = np.ascontiguousarray(table, dtype=np.int64)
    n, k = a.shape
    if n == 0 or k == 0:
        return b""
    neg = a < 0
    mag = np.abs(a).astype(np.uint64)  # int64's minimum stays 2**63 as uint64
    out = np.empty(n * k * (len(str(int(mag.max()))) + 2), np.uint8)
    _, ints = _kernels()
    end = ints(mag, neg.view(np.uint8), out)
    return out[:end].tobytes()
