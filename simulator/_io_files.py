"""File writers and readers shared by the simulator's io modules (TIFF, YAML, JSON, PNG)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

__all__ = ["write_yaml", "write_tiff", "read_image", "write_png", "write_json", "prepare_out"]


def write_yaml(path: str | Path, model) -> Path:
    """Write a pydantic model (or a dict) as YAML; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = model.model_dump(mode="json") if hasattr(model, "model_dump") else model
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def write_tiff(path: str | Path, data: np.ndarray, *, pixel_size_nm: float, z_step_nm=None):
    """ImageJ TIFF (opens in Fiji/napari) with the pixel size in um in its metadata."""
    import tifffile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.asarray(data)
    if arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8)
    px_um = pixel_size_nm / 1000.0
    meta = {"unit": "um", "axes": "ZYX" if arr.ndim == 3 else "YX"}
    if z_step_nm is not None:
        meta["spacing"] = z_step_nm / 1000.0
    tifffile.imwrite(
        path, arr, imagej=True, resolution=(1 / px_um, 1 / px_um), metadata=meta, compression=None
    )
    return path


def read_image(path: str | Path) -> np.ndarray:
    """A 2D image from a TIFF (first plane of a stack)."""
    import tifffile

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image {path} not found")
    arr = tifffile.imread(path)
    while arr.ndim > 2:
        arr = arr[0]
    return arr


def write_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Write an (H, W, 3) uint8 array as PNG."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(rgb, np.uint8)).save(path)
    return path


def write_json(path: str | Path, data: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))
    return path


def prepare_out(out: str | Path, *, overwrite: bool) -> Path:
    """Create an output folder; refuse a non-empty one unless ``overwrite``."""
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"output folder {out} is not empty; choose another or --overwrite")
    out.mkdir(parents=True, exist_ok=True)
    return out
