"""The image of a fluorescent bead through the simulator's PSF, on a bead stack's own grid.

A bead is a uniform sphere of emitters. Its image is the PSF of the renderer (the same
Gibson-Lanni pupil with the same Zernike aberrations, ``_psf.point_psf_harmonics``), sampled on
the renderer's fine grid, integrated over each pixel by the same Fourier box, and convolved with
the sphere: laterally exactly (the Fourier transform of each cross-section disc), axially by
Gauss-Legendre quadrature over the sphere's height. The stack's planes are focal positions
``k * z_step`` (plane index increasing = the focus moving deeper into the sample, as
:func:`simulator.compute_psf` scans).
"""

from __future__ import annotations

import math

import numpy as np

from ._config import Aberrations, Optics
from ._psf import point_psf_harmonics, r_step_nm
from ._render import oversampling

__all__ = ["BeadModel"]

_N_AXIAL = 4  # Gauss-Legendre nodes over the sphere's height


class BeadModel:
    """Unit-brightness bead images on a window of a bead stack, for fitting.

    Parameters
    ----------
    optics : Optics
        Widefield optics; ``NA`` and ``aberrations`` are replaced at each :meth:`render`.
    planes : int
        Focal planes of the stack.
    size_px : int
        Lateral side of the (square, odd) window; its centre pixel is the reference position.
    z_step_nm : float
    depth_nm : float
        Depth of the bead's centre below the coverslip (at least its radius).
    grid_factor : int, optional
        Fine grid factor (default the renderer's for ``optics``); kept fixed during a fit.
    """

    def __init__(
        self,
        optics: Optics,
        *,
        planes: int,
        size_px: int,
        z_step_nm: float,
        depth_nm: float = 0.0,
        grid_factor: int | None = None,
    ):
        self.optics = optics
        self.planes = int(planes)
        self.size = int(size_px)
        self.z_step = float(z_step_nm)
        self.depth = float(depth_nm)
        self.s = int(grid_factor or oversampling(optics))
        a = optics.pixel_size_nm
        self.h = a / self.s
        n = self.s * (self.size - 1) + 1  # fine nodes; node s * i is pixel i's centre
        self.n_fine = n
        c = (n - 1) / 2
        off = (np.arange(n) - c) * self.h
        self.yy, self.xx = np.meshgrid(off, off, indexing="ij")
        self.rr = np.hypot(self.yy, self.xx)
        self.theta = np.arctan2(self.yy, self.xx)
        self.r_nm = np.arange(0.0, self.rr.max() + 4 * a + 2 * r_step_nm(optics), r_step_nm(optics))
        fy = np.fft.fftfreq(n, d=self.h)
        fx = np.fft.rfftfreq(n, d=self.h)
        self.fy, self.fx = fy[:, None], fx[None, :]
        self.f = np.hypot(self.fy, self.fx)
        self.box = (a * np.sinc(self.fy * a)) * (a * np.sinc(self.fx * a))
        self.pick = np.arange(0, n, self.s)

    def _psf_rows(self, optics: Optics, depths: np.ndarray, stages: np.ndarray) -> np.ndarray:
        """PSF on the fine grid for each (depth, stage) pair: (K, n, n)."""
        parts = point_psf_harmonics(optics, depths, stages, self.r_nm)
        # linear interpolation in radius (as np.interp, 0 beyond the table) for all rows at once
        t = self.rr.ravel() / (self.r_nm[1] - self.r_nm[0])
        j = np.minimum(t.astype(int), len(self.r_nm) - 2)
        g = t - j
        inside = t <= len(self.r_nm) - 1

        def at(table):
            return np.where(inside, (1 - g) * table[:, j] + g * table[:, j + 1], 0.0)

        rows = at(parts[0])
        for q, hq in parts.items():
            if q:
                phase = np.exp(1j * q * self.theta.ravel())
                rows = rows + 2 * (at(hq) * phase).real
        return rows.reshape(len(depths), self.n_fine, self.n_fine)

    def render(
        self,
        *,
        x_nm: float,
        y_nm: float,
        z_nm: float,
        na: float,
        diameter_nm: float,
        aberrations: dict[str, float] | None = None,
    ) -> np.ndarray:
        """Expected image of a bead of unit total emission: (planes, size, size) float64.

        ``x_nm``, ``y_nm``: bead centre from the window's centre pixel; ``z_nm``: from plane 0.
        """
        from scipy import fft
        from scipy.special import j1

        optics = self.optics.model_copy(
            update={"NA": float(na), "aberrations": Aberrations(**(aberrations or {}))}
        )
        radius = max(float(diameter_nm) / 2, 1e-3)
        centre_depth = max(self.depth, radius)
        scale = optics.immersion_index / optics.sample_index  # stage nm per nm of focus
        # the sphere's height by Gauss-Legendre: node depths, cross-section radii and weights
        t, wt = np.polynomial.legendre.leggauss(_N_AXIAL)
        height = t * radius
        disc = np.sqrt(np.maximum(radius**2 - height**2, 0.0))
        weight = wt * (radius**2 - height**2)
        weight = weight / weight.sum()
        # every (plane, node) pair: the node's depth and the plane's (paraxial) stage position
        focus = np.arange(self.planes) * self.z_step - z_nm  # focal plane - bead centre, nm
        depths = np.tile(centre_depth + height, self.planes)
        stages = np.repeat(-centre_depth * scale - focus * scale, _N_AXIAL)
        rows = self._psf_rows(optics, depths, stages)
        spec = fft.rfft2(rows, axes=(-2, -1), workers=1).reshape(
            self.planes, _N_AXIAL, self.n_fine, self.n_fine // 2 + 1
        )
        # lateral: pixel box, each node's disc, the bead's offset; summed over the nodes
        ramp = np.exp(-2j * np.pi * (self.fy * y_nm + self.fx * x_nm))
        arg = 2 * np.pi * self.f[None] * disc[:, None, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            discs = np.where(arg > 1e-9, 2 * j1(arg) / np.where(arg > 0, arg, 1.0), 1.0)
        lateral = (weight[:, None, None] * discs)[None] * spec
        total = lateral.sum(axis=1) * (self.box * ramp)[None]
        fine = fft.irfft2(total, s=(self.n_fine, self.n_fine), axes=(-2, -1), workers=1)
        return fine[:, self.pick][:, :, self.pick]

    @staticmethod
    def axial_nyquist_nm(optics: Optics) -> float:
        """Largest z step that samples the widefield axial band, ``lambda / (2 (n - n cos a))``
        in the sample (index ``n``, aperture angle ``a``)."""
        n = optics.sample_index
        na = min(optics.NA, n)
        return optics.emission_wavelength_nm / (2 * (n - math.sqrt(max(n**2 - na**2, 0.0))))
