"""The simulator's disk I/O: library shapes and microscope configs in, output folders out.

Libraries are read only through :mod:`shapelib.io` (``read_library_table``, ``read_mesh``,
``read_meta``, ``is_complete``); TIFFs and configs are written by its one TIFF writer (which
keeps the pixel size and z step) and its one config writer. Batch rendering to folders is the
workflow in ``simulator._batch`` (``simulator.write_simulations``/``write_dataset``), which
calls this module; this module calls no workflow.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import RootModel

from shapelib import InputError, as_grey_image
from shapelib.io import (
    atomic_path,
    is_complete,
    open_output_folder,
    read_config,
    read_grey,
    read_library_table,
    read_mesh,
    read_meta,
    read_tiff,
    write_config,
    write_tiff,
)

from ._config import Camera, Microscope, with_noise_mode
from ._presets import get_preset
from ._scene import SceneShape

if TYPE_CHECKING:
    from ._fit import SceneFit

__all__ = [
    "DATASET_FILE",
    "DatasetImage",
    "DatasetInfo",
    "read_dataset_info",
    "read_shapes",
    "read_microscope",
    "read_camera",
    "microscope_from",
    "with_noise_mode",
    "prepare_out",
    "write_png",
    "read_image",
    "RealImages",
    "read_real_images",
    "scene_fit_files",
    "write_scene_fit",
    "read_tiff",
    "write_tiff",
    "read_config",
    "write_config",
    "write_yaml",
    "write_json",
]

logger = logging.getLogger(__name__)

# What `write_dataset` writes beside a dataset's images: the microscope, the scene and each
# image's objects (read back with `read_dataset_info`).
DATASET_FILE = "dataset.json"

# Former names of the shared writers (the same objects as shapelib.io's).
write_yaml = write_config
write_json = write_config


def _read_folder(folder: Path) -> SceneShape:
    """One shape's folder (ours, with meta.json, or a released 3DMSL one) -> SceneShape (nm)."""
    try:
        mesh = read_mesh(folder)
    except FileNotFoundError as err:
        raise FileNotFoundError(
            f"{folder} is neither a library (no library.csv) nor a shape's folder: {err}"
        ) from None
    meta = read_meta(folder)
    if meta is None:  # released 3DMSL folder: the id is its name, no class is stored
        return SceneShape(mesh=mesh, id=int(folder.name) if folder.name.isdigit() else 0)
    cls = str(meta.get("class") or "")
    return SceneShape(mesh=mesh, id=int(meta.get("id", 0)), shape_class=cls)


def read_shapes(path: str | Path, *, classes: Sequence[str] | None = None) -> list[SceneShape]:
    """Shapes of a library folder (with library.csv) or of one shape's folder.

    Parameters
    ----------
    path : str or Path
        A library folder written by ``mitoshape extract`` (``library.csv`` with ``id``,
        ``folder`` and ``class`` columns; every listed folder complete), or the folder of one
        shape (``raw_mesh.off``: ours, or a released 3DMSL one in 24 nm voxel units).
    classes : sequence of str, optional
        Keep only these shape classes (library.csv's ``class`` column, or the folder's
        ``meta.json``), case-insensitive.

    Returns
    -------
    list of SceneShape, meshes in nm, in the table's order
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; pass a library or a shape's folder.")
    if not path.is_dir():
        raise NotADirectoryError(f"{path} is a file; pass a library or a shape's folder.")
    wanted = {c.strip().lower() for c in classes} if classes else None
    if not (path / "library.csv").is_file():
        shape = _read_folder(path)
        if wanted and shape.shape_class.lower() not in wanted:
            raise InputError(
                f"shape {path} has class {shape.shape_class or '(none)'!r}, not one of "
                f"{sorted(wanted)}; drop --class or pass another folder."
            )
        return [shape]
    table = read_library_table(path)
    missing = [c for c in ("id", "folder") if c not in table.columns]
    if missing:
        raise InputError(
            f"{path / 'library.csv'} has no {', '.join(missing)} column; got columns "
            f"{list(table.columns)}. Re-run `mitoshape extract` to write a complete table."
        )
    if "class" in table.columns:
        cls_col = table["class"].fillna("").astype(str)
    else:
        cls_col = [""] * len(table)
    shapes = []
    for sid, folder, cls in zip(table["id"].astype(int), table["folder"], cls_col, strict=True):
        if wanted and cls.lower() not in wanted:
            continue
        where = path / str(folder)
        if not is_complete(where):
            raise FileNotFoundError(
                f"library.csv lists shape {sid} in {where}, which is missing or incomplete (no "
                "meta.json); re-run `mitoshape extract` to finish the library."
            )
        shapes.append(SceneShape(mesh=read_mesh(where), id=int(sid), shape_class=cls))
    if not shapes:
        found = sorted(set(cls_col))
        raise InputError(
            f"no shape of class {sorted(wanted or [])} in {path}; its classes: {found}."
        )
    return shapes


def read_microscope(path: str | Path) -> Microscope:
    """A :class:`Microscope` from YAML or JSON (``name``, ``optics``, ``camera``, ``labelling``)."""
    return read_config(path, Microscope)


def read_camera(path: str | Path) -> Camera:
    """A camera (physical or 3dmsl) from YAML/JSON, as written by ``mitoshape calibrate``.

    The file holds the camera's fields, or a microscope whose ``camera`` entry is taken.
    """
    return read_config(path, RootModel[Camera], key="camera").root


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


def read_image(path: str | Path) -> np.ndarray:
    """The pixels of a grey TIFF image (through :func:`shapelib.io.read_tiff`); a stack's first
    plane. Colour images, NaN/infinite pixels and more than 3 dimensions are refused."""
    arr = as_grey_image(read_tiff(path).data, f"image {path}", ndims=(2, 3))
    return arr[0] if arr.ndim == 3 else arr


def write_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Write an (H, W, 3) uint8 array as PNG, atomically."""
    from PIL import Image

    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(np.asarray(rgb, np.uint8)).save(tmp)
    return path


def prepare_out(
    out: str | Path, *, overwrite: bool, command: str = "simulate", inputs: Sequence = ()
) -> Path:
    """Open an output folder through the output guard (:func:`shapelib.io.open_output_folder`)
    and return its path: new or empty, or an earlier mitoshape output replaced with
    ``overwrite`` (its own files only)."""
    return open_output_folder(out, command=command, inputs=inputs, overwrite=overwrite).root


REAL_SUFFIXES = (".tif", ".tiff", ".png")


@dataclass(frozen=True)
class RealImages:
    """Real 2D images of one microscope, read and checked.

    Attributes
    ----------
    names : list of str
    images : list of (H, W) ndarrays (grey, as stored: uint8, uint16, float)
    pixel_size_nm : float
    sizes : list of (H, W)
    """

    names: list
    images: list
    pixel_size_nm: float
    sizes: list


def read_real_images(
    path: str | Path | Sequence[str | Path], *, pixel_size_nm: float | None = None
) -> RealImages:
    """A folder (or a list) of real, unlabelled images: TIFF or PNG, grey (RGB with equal
    channels is grey), 2D, of one bit depth; sizes may differ.

    The pixel size comes from the files (TIFF metadata) or ``pixel_size_nm``; files that say
    different sizes, or none when ``pixel_size_nm`` is not given, are refused with the fix.
    """
    paths = [Path(p) for p in ([path] if isinstance(path, str | Path) else path)]
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.suffix.lower() in REAL_SUFFIXES)
        elif p.is_file():
            files.append(p)
        else:
            raise InputError(f"{p} does not exist; give a folder of images or image files.")
    if not files:
        raise InputError(
            f"no images (.tif, .tiff, .png) in {', '.join(map(str, paths))}; give a folder of "
            "real images."
        )
    names, images, scales = [], [], set()
    for f in files:
        img = read_grey(f, ndims=(2,))
        images.append(img.data)
        names.append(f.name)
        if img.pixel_size_nm is not None:
            scales.add(round(float(np.mean(img.pixel_size_nm)), 3))
    dtypes = sorted({str(x.dtype) for x in images})
    if len(dtypes) > 1:
        raise InputError(
            f"the images mix bit depths ({', '.join(dtypes)}); 8-bit exports and raw camera "
            "images differ in levels and noise: put each kind in its own folder."
        )
    if pixel_size_nm is None:
        if not scales:
            raise InputError(
                "the images do not say their pixel size (PNG never does); give it with "
                "--pixel-size-nm (e.g. --pixel-size-nm 80)."
            )
        if len(scales) > 1:
            raise InputError(
                f"the images say different pixel sizes ({sorted(scales)} nm); fit one "
                "microscope and magnification at a time, or give --pixel-size-nm."
            )
        pixel_size_nm = scales.pop()
    if not (1.0 <= float(pixel_size_nm) <= 5000.0):
        raise InputError(f"pixel size must be 1-5000 nm; got {pixel_size_nm}.")
    sizes = [tuple(x.shape) for x in images]
    if len(set(sizes)) > 1:
        logger.info("real images of %d sizes (fine: each is measured on its own)", len(set(sizes)))
    return RealImages(names, images, float(pixel_size_nm), sizes)


@dataclass(frozen=True)
class DatasetImage:
    """One image of a dataset: its file name and its objects (dicts with id, class, ...)."""

    name: str
    objects: tuple[dict, ...] = ()


@dataclass(frozen=True)
class DatasetInfo:
    """What ``dataset.json`` says of a simulator dataset (`write_dataset`).

    Attributes
    ----------
    n : int or None, images
    pixel_size_nm, z_step_nm : float or None
    classes : list of str, the shape classes drawn
    seed : int or None
    microscope : str or None, the microscope's name
    images : tuple of DatasetImage
    """

    n: int | None
    pixel_size_nm: float | None
    z_step_nm: float | None
    classes: list
    seed: int | None
    microscope: str | None
    images: tuple[DatasetImage, ...]


def read_dataset_info(folder: str | Path) -> DatasetInfo | None:
    """The ``dataset.json`` of a dataset folder written by `write_dataset`; None when the
    folder has none (a plain folder of images and masks)."""
    path = Path(folder) / DATASET_FILE
    if not path.is_file():
        return None
    info = read_config(path)
    try:
        images = tuple(
            DatasetImage(str(e["name"]), tuple(e.get("objects") or ()))
            for e in info.get("images", [])
        )
    except (KeyError, TypeError, AttributeError):
        raise InputError(
            f"{path} lists images without a name; it was not written by `mitoshape dataset`. "
            "Remove it, or write the dataset again."
        ) from None
    return DatasetInfo(
        n=info.get("n"),
        pixel_size_nm=info.get("pixel_size_nm"),
        z_step_nm=info.get("z_step_nm"),
        classes=list(info.get("classes") or []),
        seed=info.get("seed"),
        microscope=(info.get("microscope") or {}).get("name"),
        images=images,
    )


def scene_fit_files(out: str | Path) -> dict[str, Path]:
    """The files of a scene fit: the scene YAML and, beside it with its stem, the statistics
    (``_stats.csv``), their medians (``_summary.csv``), the rounds (``_rounds.csv``) and the
    figure (``.png``)."""
    out = Path(out)
    stem = out.with_suffix("")
    return {
        "scene": out,
        "stats": stem.with_name(stem.name + "_stats.csv"),
        "summary": stem.with_name(stem.name + "_summary.csv"),
        "rounds": stem.with_name(stem.name + "_rounds.csv"),
        "figure": stem.with_name(stem.name + ".png"),
    }


def write_scene_fit(
    fit: SceneFit,
    out: str | Path,
    *,
    real_images: Sequence[np.ndarray],
    real_names: Sequence[str],
    pixel_size_nm: float,
    inputs: Sequence[str | Path] = (),
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write a :class:`simulator.SceneFit` (see `scene_fit_files`); every file is checked
    before the first is written. Returns the files."""
    import pandas as pd

    from shapelib.io import check_output_files, claim_output_files, save_figure

    from ._fit_figure import fit_figure

    files = scene_fit_files(out)
    if files["scene"].suffix.lower() not in (".yaml", ".yml"):
        raise InputError(f"a fitted scene is a YAML file (scene.yaml); got {files['scene']}.")
    check_output_files(files.values(), inputs=inputs, overwrite=overwrite)
    stats = pd.concat(
        [
            pd.DataFrame(fit.real).assign(set="real"),
            pd.DataFrame(fit.synthetic).assign(set="synthetic"),
        ]
    )
    fig = fit_figure(
        real_images, real_names, fit.examples, fit.summary(), pixel_size_nm=pixel_size_nm
    )
    claim_output_files(files.values(), inputs=inputs, overwrite=overwrite)
    write_config(files["scene"], fit.config)
    stats.to_csv(files["stats"], index=False)
    pd.DataFrame(fit.summary()).to_csv(files["summary"], index=False)
    pd.DataFrame(fit.rounds).to_csv(files["rounds"], index=False)
    save_figure(fig, files["figure"])
    return files
