"""Small closed meshes (nm) and tiny libraries on disk for simulator tests."""

from __future__ import annotations

from pathlib import Path

import trimesh


def sphere(radius_nm: float = 400.0) -> trimesh.Trimesh:
    return trimesh.creation.icosphere(subdivisions=4, radius=radius_nm)


def capsule(length_nm: float = 1500.0, radius_nm: float = 250.0) -> trimesh.Trimesh:
    """A rod along z (trimesh's capsule axis), total length ``length_nm + 2 radius``."""
    return trimesh.creation.capsule(height=length_nm, radius=radius_nm, count=[24, 24])


def write_library(root: Path, shapes: dict[int, tuple[trimesh.Trimesh, str]]) -> Path:
    """A library as ``mitoshape extract`` writes it: shape folders (meta.json) + library.csv.

    ``shapes`` maps an id to (mesh in nm, class).
    """
    from shapelib import Shape
    from shapelib.io import write_shape

    root.mkdir(parents=True, exist_ok=True)
    rows = ["id,folder,class"]
    for sid, (mesh, cls) in shapes.items():
        folder = f"{sid:06d}"
        shape = Shape(
            id=sid, mesh=mesh, pointcloud=None, occupancy=None, skeleton=None, shape_class=cls
        )
        write_shape(shape, root / folder)
        rows.append(f"{sid},{folder},{cls}")
    (root / "library.csv").write_text("\n".join(rows) + "\n")
    return root


def write_released_folder(folder: Path, mesh: trimesh.Trimesh) -> Path:
    """A released 3DMSL shape folder: ``raw_mesh.off`` in 24 nm voxel units, no meta.json."""
    folder.mkdir(parents=True, exist_ok=True)
    m = mesh.copy()
    m.apply_scale(1 / 24.0)
    m.export(folder / "raw_mesh.off")
    return folder
