"""Depth-aware scalar Gibson-Lanni PSF, as radial tables cached per optics and stage position.

The pupil integral ``h(r) = int_0^1 J0(k NA r rho) exp(i k OPD(rho)) rho drho`` is evaluated by
Gauss-Legendre quadrature on the pupil radius (split at the critical angle of the sample, where
the phase has a square-root kink), as one matrix product for all depths and radii. This is as
accurate as the Li-Xue-Blu Bessel series and as fast at these sizes (no least-squares fit).

``OPD = p sqrt(n_s^2 - s^2) + zeta sqrt(n_i^2 - s^2)``, ``s = NA rho``: an emitter ``p`` nm deep
in the sample, the stage moved by ``zeta`` (negative = towards the objective) from focus on the
coverslip; coverslip thickness and index are at their design values (their terms cancel). Beyond
the critical angle the root is imaginary and the wave decays with depth (effective NA ->
``n_s``).

Pupil aberrations (``Optics.aberrations``, Zernike terms) enter the pupil as a phase; astigmatism
and coma break the rotational symmetry, and the PSF is then kept as angular harmonics of radial
tables (``_aberration``): ``I(r, theta) = I_0(r) + 2 Re sum_q I_q(r) exp(i q theta)``. Without
aberrations (the default) the tables are exactly the radial ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ._aberration import bessel_orders, intensity_harmonics, is_radial, pupil_harmonics
from ._blas import single_blas_thread
from ._config import Optics
from ._widths import fwhm_1d_nm, lateral_fwhm_nm

__all__ = [
    "PsfTable",
    "best_focus_stage_nm",
    "psf_table",
    "lateral_fwhm_nm",
    "point_psf_harmonics",
    "psf_on_grid",
    "fwhm_1d_nm",
]

_N_RHO = 192  # Gauss-Legendre nodes per pupil segment
TABLE_DEPTH_STEP_NM = 10.0  # depth step of the cached tables
_DEPTH_CHUNK_NM = 1000.0  # tables cover [0, n * chunk]


@dataclass(frozen=True)
class PsfTable:
    """Radial PSF of one optics at one stage position, for emitters at many depths.

    Attributes
    ----------
    r_nm : (R,) ndarray of float64
        Radii in the sample plane, nm, step ``r_nm[1]``.
    depth_nm : (D,) ndarray of float64
        Emitter depths below the coverslip, nm, step ``TABLE_DEPTH_STEP_NM``.
    values : (D, R) ndarray of float64
        Detected photons per emitted photon per nm^2 of detector area (widefield), or per
        scan position divided by the pixel area (confocal): a pixel's value is the integral of
        ``values`` over the pixel in both cases.
    stage_nm : float
        Stage position (negative = towards the objective).
    harmonic_orders : (Q,) ndarray of int
        Angular orders ``q >= 1`` of an aberrated PSF (empty when it is rotationally symmetric).
    harmonics : (Q, D, R) ndarray of complex64
        ``I_q``: the PSF is ``values + 2 Re sum_q harmonics[q] exp(i q theta)``, ``theta``
        from +x (columns) towards +y (rows).
    """

    r_nm: np.ndarray
    depth_nm: np.ndarray
    values: np.ndarray
    stage_nm: float
    harmonic_orders: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    harmonics: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0), np.complex64))


@lru_cache(maxsize=32)
def _pupil(na: float, n_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [0, 1], split at the sample's critical angle."""
    x, w = np.polynomial.legendre.leggauss(_N_RHO)
    edges = [0.0, 1.0]
    if na > n_s:
        edges = [0.0, n_s / na, 1.0]
    pairs = list(zip(edges[:-1], edges[1:], strict=True))
    rho = np.concatenate([0.5 * (b - a) * x + 0.5 * (b + a) for a, b in pairs])
    wt = np.concatenate([0.5 * (b - a) * w for a, b in pairs])
    rho.setflags(write=False)
    wt.setflags(write=False)
    return rho, wt


def _phase_factor(
    lam: float, na: float, n_i: float, n_s: float, depth: np.ndarray, stage: float, rho
) -> np.ndarray:
    """``exp(i k OPD)`` for each depth (rows) and pupil node (columns)."""
    k = 2 * np.pi / lam
    s2 = (na * rho) ** 2
    cs = np.sqrt((n_s**2 - s2).astype(complex))  # imaginary beyond the critical angle
    ci = np.sqrt(n_i**2 - s2)
    if np.ndim(stage):  # one stage per depth (pairs)
        stage = np.asarray(stage, float)[:, None] * ci[None, :]
    else:
        stage = stage * ci
    return np.exp(1j * k * (np.asarray(depth, float)[:, None] * cs[None, :] + stage))


def _intensity(lam, na, n_i, n_s, depth, stage, r) -> np.ndarray:
    """|h|^2 normalised so an unaberrated (sub-critical) pupil integrates to 1 over the plane."""
    from scipy.special import j0

    rho, w = _pupil(na, n_s)
    k = 2 * np.pi / lam
    a = _phase_factor(lam, na, n_i, n_s, depth, stage, rho) * (w * rho)[None, :]
    jm = j0(k * na * np.outer(rho, r))  # (rho, r)
    with single_blas_thread():
        h_re = a.real @ jm
        h_im = a.imag @ jm
    energy = 0.5 * min(1.0, n_s / na) ** 2  # int |P|^2 rho drho of the propagating pupil
    return (h_re**2 + h_im**2) * (k * na) ** 2 / (2 * np.pi * energy)


@lru_cache(maxsize=16)
def _bessel_stack(n_max: int, lam: float, na: float, n_s: float, r_key: bytes) -> np.ndarray:
    """``J_n(k NA rho r)`` for n = 0..n_max on the pupil nodes x radii (cached: the fit of a
    bead changes the aberrations far more often than the NA)."""
    rho, _ = _pupil(na, n_s)
    r = np.frombuffer(r_key, dtype=np.float64)
    out = bessel_orders(n_max, (2 * np.pi / lam) * na * np.outer(rho, r))
    out.setflags(write=False)
    return out


def _harmonic_intensity(lam, na, n_i, n_s, depth, stage, r, terms) -> dict[int, np.ndarray]:
    """Angular harmonics of the aberrated intensity, normalised as :func:`_intensity`."""
    rho, w = _pupil(na, n_s)
    k = 2 * np.pi / lam
    a = _phase_factor(lam, na, n_i, n_s, depth, stage, rho) * (w * rho)[None, :]
    orders, coef = pupil_harmonics(terms, lam, rho)
    n_max = int(np.abs(orders).max())
    r_key = np.ascontiguousarray(r, np.float64).tobytes()
    bessel = _bessel_stack(n_max, float(lam), float(na), float(n_s), r_key)
    amp = {}
    with single_blas_thread():
        for m, e in zip(orders, coef.T, strict=True):
            n = abs(int(m))
            sign = -1.0 if m < 0 and n % 2 else 1.0  # J_-n = (-1)^n J_n
            am = a * (sign * e)[None, :]
            amp[int(m)] = (1j**m) * ((am.real @ bessel[n]) + 1j * (am.imag @ bessel[n]))
    energy = 0.5 * min(1.0, n_s / na) ** 2
    norm = (k * na) ** 2 / (2 * np.pi * energy)
    return {q: v * norm for q, v in intensity_harmonics(amp).items()}


def point_psf_harmonics(
    optics: Optics, depth_nm, stage_nm, r_nm, *, wavelength_nm: float | None = None
) -> dict[int, np.ndarray]:
    """Widefield PSF of emitters at ``depth_nm`` with the stage at ``stage_nm``, as harmonics.

    Parameters
    ----------
    optics : Optics
    depth_nm : (K,) array
        Emitter depths below the coverslip, nm.
    stage_nm : float or (K,) array
        Stage position(s), nm (one per depth when an array).
    r_nm : (R,) array
        Radii, nm.
    wavelength_nm : float, optional
        Default: the emission wavelength.

    Returns
    -------
    dict q -> (K, R) ndarray
        ``q = 0``: real, the rotationally symmetric part; ``q > 0``: complex ``I_q``. Detected
        photons per emitted photon per nm^2 (collection efficiency included).
    """
    lam = float(wavelength_nm or optics.emission_wavelength_nm)
    na, n_i, n_s = optics.NA, optics.immersion_index, optics.sample_index
    depth = np.atleast_1d(np.asarray(depth_nm, float))
    r = np.asarray(r_nm, float)
    eff = _collection_efficiency(optics)
    terms = optics.aberrations.terms
    if not terms:
        return {0: eff * _intensity(lam, na, n_i, n_s, depth, stage_nm, r)}
    out = _harmonic_intensity(lam, na, n_i, n_s, depth, stage_nm, r, terms)
    return {q: eff * v for q, v in out.items()}


def psf_on_grid(table: PsfTable, row: int, y_nm: np.ndarray, x_nm: np.ndarray) -> np.ndarray:
    """A table row evaluated at points ``(y_nm, x_nm)`` from the emitter (any shape)."""
    rr = np.hypot(y_nm, x_nm)
    out = np.interp(rr, table.r_nm, table.values[row], right=0.0)
    if len(table.harmonic_orders):
        theta = np.arctan2(y_nm, x_nm)
        for q, hq in zip(table.harmonic_orders, table.harmonics, strict=True):
            re = np.interp(rr, table.r_nm, hq[row].real, right=0.0)
            im = np.interp(rr, table.r_nm, hq[row].imag, right=0.0)
            out += 2 * (re * np.cos(q * theta) - im * np.sin(q * theta))
    return out


def _collection_efficiency(optics: Optics) -> float:
    """Fraction of isotropically emitted photons inside the collection cone in the sample."""
    sin_t = min(optics.NA, optics.sample_index) / optics.sample_index
    return 0.5 * (1.0 - math.sqrt(max(0.0, 1.0 - sin_t**2)))


@lru_cache(maxsize=256)
def best_focus_stage_nm(optics: Optics, depth_nm: float, wavelength_nm: float | None = None):
    """Stage position (nm, negative = towards the objective) that focuses on ``depth_nm``.

    The position maximising the on-axis intensity of an emitter at that depth (it includes the
    focal shift and spherical aberration of the refractive-index mismatch).
    """
    from scipy.optimize import minimize_scalar

    lam = float(wavelength_nm or optics.emission_wavelength_nm)
    na, n_i, n_s = optics.NA, optics.immersion_index, optics.sample_index
    if depth_nm <= 0 and not optics.aberrations.terms:
        return 0.0
    rho, w = _pupil(na, n_s)
    depth = np.array([depth_nm], float)
    terms = optics.aberrations.terms
    e0: float | np.ndarray = 1.0
    if terms:  # only the m = 0 harmonic of the pupil reaches the axis
        orders, coef = pupil_harmonics(terms, lam, rho)
        e0 = coef[:, int(np.flatnonzero(orders == 0)[0])]

    def on_axis(stage):
        a = _phase_factor(lam, na, n_i, n_s, depth, stage, rho) * (w * rho * e0)[None, :]
        return float(np.abs(a.sum()) ** 2)

    paraxial = -depth_nm * n_i / n_s
    grid = np.linspace(1.5 * paraxial - 200, 0.5 * paraxial + 200, 161)
    vals = [on_axis(z) for z in grid]
    i = int(np.argmax(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    res = minimize_scalar(lambda z: -on_axis(z), bounds=(lo, hi), method="bounded")
    return float(res.x)


def _pinhole_matrix(r: np.ndarray, radius_nm: float, n_sub: int = 16) -> np.ndarray:
    """Matrix M with ``(I * disk)(r_i) = sum_j M_ij I_mid_j`` for radial I (2D convolution).

    ``I_mid_j`` is I at the midpoint of annulus j; each annulus is split into ``n_sub`` thin
    rings so a pinhole smaller than a few radial steps is still integrated correctly.
    """
    dr = r[1] - r[0]
    sub = (np.arange(n_sub) + 0.5) / n_sub * dr
    rj = (r[:-1, None] + sub[None, :]).ravel()  # thin rings, grouped by annulus
    ri = r[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        cosang = (ri**2 + rj[None, :] ** 2 - radius_nm**2) / (2 * ri * rj[None, :])
    alpha = np.arccos(np.clip(np.nan_to_num(cosang, nan=2.0), -1, 1))
    inside = ri + rj[None, :] <= radius_nm
    alpha = np.where(inside, np.pi, alpha)
    weights = 2 * alpha * rj[None, :] * (dr / n_sub)
    return weights.reshape(len(r), len(r) - 1, n_sub).sum(axis=2)


def r_step_nm(optics: Optics) -> float:
    """Radial step of the tables: lambda / (40 NA), at most 10 nm."""
    return min(10.0, optics.emission_wavelength_nm / (40 * optics.NA))


def r_max_nm(optics: Optics) -> float:
    """Radius at which the tables end (light beyond it is dropped by every renderer)."""
    return 3200.0 if optics.modality == "widefield" else 1600.0


@lru_cache(maxsize=32)
def psf_table(optics: Optics, stage_nm: float, depth_max_nm: float) -> PsfTable:
    """Cached radial PSF table for emitters at ``0 .. depth_max_nm`` (rounded up to 1 um).

    Parameters
    ----------
    optics : Optics
    stage_nm : float
        Stage position, from :func:`best_focus_stage_nm` for the wanted focal depth.
    depth_max_nm : float
        Deepest emitter the table must cover, nm.

    Returns
    -------
    PsfTable
    """
    depth_max = _DEPTH_CHUNK_NM * math.ceil(max(depth_max_nm, 1.0) / _DEPTH_CHUNK_NM)
    depth = np.arange(0.0, depth_max + TABLE_DEPTH_STEP_NM / 2, TABLE_DEPTH_STEP_NM)
    dr = r_step_nm(optics)
    r = np.arange(0.0, r_max_nm(optics) + dr / 2, dr)
    na = optics.NA
    lam_em = optics.emission_wavelength_nm
    eff = _collection_efficiency(optics)
    orders, harmonics = np.zeros(0, int), np.zeros((0, 0, 0), np.complex64)
    if optics.modality == "widefield":
        parts = point_psf_harmonics(optics, depth, stage_nm, r)
        values = parts.pop(0)
        if parts:
            orders = np.array(sorted(parts), int)
            harmonics = np.stack([parts[q] for q in orders]).astype(np.complex64)
            harmonics.setflags(write=False)
    else:
        # confocal = excitation PSF x (emission PSF convolved with the pinhole), point scanned
        radius = optics.pinhole_au * 0.61 * lam_em / na
        n_extra = int(math.ceil(radius / dr)) + 1
        r_em = np.arange(0, len(r) + n_extra) * dr
        em = _radial_intensity(optics, lam_em, depth, stage_nm, r_em)
        em_mid = 0.5 * (em[:, :-1] + em[:, 1:])
        detect = em_mid @ _pinhole_matrix(r_em, radius).T
        detect = detect[:, : len(r)]
        exc = _radial_intensity(optics, optics.excitation_nm, depth, stage_nm, r)
        peak = exc[:, 0].max()  # excitation normalised to its best-focus peak
        values = eff * (exc / peak) * detect / optics.pixel_size_nm**2
    values.setflags(write=False)
    return PsfTable(r_nm=r, depth_nm=depth, values=values, stage_nm=float(stage_nm),
                    harmonic_orders=orders, harmonics=harmonics)  # fmt: skip


def _radial_intensity(optics: Optics, lam: float, depth, stage, r) -> np.ndarray:
    """Rotationally symmetric intensity (no aberration, or spherical only), as ``_intensity``."""
    na, n_i, n_s = optics.NA, optics.immersion_index, optics.sample_index
    terms = optics.aberrations.terms
    if not terms:
        return _intensity(lam, na, n_i, n_s, depth, stage, r)
    if not is_radial(terms):
        raise AssertionError("Optics refuses asymmetric aberrations on a confocal")
    return _harmonic_intensity(lam, na, n_i, n_s, depth, stage, r, terms)[0]
