"""Pixel sizes between a network and the images it predicts: the zoom that brings an image to
the pixel size the network was trained at (`resample_zoom`, per image of a folder:
`image_zooms`, with the warning when they differ and no resampling is asked for), and the
resampling there and back (`zoom_planes`, `unzoom_probabilities`)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from shapelib import InputError, check_array_size

__all__ = [
    "MAX_RESAMPLE_ZOOM",
    "RESAMPLE_WARN_RATIO",
    "check_zoom",
    "image_zooms",
    "resample_zoom",
    "unzoom_probabilities",
    "zoom_planes",
    "zoomed",
]

log = logging.getLogger(__name__)


# Pixel sizes this far from the training images' (ratio) draw a warning without `resample`.
RESAMPLE_WARN_RATIO = 1.25
# `resample` refuses zooms beyond this (either way): such a ratio is nearly always a wrong pixel
# size (a TIFF written at 72 dpi by a non-microscopy tool reads as 352,778 nm pixels), and the
# resampled image would not fit in memory or would hold a few pixels.
MAX_RESAMPLE_ZOOM = 16.0
# Beyond this zoom (either way) an image is outside what a run was trained for (a run trained at
# 80 nm takes 40-160 nm): said in one warning.
RESAMPLE_TRAINED_ZOOM = 2.0


def image_zooms(run_px: tuple[float, float] | None, pixel_sizes: dict, *, resample: bool) -> dict:
    """Per image (``where -> (y, x) pixel size or None``) the zoom `predict_image` applies for
    a run trained at `run_px`: (1, 1) without `resample` (with one warning when some sizes
    differ from the run's by more than RESAMPLE_WARN_RATIO); with it, image / run per axis, or
    an InputError when the run's size or an image's is unknown."""
    if resample and run_px is None:
        raise InputError(
            "resample needs the pixel size of the run's training images, and they carried "
            "none (or different ones; see split.json); retrain on TIFFs with a pixel size."
        )
    zooms, far, beyond = {}, [], []
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
        if resample and max(max(ratio), 1 / min(ratio)) > RESAMPLE_TRAINED_ZOOM:
            beyond.append((where, px))
        r = np.asarray(ratio if ratio is not None else (1.0, 1.0))
        lim = RESAMPLE_WARN_RATIO
        if not resample and (np.any(r > lim) or np.any(r < 1 / lim)):
            far.append((where, px))
    if beyond:
        where, px = beyond[0]
        log.warning(
            "%d of %d images (e.g. %s: %s nm pixels) are outside what the run was trained for "
            "(%s nm): resampling by more than %gx loses or invents detail; expect worse masks.",
            len(beyond),
            len(pixel_sizes),
            where,
            _nm(px),
            _nm(run_px),
            RESAMPLE_TRAINED_ZOOM,
        )
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


def resample_zoom(image_px_nm, model_px_nm, where: str = "image") -> tuple[float, float]:
    """Per-axis zoom (y, x) that brings an image of `image_px_nm` pixels to the pixel size the
    network was trained at, `model_px_nm` (each a side or a (y, x) pair in nm): image / model,
    so 48 nm pixels for a model of 109 nm pixels give 0.44 (the image shrinks)."""
    img = np.broadcast_to(np.asarray(image_px_nm, dtype=float), (2,))
    mod = np.broadcast_to(np.asarray(model_px_nm, dtype=float), (2,))
    if not all(np.all(np.isfinite(a)) and np.all(a > 0) for a in (img, mod)):
        raise InputError(
            f"pixel sizes must be positive numbers of nm; got {image_px_nm!r} for {where} and "
            f"{model_px_nm!r} for the network."
        )
    return float(img[0] / mod[0]), float(img[1] / mod[1])


def _zoomed_shape(shape: tuple[int, int], zoom: tuple[float, float]) -> tuple[int, int]:
    return tuple(max(1, int(round(n * z))) for n, z in zip(shape, zoom, strict=True))


def check_zoom(zoom) -> tuple[float, float]:
    """`zoom` (a factor or a (y, x) pair) as two positive floats; a one-line error otherwise."""
    zoom = tuple(float(z) for z in np.broadcast_to(np.asarray(zoom, dtype=float), (2,)))
    if not all(np.isfinite(z) and z > 0 for z in zoom):
        raise InputError(f"zoom must be positive factors; got {zoom!r}.")
    return zoom


def zoom_planes(image: np.ndarray, zoom: tuple[float, float]) -> np.ndarray:
    """Resample the last two axes of a (Y, X) or (C, Y, X) image by `zoom` (linear,
    anti-aliased when shrinking); float32, the same number of axes."""
    from skimage.transform import resize

    image = np.asarray(image)
    shape = _zoomed_shape(image.shape[-2:], zoom)
    planes = image[None] if image.ndim == 2 else image
    hint = "Check the zoom (the image's pixel size)."
    check_array_size((len(planes), *shape), np.float64, what="the resampled image", hint=hint)
    smooth = any(z < 1 for z in zoom)
    out = [
        resize(c.astype(np.float32), shape, order=1, anti_aliasing=smooth, preserve_range=True)
        for c in planes
    ]
    out = np.stack(out).astype(np.float32)
    return out[0] if image.ndim == 2 else out


def unzoom_probabilities(prob: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Probability maps (.., Y', X') of a resampled image back to its (Y, X) `shape` (linear),
    clipped to [0, 1]; float32."""
    from skimage.transform import resize

    prob = np.asarray(prob, np.float32)
    back = resize(prob, (*prob.shape[:-2], *shape), order=1, preserve_range=True)
    return np.clip(back, 0, 1).astype(np.float32)


def zoomed(image: np.ndarray, zoom, predict: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """`predict` of `image` resampled by `zoom` (a factor or (y, x) factors), its probability
    maps (..., Y', X') resampled back to the image's (Y, X) and clipped to [0, 1]; `predict`
    of `image` itself for a zoom of 1."""
    zoom = check_zoom(zoom)
    if zoom == (1.0, 1.0):
        return predict(image)
    return unzoom_probabilities(predict(zoom_planes(image, zoom)), np.shape(image)[-2:])
