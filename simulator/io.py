"""Reading shapes and configs, writing images, masks, datasets (the simulator's only disk I/O)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import yaml

from ._config import Camera, Microscope
from ._io_batch import write_dataset, write_simulations
from ._io_files import prepare_out, read_image, write_json, write_png, write_tiff, write_yaml
from ._presets import get_preset
from ._scene import SceneShape

__all__ = [
    "read_shapes",
    "read_microscope",
    "read_camera",
    "write_yaml",
    "write_tiff",
    "read_image",
    "write_png",
    "microscope_from",
    "with_noise_mode",
    "write_simulations",
    "write_dataset",
    "write_json",
    "prepare_out",
]

logger = logging.getLogger(__name__)


def _mesh_file(folder: Path) -> Path | None:
    for name in ("raw_mesh.off", "mesh.off", "mesh.ply", "mesh.stl", "mesh.obj"):
        if (folder / name).is_file():
            return folder / name
    return None


def _read_one(folder: Path, shape_class: str = "") -> SceneShape:
    """One instance folder (ours or a released 3DMSL one) -> SceneShape, mesh in nm."""
    from shapelib.io import read_instance

    shape = read_instance(folder)
    cls = shape_class or str(shape.shape_class or "")
    return SceneShape(mesh=shape.mesh, id=int(shape.id or 0), shape_class=cls)


def read_shapes(path: str | Path, *, classes: Sequence[str] | None = None) -> list[SceneShape]:
    """Shapes of a library folder (with library.csv) or of one instance folder.

    Parameters
    ----------
    path : str or Path
        A library folder (one sub-folder per instance + ``library.csv`` with ``id`` and
        ``class`` columns) or one instance folder (ours or a released 3DMSL one).
    classes : sequence of str, optional
        Keep only these shape classes (library.csv's ``class`` column).

    Returns
    -------
    list of SceneShape, meshes in nm
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; pass a library or an instance folder")
    if not path.is_dir():
        raise NotADirectoryError(f"{path} is a file; pass a library or an instance folder")
    wanted = {c.strip().lower() for c in classes} if classes else None
    table = path / "library.csv"
    if not table.is_file():
        if _mesh_file(path) is None and not (path / "meta.json").is_file():
            raise FileNotFoundError(
                f"{path} holds neither library.csv nor a mesh (raw_mesh.off); pass a library "
                "folder or an instance folder."
            )
        shape = _read_one(path)
        if wanted and shape.shape_class.lower() not in wanted:
            raise ValueError(f"instance {path} has class {shape.shape_class!r}, not in {classes}")
        return [shape]
    import pandas as pd

    df = pd.read_csv(table)
    if "id" not in df.columns:
        raise ValueError(f"{table} has no 'id' column; got columns {list(df.columns)}")
    cls_col = df["class"].astype(str) if "class" in df.columns else pd.Series([""] * len(df))
    folders = {int(p.name): p for p in path.iterdir() if p.is_dir() and p.name.isdigit()}
    shapes = []
    for sid, cls in zip(df["id"].astype(int), cls_col, strict=True):
        if wanted and cls.lower() not in wanted:
            continue
        if sid not in folders:
            raise FileNotFoundError(f"library.csv lists id {sid} but {path} has no folder for it")
        shapes.append(_read_one(folders[sid], cls))
    if not shapes:
        found = sorted(set(cls_col))
        raise ValueError(f"no instance of class {sorted(wanted or [])} in {path}; classes: {found}")
    return shapes


def _load_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} not found")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a mapping (key: value); got {type(data).__name__}")
    return data


def read_microscope(path: str | Path) -> Microscope:
    """A :class:`Microscope` from YAML or JSON (``name``, ``optics``, ``camera``, ``labelling``)."""
    return Microscope.model_validate(_load_yaml(path))


def read_camera(path: str | Path) -> Camera:
    """A :class:`Camera` from YAML/JSON (as written by ``mitoshape calibrate``)."""
    data = _load_yaml(path)
    return Camera.model_validate(data.get("camera", data))


def microscope_from(
    preset: str | None = None, *, config: str | Path | None = None, camera: str | Path | None = None
) -> Microscope:
    """A preset or a YAML microscope, optionally with the camera replaced by a calibrated one."""
    if config is not None:
        mic = read_microscope(config)
    else:
        mic = get_preset(preset or "Epi1")
    if camera is not None:
        mic = mic.model_copy(update={"camera": read_camera(camera)})
    return mic


def with_noise_mode(microscope: Microscope, mode: str) -> Microscope:
    """The same microscope with the camera noise mode set ('physical' or '3dmsl'), validated."""
    cam = Camera.model_validate({**microscope.camera.model_dump(), "mode": mode})
    return microscope.model_copy(update={"camera": cam})
