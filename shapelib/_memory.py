"""Price a request before work starts: refuse array sizes and counts the machine cannot hold,
before allocating them, saying the size and the largest request that fits."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ._errors import InputError

__all__ = ["check_array_size", "check_count", "max_array_bytes", "format_bytes"]

_FALLBACK_BYTES = 8 * 2**30


def max_array_bytes() -> int:
    """Largest single array a command may ask for: half the machine's physical memory."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        total = 2 * _FALLBACK_BYTES
    return int(total // 2) if total > 0 else _FALLBACK_BYTES


def format_bytes(n: float) -> str:
    """``1.5 GiB``-style text for a byte count (any size, also astronomically large)."""
    if not math.isfinite(n):
        return "an unbounded amount"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} TiB"  # pragma: no cover


def check_array_size(
    shape: Sequence[float],
    dtype: npt.DTypeLike,
    *,
    what: str,
    hint: str = "",
    limit_bytes: int | None = None,
) -> None:
    """Raise InputError when an array of ``shape`` and ``dtype`` would exceed the memory limit.

    Parameters
    ----------
    shape : sizes per axis (floats allowed: they are checked before any integer conversion)
    dtype : numpy dtype of the array
    what : what the array is, for the message (``the PSF``, ``the voxel grid``)
    hint : how to ask for less (``lower --size``)
    limit_bytes : default :func:`max_array_bytes`
    """
    limit = max_array_bytes() if limit_bytes is None else int(limit_bytes)
    sizes = [float(s) for s in shape]
    if not all(math.isfinite(s) and s >= 0 for s in sizes):
        raise InputError(f"{what} would have sizes {tuple(shape)}: not finite; {hint}".rstrip())
    n = math.prod(sizes) * np.dtype(dtype).itemsize
    if n > limit:
        dims = " x ".join(f"{s:.0f}" for s in sizes)
        raise InputError(
            f"{what} would need {dims} {np.dtype(dtype).name} values = {format_bytes(n)}, more "
            f"than the {format_bytes(limit)} allowed (half this machine's memory). "
            f"{hint}".strip()
        )


def check_count(
    n: float,
    *,
    each_bytes: float,
    option: str,
    what: str,
    limit_bytes: int | None = None,
) -> None:
    """Raise InputError when ``n`` items of at least ``each_bytes`` each exceed the memory limit.

    The message names ``option`` (``--n``, ``--objects``) and the largest value that fits.

    Parameters
    ----------
    n : the count asked for
    each_bytes : a lower bound of what one item holds in memory while the command runs
    option : the option or parameter that asked for ``n``
    what : what one item is, for the message (``image``, ``view of one shape``)
    limit_bytes : default :func:`max_array_bytes`
    """
    limit = max_array_bytes() if limit_bytes is None else int(limit_bytes)
    need = float(n) * float(each_bytes)
    if not math.isfinite(need) or need > limit:
        most = max(0, int(limit // max(float(each_bytes), 1.0)))

        def given(v) -> str:  # --n 5, --views random:5
            return f"{option}{v}" if option.endswith(":") else f"{option} {v}"

        raise InputError(
            f"{given(n)}: {n} x {what} ({format_bytes(each_bytes)} each) would need "
            f"{format_bytes(need)}, more than the {format_bytes(limit)} allowed (half this "
            f"machine's memory); the largest that fits is {given(most)}."
        )
