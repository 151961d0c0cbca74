"""The fingerprint of a label volume, computable block by block in any order.

``library.json`` records it so a re-run knows its input. A sum over the non-zero voxels of a
64-bit mix (splitmix64's finaliser) of (position, value), in two lanes, then blake2b with the
shape and dtype: blocks hash anywhere and in any order (a sum does not care how the volume was
cut), so the chunked and the in-memory extraction record the same fingerprint.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["content_fingerprint", "fingerprint_of", "hash_part"]


def _numba_hash():
    """Compile (once, cached on disk) the one-pass block hash of :func:`hash_part`."""
    from numba import njit

    # `mix` a module global, not a closure cell of `block_hash`: numba keys its disk cache on
    # the closure's pickled contents, and a compiled function pickles differently in every
    # process, so the cache never hit and grew by one file per run.
    global mix
    m1, m2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
    golden = np.uint64(0x9E3779B97F4A7C15)
    s30, s27, s31 = np.uint64(30), np.uint64(27), np.uint64(31)

    @njit(cache=True)
    def mix(x):  # pragma: no cover - compiled; splitmix64's finaliser
        x = (x ^ (x >> s30)) * m1
        x = (x ^ (x >> s27)) * m2
        return x ^ (x >> s31)

    @njit(cache=True)
    def block_hash(block, oz, oy, ox, ny_vol, nx_vol):  # pragma: no cover - compiled
        h1 = np.uint64(0)
        h2 = np.uint64(0)
        nz, ny, nx = block.shape
        for z in range(nz):
            for y in range(ny):
                row = np.uint64(((z + oz) * ny_vol + (y + oy)) * nx_vol + ox)
                for x in range(nx):
                    v = block[z, y, x]
                    if v != 0:
                        val = np.uint64(v)
                        a = mix((row + np.uint64(x)) ^ mix(val))
                        h1 += a
                        h2 += mix(a + val + golden)
        return h1, h2

    return block_hash


_HASH = None


def hash_part(block: np.ndarray, origin, shape) -> np.ndarray:
    """Two 64-bit sums over the non-zero voxels of a block of a volume of ``shape``:
    ``mix(position, value)`` (splitmix64), wrapping.

    A sum does not depend on how the volume was cut, so blocks hash in any order and
    anywhere; zeros add nothing.
    """
    global _HASH
    if _HASH is None:
        _HASH = _numba_hash()
    block = np.ascontiguousarray(block)
    if block.dtype == np.bool_:
        block = block.view(np.uint8)
    o = [int(v) for v in origin]
    h1, h2 = _HASH(block, o[0], o[1], o[2], int(shape[1]), int(shape[2]))
    return np.array([h1, h2], np.uint64)


def fingerprint_of(shape, dtype, parts) -> str:
    """The hex fingerprint of a volume from its blocks' :func:`hash_part` sums."""
    total = np.zeros(2, np.uint64)
    with np.errstate(over="ignore"):
        for p in parts:
            total = total + np.asarray(p, np.uint64)
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((tuple(int(s) for s in shape), str(np.dtype(dtype)))).encode())
    h.update(total.tobytes())
    return h.hexdigest()


def content_fingerprint(data: np.ndarray, *, slab: int = 16) -> str:
    """Fingerprint of a checked label volume in memory (the same as from its blocks)."""
    parts = [
        hash_part(np.asarray(data[z : z + slab]), (z, 0, 0), data.shape)
        for z in range(0, data.shape[0], slab)
    ]
    return fingerprint_of(data.shape, data.dtype, parts)
