"""Cells in a field of view: outlines, nuclei, thickness, and the diffuse light they give.

A field of view is a crop of a culture: a few cells whose centres fall in or near the field,
so the field shows parts of cells, their edges, nucleus holes and empty background. Each cell
is a closed outline (a circle with random low harmonics) with an elliptical nucleus inside;
its thickness above the coverslip is a dome, thick over the nucleus and thin at the edge
(cultured cells are flat). Everything is tabulated on a grid of the image's pixels extended
by a margin, so tubules may run in and out of the field and look-ups are fast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.ndimage import gaussian_filter

__all__ = ["CellField", "draw_cells", "smooth_field"]


@dataclass(frozen=True, eq=False)
class CellField:
    """The cells of one field of view, tabulated on an extended pixel grid.

    Attributes
    ----------
    pixel_size_nm : float
    margin_px : int
        The grid starts ``margin_px`` pixels before the image in x and y.
    cell, nucleus : (G, G) ndarray of bool
        Inside any cell; inside any nucleus (nuclei hold no mitochondria).
    height_nm : (G, G) ndarray of float
        Thickness of the cell above the coverslip (0 outside cells).
    n_cells : int
    layer_nm : float
        Mitochondria stay below this height (the lower layer of the cell; inf: anywhere).
    """

    pixel_size_nm: float
    margin_px: int
    cell: np.ndarray
    nucleus: np.ndarray
    height_nm: np.ndarray
    n_cells: int
    layer_nm: float = np.inf

    @property
    def cytoplasm(self) -> np.ndarray:
        return self.cell & ~self.nucleus

    def index(self, x_nm, y_nm):
        a, m, g = self.pixel_size_nm, self.margin_px, self.cell.shape[0]
        j = np.floor(np.asarray(x_nm) / a).astype(int) + m
        i = np.floor(np.asarray(y_nm) / a).astype(int) + m
        ok = (i >= 0) & (i < g) & (j >= 0) & (j < g)
        return np.clip(i, 0, g - 1), np.clip(j, 0, g - 1), ok

    def inside(self, x_nm, y_nm) -> np.ndarray:
        """In the cytoplasm (points outside the grid are not)."""
        i, j, ok = self.index(x_nm, y_nm)
        return self.cytoplasm[i, j] & ok

    def height(self, x_nm, y_nm) -> np.ndarray:
        i, j, ok = self.index(x_nm, y_nm)
        return np.where(ok, self.height_nm[i, j], 0.0)

    def crop(self, grid: np.ndarray, size_px: int) -> np.ndarray:
        """The part of a grid array that lies on the image."""
        m = self.margin_px
        return grid[m : m + size_px, m : m + size_px]

    def top_nm(self, x_nm: float, y_nm: float) -> float:
        """Thickness of the cytoplasm at one point (0 off the cytoplasm or off the grid)."""
        a, m = self.pixel_size_nm, self.margin_px
        j, i = math.floor(x_nm / a) + m, math.floor(y_nm / a) + m
        g = self.cell.shape[0]
        if not (0 <= i < g and 0 <= j < g):
            return 0.0
        return float(self._cyto_top[i, j])

    @cached_property
    def _cyto_top(self) -> np.ndarray:
        return np.where(self.cytoplasm, np.minimum(self.height_nm, self.layer_nm), 0.0)

    def seed_point(self, rng: np.random.Generator, margin_nm: float = 100.0):
        """A random point in the cytoplasm: (x, y, depth) nm, depth within the cell."""
        idx = np.flatnonzero(self.cytoplasm.ravel())
        if len(idx) == 0:
            return None
        i, j = np.divmod(idx[rng.integers(len(idx))], self.cell.shape[1])
        a, m = self.pixel_size_nm, self.margin_px
        x, y = (j - m + rng.random()) * a, (i - m + rng.random()) * a
        top = min(float(self.height_nm[i, j]), self.layer_nm)
        z = rng.uniform(margin_nm, max(margin_nm, top - margin_nm))
        return np.array([x, y, z])


def smooth_field(shape, scale_px: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth random field of zero mean and unit std (Gaussian-filtered white noise)."""
    f = gaussian_filter(rng.standard_normal(shape), max(scale_px, 0.5), mode="wrap")
    return (f - f.mean()) / max(float(f.std()), 1e-12)


def draw_cells(
    rng: np.random.Generator,
    *,
    size_px: int,
    pixel_size_nm: float,
    margin_nm: float,
    n_cells: int,
    radius_um: tuple[float, float],
    nucleus_fraction: tuple[float, float],
    height_nm: tuple[float, float],
    edge_height_nm: float = 300.0,
    layer_nm: float = np.inf,
) -> CellField:
    """Draw ``n_cells`` cells whose centres fall within half a radius of the field.

    Returns
    -------
    CellField
    """
    a = pixel_size_nm
    m = int(np.ceil(margin_nm / a))
    g = size_px + 2 * m
    centres = (np.arange(g) - m + 0.5) * a
    xx, yy = np.meshgrid(centres, centres)
    field = size_px * a
    cell = np.zeros((g, g), bool)
    nucleus = np.zeros((g, g), bool)
    height = np.zeros((g, g))
    for _ in range(n_cells):
        r0 = rng.uniform(*radius_um) * 1000.0
        cx, cy = rng.uniform(-0.5 * r0, field + 0.5 * r0, 2)
        k = np.arange(2, 6)
        amp = rng.uniform(0, 0.12, len(k)) / np.sqrt(k - 1)
        phase = rng.uniform(0, 2 * np.pi, len(k))
        dx, dy = xx - cx, yy - cy
        theta = np.arctan2(dy, dx)
        harmonics = amp[:, None, None] * np.cos(k[:, None, None] * theta + phase[:, None, None])
        rad = r0 * (1 + harmonics.sum(axis=0))
        d = np.hypot(dx, dy) / rad  # 0 at the centre, 1 on the outline
        inside = d <= 1
        # nucleus: an ellipse off the centre
        frac = rng.uniform(*nucleus_fraction)
        t = rng.uniform(0, 2 * np.pi)
        shift = rng.uniform(0, 0.3) * r0 * np.array([np.cos(t), np.sin(t)])
        ax = frac * r0 * np.array([rng.uniform(0.85, 1.15), rng.uniform(0.7, 1.0)])
        tilt = rng.uniform(0, np.pi)
        c, s = np.cos(tilt), np.sin(tilt)
        ux, uy = dx - shift[0], dy - shift[1]
        nuc = ((c * ux + s * uy) / ax[0]) ** 2 + ((-s * ux + c * uy) / ax[1]) ** 2 <= 1
        # thickness: a dome, thin at the edge (a lamella) and thick in the middle
        top = rng.uniform(*height_nm)
        dome = edge_height_nm + (top - edge_height_nm) * np.sqrt(np.clip(1 - d**2, 0, None))
        height = np.where(inside, np.maximum(height, dome), height)
        cell |= inside
        nucleus |= nuc & inside
    return CellField(a, m, cell, nucleus, height, n_cells, float(layer_nm))
