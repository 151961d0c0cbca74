"""Fit a microscope's optics to a measured bead stack (`mitoshape calibrate-psf`'s compute).

The fit adjusts the bead's position (lateral and axial: defocus is the position), its diameter,
the effective NA and the low-order Zernike aberrations (spherical, astigmatism, coma) of the
renderer's own pixel-integrated PSF (:class:`~simulator._beadmodel.BeadModel`); background and
brightness are solved linearly at every step. Residuals are weighted as shot noise
(``1 / sqrt(noise variance + signal)``). Widths are measured the same way on the bead, the
fitted model and the fitted point PSF: half-maximum crossings (linear interpolation) of the
profiles through the brightest voxel, lateral = mean of the x and y profiles.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from shapelib import InputError

from ._aberration import ABERRATION_TERMS
from ._beadmodel import BeadModel
from ._blas import single_blas_thread
from ._config import Aberrations, Optics
from ._psf import fwhm_1d_nm, r_max_nm

__all__ = ["BeadWidths", "PsfCalibration", "calibrate_psf", "ABERRATION_TERMS"]

logger = logging.getLogger(__name__)

_MARGIN_PX = 4  # model pixels around the fitted window (FFT wrap, bead offset)
_AB_UNIT_NM = 10.0  # aberration coefficients are fitted in units of 10 nm
_D_UNIT_NM = 100.0  # diameter in units of 100 nm
_SATURATION_LEVELS = tuple(2**b - 1 for b in (8, 10, 12, 14, 16))


@dataclass(frozen=True)
class BeadWidths:
    """Lateral and axial FWHM (nm) through the brightest voxel."""

    lateral_nm: float
    axial_nm: float


@dataclass(frozen=True)
class PsfCalibration:
    """Result of :func:`calibrate_psf`.

    Attributes
    ----------
    optics : Optics
        The given optics with the fitted NA and aberrations (use it in a Microscope).
    bead_diameter_nm : float
    background, brightness : float
        Background per voxel and the bead's total signal per plane (stack units).
    position_nm : (3,) tuple of float
        Bead centre (z, y, x) in nm from the centre of voxel (0, 0, 0); z is where the
        paraxial focus reaches the bead's centre.
    model : (Z, Y, X) ndarray of float32
        The fitted model of the whole stack (background included).
    measured, fitted, psf : BeadWidths
        Widths of the bead, of the fitted model, and of the fitted point PSF (a point source
        at the bead's position, pixel-integrated, same grid).
    residual : float
        ``||bead - model|| / ||bead - background||`` over the fitted window.
    window : tuple of slice
        The (z, y, x) region that was fitted.
    notes : tuple of str
        What the fit had to decide (e.g. several beads found, the brightest fitted).
    """

    optics: Optics
    bead_diameter_nm: float
    background: float
    brightness: float
    position_nm: tuple[float, float, float]
    model: np.ndarray
    measured: BeadWidths
    fitted: BeadWidths
    psf: BeadWidths
    residual: float
    window: tuple
    notes: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> dict:
        """The fit as plain numbers (for a YAML/JSON report)."""
        return {
            "NA": self.optics.NA,
            "aberrations_nm": self.optics.aberrations.model_dump(),
            "bead_diameter_nm": self.bead_diameter_nm,
            "background": self.background,
            "brightness": self.brightness,
            "position_zyx_nm": list(self.position_nm),
            "fwhm_nm": {
                "bead": {"lateral": self.measured.lateral_nm, "axial": self.measured.axial_nm},
                "model": {"lateral": self.fitted.lateral_nm, "axial": self.fitted.axial_nm},
                "psf": {"lateral": self.psf.lateral_nm, "axial": self.psf.axial_nm},
            },
            "model_over_bead_fwhm": {
                "lateral": self.fitted.lateral_nm / self.measured.lateral_nm,
                "axial": self.fitted.axial_nm / self.measured.axial_nm,
            },
            "normalised_residual": self.residual,
            "width_method": "half-maximum crossings through the brightest voxel",
            "notes": list(self.notes),
        }


def _widths(stack: np.ndarray, background: float, px_nm: float, dz_nm: float) -> BeadWidths:
    v = np.asarray(stack, float) - background
    z, y, x = np.unravel_index(np.argmax(v), v.shape)
    h = min(12, y, x, v.shape[1] - 1 - y, v.shape[2] - 1 - x)
    along_x = fwhm_1d_nm(v[z, y, x - h : x + h + 1], px_nm)
    along_y = fwhm_1d_nm(v[z, y - h : y + h + 1, x], px_nm)
    lateral = 0.5 * (along_x + along_y)
    return BeadWidths(float(lateral), float(fwhm_1d_nm(v[:, y, x], dz_nm)))


def _check_stack(stack: np.ndarray, optics: Optics, z_step_nm: float) -> np.ndarray:
    b = np.asarray(stack)
    if b.ndim != 3 or b.shape[0] < 5 or min(b.shape[1:]) < 16:
        raise InputError(
            f"a bead must be a (Z, Y, X) stack of >= 5 planes and >= 16 px a side; got shape "
            f"{b.shape}. Pass the whole z-stack of one bead."
        )
    if not np.all(np.isfinite(b)):
        raise InputError("the bead stack holds NaN or infinite values; pass raw camera counts.")
    if optics.modality != "widefield":
        raise InputError(
            f"calibrate-psf fits widefield optics; got modality {optics.modality!r}. Image the "
            "bead in widefield, or give widefield optics."
        )
    nyquist = BeadModel.axial_nyquist_nm(optics)
    if z_step_nm > nyquist:
        raise InputError(
            f"z step {z_step_nm:g} nm undersamples the axial PSF: NA {optics.NA:g} at "
            f"{optics.emission_wavelength_nm:g} nm in n = {optics.sample_index:g} needs steps "
            f"<= {nyquist:.0f} nm. Acquire the bead with a finer z step."
        )
    top = b.max()
    if top == b.min():  # all zero, or one value: nothing was imaged (was "saturated at 0")
        raise InputError(
            f"the bead stack holds one value only ({top:g} everywhere): no bead was imaged. "
            "Pass the raw z-stack of a bead."
        )
    at_top = int((b == top).sum())
    if np.issubdtype(b.dtype, np.integer) and top in _SATURATION_LEVELS or at_top >= 3:
        raise InputError(
            f"the bead is saturated ({at_top} voxel(s) at the maximum value {top:g}); "
            "saturation flattens the peak and biases the width. Acquire it with a shorter "
            "exposure or less light."
        )
    return b.astype(float)


def _find_beads(b: np.ndarray, background: float, noise: float, min_sep_px: int):
    """Peaks (y, x, height) of the smoothed maximum projection, brightest first."""
    from scipy import ndimage as ndi

    proj = ndi.gaussian_filter(b.max(axis=0) - background, 1.0)
    peaks = (proj == ndi.maximum_filter(proj, size=2 * min_sep_px + 1)) & (proj > 10 * noise)
    ys, xs = np.nonzero(peaks)
    heights = proj[ys, xs]
    order = np.argsort(-heights)
    top = heights[order[0]] if len(order) else 0.0
    keep = [i for i in order if heights[i] > 0.1 * top]
    return [(int(ys[i]), int(xs[i]), float(heights[i])) for i in keep]


def calibrate_psf(
    stack: np.ndarray,
    optics: Optics,
    *,
    z_step_nm: float,
    depth_nm: float = 0.0,
    window_px: int = 12,
    aberrations: Sequence[str] = tuple(ABERRATION_TERMS),
    fit_na: bool = True,
    max_evaluations: int = 40,
    progress: Callable[[int, int], None] | None = None,
) -> PsfCalibration:
    """Fit NA, aberrations, bead size and position to a measured widefield bead stack.

    Parameters
    ----------
    stack : (Z, Y, X) ndarray
        Raw counts of one bead (the brightest is fitted when there are several, apart).
    optics : Optics
        The microscope's nominal widefield optics (wavelength, NA, indices, pixel size).
    z_step_nm : float
        Plane spacing, nm; plane index increasing = focus moving deeper into the sample.
    depth_nm : float
        Depth of the bead's centre below the coverslip (0: resting on it).
    window_px : int
        Half-side of the fitted lateral window, pixels.
    aberrations : sequence of str
        Zernike terms to fit (``Aberrations`` field names); the rest stay as in ``optics``.
    fit_na : bool
        Fit the effective NA (else keep ``optics.NA``).
    max_evaluations : int
        Iterations per fitting stage.
    progress : callable(done, total), optional
        Called after each of the three stages (locate, optics without aberrations, all).

    Returns
    -------
    PsfCalibration
    """
    with single_blas_thread():
        return _calibrate_psf(stack, optics, z_step_nm=z_step_nm, depth_nm=depth_nm,
                              window_px=window_px, aberrations=aberrations, fit_na=fit_na,
                              max_evaluations=max_evaluations, progress=progress)  # fmt: skip


def _calibrate_psf(stack, optics, *, z_step_nm, depth_nm, window_px, aberrations, fit_na,
                   max_evaluations, progress) -> PsfCalibration:  # fmt: skip
    from scipy.optimize import least_squares

    unknown = set(aberrations) - set(ABERRATION_TERMS)
    if unknown:
        raise InputError(
            f"unknown aberration terms {sorted(unknown)}; valid: {', '.join(ABERRATION_TERMS)}."
        )
    b = _check_stack(stack, optics, z_step_nm)
    a = optics.pixel_size_nm
    n_z = b.shape[0]
    notes: list[str] = []

    # 1. background, noise, the bead(s) and the window
    background = float(np.median(b))
    noise = float(1.4826 * np.median(np.abs(b - background))) or 1.0
    sep = max(3, int(round(2 * 0.51 * optics.emission_wavelength_nm / optics.NA / a)))
    beads = _find_beads(b, background, noise, sep)
    if not beads:
        raise InputError(
            f"no bead found: nothing stands 10x the noise ({noise:.3g}) above the background "
            f"({background:.4g}). Pass a stack with one bright bead."
        )
    cy, cx, _ = beads[0]
    half = int(window_px) + _MARGIN_PX
    if len(beads) > 1:
        near = [(y, x) for y, x, _ in beads[1:] if max(abs(y - cy), abs(x - cx)) <= half]
        if near:
            raise InputError(
                f"{len(beads)} beads found; another bead at (y, x) = {near[0]} lies within "
                f"{half} px of the brightest at ({cy}, {cx}). Crop the stack to one bead."
            )
        notes.append(
            f"{len(beads)} beads found; fitted the brightest at (y, x) = ({cy}, {cx}) px, "
            f"the others lie outside its {2 * half + 1} px window."
        )
    if min(cy, cx, b.shape[1] - 1 - cy, b.shape[2] - 1 - cx) < half:
        raise InputError(
            f"the bead at (y, x) = ({cy}, {cx}) is cut by the border: it needs {half} px on "
            f"every side in a {b.shape[1]}x{b.shape[2]} image. Crop a stack centred on the bead "
            "or lower --window-px."
        )
    axial = b[:, cy - 1 : cy + 2, cx - 1 : cx + 2].mean(axis=(1, 2)) - background
    kz = int(np.argmax(axial))
    if kz < 2 or kz > n_z - 3:
        raise InputError(
            f"the bead is cut by the stack's {'first' if kz < 2 else 'last'} plane (its "
            f"brightest plane is {kz} of {n_z}); acquire planes on both sides of focus."
        )
    ys, xs = slice(cy - half, cy + half + 1), slice(cx - half, cx + half + 1)
    data = b[:, ys, xs]
    inner = (slice(None), slice(_MARGIN_PX, -_MARGIN_PX), slice(_MARGIN_PX, -_MARGIN_PX))
    target = data[inner]
    weights = 1.0 / np.sqrt(noise**2 + np.maximum(target - background, 0.0))
    if progress is not None:
        progress(1, 3)

    # 2. the model and the parameter vector (x, y in px, z in planes, NA, diameter, terms)
    model = BeadModel(optics, planes=n_z, size_px=2 * half + 1, z_step_nm=z_step_nm,
                      depth_nm=depth_nm)  # fmt: skip
    terms = list(aberrations)
    base_terms = optics.aberrations.model_dump()
    plane = target[kz] - background
    pos = np.clip(plane, 0, None)
    yy, xx = np.mgrid[-window_px : window_px + 1, -window_px : window_px + 1]
    x0, y0 = float((pos * xx).sum() / pos.sum()), float((pos * yy).sum() / pos.sum())
    if 0 < kz < n_z - 1:  # parabola through the axial peak
        c0, c1, c2 = axial[kz - 1], axial[kz], axial[kz + 1]
        den = c0 - 2 * c1 + c2
        z0 = kz + (0.5 * (c0 - c2) / den if den < 0 else 0.0)
    else:
        z0 = float(kz)
    na_hi = min(optics.immersion_index * 0.999, 1.7, optics.NA * 1.15)

    def unpack(p, names):
        vals = dict(zip(names, p, strict=True))
        ab = dict(base_terms)
        for t in terms:
            if t in vals:
                ab[t] = vals[t] * _AB_UNIT_NM
        return dict(
            x_nm=vals["x"] * a, y_nm=vals["y"] * a, z_nm=vals["z"] * z_step_nm,
            na=vals.get("na", optics.NA), diameter_nm=abs(vals["d"]) * _D_UNIT_NM, aberrations=ab,
        )  # fmt: skip

    def solve(p, names):
        shape = model.render(**unpack(p, names))[inner]
        design = np.c_[np.ones(shape.size), shape.ravel()] * weights.ravel()[:, None]
        coef, *_ = np.linalg.lstsq(design, target.ravel() * weights.ravel(), rcond=None)
        return shape, coef

    def residuals(p, names):
        shape, (bg, amp) = solve(p, names)
        return ((target - bg - amp * shape) * weights).ravel()

    def run(p0, names, lo, hi):
        fit = least_squares(residuals, p0, args=(names,), bounds=(lo, hi), diff_step=1e-3,
                            x_scale=1.0, max_nfev=max_evaluations, method="trf")  # fmt: skip
        logger.info("bead fit %s: cost %.4g after %d evaluations", names, fit.cost, fit.nfev)
        return fit.x

    # 3. stage one: position, NA and size without new aberrations; stage two: everything
    names = ["x", "y", "z", "d"] + (["na"] if fit_na else [])
    p = np.array([x0, y0, z0, 1.0] + ([optics.NA] if fit_na else []))
    lo = np.array([-3.0, -3.0, -1.0, 0.01] + ([0.3 * optics.NA] if fit_na else []))
    hi = np.array([3.0, 3.0, n_z, 10.0] + ([na_hi] if fit_na else []))
    p = run(np.clip(p, lo, hi), names, lo, hi)
    if progress is not None:
        progress(2, 3)
    if terms:
        names2 = names + terms
        p = np.r_[p, [base_terms[t] / _AB_UNIT_NM for t in terms]]
        lim = 0.25 * optics.emission_wavelength_nm / _AB_UNIT_NM
        lo, hi = np.r_[lo, [-lim] * len(terms)], np.r_[hi, [lim] * len(terms)]
        p = run(np.clip(p, lo, hi), names2, lo, hi)
        names = names2
    if progress is not None:
        progress(3, 3)

    # 4. the result: fitted optics, the model of the whole stack, widths, residual
    params = unpack(p, names)
    shape, (bg, amp) = solve(p, names)
    fitted_optics = optics.model_copy(
        update={"NA": float(params["na"]), "aberrations": Aberrations(**params["aberrations"])}
    )
    residual = float(np.linalg.norm(target - bg - amp * shape) / np.linalg.norm(target - bg))
    # the whole stack: the model over the PSF tables' radius (no light beyond, as rendered)
    big = min(int(np.ceil(r_max_nm(optics) / a)) + 1, cy, cx, b.shape[1] - 1 - cy,
              b.shape[2] - 1 - cx)  # fmt: skip
    wide = BeadModel(optics, planes=n_z, size_px=2 * big + 1, z_step_nm=z_step_nm,
                     depth_nm=depth_nm, grid_factor=model.s)  # fmt: skip
    region = (slice(None), slice(cy - big, cy + big + 1), slice(cx - big, cx + big + 1))
    full = np.full(b.shape, bg, float)
    full[region] += amp * wide.render(**params)
    point = np.full(b.shape, bg, float)
    point[region] += amp * wide.render(**{**params, "diameter_nm": 1e-3})
    position = (
        params["z_nm"],
        cy * a + params["y_nm"],
        cx * a + params["x_nm"],
    )
    return PsfCalibration(
        optics=fitted_optics,
        bead_diameter_nm=float(params["diameter_nm"]),
        background=float(bg),
        brightness=float(amp),
        position_nm=(float(position[0]), float(position[1]), float(position[2])),
        model=full.astype(np.float32),
        measured=_widths(b, bg, a, z_step_nm),
        fitted=_widths(full, bg, a, z_step_nm),
        psf=_widths(point, bg, a, z_step_nm),
        residual=residual,
        window=(
            slice(0, n_z),
            slice(cy - window_px, cy + window_px + 1),
            slice(cx - window_px, cx + window_px + 1),
        ),  # fmt: skip
        notes=tuple(notes),
    )
