"""Segment an image layer with a trained run (or a shipped model): instance labels and the
probability, as napari layer data at the image's scale. The widget (`_widget.py`) calls this;
it needs no viewer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def segment_image(
    image: np.ndarray, run: str, *, scale: Sequence[float] | None = None
) -> list[tuple]:
    """Predict a 2D image, or a (Z, Y, X) stack slice by slice, with `run` (a run folder or a
    shipped model's name).

    Returns
    -------
    [(probability, kwargs, "image"), (instances, kwargs, "labels")]: the instance ids are the
    mask's connected components, numbered as `mitoshape quantify` numbers them
    """
    from segtrain import Run
    from segtrain.evaluate import label_objects
    from shapelib import InputError

    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise InputError(
            f"the image layer is {image.ndim}D {image.shape}; segment takes a 2D image or a "
            "(Z, Y, X) stack (predicted slice by slice)."
        )
    seg = Run.open(run).segment(image, where="the image layer")
    kw = {} if scale is None else {"scale": tuple(float(s) for s in scale)}
    return [
        (seg.probability, {"name": "probability", "visible": False, **kw}, "image"),
        (label_objects(seg.mask), {"name": "instances", **kw}, "labels"),
    ]
