"""Photons from emitters to pixels: fast depth-binned FFT rendering and the direct reference sum.

Fast path: emitters are split by depth into bins (linear weights between the two nearest bins;
bins are a fifth of the depth of field near focus and widen away from it) and splatted
bilinearly onto a grid ``s`` times finer than the pixels; each bin is convolved (FFT) with the
PSF of its depth. Pixel integration (a box of one pixel) and the correction for the bilinear
splat (a tent of one fine step) are exact multipliers in Fourier space. One inverse FFT per
focal plane. The direct path evaluates, for every emitter and every pixel, the PSF integrated
over the pixel by Gauss-Legendre quadrature; both read the same tables, so they agree to the
accuracy of the binning and splatting (tests and benchmarks check < 1%).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from shapelib import InputError

from ._config import Optics
from ._psf import TABLE_DEPTH_STEP_NM, PsfTable, best_focus_stage_nm, psf_table, r_max_nm

__all__ = ["render_emitters", "render_emitters_direct", "stage_positions_nm", "oversampling"]


def oversampling(optics: Optics) -> int:
    """Odd fine-grid factor: fine step <= lambda / (16 NA) (widefield) or lambda / (24 NA)
    (confocal, whose PSF passes twice the spatial frequencies); keeps single emitters < 1%."""
    per = 16 if optics.modality == "widefield" else 24
    s = max(1, math.ceil(optics.pixel_size_nm / (optics.emission_wavelength_nm / per / optics.NA)))
    return s if s % 2 == 1 else s + 1


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
    """Pixel box (integral over the pixel) / bilinear tent, on the rfft2 grid (ny, nx//2+1)."""
    fy = np.fft.fftfreq(ny, d=h)
    fx = np.fft.rfftfreq(nx, d=h)
    box = (pixel * np.sinc(fy * pixel))[:, None] * (pixel * np.sinc(fx * pixel))[None, :]
    tent = (np.sinc(fy * h) ** 2)[:, None] * (np.sinc(fx * h) ** 2)[None, :]
    return box / tent


@lru_cache(maxsize=8)
def _wrapped_radius(ny: int, nx: int, h: float) -> np.ndarray:
    dy = np.minimum(np.arange(ny), ny - np.arange(ny)) * h
    dx = np.minimum(np.arange(nx), nx - np.arange(nx)) * h
    return np.hypot(dy[:, None], dx[None, :])


@lru_cache(maxsize=96)
def _kernel_fft(optics: Optics, stage: float, depth_max: float, row: int, shape, h: float):
    """rfft2 of the pixel-integrated, tent-corrected PSF of one table row (complex64)."""
    from scipy import fft

    tab = _table_for(optics, stage, depth_max)
    k = np.interp(_wrapped_radius(*shape, h), tab.r_nm, tab.values[row], right=0.0)
    out = fft.rfft2(k, workers=1) * _transfer(*shape, h, optics.pixel_size_nm)
    return out.astype(np.complex64)


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
    pad = int(math.ceil(r_max_nm(optics) / h))
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
    nx, ny = j1 - j0, i1 - i0
    shape = (_grid_len(ny * s + 2 * pad), _grid_len(nx * s + 2 * pad))

    # lateral bilinear splat onto the padded fine grid, depth linear between bins
    u = (xyz[:, 0] - j0 * a) / h - 0.5 + pad
    v = (xyz[:, 1] - i0 * a) / h - 0.5 + pad
    ix, iy = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
    fx, fy = u - ix, v - iy
    grid = depth_grid_nm(optics, focal_depths_nm, xyz[:, 2].min(), xyz[:, 2].max())
    ib = np.clip(np.searchsorted(grid, xyz[:, 2], side="right") - 1, 0, len(grid) - 2)
    fb = (xyz[:, 2] - grid[ib]) / (grid[ib + 1] - grid[ib])
    depth_max = depth_max_key(float(max(grid[-1], max(focal_depths_nm)) + 1.0))
    keep = (ix >= 0) & (ix < shape[1] - 1) & (iy >= 0) & (iy < shape[0] - 1)
    ix, iy, fx, fy, ib, fb, w = (q[keep] for q in (ix, iy, fx, fy, ib, fb, w))
    corners = [(0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx), (1, 0, fy * (1 - fx))]
    corners.append((1, 1, fy * fx))
    flat = np.concatenate([(iy + dy) * shape[1] + ix + dx for dy, dx, _ in corners])
    wts = np.concatenate([wc * w for _, _, wc in corners])
    bins = np.tile(ib, 4)
    fbin = np.tile(fb, 4)
    flat = np.concatenate([flat, flat])
    wts = np.concatenate([wts * (1 - fbin), wts * fbin])
    bins = np.concatenate([bins, bins + 1])

    acc = [np.zeros((shape[0], shape[1] // 2 + 1), np.complex128) for _ in stages]
    order = np.argsort(bins, kind="stable")
    bins, flat, wts = bins[order], flat[order], wts[order]
    starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
    ends = np.r_[starts[1:], len(bins)]
    for b0, b1 in zip(starts, ends, strict=True):
        hist = np.bincount(flat[b0:b1], weights=wts[b0:b1], minlength=shape[0] * shape[1])
        spec = fft.rfft2(hist.reshape(shape), workers=1)
        row = int(round(grid[bins[b0]] / TABLE_DEPTH_STEP_NM))
        for k, stage in enumerate(stages):
            acc[k] += spec * _kernel_fft(optics, stage, depth_max, row, shape, h)
    # one inverse FFT per plane, then read the fine nodes at the pixel centres of the window
    idy = pad + s * np.arange(ny) + s // 2
    idx = pad + s * np.arange(nx) + s // 2
    for k in range(len(stages)):
        fine = fft.irfft2(acc[k], s=shape, workers=1)
        out[k, i0:i1, j0:j1] = fine[np.ix_(idy, idx)]
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
    return _direct_sum(
        np.ascontiguousarray(xyz),
        w,
        np.ascontiguousarray(tab.values),
        float(tab.r_nm[1]),
        TABLE_DEPTH_STEP_NM,
        float(optics.pixel_size_nm),
        int(size_px),
        nodes,
        qw,
    )


def _direct_sum(xyz, w, table, dr, dd, pixel, size, nodes, qw):
    from ._direct import direct_sum

    return direct_sum(xyz, w, table, dr, dd, pixel, size, nodes, qw)
