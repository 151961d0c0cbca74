"""Segment an image layer with a trained run (or a shipped model): instance labels and the
probability, as napari layer data at the image's scale. The widget (`_widget.py`) calls this;
it needs no viewer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from segtrain import Run


def segment_image(
    image: np.ndarray, run: Run | str | Path, *, scale: Sequence[float] | None = None
) -> list[tuple]:
    """Predict a 2D image, or a (Z, Y, X) stack slice by slice, with `run` (a `segtrain.Run`,
    a run folder or a shipped model's name).

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
    run = run if isinstance(run, Run) else Run.open(run)
    seg = run.segment(image, where="the image layer")
    kw = {} if scale is None else {"scale": tuple(float(s) for s in scale)}
    return [
        (seg.probability, {"name": "probability", "visible": False, **kw}, "image"),
        (label_objects(seg.mask), {"name": "instances", **kw}, "labels"),
    ]


def segment_slices(image: np.ndarray, run: Run, *, scale: Sequence[float] | None = None):
    """`segment_image` as a generator for a thread worker: yields after each slice of a stack
    predicted by a 2D run (napari's progress bar counts them) and returns the layer data.

    A 2D image, or a stack for a 2.5D run, is one step."""
    from segtrain.evaluate import label_objects

    image = np.asarray(image)
    if image.ndim != 3 or run.train_config.context_slices:
        yield 1
        return segment_image(image, run, scale=scale)
    probs, labels, top = [], [], 0
    for z in range(image.shape[0]):
        seg = run.segment(image[z], where=f"slice {z} of the image layer")
        lab = label_objects(seg.mask).astype(np.uint32)
        lab[lab > 0] += top  # ids unique across the stack's slices
        top = max(top, int(lab.max()))
        probs.append(seg.probability)
        labels.append(lab)
        yield z + 1
    kw = {} if scale is None else {"scale": tuple(float(s) for s in scale)}
    return [
        (np.stack(probs), {"name": "probability", "visible": False, **kw}, "image"),
        (np.stack(labels), {"name": "instances", **kw}, "labels"),
    ]
