"""One instance folder on disk, in the 3DMSL layout: ``raw_mesh.off``, ``pointcloud.ply``,
``occupancies.npz`` and (ours only) ``meta.json``, which is written last and marks the folder
complete.

Formats, as checked on the released folders in ../shared/data/3dmsl_samples:

- ``raw_mesh.off``: OFF text. Released files are in voxel units (24 nm voxels); ours are in nm.
  The released column order cannot be checked against a source volume; it is read as
  ``(x, y, z)`` as written (it does not matter for their isotropic voxels).
- ``pointcloud.ply``: ASCII PLY, ``element vertex N`` with float ``x y z nx ny nz``, unit-cube
  coordinates, 6 decimals.
- ``occupancies.npz`` (uncompressed): ``points`` float16 (N, 3) in ``[-0.55, 0.55]``,
  ``occupancies`` uint8 ``np.packbits`` of N booleans, ``loc`` float64 (3,), ``scale`` float64
  0-d. Released ``loc``/``scale`` are in voxel units; ours in nm.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._errors import InputError
from .._occupancy import Occupancy
from .._pointcloud import PointCloud, unit_cube_frame
from .._shape import Shape
from .._units import as_spacing_nm, zyx_to_xyz
from ._atomic import atomic_write
from ._instance_bytes import npz_bytes, off_bytes, ply_bytes

if TYPE_CHECKING:
    import trimesh

__all__ = [
    "write_shape",
    "read_shape",
    "read_instance",
    "read_mesh",
    "read_meta",
    "is_complete",
    "RELEASED_VOXEL_SIZE_NM",
]

RELEASED_VOXEL_SIZE_NM = 24.0  # 3DMSL: 8 nm FIB-SEM downsampled 3x
MESH_FILE, PLY_FILE, OCC_FILE, META_FILE = (
    "raw_mesh.off",
    "pointcloud.ply",
    "occupancies.npz",
    "meta.json",
)
FORMAT_VERSION = 2  # 2: mesh_volume_um3 (was volume_um3); id and class only at the top


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_shape(shape: Shape, folder: str | os.PathLike, *, extra_meta: dict | None = None) -> Path:
    """Write one shape as a 3DMSL-layout folder; ``meta.json`` last, atomically.

    Parameters
    ----------
    shape : Shape
        From :func:`shapelib.build_shape` (or :func:`read_shape`).
    folder : path
        Created if missing. An existing ``meta.json`` is removed first, so a folder without it
        is never mistaken for complete.
    extra_meta : dict, optional
        More keys for ``meta.json`` (e.g. the library's parameters).

    Returns
    -------
    Path of the folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta_path = folder / META_FILE
    if meta_path.exists():
        meta_path.unlink()
    atomic_write(folder / MESH_FILE, off_bytes(shape.mesh))
    if shape.pointcloud is not None:
        pc = shape.pointcloud
        atomic_write(folder / PLY_FILE, ply_bytes(pc.points, pc.normals))
    if shape.occupancy is not None:
        atomic_write(folder / OCC_FILE, npz_bytes(shape.occupancy))
    meta = {
        "format_version": FORMAT_VERSION,
        "id": int(shape.id),
        "class": shape.shape_class,
        "units": {"mesh": "nm", "pointcloud": "unit cube", "loc": "nm", "scale": "nm",
                  "lengths": "um", "volume": "um^3", "area": "um^2", "bbox": "voxels"},
        # Mesh-space values are (x, y, z); array-space values (z, y, x), as in the volume.
        "axis_order": {"mesh": "x, y, z", "pointcloud": "x, y, z", "loc": "x, y, z",
                       "centroid_nm": "x, y, z", "bbox": "z0, y0, x0, z1, y1, x1",
                       "offset_vox": "z, y, x", "voxel_size_nm": "z, y, x"},
        "measurements": dict(shape.measurements),
        "skeleton_branch_lengths_um": (
            list(shape.skeleton.branch_lengths_um) if shape.skeleton is not None else None
        ),
        "pointcloud": None if shape.pointcloud is None else {
            "n_points": len(shape.pointcloud.points),
            "loc": shape.pointcloud.loc, "scale": shape.pointcloud.scale},
        "occupancy": None if shape.occupancy is None else {
            "n_points": len(shape.occupancy.points),
            "inside_fraction": float(np.mean(shape.occupancy.occupancies))},
    }  # fmt: skip
    meta.update(extra_meta or {})
    atomic_write(meta_path, json.dumps(meta, indent=2, default=_json_default).encode())
    return folder


def is_complete(folder: str | os.PathLike) -> bool:
    """True when ``folder`` holds a ``meta.json`` (written last by :func:`write_shape`)."""
    return (Path(folder) / META_FILE).is_file()


def _read_ply(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    with open(path, "rb") as f:
        header = []
        while True:
            line = f.readline()
            if not line:
                raise InputError(f"{path}: PLY header has no end_header line; the file is cut.")
            text = line.decode("ascii", "replace").strip()
            header.append(text)
            if text == "end_header":
                break
        if len(header) < 2 or header[0] != "ply" or header[1] != "format ascii 1.0":
            raise InputError(
                f"{path}: expected an ASCII PLY ('ply', 'format ascii 1.0'); got "
                f"{header[:2]}. Convert it to ASCII x y z nx ny nz."
            )
        counts = [h.split()[2:3] for h in header if h.startswith("element vertex")]
        if not counts or not counts[0] or not counts[0][0].isdigit():
            raise InputError(f"{path}: PLY header has no 'element vertex N' line.")
        n = int(counts[0][0])
        props = [h.split()[2] for h in header if h.startswith("property") and len(h.split()) > 2]
        try:
            table = pd.read_csv(f, sep=r"\s+", header=None, nrows=n, dtype=np.float64).to_numpy()
        except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
            raise InputError(
                f"{path}: the PLY vertex table is not {n} rows of numbers ({err}); the file is "
                "cut or not an ASCII x y z nx ny nz point cloud."
            ) from None
    if table.shape != (n, len(props)):
        raise InputError(f"{path}: expected {n} rows of {props}; got a table {table.shape}.")
    col = {p: i for i, p in enumerate(props)}
    try:
        points = table[:, [col["x"], col["y"], col["z"]]]
        normals = table[:, [col["nx"], col["ny"], col["nz"]]]
    except KeyError as err:
        raise InputError(f"{path}: PLY needs properties x y z nx ny nz; got {props}.") from err
    return points.astype(np.float32), normals.astype(np.float32)


def read_meta(folder: str | os.PathLike) -> dict | None:
    """The ``meta.json`` of an instance folder as a dict; None for a released 3DMSL folder."""
    path = Path(folder) / META_FILE
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{path} is not valid JSON ({err}); re-extract the instance.") from None
    if not isinstance(meta, dict):
        raise InputError(f"{path} must hold a JSON object; got {type(meta).__name__}.")
    _check_meta(meta, path)
    return meta


def _check_meta(meta: dict, path: Path) -> None:
    """The fields readers use have their types: id an integer >= 0, class text or null,
    measurements an object, voxel_size_nm three positive numbers."""
    fix = "re-extract the instance (mitoshape extract) or fix the file"
    iid = meta.get("id", 0)
    if isinstance(iid, bool) or not isinstance(iid, int) or iid < 0:
        raise InputError(f"{path}: 'id' must be an integer >= 0; got {iid!r}; {fix}.")
    if not isinstance(meta.get("class"), (str, type(None))):
        raise InputError(f"{path}: 'class' must be text or null; got {meta['class']!r}; {fix}.")
    meas = meta.get("measurements", {})
    if not isinstance(meas, dict):
        raise InputError(f"{path}: 'measurements' must be an object; got {meas!r}; {fix}.")
    if meas.get("voxel_size_nm") is not None:
        try:
            as_spacing_nm(meas["voxel_size_nm"], name=f"{path}: measurements.voxel_size_nm")
        except (TypeError, ValueError) as err:
            raise InputError(f"{err}; {fix}.") from None


def _released_unit_nm(voxel_size_nm) -> np.ndarray:
    """(x, y, z) nm per mesh unit of a released 3DMSL folder (default 24 nm voxels)."""
    unit_nm = as_spacing_nm(RELEASED_VOXEL_SIZE_NM if voxel_size_nm is None else voxel_size_nm)
    return zyx_to_xyz(np.asarray(unit_nm))


def read_mesh(
    folder: str | os.PathLike,
    *,
    voxel_size_nm: float | Sequence[float] | None = None,
    meta: dict | None = None,
) -> trimesh.Trimesh:
    """The mesh of an instance folder (ours or a released 3DMSL one), vertices (x, y, z) in nm.

    The one reader of ``raw_mesh.off``. Released folders (no ``meta.json``) are in voxel units
    of ``voxel_size_nm`` (default 24 nm) and are scaled to nm; ours are in nm already.

    Returns
    -------
    mesh : trimesh.Trimesh, vertices in nm
    """
    import trimesh

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"instance folder {folder} does not exist; pass a folder holding {MESH_FILE}."
        )
    mesh_path = folder / MESH_FILE
    if not mesh_path.is_file():
        raise FileNotFoundError(
            f"{folder} holds no {MESH_FILE}; expected an instance folder of a shape library "
            "(raw_mesh.off, pointcloud.ply, occupancies.npz)."
        )
    if meta is None:
        meta = read_meta(folder)
    try:
        mesh = trimesh.load_mesh(mesh_path, file_type="off", process=True)
    except Exception as err:  # trimesh raises many types for a malformed file
        raise InputError(f"{mesh_path}: could not read it as an OFF mesh ({err}).") from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise InputError(f"{mesh_path}: the mesh has no faces.")
    if meta is None:
        mesh.apply_transform(np.diag([*_released_unit_nm(voxel_size_nm), 1.0]))
    return mesh


def _current_measurements(meta: dict) -> dict:
    """``meta.json`` measurements under today's names (format 1 said ``volume_um3`` for the mesh
    volume and repeated the id and class)."""
    measurements = dict(meta.get("measurements") or {})
    if "volume_um3" in measurements and "mesh_volume_um3" not in measurements:
        measurements["mesh_volume_um3"] = measurements.pop("volume_um3")
    for repeated in ("id", "shape_class"):
        measurements.pop(repeated, None)
    return measurements


def _read_occupancy(npz, path: Path, to_nm: np.ndarray) -> Occupancy:
    """The arrays of an opened ``occupancies.npz``, checked: (N, 3) points, N packed bits,
    loc (3,), a scalar scale."""
    with npz as z:
        missing = {"points", "occupancies", "loc", "scale"} - set(z.files)
        if missing:
            raise InputError(f"{path}: missing keys {sorted(missing)}.")
        try:
            pts, bits = z["points"], z["occupancies"]
            loc, scale = np.asarray(z["loc"], dtype=np.float64), np.asarray(z["scale"], float)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise InputError(f"{path}: an array in it is cut or unreadable ({err}).") from None
    if (
        pts.ndim != 2 or pts.shape[1:] != (3,) or pts.dtype.kind != "f"
        or bits.dtype != np.uint8 or bits.ndim != 1 or bits.size * 8 < len(pts)
        or loc.shape != (3,) or scale.size != 1
    ):  # fmt: skip
        raise InputError(
            f"{path}: expected points float (N, 3), occupancies uint8 packbits of N, loc (3,) "
            f"and a scalar scale; got points {pts.dtype} {pts.shape}, occupancies {bits.dtype} "
            f"{bits.shape}, loc {loc.shape}, scale {scale.shape}."
        )
    occ = np.unpackbits(bits)[: len(pts)].astype(bool)
    return Occupancy(
        points=pts, occupancies=occ, loc=loc * to_nm, scale=float(scale) * float(to_nm.max())
    )


def read_shape(
    folder: str | os.PathLike, *, voxel_size_nm: float | Sequence[float] | None = None
) -> Shape:
    """Read an instance folder as a :class:`~shapelib.Shape`: ours (with ``meta.json``) or a
    released 3DMSL one. (``read_instance`` is the same function under its former name.)

    Parameters
    ----------
    folder : path
    voxel_size_nm : float or (z, y, x), optional
        Released folders (no ``meta.json``): the size of their mesh's voxel unit, default 24 nm;
        the mesh, ``loc`` and ``scale`` are converted to nm. Our folders: overrides the voxel
        size recorded in ``meta.json`` (the mesh is already in nm).

    Returns
    -------
    Shape
        Mesh in nm; point cloud and occupancy when their files exist; ``skeleton`` None;
        ``shape_class`` and ``measurements`` from ``meta.json`` (None / minimal when absent).
    """
    folder = Path(folder)
    meta = read_meta(folder) if folder.is_dir() else None
    mesh = read_mesh(folder, voxel_size_nm=voxel_size_nm, meta=meta)

    if meta is None:  # released 3DMSL: mesh, loc, scale in voxel units
        to_nm = _released_unit_nm(voxel_size_nm)
        unit_nm = zyx_to_xyz(to_nm)
        measurements = {"voxel_size_nm": [float(v) for v in unit_nm], "source": str(folder),
                        "released_3dmsl": True}  # fmt: skip
        shape_class = None
        sid = int(folder.name) if folder.name.isdigit() else 0
    else:
        to_nm = np.ones(3)
        measurements = _current_measurements(meta)
        if voxel_size_nm is not None:
            measurements["voxel_size_nm"] = list(as_spacing_nm(voxel_size_nm))
        shape_class = meta.get("class")
        sid = int(meta.get("id", 0))

    pointcloud = None
    occupancy = None
    if (folder / OCC_FILE).is_file():
        try:
            npz = np.load(folder / OCC_FILE, allow_pickle=False)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise InputError(f"{folder / OCC_FILE}: not a readable .npz file ({err}).") from None
        if not hasattr(npz, "files"):  # a bare .npy array under the .npz name
            raise InputError(f"{folder / OCC_FILE}: not an .npz archive of named arrays.")
        occupancy = _read_occupancy(npz, folder / OCC_FILE, to_nm)
    if (folder / PLY_FILE).is_file():
        points, normals = _read_ply(folder / PLY_FILE)
        if occupancy is not None:
            loc, scale = occupancy.loc, occupancy.scale
        else:
            loc, scale = unit_cube_frame(mesh)
        pointcloud = PointCloud(points=points, normals=normals, loc=loc, scale=scale)
    return Shape(sid, mesh, pointcloud, occupancy, None, shape_class, measurements, {})


read_instance = read_shape  # former name: an "instance" is a mask crop; a folder reads as a Shape
