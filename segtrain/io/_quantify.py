"""Quantify a folder of masks (2D) or label volumes (3D), optionally against true masks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._files import _as_mask_and_instances, list_images, read_image

__all__ = ["QuantifyResult", "plot_comparison", "quantify_folder", "read_masks"]


@dataclass(frozen=True)
class QuantifyResult:
    """Objects table, per-image table and (with truth) the per-parameter comparison."""

    objects: object  # pandas.DataFrame
    per_image: object
    comparison: object | None = None
    gt_objects: object | None = None


def _mask_folder(path: Path) -> Path:
    if path.is_dir():
        for d in ("masks", "labels", "label", "instances"):
            if (path / d).is_dir():
                return path / d
    return path


def read_masks(path: str | Path, *, ndim: int = 2) -> dict[str, np.ndarray]:
    """Read masks or label images from a file or folder: name -> (Y, X) (or (Z, Y, X)) array.

    Probabilities (float) are thresholded at 0.5; masks 0/1, 0/255 and instance ids are kept
    as integers (instance ids stay ids).
    """
    path = _mask_folder(Path(path))
    files = [path] if path.is_file() else list_images(path)
    out = {}
    for f in files:
        arr = read_image(f)
        if arr.ndim != ndim:
            raise ValueError(
                f"{f} has {arr.ndim} dimensions; expected {ndim}D "
                f"({'use --3d for label volumes' if arr.ndim == 3 else 'pass 3D label volumes'})."
            )
        if arr.dtype.kind == "f":
            arr = (arr >= 0.5).astype(np.uint8) if arr.max() <= 1 else arr.astype(np.int64)
        if ndim == 2:
            mask, inst = _as_mask_and_instances(arr, str(f))
            arr = inst if inst is not None else mask
        out[f.stem] = arr
    return out


def quantify_folder(
    masks: str | Path,
    *,
    pixel_size_nm: float | None = None,
    gt: str | Path | None = None,
    three_d: bool = False,
    voxel_size_nm=None,
    params=None,
) -> QuantifyResult:
    """Morphology of every mask in `masks` (and the comparison with `gt` when given).

    Parameters
    ----------
    masks : folder (or file) of 2D masks / instance images, or of 3D label volumes with `three_d`
    pixel_size_nm : float, pixel side in nm (2D)
    gt : folder of true masks with the same names, for `compare_morphology`
    three_d : bool, quantify label volumes with shapelib (volume, surface, skeleton)
    voxel_size_nm : float or (z, y, x), for `three_d`
    params : QuantifyParams, overrides `pixel_size_nm` and the class thresholds

    Returns
    -------
    QuantifyResult
    """
    from .._morphology import QuantifyParams, compare_morphology, quantify_masks

    if three_d:
        from .._morphology3d import quantify_volume

        vols = read_masks(masks, ndim=3)
        import pandas as pd

        tables = []
        for name, v in vols.items():
            t = quantify_volume(v, voxel_size_nm=voxel_size_nm)
            t.insert(0, "volume", name)
            tables.append(t)
        objects = pd.concat(tables, ignore_index=True)
        per = objects.groupby("volume").agg(count=("label", "size")).reset_index()
        return QuantifyResult(objects=objects, per_image=per)
    if params is None:
        if pixel_size_nm is None:
            raise ValueError("pixel_size_nm is required (--pixel-size-nm N): masks carry no scale.")
        params = QuantifyParams(pixel_size_nm=pixel_size_nm)
    objects, per_image = quantify_masks(read_masks(masks), params=params)
    if gt is None:
        return QuantifyResult(objects=objects, per_image=per_image)
    gt_objects, gt_per_image = quantify_masks(read_masks(gt), params=params)
    comparison = compare_morphology(per_image, gt_per_image)
    return QuantifyResult(objects, per_image, comparison, gt_objects)


def plot_comparison(result: QuantifyResult, path: str | Path) -> Path:
    """Bar plot of the fold change (pred / true) per parameter, with the 1.0 line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = result.comparison
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar(c["parameter"], c["fold_change"], color="tab:blue")
    ax.axhline(1.0, color="k", lw=1)
    ax.set_ylabel("fold change (predicted / true)")
    ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
