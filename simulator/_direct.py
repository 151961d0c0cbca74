"""The direct per-emitter, per-pixel sum (numba), the reference the fast renderer must equal."""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["direct_sum"]


@numba.njit(parallel=True, cache=False)
def direct_sum(
    xyz, w, table, orders, harm, dr, dd, pixel, size, nodes, qw
):  # pragma: no cover - numba
    """Sum over emitters of the PSF table, interpolated in depth and radius, integrated over
    each pixel with ``len(nodes)^2`` Gauss-Legendre points; returns (size, size).

    ``table`` (D, R) is the PSF's round part and ``harm`` (Q, D, R) complex its angular
    harmonics of orders ``orders`` (Q = 0 for a round PSF): the PSF at angle ``theta`` (from +x
    towards +y) is ``table + 2 Re sum_q harm[q] exp(i q theta)``."""
    n_depth, n_r = table.shape
    q = nodes.shape[0]
    n_h = orders.shape[0]
    out = np.zeros((size, size))
    for iy in numba.prange(size):
        for ix in range(size):
            acc = 0.0
            for e in range(xyz.shape[0]):
                t = xyz[e, 2] / dd
                i0 = int(math.floor(t))
                if i0 < 0 or i0 >= n_depth - 1:
                    continue
                f = t - i0
                for a in range(q):
                    yq = (iy + 0.5 + 0.5 * nodes[a]) * pixel - xyz[e, 1]
                    for b in range(q):
                        xq = (ix + 0.5 + 0.5 * nodes[b]) * pixel - xyz[e, 0]
                        rr = math.sqrt(xq * xq + yq * yq)
                        r = rr / dr
                        j0 = int(r)
                        if j0 >= n_r - 1:
                            continue
                        g = r - j0
                        v0 = (1 - g) * table[i0, j0] + g * table[i0, j0 + 1]
                        v1 = (1 - g) * table[i0 + 1, j0] + g * table[i0 + 1, j0 + 1]
                        val = (1 - f) * v0 + f * v1
                        theta = math.atan2(yq, xq)
                        for k in range(n_h):
                            h0 = (1 - g) * harm[k, i0, j0] + g * harm[k, i0, j0 + 1]
                            h1 = (1 - g) * harm[k, i0 + 1, j0] + g * harm[k, i0 + 1, j0 + 1]
                            hv = (1 - f) * h0 + f * h1
                            ang = orders[k] * theta
                            val += 2.0 * (hv.real * math.cos(ang) - hv.imag * math.sin(ang))
                        acc += 0.25 * qw[a] * qw[b] * w[e] * val
            out[iy, ix] = acc * pixel * pixel
    return out
