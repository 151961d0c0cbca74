"""Small closed meshes (nm) for simulator tests."""

from __future__ import annotations

import trimesh


def sphere(radius_nm: float = 400.0) -> trimesh.Trimesh:
    return trimesh.creation.icosphere(subdivisions=4, radius=radius_nm)


def capsule(length_nm: float = 1500.0, radius_nm: float = 250.0) -> trimesh.Trimesh:
    """A rod along z (trimesh's capsule axis), total length ``length_nm + 2 radius``."""
    return trimesh.creation.capsule(height=length_nm, radius=radius_nm, count=[24, 24])
