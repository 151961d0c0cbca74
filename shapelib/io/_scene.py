"""A library's meshes as one file for viewers that open one file: a glTF binary (``.glb``,
one named node and mesh per shape) or a PLY (``.ply``, the meshes joined, each shape in its
own colour).

Vertices stay in nm, (x, y, z) as every mesh of the library; the scene's metadata says so.
"""

from __future__ import annotations

import colorsys
from pathlib import Path

import numpy as np

from .._errors import InputError
from ._atomic import atomic_write
from ._instance_io import read_mesh
from ._library import read_library_table
from ._outputs import check_output_files, claim_output_file

__all__ = ["SCENE_SUFFIXES", "write_library_scene"]

SCENE_SUFFIXES = (".glb", ".ply")


def _colour(k: int) -> list[int]:
    r, g, b = colorsys.hsv_to_rgb((k * 0.618033988749895) % 1.0, 0.6, 0.95)
    return [int(r * 255), int(g * 255), int(b * 255), 255]


def write_library_scene(
    library_dir: str | Path, out: str | Path, *, overwrite: bool = False
) -> Path:
    """Write every mesh of a library as one scene file (``.glb`` or ``.ply``).

    Parameters
    ----------
    library_dir : a library folder written by `mitoshape extract` (``library.csv``)
    out : the ``.glb`` (one node per shape, named by its folder, with its class in the
        node's extras) or ``.ply`` (the meshes joined; a colour per shape) to write; never
        inside the library, never over a file unless `overwrite`

    Returns
    -------
    out : Path
    """
    import trimesh

    library_dir, out = Path(library_dir), Path(out)
    if out.suffix.lower() not in SCENE_SUFFIXES:
        raise InputError(f"a library scene is a .glb or .ply file; got {out.name}.")
    check_output_files([out], inputs=[library_dir], overwrite=overwrite)
    table = read_library_table(library_dir)
    if table.empty:
        raise InputError(f"library {library_dir} holds no shapes; nothing to export.")
    scene = trimesh.Scene(metadata={"unit": "nanometer", "library": str(library_dir)})
    for k, row in enumerate(table.to_dict("records")):
        name = str(row["folder"])
        mesh = read_mesh(library_dir / name)
        mesh.visual = trimesh.visual.ColorVisuals(
            mesh, face_colors=np.tile(_colour(k), (len(mesh.faces), 1))
        )
        mesh.metadata = {"class": str(row.get("class", ""))}
        scene.add_geometry(mesh, node_name=name, geom_name=name)
    target = claim_output_file(out, inputs=[library_dir], overwrite=overwrite)
    kind = out.suffix.lower().lstrip(".")
    data = (
        scene.export(file_type=kind) if kind == "glb" else scene.to_mesh().export(file_type="ply")
    )
    atomic_write(target, data)
    return target
