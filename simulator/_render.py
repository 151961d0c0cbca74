"""Photons from emitters to pixels: fast depth-binned FFT rendering and the direct reference sum.

Fast path: emitters are split by depth into bins (linear weights between the two nearest bins;
bins are a fifth of the depth of field near focus and widen away from it) and spread with a
small Gaussian onto a grid ``s`` times finer than the pixels (``s`` >= 2, chosen from the
optical band limit so the grid samples it twice over Nyquist: the spreading of non-uniform
FFTs); each bin is convolved (FFT) with the PSF of its depth. Pixel integration (a box of one
pixel) and the correction for the Gaussian spread are exact multipliers in Fourier space. One
inverse FFT per focal plane. The direct path evaluates, for every emitter and every pixel, the
PSF integrated over the pixel by Gauss-Legendre quadrature; both read the same tables, so they
agree to the accuracy of the binning and spreading (tests and benchmarks check < 1%).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from functools import lru_cache

import numpy as np

from shapelib import InputError

from ._config import Optics
from ._psf import (
    TABLE_DEPTH_STEP_NM,
    PsfTable,
    best_focus_stage_nm,
    psf_on_grid,
    psf_table,
    r_max_nm,
)
from ._spread import spread_gaussian

__all__ = ["render_emitters", "render_emitters_direct", "stage_positions_nm", "oversampling"]


def band_limit_per_nm(optics: Optics) -> float:
    """Highest spatial frequency (cycles/nm) of the image: 2 NA / lambda (widefield), plus the
    excitation's 2 NA / lambda_ex for a confocal (the product of two PSFs)."""
    f = 2 * optics.NA / optics.emission_wavelength_nm
    if optics.modality == "confocal":
        f += 2 * optics.NA / optics.excitation_nm
    return f


def oversampling(optics: Optics) -> int:
    """Fine-grid factor ``s`` (>= 2): the fine step ``pixel / s`` samples the image's band at
    least twice over Nyquist (``f_max * step <= 1/4``), where Gaussian spreading is exact to
    about 1e-3."""
    return max(2, math.ceil(4 * band_limit_per_nm(optics) * optics.pixel_size_nm - 1e-9))


# Gaussian spreading of emitters onto the fine grid (as non-uniform FFTs do): each emitter
# touches the 2 _HALF + 1 nodes per axis centred on its nearest node (symmetric, so an emitter
# on a node spreads symmetrically); the variance (grid units^2) balances the truncation error
# exp(-(_HALF + 1/2)^2 / 2 var) against the aliasing error exp(-pi^2 var) at a quarter of the
# sampling rate: both about 4e-4. The spread is undone exactly in Fourier space.
_HALF = 3
_VAR = (_HALF + 0.5) / (math.pi * math.sqrt(2.0))


def depth_bin_nm(optics: Optics) -> float:
    """Depth-bin step: a fifth of the depth of field, a multiple of the table step, <= 100."""
    step = TABLE_DEPTH_STEP_NM * max(1, math.floor(optics.dof_nm / 5 / TABLE_DEPTH_STEP_NM))
    return float(min(step, 100.0))


# Far from focus the PSF changes slowly with depth: bins widen in proportion to the distance
# to the nearest focal plane (this fraction), never below the in-focus step.
_BIN_GROWTH = 0.2


def depth_grid_nm(optics: Optics, focal_depths_nm, lo_nm: float, hi_nm: float) -> np.ndarray:
    """Bin depths (multiples of the table step) covering [lo, hi]: fine near each focal plane,
    wider away from it. The grid is anchored on the focal planes, so images that share a focal
    depth share their PSF kernels (cache)."""
    step0 = depth_bin_nm(optics)
    planes = np.asarray(focal_depths_nm, float)
    t = TABLE_DEPTH_STEP_NM

    def step(p):
        d = float(np.abs(planes - p).min())
        return max(step0, t * math.floor(_BIN_GROWTH * d / t))

    start = t * round(planes.min() / t)
    down, up = [start], [start]
    while down[-1] > lo_nm:
        down.append(max(0.0, down[-1] - step(down[-1])))
        if down[-1] == 0.0:
            break
    while up[-1] <= hi_nm:
        up.append(up[-1] + step(up[-1]))
    return np.array(sorted(set(down) | set(up)))


def stage_positions_nm(optics: Optics, focal_depths_nm) -> tuple[float, ...]:
    """Stage position for each focal-plane depth (best focus, rounded to 0.1 nm for caching)."""
    base = float(focal_depths_nm[len(focal_depths_nm) // 2])  # best focus on the middle plane
    stage0 = best_focus_stage_nm(optics, base)
    scale = optics.immersion_index / optics.sample_index  # nominal stage nm per focus nm
    return tuple(round(stage0 - (float(f) - base) * scale, 1) for f in focal_depths_nm)


def _table_for(optics: Optics, stage: float, depth_max_nm: float) -> PsfTable:
    return psf_table(optics, float(stage), float(depth_max_nm))


@lru_cache(maxsize=8)
def _transfer(ny: int, nx: int, h: float, pixel: float) -> np.ndarray:
    """Pixel box (integral over the pixel) / Gaussian spread, on the rfft2 grid (ny, nx//2+1)."""
    fy = np.fft.fftfreq(ny)  # cycles per fine step
    fx = np.fft.rfftfreq(nx)
    box = (pixel * np.sinc(fy * pixel / h))[:, None] * (pixel * np.sinc(fx * pixel / h))[None, :]
    spread = np.exp(-2 * np.pi**2 * _VAR * (fy[:, None] ** 2 + fx[None, :] ** 2))
    return box / spread


@lru_cache(maxsize=8)
def _wrapped_offsets(ny: int, nx: int, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Signed (y, x) offsets in nm of each node of a periodic grid from node (0, 0)."""
    dy = (np.arange(ny) + ny // 2) % ny - ny // 2
    dx = (np.arange(nx) + nx // 2) % nx - nx // 2
    yy, xx = np.meshgrid(dy * h, dx * h, indexing="ij")
    yy.setflags(write=False)
    xx.setflags(write=False)
    return yy, xx


_KERNEL_CACHE_BYTES = 1024 * 2**20  # kernel spectra kept per process (least recently used out)
_kernels: OrderedDict = OrderedDict()


def _kernel_fft(optics: Optics, stage: float, depth_max: float, row: int, shape, h: float):
    """rfft2 of the pixel-integrated, spread-corrected PSF of one table row (complex64).

    Cached (least recently used first out) within ``_KERNEL_CACHE_BYTES``: a scene reuses the
    kernels of its depth bins, images of one size and focal depth share them.
    """
    from scipy import fft

    key = (optics, stage, depth_max, row, shape, h)
    out = _kernels.get(key)
    if out is not None:
        _kernels.move_to_end(key)
        return out
    tab = _table_for(optics, stage, depth_max)
    k = psf_on_grid(tab, row, *_wrapped_offsets(*shape, h))
    out = (fft.rfft2(k, workers=1) * _transfer(*shape, h, optics.pixel_size_nm)).astype(
        np.complex64
    )
    out.setflags(write=False)
    _kernels[key] = out
    while len(_kernels) > 1 and sum(v.nbytes for v in _kernels.values()) > _KERNEL_CACHE_BYTES:
        _kernels.popitem(last=False)
    return out


def _grid_len(m: int) -> int:
    """FFT length >= m from a short list (multiples of 64), so kernels are shared (cache)."""
    from scipy import fft

    return fft.next_fast_len(64 * math.ceil(m / 64), real=True)


def _check_depths(depth_nm: np.ndarray) -> None:
    if depth_nm.size and depth_nm.min() < 0:
        raise InputError(
            f"emitters lie {-depth_nm.min():.0f} nm below the coverslip (depth < 0); got a "
            "focal depth too shallow for this object. Raise focal_depth_nm (--focal-depth-nm)."
        )


def render_emitters(
    xyz_nm: np.ndarray,
    weights: np.ndarray,
    optics: Optics,
    *,
    size_px: int,
    focal_depths_nm: tuple[float, ...],
) -> np.ndarray:
    """Expected detected photons per pixel from point emitters (fast, depth-binned FFT).

    Parameters
    ----------
    xyz_nm : (N, 3) ndarray of float
        Emitters in the image frame: x (columns) and y (rows) in nm from the image's corner
        (pixel (i, j) covers ``[j a, (j+1) a) x [i a, (i+1) a)``), z = depth below the
        coverslip in nm.
    weights : (N,) ndarray of float
        Photons emitted by each emitter.
    optics : Optics
    size_px : int
        Image side in pixels.
    focal_depths_nm : tuple of float
        Depth of each focal plane (one for a 2D image).

    Returns
    -------
    image : (P, size_px, size_px) ndarray of float64
        Expected photons reaching the detector (before quantum efficiency).
    """
    from scipy import fft

    xyz = np.asarray(xyz_nm, float).reshape(-1, 3)
    w = np.asarray(weights, float).ravel()
    _check_depths(xyz[:, 2])
    a = optics.pixel_size_nm
    s = oversampling(optics)
    h = a / s
    pad = int(math.ceil(r_max_nm(optics) / h)) + _HALF
    stages = stage_positions_nm(optics, focal_depths_nm)
    out = np.zeros((len(stages), size_px, size_px))
    if xyz.shape[0] == 0:
        return out

    # only pixels within the PSF radius of some emitter can receive light: FFT that window
    r_px = r_max_nm(optics) / a
    lo = np.floor(xyz[:, :2].min(axis=0) / a - r_px - 0.5).astype(int)
    hi = np.ceil(xyz[:, :2].max(axis=0) / a + r_px + 0.5).astype(int)
    (j0, i0), (j1, i1) = np.maximum(lo, 0), np.minimum(hi, size_px)
    if j1 <= j0 or i1 <= i0:
        return out
    if (j1 - j0) * (i1 - i0) > size_px**2 / 4:  # most of the image: all of it (shared kernels)
        j0, i0, j1, i1 = 0, 0, size_px, size_px
    nx, ny = j1 - j0, i1 - i0
    shape = (_grid_len((ny - 1) * s + 1 + 2 * pad), _grid_len((nx - 1) * s + 1 + 2 * pad))

    # fine-grid coordinates: node pad + s j is the centre of pixel j of the window
    u = (xyz[:, 0] - (j0 + 0.5) * a) / h + pad
    v = (xyz[:, 1] - (i0 + 0.5) * a) / h + pad
    bx = np.floor(u + 0.5).astype(np.int64) - _HALF  # first node of each emitter's spread
    by = np.floor(v + 0.5).astype(np.int64) - _HALF
    n_sp = 2 * _HALF + 1
    keep = (bx >= 0) & (bx + n_sp <= shape[1]) & (by >= 0) & (by + n_sp <= shape[0])
    grid = depth_grid_nm(optics, focal_depths_nm, xyz[:, 2].min(), xyz[:, 2].max())
    depth_max = depth_max_key(float(max(grid[-1], max(focal_depths_nm)) + 1.0))
    u, v, w, z = u[keep], v[keep], w[keep], xyz[keep, 2]
    if len(w) == 0:
        return out
    # depth: linear weights between the two nearest bins; emitters sorted by their lower bin
    ib = np.clip(np.searchsorted(grid, z, side="right") - 1, 0, len(grid) - 2)
    order = np.argsort(ib, kind="stable")
    ib, u, v, w, z = (q[order] for q in (ib, u, v, w, z))
    fb = (z - grid[ib]) / (grid[ib + 1] - grid[ib])
    lower, upper = w * (1 - fb), w * fb

    # per depth bin: spread the emitters whose lower bin it is and those whose upper bin it is
    acc = [np.zeros((shape[0], shape[1] // 2 + 1), np.complex64) for _ in stages]
    edges = np.searchsorted(ib, np.arange(len(grid) + 1))
    for b in range(len(grid)):
        lo_sl = slice(edges[b], edges[b + 1])
        up_sl = slice(edges[b - 1], edges[b]) if b > 0 else slice(0, 0)
        if lo_sl.stop <= lo_sl.start and up_sl.stop <= up_sl.start:
            continue
        uu = np.concatenate([u[lo_sl], u[up_sl]])
        vv = np.concatenate([v[lo_sl], v[up_sl]])
        ww = np.concatenate([lower[lo_sl], upper[up_sl]])
        hist = spread_gaussian(shape, uu, vv, ww, half=_HALF, var=_VAR)
        spec = fft.rfft2(hist, workers=1)  # single precision (float32): faster
        row = int(round(grid[b] / TABLE_DEPTH_STEP_NM))
        for kk, stage in enumerate(stages):
            acc[kk] += spec * _kernel_fft(optics, stage, depth_max, row, shape, h)
    # one inverse FFT per plane, then read the fine nodes at the pixel centres of the window
    idy = pad + s * np.arange(ny)
    idx = pad + s * np.arange(nx)
    for kk in range(len(stages)):
        fine = fft.irfft2(acc[kk], s=shape, workers=1)
        out[kk, i0:i1, j0:j1] = fine[np.ix_(idy, idx)]
    np.maximum(out, 0.0, out=out)  # FFT round-off below zero
    return out


def depth_max_key(depth_max: float) -> float:
    """Round a table depth up to whole micrometres so tables are shared between images."""
    return float(1000.0 * math.ceil(depth_max / 1000.0))


def render_emitters_direct(
    xyz_nm: np.ndarray,
    weights: np.ndarray,
    optics: Optics,
    *,
    size_px: int,
    focal_depth_nm: float,
    quadrature: int = 4,
) -> np.ndarray:
    """Reference: every emitter at every pixel, PSF integrated over the pixel (Gauss-Legendre).

    Same inputs and units as :func:`render_emitters` (one focal plane); returns
    ``(size_px, size_px)`` float64. Cost grows as emitters x pixels x quadrature^2.
    """
    xyz = np.asarray(xyz_nm, float).reshape(-1, 3)
    w = np.asarray(weights, float).ravel()
    _check_depths(xyz[:, 2])
    stage = stage_positions_nm(optics, (focal_depth_nm,))[0]
    depth_max = float(max(xyz[:, 2].max(initial=0.0), focal_depth_nm) + 1.0)
    tab = _table_for(optics, stage, depth_max_key(depth_max))
    nodes, qw = np.polynomial.legendre.leggauss(quadrature)
    from ._direct import direct_sum

    # A round PSF has no angular harmonics: empty arrays of the right types.
    n_depth, n_r = tab.values.shape
    orders = np.ascontiguousarray(tab.harmonic_orders, np.float64).reshape(-1)
    harm = np.ascontiguousarray(tab.harmonics, np.complex128).reshape(len(orders), n_depth, n_r)
    return direct_sum(
        np.ascontiguousarray(xyz), w, np.ascontiguousarray(tab.values), orders, harm,
        float(tab.r_nm[1]), TABLE_DEPTH_STEP_NM, float(optics.pixel_size_nm), int(size_px),
        nodes, qw,
    )  # fmt: skip
