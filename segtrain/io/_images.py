"""Images and masks on disk: the one table of folder names, single files with their scale, and
folders of masks read once.

PNG files carry no scale; TIFFs are read with ``shapelib.io.read_tiff``, so an image comes back
with the pixel size (and z step) its metadata gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shapelib import InputError, as_grey_image
from shapelib.io import TIFF_SUFFIXES, read_grey, read_scaled_image

__all__ = [
    "IMAGE_DIRS",
    "IMAGE_SUFFIXES",
    "INSTANCE_DIR",
    "MASK_DIRS",
    "MaskFile",
    "as_mask",
    "check_names_match",
    "image_folder",
    "instance_folder",
    "list_images",
    "mask_folder",
    "read_grey",
    "read_image",
    "read_mask",
    "read_instances",
    "read_masks",
    "read_scaled_image",
]

IMAGE_SUFFIXES = (*TIFF_SUFFIXES, ".png")

# The one table of folder names inside a dataset folder, in order of preference. A dataset holds
# images in one of IMAGE_DIRS, their masks (same file names) in one of MASK_DIRS, and optionally
# instance ids in INSTANCE_DIR (a simulator dataset), which also serves as masks when no
# MASK_DIRS folder exists.
IMAGE_DIRS = ("images", "image", "img", "raw")
MASK_DIRS = ("masks", "mask", "labels", "label", "gt")
INSTANCE_DIR = "instances"


def check_names_match(
    have, need, *, have_where, need_where, nouns=("prediction", "truth"), both_ways=True
) -> None:
    """Files of two folders pair by name (the extension may differ): every name of `need` is
    in `have` (and, `both_ways`, every name of `have` in `need`); an InputError that names
    what is missing where otherwise. `nouns`: what `have` and `need` hold."""
    have, need = set(have), set(need)
    missing, extra = sorted(need - have), sorted(have - need) if both_ways else []
    if not (missing or extra):
        return
    a, b = nouns
    parts = [f"no {a} in {have_where} for {missing[:5]}"] if missing else []
    parts += [f"no {b} in {need_where} for {extra[:5]}"] if extra else []
    raise InputError(
        f"{a} and {b} names differ: {'; '.join(parts)}. Names must match (extension may differ)."
    )


def _first_dir(root: Path, names: tuple[str, ...]) -> Path | None:
    return next((root / n for n in names if (root / n).is_dir()), None)


def image_folder(path: str | Path) -> Path:
    """The folder of images in `path` (its ``images/``, ``image/``, ... subfolder) or `path`."""
    path = Path(path)
    return (_first_dir(path, IMAGE_DIRS) if path.is_dir() else None) or path


def mask_folder(path: str | Path) -> Path:
    """The folder of masks in `path` (``masks/``, ..., else ``instances/``) or `path` itself."""
    path = Path(path)
    if not path.is_dir():
        return path
    return _first_dir(path, MASK_DIRS) or _first_dir(path, (INSTANCE_DIR,)) or path


def instance_folder(path: str | Path) -> Path | None:
    """The ``instances/`` folder of a dataset folder, or None."""
    return _first_dir(Path(path), (INSTANCE_DIR,)) if Path(path).is_dir() else None


def list_images(folder: str | Path) -> list[Path]:
    """Image files (PNG or TIFF) in `folder`, sorted by name; an error if there are none, or
    if two share a name (``a.png`` beside ``a.tif``: their results would write over each other).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"expected a folder of images; {folder} is not a folder.")
    files = sorted(
        p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
    )
    if not files:
        raise InputError(
            f"folder {folder} holds no .png/.tif/.tiff images; point to the folder with the images."
        )
    stems: dict[str, Path] = {}
    for p in files:
        if p.stem in stems:
            raise InputError(
                f"{stems[p.stem].name} and {p.name} in {folder} share the name {p.stem!r}; "
                "results are named by it, so one would write over the other. Keep one."
            )
        stems[p.stem] = p
    return files


def read_image(path: str | Path) -> np.ndarray:
    """Read a PNG or TIFF as an array (2D image or 3D stack, as stored), without its scale."""
    return read_scaled_image(path).data


def as_mask(arr: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray | None]:
    """A stored mask (0/1, 0/255, bool or instance ids) as (mask uint8 {0, 1}, instances|None).

    `where` names the file in errors. Background 0 and one other value (1, 255, 65535, 2) are
    a binary mask, whatever the foreground value; instance ids are returned when there are
    more values (a one-object label image reads the same either way).
    """
    if arr.dtype.kind == "b":
        return arr.astype(np.uint8), None
    if arr.size == 0:
        raise InputError(f"mask {where} is empty (shape {arr.shape}).")
    if arr.dtype.kind not in "ui":
        if (
            arr.dtype.kind == "f"
            and np.all(np.isfinite(arr))
            and np.all(np.mod(arr, 1) == 0)
            and arr.min() >= 0
        ):
            arr = arr.astype(np.int64)
        else:
            raise InputError(
                f"mask {where} must hold integers (0/1, 0/255 or instance ids); got {arr.dtype} "
                "with fractional values. Threshold probabilities first (mitoshape predict "
                "writes masks beside probabilities)."
            )
    if arr.min() < 0:
        raise InputError(f"mask {where} has negative values; expected 0 = background, > 0 objects.")
    values = np.unique(arr)
    if values.size == 1 or (values.size == 2 and values[0] == 0):
        return (arr > 0).astype(np.uint8), None
    if values.max() > np.iinfo(np.int32).max:
        raise InputError(f"mask {where} has instance ids above 2^31 - 1; relabel them.")
    return (arr > 0).astype(np.uint8), arr.astype(np.int32)


def read_mask(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a mask file; returns the binary mask (uint8 0/1) and instance ids (or None)."""
    arr = as_grey_image(read_image(path), f"mask {path}", ndims=(2,))
    return as_mask(arr, str(path))


def read_instances(folder: Path | None, name: str) -> np.ndarray | None:
    """Instance ids stored as ``folder/name`` (any image suffix) as int32, or None."""
    if folder is None:
        return None
    hit = next(
        (folder / (name + s) for s in IMAGE_SUFFIXES if (folder / (name + s)).is_file()), None
    )
    if hit is None:
        return None
    arr = as_grey_image(read_image(hit), f"instance labels {hit}", ndims=(2,))
    if arr.dtype.kind not in "biu":
        raise InputError(f"instance labels {hit} must be integers; got {arr.dtype}.")
    return arr.astype(np.int32)


@dataclass(frozen=True, eq=False)
class MaskFile:
    """A mask or label image read from `path`, with the scale its metadata gives.

    Attributes
    ----------
    path : Path
    data : ndarray of int, 0/1 mask or instance ids (2D), label volume (3D)
    pixel_size_nm : (y, x) floats in nm, or None when the file does not say
    z_step_nm : float in nm, or None when the file does not say
    """

    path: Path
    data: np.ndarray
    pixel_size_nm: tuple[float, float] | None = None
    z_step_nm: float | None = None


def read_masks(path: str | Path, *, ndim: int = 2, threshold: float = 0.5) -> dict[str, MaskFile]:
    """Read every mask, probability or label image of a folder (or one file), once.

    A dataset folder is read from its mask folder (`mask_folder`). Probabilities (float in
    [0, 1]) are thresholded at `threshold` (>= is foreground); 2D masks 0/1 and 0/255 become
    0/1; instance ids (integers, or integral floats) stay ids.

    Returns
    -------
    dict name (file stem) -> MaskFile, sorted by name
    """
    path = mask_folder(path)
    files = [path] if path.is_file() else list_images(path)
    out = {}
    for f in files:
        img = read_scaled_image(f)
        arr = img.data
        if arr.ndim == 3 and ndim == 2 and arr.shape[-1] in (3, 4) and arr.shape[0] > 4:
            arr = as_grey_image(arr, str(f))  # a grey mask saved as RGB
        if arr.ndim != ndim:
            raise InputError(
                f"{f} has {arr.ndim} dimensions; expected {ndim}D here (2D masks, or 3D label "
                "volumes where 3D is asked for, e.g. quantify --3d)."
            )
        arr = as_grey_image(arr, str(f), ndims=(ndim,))
        if arr.dtype.kind == "f":
            if arr.size and arr.min() >= 0 and arr.max() <= 1:  # probabilities
                arr = (arr >= threshold).astype(np.uint8)
            elif np.all(np.mod(arr, 1) == 0):  # ids stored as floats
                arr = arr.astype(np.int64)
            else:
                raise InputError(
                    f"{f} holds fractional values outside [0, 1]; expected probabilities, a "
                    "mask (0/1, 0/255) or instance ids."
                )
        # 2D and 3D alike: no negative ids, none above 2^31 - 1 (a 3D id near 2^62 crashed
        # the object search with SIGBUS)
        mask, inst = as_mask(arr, str(f))
        arr = inst if inst is not None else mask
        out[f.stem] = MaskFile(f, arr, img.pixel_size_nm, img.z_step_nm)
    return out
