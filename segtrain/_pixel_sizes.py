"""Pixel sizes between a run and the images it predicts: the zoom that brings each image to the
pixel size of the run's training images (`predict --resample`), with the warning when they
differ and no resampling is asked for."""

from __future__ import annotations

import logging

import numpy as np

from shapelib import InputError

__all__ = ["MAX_RESAMPLE_ZOOM", "RESAMPLE_WARN_RATIO", "image_zooms"]

log = logging.getLogger(__name__)


# Pixel sizes this far from the training images' (ratio) draw a warning without `resample`.
RESAMPLE_WARN_RATIO = 1.25
# `resample` refuses zooms beyond this (either way): such a ratio is nearly always a wrong pixel
# size (a TIFF written at 72 dpi by a non-microscopy tool reads as 352,778 nm pixels), and the
# resampled image would not fit in memory or would hold a few pixels.
MAX_RESAMPLE_ZOOM = 16.0


def image_zooms(run_px: tuple[float, float] | None, pixel_sizes: dict, *, resample: bool) -> dict:
    """Per image (``where -> (y, x) pixel size or None``) the zoom `predict_image` applies for
    a run trained at `run_px`: (1, 1) without `resample` (with one warning when some sizes
    differ from the run's by more than RESAMPLE_WARN_RATIO); with it, image / run per axis, or
    an InputError when the run's size or an image's is unknown."""
    from ._predict import resample_zoom

    if resample and run_px is None:
        raise InputError(
            "resample needs the pixel size of the run's training images, and they carried "
            "none (or different ones; see split.json); retrain on TIFFs with a pixel size."
        )
    zooms, far = {}, []
    for where, px in pixel_sizes.items():
        if resample and px is None:
            raise InputError(
                f"resample needs the pixel size of {where}, which carries none; give it "
                "(--pixel-size-nm N)."
            )
        ratio = None if run_px is None or px is None else resample_zoom(px, run_px, where)
        if resample and max(max(ratio), 1 / min(ratio)) > MAX_RESAMPLE_ZOOM:
            raise InputError(
                f"{where} has {_nm(px)} nm pixels and the run's training images {_nm(run_px)} "
                f"nm: resampling by {_ratio(ratio)} (more than {MAX_RESAMPLE_ZOOM:g}x) is "
                "refused; check the image's pixel size (a 72 dpi TIFF reads as 352778 nm) or "
                "give it (--pixel-size-nm N)."
            )
        zooms[where] = ratio if resample else (1.0, 1.0)
        r = np.asarray(ratio if ratio is not None else (1.0, 1.0))
        lim = RESAMPLE_WARN_RATIO
        if not resample and (np.any(r > lim) or np.any(r < 1 / lim)):
            far.append((where, px))
    if far:
        where, px = far[0]
        log.warning(
            "%d of %d images (e.g. %s: %s nm pixels) differ in pixel size from the run's "
            "training images (%s nm) by more than %gx: objects are not the size in pixels the "
            "network learned; resampling (predict --resample) may help.",
            len(far),
            len(pixel_sizes),
            where,
            _nm(px),
            _nm(run_px),
            RESAMPLE_WARN_RATIO,
        )
    return zooms


def _nm(px) -> str:
    y, x = np.broadcast_to(np.asarray(px, dtype=float), (2,))
    return f"{y:g}" if np.isclose(y, x) else f"{y:g} x {x:g}"


def _ratio(zoom) -> str:
    y, x = zoom
    return f"{y:.3g}x" if np.isclose(y, x) else f"{y:.3g}x by {x:.3g}x"
