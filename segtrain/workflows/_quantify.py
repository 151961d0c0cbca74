"""Folders through quantify: morphology of mask folders, and its comparison with the truth
(a workflow over compute and io).

Masks are read once by `segtrain.io`; the tables come from the compute modules
`_morphology` (2D masks) and `_morphology3d` (label volumes). A mask written by
`predict_folder` carries its image's pixel size, so no pixel size need be given.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shapelib import InputError

from .. import io
from ..figures import plot_fold_change

__all__ = ["QuantifyResult", "plot_comparison", "quantify_folder"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuantifyResult:
    """Objects table, per-image table and (with truth) the per-parameter comparison."""

    objects: object  # pandas.DataFrame
    per_image: object
    comparison: object | None = None
    gt_objects: object | None = None


def _pixel_size_nm(f: io.MaskFile, given: float | None) -> float:
    """The given pixel size, else the file's (square pixels), else an error naming the file."""
    if given is not None:
        return given
    if f.pixel_size_nm is None:
        raise InputError(
            f"pixel_size_nm is required (--pixel-size-nm N): {f.path} carries no pixel size. "
            "Masks written by `mitoshape predict` from scaled TIFFs carry it."
        )
    y, x = f.pixel_size_nm
    if not math.isclose(y, x, rel_tol=1e-6):
        raise InputError(
            f"{f.path} has non-square pixels ({y:g} x {x:g} nm); 2D morphology needs square "
            "pixels. Pass pixel_size_nm (--pixel-size-nm N) to use one size."
        )
    return x


def _quantify_2d(files: dict[str, io.MaskFile], params, pixel_size_nm: float | None):
    """(objects, per image) of 2D masks, with `params` or each file's own pixel size."""
    from ..evaluate._morphology import QuantifyParams, quantify_masks

    if params is None:
        params = {
            name: QuantifyParams(pixel_size_nm=_pixel_size_nm(f, pixel_size_nm))
            for name, f in files.items()
        }
    return quantify_masks({name: f.data for name, f in files.items()}, params=params)


def _voxel_size_nm(f: io.MaskFile, given):
    if given is not None:
        return given
    if f.pixel_size_nm is None:
        raise InputError(
            f"voxel_size_nm is required (--voxel-size-nm N or z,y,x): {f.path} carries no "
            "voxel size."
        )
    y, x = f.pixel_size_nm
    if f.z_step_nm is None:
        log.warning("%s gives no z spacing; using the x size %g nm for z.", f.path, x)
    return (f.z_step_nm or x, y, x)


def _check_same_images(pred: dict, gt: dict, pred_path, gt_path) -> None:
    """Predicted and true masks compare only image by image: same names, shapes, pixel sizes."""
    io.check_names_match(pred, gt, have_where=pred_path, need_where=gt_path)
    for name in sorted(pred):
        p, g = pred[name], gt[name]
        if p.data.shape != g.data.shape:
            raise InputError(
                f"{p.path} has shape {p.data.shape} but the true {g.path} has {g.data.shape}; "
                "each prediction must be on its truth's grid."
            )
        if (
            p.pixel_size_nm
            and g.pixel_size_nm
            and not np.allclose(p.pixel_size_nm, g.pixel_size_nm, rtol=1e-6)
        ):
            raise InputError(
                f"{p.path} has {p.pixel_size_nm} nm pixels but {g.path} has "
                f"{g.pixel_size_nm} nm; compare masks of the same pixel size."
            )


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
    pixel_size_nm : float, pixel side in nm (2D); None: each TIFF's own (an error when a file
        carries none)
    gt : folder of true masks with the same names, for `compare_morphology`
    three_d : bool, quantify label volumes with shapelib (volume, surface, skeleton)
    voxel_size_nm : float or (z, y, x), for `three_d`; None: each TIFF's own
    params : QuantifyParams, overrides `pixel_size_nm` and the class thresholds

    Returns
    -------
    QuantifyResult
    """
    import pandas as pd

    from ..evaluate._morphology import compare_morphology

    if three_d:
        from ..evaluate._morphology3d import quantify_volume

        tables = []
        for name, f in io.read_masks(masks, ndim=3).items():
            t = quantify_volume(f.data, voxel_size_nm=_voxel_size_nm(f, voxel_size_nm))
            t.insert(0, "volume", name)
            t.attrs["volume"] = name
            tables.append(t)
        objects = pd.concat(tables, ignore_index=True)
        names = [str(t.attrs.get("volume", "")) for t in tables]
        counts = objects.groupby("volume")["label"].size()
        # every volume has its row, also one without objects (count 0)
        per = pd.DataFrame({"volume": names, "count": [int(counts.get(n, 0)) for n in names]})
        return QuantifyResult(objects=objects, per_image=per)
    pred_files = io.read_masks(masks)
    gt_files = None if gt is None else io.read_masks(gt)
    if gt_files is not None:
        _check_same_images(pred_files, gt_files, masks, gt)
    objects, per_image = _quantify_2d(pred_files, params, pixel_size_nm)
    if gt_files is None:
        return QuantifyResult(objects=objects, per_image=per_image)
    gt_objects, gt_per_image = _quantify_2d(gt_files, params, pixel_size_nm)
    comparison = compare_morphology(per_image, gt_per_image)
    return QuantifyResult(objects, per_image, comparison, gt_objects)


def plot_comparison(result: QuantifyResult, path: str | Path) -> Path:
    """Save `plot_fold_change` of ``result.comparison`` to `path`."""
    return io.write_figure(path, plot_fold_change(result.comparison))
