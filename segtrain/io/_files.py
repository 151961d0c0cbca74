"""Reading images, masks, image/mask folders, EM stacks and simulator datasets; writing TIFFs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

__all__ = [
    "IMAGE_SUFFIXES",
    "read_json",
    "LabeledImage",
    "list_images",
    "read_image",
    "read_mask",
    "read_pairs_folder",
    "read_stack",
    "read_source",
    "write_tiff",
]

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".tif", ".tiff", ".png")
_IMAGE_DIRS = ("images", "image", "img", "raw")
_MASK_DIRS = ("masks", "mask", "labels", "label", "instances", "gt")


class LabeledImage:
    """One 2D image with its binary mask and (optional) instance labels.

    Attributes
    ----------
    name : str
    image : (Y, X) ndarray of float32, raw intensities (not yet normalised)
    mask : (Y, X) ndarray of uint8 {0, 1}
    instances : (Y, X) ndarray of int32 or None, 0 = background
    source : str, the source's name (for mixtures and tables)
    """

    __slots__ = ("name", "image", "mask", "instances", "source")

    def __init__(self, name, image, mask, instances=None, source=""):
        self.name = name
        self.image = image
        self.mask = mask
        self.instances = instances
        self.source = source


def list_images(folder: str | Path) -> list[Path]:
    """Image files (PNG or TIFF) in `folder`, sorted by name; an error if there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"expected a folder of images; {folder} is not a folder.")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(
            f"folder {folder} holds no .png/.tif/.tiff images; point to the folder with the images."
        )
    return files


def read_image(path: str | Path) -> np.ndarray:
    """Read a PNG or TIFF as an array (2D image or 3D stack, as stored)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file {path} does not exist.")
    if path.suffix.lower() in (".tif", ".tiff"):
        import tifffile

        return tifffile.imread(path)
    import skimage.io

    arr = skimage.io.imread(path)
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):  # RGB(A) PNG of a grey image
        arr = arr[..., 0]
    return arr


def _as_mask_and_instances(arr: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Turn a stored mask (0/1, 0/255, bool or instance ids) into (mask uint8, instances|None)."""
    if arr.dtype.kind == "b":
        return arr.astype(np.uint8), None
    if arr.dtype.kind not in "ui":
        if arr.dtype.kind == "f" and np.all(np.mod(arr, 1) == 0) and arr.min() >= 0:
            arr = arr.astype(np.int64)
        else:
            raise ValueError(
                f"mask {where} must hold integers (0/1, 0/255 or instance ids); got {arr.dtype} "
                "with fractional values. Threshold probabilities first (mitoshape predict "
                "writes masks beside probabilities)."
            )
    if arr.min() < 0:
        raise ValueError(f"mask {where} has negative values; expected 0 = background, > 0 objects.")
    values = np.unique(arr)
    if values.size <= 2 and (values.max(initial=0) in (1, 255) or values.size == 1):
        return (arr > 0).astype(np.uint8), None
    return (arr > 0).astype(np.uint8), arr.astype(np.int32)


def read_mask(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a mask file; returns the binary mask (uint8 0/1) and instance ids (or None)."""
    arr = read_image(path)
    if arr.ndim != 2:
        raise ValueError(f"mask {path} must be a 2D image; got shape {arr.shape}.")
    return _as_mask_and_instances(arr, str(path))


def _find_dir(root: Path, names: tuple[str, ...]) -> Path | None:
    for n in names:
        if (root / n).is_dir():
            return root / n
    return None


def read_pairs_folder(root: str | Path, *, source: str | None = None) -> list[LabeledImage]:
    """Read a folder with ``images/`` and ``masks/`` (or ``labels/``) of matching file names.

    Masks may be 0/1, 0/255 or instance ids. A simulator dataset's ``instances/`` folder, when
    present, supplies the instance labels.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"expected a data folder with images/ and masks/; {root} is absent."
        )
    img_dir = _find_dir(root, _IMAGE_DIRS)
    mask_dir = _find_dir(root, tuple(d for d in _MASK_DIRS if d != "instances"))
    mask_dir = mask_dir or _find_dir(root, ("instances",))
    if img_dir is None or mask_dir is None:
        raise ValueError(
            f"folder {root} must contain an images/ (or image/) and a masks/ (or labels/, "
            f"label/) folder; found {sorted(p.name for p in root.iterdir() if p.is_dir())}."
        )
    inst_dir = root / "instances" if (root / "instances").is_dir() else None
    images = list_images(img_dir)
    masks = {p.stem: p for p in list_images(mask_dir)}
    missing = [p.name for p in images if p.stem not in masks]
    if missing:
        raise ValueError(
            f"images without a mask of the same name in {mask_dir}: {missing[:5]}"
            f"{' ...' if len(missing) > 5 else ''}; names must match (extension may differ)."
        )
    out = []
    src = source or root.name
    for p in images:
        image = read_image(p)
        if image.ndim != 2:
            raise ValueError(f"image {p} must be 2D (Y, X) grey; got shape {image.shape}.")
        mask, inst = read_mask(masks[p.stem])
        if mask.shape != image.shape:
            raise ValueError(
                f"mask {masks[p.stem]} has shape {mask.shape} but image {p} has {image.shape}; "
                "each mask must match its image."
            )
        if inst_dir is not None and inst_dir != mask_dir:
            cands = [inst_dir / (p.stem + s) for s in IMAGE_SUFFIXES]
            hit = next((c for c in cands if c.is_file()), None)
            if hit is not None:
                inst = read_image(hit).astype(np.int32)
        out.append(LabeledImage(p.stem, image.astype(np.float32), mask, inst, src))
    return out


def _parse_slice(text: str | None) -> slice:
    if not text:
        return slice(None)
    try:
        parts = [int(t) if t.strip() else None for t in text.split(":")]
    except ValueError:
        raise ValueError(f"slices must look like '0:100' or '::10'; got {text!r}.") from None
    if len(parts) == 1:
        return slice(parts[0], parts[0] + 1)
    return slice(*parts[:3])


def read_stack(
    image_path: str | Path,
    label_path: str | Path,
    *,
    slices: str | None = None,
    source: str | None = None,
) -> list[LabeledImage]:
    """Read an EM stack (TIFF volume) and its label volume, split into 2D slices."""
    import tifffile

    for p in (image_path, label_path):
        if not Path(p).is_file():
            raise FileNotFoundError(f"stack file {p} does not exist.")
    vol = tifffile.imread(image_path)
    lab = tifffile.imread(label_path)
    if vol.ndim != 3 or vol.shape != lab.shape:
        raise ValueError(
            f"an EM stack needs a 3D image volume and a label volume of the same shape; got "
            f"{vol.shape} ({image_path}) and {lab.shape} ({label_path})."
        )
    sl = _parse_slice(slices)
    src = source or Path(image_path).stem
    out = []
    for z in range(vol.shape[0])[sl]:
        mask, inst = _as_mask_and_instances(lab[z], f"{label_path}[{z}]")
        out.append(LabeledImage(f"{src}_z{z:04d}", vol[z].astype(np.float32), mask, inst, src))
    return out


def read_source(source) -> list[LabeledImage]:
    """Read one `DataSource` (folder of pairs, simulator dataset, or EM stack)."""
    path = Path(source.path)
    kind = source.kind
    if kind == "auto":
        if source.label_path is not None or path.is_file():
            kind = "stack"
        elif (path / "dataset.json").is_file():
            kind = "simulator"
        else:
            kind = "folder"
    name = source.name or path.stem
    if kind == "stack":
        if source.label_path is None:
            raise ValueError(f"EM stack {path} needs label_path (the label volume) in its source.")
        return read_stack(path, source.label_path, slices=source.slices, source=name)
    if kind == "simulator" and not (path / "dataset.json").is_file():
        raise FileNotFoundError(f"simulator dataset {path} has no dataset.json.")
    items = read_pairs_folder(path, source=name)
    if source.slices:
        items = items[_parse_slice(source.slices)]
    return items


def read_json(path: str | Path) -> dict:
    """Read a JSON file."""
    return json.loads(Path(path).read_text())


def write_tiff(path: str | Path, array: np.ndarray) -> None:
    """Write an array as a zlib-compressed TIFF, creating the parent folder."""
    import tifffile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, array, compression="zlib", photometric="minisblack")
