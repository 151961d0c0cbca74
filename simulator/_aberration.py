"""Pupil aberrations: low-order Zernike wavefronts and their angular harmonics.

A wavefront ``W(rho, phi)`` (nm) over the unit pupil is written as a Fourier series in the pupil
angle, ``exp(2 pi i W / lambda) = sum_m e_m(rho) exp(i m phi)``; each harmonic ``m`` of the pupil
gives a harmonic of the amplitude PSF through a Hankel integral of order ``m``
(``h(r, theta) = sum_m i^m exp(i m theta) int e_m(rho) P(rho) J_m(k NA rho r) rho drho``), so
a PSF with astigmatism or coma is still built from radial tables: one per harmonic. Zernike
terms follow Noll's numbering and normalisation (each has unit RMS over the pupil), so a
coefficient is the RMS wavefront error in nm. The pupil angle ``phi`` and the image angle
``theta`` are measured from +x (image columns) towards +y (image rows).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from shapelib import InputError

__all__ = ["ABERRATION_TERMS", "zernike_wavefront_nm", "pupil_harmonics", "intensity_harmonics"]

# field of ``Aberrations`` -> Noll index (the term's name in optics texts)
ABERRATION_TERMS = {
    "astigmatism_45_nm": 5,  # oblique astigmatism, sqrt(6) rho^2 sin(2 phi)
    "astigmatism_0_nm": 6,  # vertical astigmatism, sqrt(6) rho^2 cos(2 phi)
    "coma_y_nm": 7,  # vertical coma, sqrt(8) (3 rho^3 - 2 rho) sin(phi)
    "coma_x_nm": 8,  # horizontal coma, sqrt(8) (3 rho^3 - 2 rho) cos(phi)
    "spherical_nm": 11,  # primary spherical, sqrt(5) (6 rho^4 - 6 rho^2 + 1)
}

_N_PHI = 128  # pupil angles sampled for the angular Fourier series
_HARMONIC_TOL = 3e-5  # pupil harmonics below this (relative to the largest) are dropped


def _zernike(noll: int, rho: np.ndarray, phi: np.ndarray) -> np.ndarray:
    if noll == 5:
        return math.sqrt(6) * rho**2 * np.sin(2 * phi)
    if noll == 6:
        return math.sqrt(6) * rho**2 * np.cos(2 * phi)
    if noll == 7:
        return math.sqrt(8) * (3 * rho**3 - 2 * rho) * np.sin(phi)
    if noll == 8:
        return math.sqrt(8) * (3 * rho**3 - 2 * rho) * np.cos(phi)
    if noll == 11:
        return math.sqrt(5) * (6 * rho**4 - 6 * rho**2 + 1)
    raise AssertionError(f"Zernike term {noll} is not modelled")  # the terms are fixed


def zernike_wavefront_nm(coefficients: dict[str, float], rho, phi) -> np.ndarray:
    """Wavefront (nm) of the named Zernike coefficients at pupil points ``(rho, phi)``."""
    rho, phi = np.broadcast_arrays(np.asarray(rho, float), np.asarray(phi, float))
    w = np.zeros(rho.shape)
    for name, value in coefficients.items():
        if value:
            w = w + float(value) * _zernike(ABERRATION_TERMS[name], rho, phi)
    return w


def is_radial(coefficients: dict[str, float]) -> bool:
    """True when only rotationally symmetric terms (spherical) are non-zero."""
    return all(not v for k, v in coefficients.items() if k != "spherical_nm")


@lru_cache(maxsize=64)
def _harmonics_cached(key: tuple, wavelength_nm: float, rho_key: bytes, n_rho: int):
    coefficients = dict(key)
    rho = np.frombuffer(rho_key, dtype=np.float64, count=n_rho)
    phi = 2 * np.pi * np.arange(_N_PHI) / _N_PHI
    w = zernike_wavefront_nm(coefficients, rho[:, None], phi[None, :])
    field = np.exp(2j * np.pi * w / wavelength_nm)
    coef = np.fft.fft(field, axis=1) / _N_PHI  # e_m(rho), m in FFT order
    m = np.fft.fftfreq(_N_PHI, 1.0 / _N_PHI).astype(int)
    size = np.abs(coef).max(axis=0)
    keep = size > _HARMONIC_TOL * size.max()
    if keep.sum() > _N_PHI // 2:
        raise InputError(
            f"aberrations {coefficients} nm are too strong to model (more than {_N_PHI // 2} "
            "angular harmonics); lower the Zernike coefficients (a few tenths of a wavelength)."
        )
    order = np.argsort(m[keep], kind="stable")
    out_m, out_c = m[keep][order], coef[:, keep][:, order]
    out_m.setflags(write=False)
    out_c.setflags(write=False)
    return out_m, out_c


def pupil_harmonics(
    coefficients: dict[str, float], wavelength_nm: float, rho: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Angular harmonics of the aberration factor ``exp(2 pi i W / lambda)`` on the pupil.

    Parameters
    ----------
    coefficients : dict of field name -> RMS nm (see ``ABERRATION_TERMS``)
    wavelength_nm : float
    rho : (N,) ndarray
        Normalised pupil radii in [0, 1].

    Returns
    -------
    orders : (M,) ndarray of int
        The harmonic orders ``m`` kept (ascending; ``[0]`` when there is no aberration).
    coef : (N, M) ndarray of complex128
        ``e_m(rho)``.
    """
    rho = np.ascontiguousarray(rho, dtype=np.float64)
    key = tuple(sorted((k, float(v)) for k, v in coefficients.items() if v))
    if not key:
        return np.array([0]), np.ones((len(rho), 1), complex)
    return _harmonics_cached(key, float(wavelength_nm), rho.tobytes(), len(rho))


def intensity_harmonics(amp: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """Harmonics ``q >= 0`` of ``|h|^2`` from the amplitude harmonics ``h_m`` (all ``m``).

    ``|h(r, theta)|^2 = I_0(r) + 2 Re sum_{q > 0} I_q(r) exp(i q theta)`` with
    ``I_q = sum_m h_m conj(h_{m - q})``; ``I_0`` is real. Harmonics below 1e-6 of ``I_0``'s
    peak are dropped (skipped unhurt when a bound from the ``h_m`` peaks says so).
    """
    orders = sorted(amp)
    lo, hi = orders[0], orders[-1]
    stack = np.zeros((hi - lo + 1, *amp[orders[0]].shape), complex)
    for m in orders:
        stack[m - lo] = amp[m]
    conj = np.conj(stack)
    out: dict[int, np.ndarray] = {0: np.einsum("m...,m...->...", stack, conj).real}
    top = np.abs(out[0]).max() if out[0].size else 0.0
    peak = np.abs(stack).reshape(len(stack), -1).max(axis=1)
    for q in range(1, hi - lo + 1):
        if (peak[q:] * peak[:-q]).sum() <= 1e-6 * top:
            continue  # |I_q| <= sum_m max|h_m| max|h_m-q|: negligible
        iq = np.einsum("m...,m...->...", stack[q:], conj[:-q])
        if np.abs(iq).max() > 1e-6 * top:
            out[q] = iq
    return out


def bessel_orders(n_max: int, x: np.ndarray) -> np.ndarray:
    """``J_0 .. J_{n_max}`` at ``x >= 0``: (n_max + 1, *x.shape).

    Two orders from scipy (``J_{n_max}``, ``J_{n_max - 1}``), the rest by the downward
    recurrence ``J_{n-1} = (2 n / x) J_n - J_{n+1}``, which is stable (Bessel J is its minimal
    solution): about 6x faster than one ``scipy.special.jv`` call per order.
    """
    from scipy.special import j0, j1, jv

    x = np.asarray(x, float)
    out = np.empty((n_max + 1, *x.shape))
    out[0] = j0(x)
    if n_max >= 1:
        out[1] = j1(x)
    if n_max < 2:
        return out
    out[n_max] = jv(n_max, x)
    out[n_max - 1] = jv(n_max - 1, x)
    safe = np.where(x > 0, x, 1.0)
    for n in range(n_max - 1, 2, -1):
        out[n - 1] = (2 * n / safe) * out[n] - out[n + 1]
    zero = x == 0
    if zero.any():
        out[2:, zero] = 0.0
    return out
