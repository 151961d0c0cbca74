"""Mitochondrial networks as the field knows them: curved, branching tubules in a cell slab.

A network is a tree of tubules. Each tubule is a worm-like chain (a persistent random walk of
fixed step whose tangent diffuses with the persistence length), mostly parallel to the
coverslip, kept between the coverslip and the top of the cell; a tubule stops where it would
leave the cytoplasm. Branches start at interior nodes of a tubule: one child makes a junction
of degree 3, two children at the same node (on opposite sides) one of degree 4. The state of
a cell lies between fused (long tubules that branch) and fragmented (short pieces, no
branches): ``fusion`` in [0, 1] scales the length and the branching rate.

Widths come from the EM libraries the toolkit reads (diameters along the skeleton of the
Lucchi++ 3D labels: 130-215 nm between the quartiles, median 172 nm; 3DMSL instance 920:
270-385 nm, instance 1: 190 nm; the field quotes 200-400 nm for cultured cells), lengths of
1-10 um per tubule from the light-microscopy literature (REFERENCES.md).

Pure compute: arrays and configs in, a :class:`Network` out; seeded by the caller's ``rng``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["TubuleConfig", "Tubule", "Network", "Region", "grow_network"]


class TubuleConfig(BaseModel):
    """How the tubule networks of a cell are drawn (all lengths in nm or um as named)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    density_um_per_um2: tuple[float, float] = Field(
        (0.4, 1.6),
        description="tubule length per um^2 of cytoplasm in view, um/um^2 (sets foreground)",
    )
    width_nm: tuple[float, float] = Field(
        (180.0, 400.0), description="tubule diameter range, nm (EM: 130-400 nm)"
    )
    length_um: tuple[float, float] = Field(
        (1.0, 10.0), description="length of one tubule (start to end) in a fused cell, um"
    )
    persistence_um: tuple[float, float] = Field(
        (1.0, 5.0), description="bending persistence length, um (smaller: more curved)"
    )
    branch_per_um: float = Field(
        0.25, ge=0, le=5, description="branch points per um of tubule in a fused cell"
    )
    degree4_fraction: float = Field(
        0.2, ge=0, le=1, description="fraction of junctions with two children (degree 4)"
    )
    fusion: tuple[float, float] = Field(
        (0.0, 1.0),
        description="cell state 0 = fragmented (short pieces, no branches) .. 1 = fused",
    )
    fragment_length_um: tuple[float, float] = Field(
        (0.4, 2.0), description="length of one piece in a fully fragmented cell, um"
    )
    tilt_deg: float = Field(
        12.0, ge=0, le=90, description="std of a tubule's angle out of the focal plane, degrees"
    )
    width_variation: float = Field(
        0.12, ge=0, le=0.5, description="relative std of the width along a tubule"
    )
    step_nm: float = Field(40.0, gt=5, le=200, description="centreline step, nm")
    max_depth: int = Field(3, ge=0, le=10, description="generations of branches on branches")

    @model_validator(mode="after")
    def _check(self) -> TubuleConfig:
        for name in (
            "density_um_per_um2",
            "width_nm",
            "length_um",
            "persistence_um",
            "fusion",
            "fragment_length_um",
        ):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise ValueError(f"{name} must be MIN, MAX with 0 <= MIN <= MAX; got {lo}, {hi}")
        if self.width_nm[0] <= 0 or self.length_um[0] <= 0 or self.persistence_um[0] <= 0:
            raise ValueError("width_nm, length_um and persistence_um must be positive")
        if self.fusion[1] > 1:
            raise ValueError(f"fusion must lie in [0, 1]; got {self.fusion}")
        return self


@dataclass(frozen=True)
class Tubule:
    """One tubule: its centreline and radius, and where it hangs on its parent.

    Attributes
    ----------
    points : (N, 3) ndarray of float
        Centreline (x, y, depth) in nm, N >= 2, one ``step_nm`` apart.
    radius : (N,) ndarray of float
        Radius at each node, nm.
    network : int
        Index of the network (tree) it belongs to: one object of the scene.
    parent : int
        Index of the parent tubule in :attr:`Network.tubules`, -1 for a root.
    parent_node : int
        Node of the parent where it starts (-1 for a root).
    """

    points: np.ndarray
    radius: np.ndarray
    network: int
    parent: int = -1
    parent_node: int = -1

    @property
    def length_nm(self) -> float:
        return float(np.linalg.norm(np.diff(self.points, axis=0), axis=1).sum())


@dataclass(frozen=True)
class Network:
    """All tubules of a field of view.

    Attributes
    ----------
    tubules : list of Tubule
    n_networks : int
        Number of trees (objects).
    fusion : float
        The drawn state of the cell(s), 0 fragmented .. 1 fused.
    """

    tubules: list
    n_networks: int
    fusion: float

    def junction_degrees(self) -> np.ndarray:
        """Degree of every junction (a parent's interior node with k children: 2 + k)."""
        count: dict[tuple[int, int], int] = {}
        for t in self.tubules:
            if t.parent >= 0:
                count[(t.parent, t.parent_node)] = count.get((t.parent, t.parent_node), 0) + 1
        return np.array([2 + k for k in count.values()], int)

    @property
    def total_length_um(self) -> float:
        return sum(t.length_nm for t in self.tubules) / 1000.0


class Region(Protocol):
    """Where tubules may run: the cytoplasm of the cells in (and around) a field of view."""

    def top_nm(self, x_nm: float, y_nm: float) -> float:
        """Thickness of the cytoplasm above the coverslip at (x, y); <= 0 where there is none."""

    def seed_point(self, rng: np.random.Generator, margin_nm: float) -> np.ndarray | None:
        """A random (x, y, depth) nm in the cytoplasm, or None when there is none."""


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _walk(start, tangent, n_steps, cfg, lp_nm, region: Region, rng, margin_nm):
    """A worm-like chain from ``start``; stops early where it would leave the cytoplasm.

    Scalar arithmetic on Python floats (one step is a few microseconds): the random numbers
    are drawn at once.
    """
    step = cfg.step_nm
    sigma = math.sqrt(2.0 * step / lp_nm)  # tangent diffusion per step (angle variance 2 ds/Lp)
    zmax = 2.0 * math.sin(math.radians(cfg.tilt_deg))
    kicks = (sigma * rng.standard_normal((n_steps, 3))).tolist()
    x, y, z = (float(v) for v in start)
    tx, ty, tz = (float(v) for v in _unit(np.asarray(tangent, float)))
    pts = [(x, y, z)]
    for kx, ky, kz in kicks:
        tx, ty, tz = tx + kx, ty + ky, tz + kz
        # pull the out-of-plane angle back towards a small tilt (tubules lie along the slab)
        tz = 0.9 * min(max(tz, -zmax), zmax)
        norm = math.sqrt(tx * tx + ty * ty + tz * tz) or 1.0
        tx, ty, tz = tx / norm, ty / norm, tz / norm
        nx, ny, nz = x + step * tx, y + step * ty, z + step * tz
        top = region.top_nm(nx, ny)
        if top <= 0:
            break
        hi = max(margin_nm, top - margin_nm)
        if nz < margin_nm or nz > hi:  # reflect off the coverslip and the top of the cell
            tz = -tz
            nz = min(max(nz, margin_nm), hi)
        x, y, z = nx, ny, nz
        pts.append((x, y, z))
    return np.array(pts)


def grow_network(
    config: TubuleConfig,
    *,
    area_um2: float,
    region: Region,
    rng: int | np.random.Generator | None = None,
) -> Network:
    """Grow tubule networks until their length matches the drawn density x ``area_um2``.

    Parameters
    ----------
    config : TubuleConfig
    area_um2 : float
        Area of cytoplasm in view, um^2 (with the density, the total tubule length).
    region : Region
        Where tubules may run: its thickness above the coverslip, and random start points.
    rng : int or numpy.random.Generator, optional

    Returns
    -------
    Network
    """
    rng = np.random.default_rng(rng)
    cfg = config
    fusion = float(rng.uniform(*cfg.fusion))
    target_nm = float(rng.uniform(*cfg.density_um_per_um2)) * max(area_um2, 0.0) * 1000.0
    tubules: list[Tubule] = []
    total, n_net = 0.0, 0
    branch_rate = cfg.branch_per_um * fusion / 1000.0  # per nm
    tries = 0
    while total < target_nm and tries < 10_000:
        tries += 1
        start = region.seed_point(rng, 0.0)
        if start is None:
            break
        width = float(rng.uniform(*cfg.width_nm))
        lp = float(rng.uniform(*cfg.persistence_um)) * 1000.0
        todo = [(np.asarray(start, float), None, -1, -1, 0, width)]  # a root: random direction
        grew = False
        while todo and total < target_nm:
            p0, tangent, parent, node, depth, w = todo.pop()
            if tangent is None:
                phi = rng.uniform(0, 2 * np.pi)
                tangent = np.array([np.cos(phi), np.sin(phi), 0.0])
            # a tubule's length: long in a fused cell, a short piece in a fragmented one
            fused_len = np.exp(rng.uniform(*np.log(cfg.length_um)))
            piece_len = rng.uniform(*cfg.fragment_length_um)
            length_nm = 1000.0 * (fusion * fused_len + (1 - fusion) * piece_len)
            n_steps = max(1, int(round(length_nm / cfg.step_nm)))
            r_max = w / 2 * (1 + 2 * cfg.width_variation)  # the widest the tubule gets
            p0 = p0.copy()
            if parent < 0:  # a root starts clear of the coverslip and the cell's top
                top = region.top_nm(float(p0[0]), float(p0[1]))
                p0[2] = np.clip(p0[2], r_max + 1, max(r_max + 1, top - r_max))
            pts = _walk(p0, tangent, n_steps, cfg, lp, region, rng, r_max + 1)
            if len(pts) < 2:
                continue
            # a smooth width profile along the tubule
            wob = np.interp(
                np.arange(len(pts)),
                np.linspace(0, len(pts) - 1, max(2, len(pts) // 25 + 2)),
                rng.standard_normal(max(2, len(pts) // 25 + 2)),
            )
            radius = np.clip(w / 2 * (1 + cfg.width_variation * wob), w / 4, r_max)
            k = len(tubules)
            tubules.append(Tubule(pts, radius, n_net, parent, node))
            total += float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())
            grew = True
            if depth >= cfg.max_depth or len(pts) < 7:
                continue
            # branch points on interior nodes (away from both ends)
            seg_len = cfg.step_nm
            for j in range(3, len(pts) - 3):
                if rng.random() >= branch_rate * seg_len:
                    continue
                t_here = _unit(pts[j + 1] - pts[j - 1])
                side = np.array([-t_here[1], t_here[0], 0.0])
                angle = rng.uniform(np.deg2rad(35), np.deg2rad(90))
                two = rng.random() < cfg.degree4_fraction
                for sgn in (1.0, -1.0) if two else (rng.choice([1.0, -1.0]),):
                    d = np.cos(angle) * t_here + np.sin(angle) * sgn * _unit(side)
                    cw = float(np.clip(w * rng.uniform(0.85, 1.1), *cfg.width_nm))
                    todo.append((pts[j].copy(), d, k, j, depth + 1, cw))
        if grew:
            n_net += 1
    return Network(tubules=tubules, n_networks=n_net, fusion=fusion)
