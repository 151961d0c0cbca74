"""The served datasets: a simulator dataset's images, masks and instance labels, and per image
its objects and their classes from ``dataset.json``.

A plain folder of ``images/`` and ``masks/`` (no ``dataset.json``) is served too, without
objects. Folder names come from `segtrain.io` (the one table of them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import HTTPException

from shapelib import InputError

from ._cache import BytesCache
from ._paths import inside, safe_name

__all__ = ["DatasetCatalog", "Dataset", "LAYERS"]

LAYERS = ("image", "mask", "instances")


@dataclass
class Dataset:
    """One served dataset: URL key, resolved folder, and its layer folders and images."""

    key: str
    name: str
    path: Path
    folders: dict  # layer -> folder name inside `path` (or None)
    images: list[dict] = field(default_factory=list)  # {"name", "objects"}
    info: dict = field(default_factory=dict)


def _open_dataset(path: Path, taken: set[str]) -> Dataset:
    from segtrain.io import image_folder, instance_folder, list_images, mask_folder
    from simulator.io import read_dataset_info

    if not path.is_dir():
        raise FileNotFoundError(f"--dataset {path} is not a folder; pass a dataset folder.")
    root = path.resolve()
    images_dir = image_folder(root)
    if images_dir == root:
        raise InputError(
            f"--dataset {path} has no images/ folder; pass a folder written by "
            "`mitoshape dataset` (images/, masks/, instances/, dataset.json)."
        )
    masks_dir, inst_dir = mask_folder(root), instance_folder(root)
    folders = {
        "image": images_dir.name,
        "mask": masks_dir.name if masks_dir != root else None,
        "instances": inst_dir.name if inst_dir is not None else None,
    }
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", root.name).strip("-") or "dataset"
    key, k = base, 2
    while key in taken:
        key, k = f"{base}-{k}", k + 1
    ds = Dataset(key, root.name, root, folders)
    info = read_dataset_info(root)
    if info is not None:
        keys = ("n", "pixel_size_nm", "z_step_nm", "classes", "seed", "microscope")
        ds.info = {k: getattr(info, k) for k in keys}
        ds.images = [{"name": e.name, "objects": list(e.objects)} for e in info.images]
    else:
        ds.images = [{"name": p.name, "objects": []} for p in list_images(images_dir)]
    return ds


class DatasetCatalog:
    """Every dataset served, by key; pictures of its images cached."""

    def __init__(self, paths):
        taken: set[str] = set()
        self.datasets: dict[str, Dataset] = {}
        for p in paths:
            ds = _open_dataset(Path(p), taken)
            taken.add(ds.key)
            self.datasets[ds.key] = ds
        self.cache = BytesCache(64 * 1024 * 1024)

    def dataset(self, key: str) -> Dataset:
        ds = self.datasets.get(key)
        if ds is None:
            raise HTTPException(404, f"no dataset {key!r}; served: {', '.join(self.datasets)}")
        return ds

    def png(self, key: str, layer: str, name: str) -> bytes:
        """A picture of one image, its mask or its instance labels."""
        from segtrain.io import read_image

        from ._png import grey_png, labels_png, mask_png

        ds = self.dataset(key)
        safe_name(name, what="image")
        if layer not in LAYERS or ds.folders.get(layer) is None:
            raise HTTPException(404, f"dataset {key!r} has no {layer!r} layer")
        if all(e["name"] != name for e in ds.images):
            raise HTTPException(404, f"dataset {key!r} has no image {name!r}")
        path = inside(ds.path, f"{ds.folders[layer]}/{name}")
        draw = {"image": grey_png, "mask": mask_png, "instances": labels_png}[layer]
        return self.cache.get((key, layer, name), lambda: draw(read_image(path)))
