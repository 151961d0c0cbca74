"""Labelled training and test data: image/mask folders, EM stacks, simulator datasets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shapelib import InputError

from ._images import (
    IMAGE_DIRS,
    MASK_DIRS,
    as_mask,
    check_names_match,
    image_folder,
    instance_folder,
    list_images,
    mask_folder,
    read_grey,
    read_instances,
    read_mask,
    read_scaled_image,
)

__all__ = [
    "LabeledImage",
    "UnlabelledImage",
    "parse_slice",
    "read_pairs_folder",
    "read_source",
    "read_stack",
    "read_unlabelled",
    "source_kind",
]


@dataclass(frozen=True, slots=True, eq=False)
class LabeledImage:
    """One 2D image with its binary mask, (optional) instance labels and pixel size.

    Attributes
    ----------
    name : str
    image : (Y, X) ndarray of float32, raw intensities (not yet normalised); or (C, Y, X) for
        2.5D input: the slice at index C // 2 and its neighbours above and below
    mask : (Y, X) ndarray of uint8 {0, 1}
    instances : (Y, X) ndarray of int32 or None, 0 = background
    source : str, the source's name (for mixtures and tables)
    pixel_size_nm : (y, x) floats in nm, or None when the image file does not say
    index : int or None, the slice's index in its EM stack (None: not from a stack)
    """

    name: str
    image: np.ndarray
    mask: np.ndarray
    instances: np.ndarray | None = None
    source: str = ""
    pixel_size_nm: tuple[float, float] | None = None
    index: int | None = None


@dataclass(frozen=True, slots=True, eq=False)
class UnlabelledImage:
    """One 2D image without a mask (self-training material).

    Attributes
    ----------
    name : str, the file name's stem (``{stem}_z0000`` for a slice of a stack)
    image : (Y, X) ndarray of float32, raw intensities (not yet normalised)
    source : str, the path it was read from
    """

    name: str
    image: np.ndarray
    source: str = ""


def read_unlabelled(path: str | Path) -> list[UnlabelledImage]:
    """Images without masks: a folder of images (PNG or TIFF), one 2D image, or an EM stack
    TIFF (3D: one image per slice, named ``{stem}_z0000`` ...)."""
    path = Path(path)
    if path.is_dir():
        files = list_images(path)
        return [
            UnlabelledImage(p.stem, read_grey(p).data.astype(np.float32), str(path)) for p in files
        ]
    if not path.is_file():
        raise FileNotFoundError(
            f"unlabelled images {path} do not exist; give a folder of images, an image or an EM "
            "stack TIFF."
        )
    data = read_grey(path, ndims=(2, 3)).data.astype(np.float32)
    if data.ndim == 2:
        return [UnlabelledImage(path.stem, data, str(path))]
    return [UnlabelledImage(f"{path.stem}_z{z:04d}", s, str(path)) for z, s in enumerate(data)]


def read_pairs_folder(root: str | Path, *, source: str | None = None) -> list[LabeledImage]:
    """Read a folder with ``images/`` and ``masks/`` (or ``labels/``) of matching file names.

    Folder names: `segtrain.io.IMAGE_DIRS` and `MASK_DIRS`. Masks may be 0/1, 0/255 or instance
    ids. A simulator dataset's ``instances/`` folder, when present, supplies the instance labels
    (and the masks when there is no masks folder).
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"expected a data folder with images/ and masks/; {root} is absent."
        )
    img_dir, mask_dir = image_folder(root), mask_folder(root)
    if root in (img_dir, mask_dir):
        raise InputError(
            f"folder {root} must contain an images/ (or {', '.join(IMAGE_DIRS[1:])}) and a "
            f"masks/ (or {', '.join(MASK_DIRS[1:])}) folder; found "
            f"{sorted(p.name for p in root.iterdir() if p.is_dir())}."
        )
    inst_dir = instance_folder(root)
    if inst_dir == mask_dir:
        inst_dir = None
    images = list_images(img_dir)
    masks = {p.stem: p for p in list_images(mask_dir)}
    stems = [p.stem for p in images]
    kw = {"have_where": mask_dir, "need_where": img_dir, "both_ways": False}
    check_names_match(masks, stems, nouns=("mask", "image"), **kw)
    out = []
    src = source or root.name
    for p in images:
        img = read_grey(p)
        mask, inst = read_mask(masks[p.stem])
        if mask.shape != img.data.shape:
            raise InputError(
                f"mask {masks[p.stem]} has shape {mask.shape} but image {p} has "
                f"{img.data.shape}; each mask must match its image."
            )
        beside = read_instances(inst_dir, p.stem)
        inst = beside if beside is not None else inst
        out.append(
            LabeledImage(p.stem, img.data.astype(np.float32), mask, inst, src, img.pixel_size_nm)
        )
    return out


def parse_slice(text: str | None) -> slice:
    """``'0:100'``, ``'::10'`` or ``'5'`` as a slice (None or '' = everything)."""
    if not text:
        return slice(None)
    try:
        parts = [int(t) if t.strip() else None for t in text.split(":")]
    except ValueError:
        raise InputError(f"slices must look like '0:100' or '::10'; got {text!r}.") from None
    if len(parts) == 1:
        return slice(parts[0], parts[0] + 1)
    return slice(*parts[:3])


def read_stack(
    image_path: str | Path,
    label_path: str | Path,
    *,
    slices: str | None = None,
    source: str | None = None,
    context: int = 0,
) -> list[LabeledImage]:
    """Read an EM stack (TIFF volume) and its label volume, split into 2D slices.

    With ``context = k > 0`` each slice's image is (2k + 1, Y, X): the slices z - k .. z + k of
    the whole volume (the first and last slice repeated beyond the ends), for 2.5D input;
    `slices` still selects which slices are returned.
    """
    for p in (image_path, label_path):
        if not Path(p).is_file():
            raise FileNotFoundError(f"stack file {p} does not exist.")
    vol = read_grey(image_path, ndims=(3,))
    lab = read_scaled_image(label_path).data
    if vol.data.ndim != 3 or vol.data.shape != lab.shape:
        raise InputError(
            f"an EM stack needs a 3D image volume and a label volume of the same shape; got "
            f"{vol.data.shape} ({image_path}) and {lab.shape} ({label_path})."
        )
    src = source or Path(image_path).stem
    out = []
    n_z = vol.data.shape[0]
    for z in range(n_z)[parse_slice(slices)]:
        mask, inst = as_mask(lab[z], f"{label_path}[{z}]")
        if context > 0:
            zs = np.clip(np.arange(z - context, z + context + 1), 0, n_z - 1)
            image = vol.data[zs].astype(np.float32)
        else:
            image = vol.data[z].astype(np.float32)
        name = f"{src}_z{z:04d}"
        out.append(LabeledImage(name, image, mask, inst, src, vol.pixel_size_nm, index=z))
    return out


def source_kind(source) -> str:
    """How a `DataSource` is read: its ``kind``, or for "auto" "stack" (a file, or a
    label_path given), "simulator" (a folder with dataset.json) or "folder"."""
    from simulator.io import DATASET_FILE  # the simulator owns its dataset's files

    path = Path(source.path)
    if source.kind != "auto":
        return source.kind
    if source.label_path is not None or path.is_file():
        return "stack"
    return "simulator" if (path / DATASET_FILE).is_file() else "folder"


def read_source(source, *, context: int = 0) -> list[LabeledImage]:
    """Read one `DataSource` (folder of pairs, simulator dataset, or EM stack).

    `source` is read by its fields (``path``, ``kind``, ``label_path``, ``slices``, ``name``).
    ``context > 0`` (2.5D input, see `read_stack`) needs an EM stack (a folder of numbered
    sections: read it with context 0, then `segtrain.training._sections`).
    """
    from simulator.io import DATASET_FILE  # the simulator owns its dataset's files

    path = Path(source.path)
    kind = source_kind(source)
    name = source.name or path.stem
    if kind == "stack":
        if source.label_path is None:
            raise InputError(f"EM stack {path} needs label_path (the label volume) in its source.")
        return read_stack(
            path, source.label_path, slices=source.slices, source=name, context=context
        )
    if context > 0:
        raise InputError(
            f"2.5D input (context_slices={context}) needs EM stacks, but {path} is a folder of "
            "2D images whose neighbours are unknown; give the stack TIFF and its label_path "
            "(kind: stack), or set context_slices to 0."
        )
    if kind == "simulator" and not (path / DATASET_FILE).is_file():
        raise FileNotFoundError(f"simulator dataset {path} has no {DATASET_FILE}.")
    items = read_pairs_folder(path, source=name)
    if source.slices:
        items = items[parse_slice(source.slices)]
    return items
