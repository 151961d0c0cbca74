"""A 2.5D run's prediction of 2D images whose names number consecutive sections of a volume
(``slice_010.tif ... slice_014.tif``), for `predict_folder`.

A 2D image alone has no neighbours, so a run trained with ``context_slices > 0`` predicts
such a folder as a stack: the images in section order (the numbering of
`segtrain.training._sections.section_blocks`, the one reader of section numbers) stacked and
predicted with `Run.segment` (`predict_stack`: each slice with its neighbours as channels, the
first and last slice repeated beyond the ends, as training reads a folder of numbered
sections). A gap in the numbers ends a stack: each run of consecutive sections is predicted on
its own, and the log says so. Each image then gets its own outputs, as a 2D prediction does.
Names that number nothing are refused: the neighbours would be a guess.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shapelib import InputError

from .. import io
from ..training._sections import section_blocks
from ._run import Run, Segmentation

__all__ = ["Unit", "prediction_units", "segment_sections"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unit:
    """Input files predicted at once: one image or EM stack, or (``sections``) the 2D images
    of a run of consecutive sections in section order, predicted as one stack."""

    files: tuple[Path, ...]
    sections: bool = False


def _shown(paths: Sequence[Path]) -> str:
    return ", ".join(p.name for p in paths[:4]) + (" ..." if len(paths) > 4 else "")


def prediction_units(
    run: Run, files: Sequence[Path], shapes: dict[str, tuple], *, where
) -> list[Unit]:
    """The `Unit` s of `files` (``shapes``: each file's array shape by ``str(path)``), checked
    before anything is predicted: for a 2.5D run the 2D images must number sections (a
    one-line InputError says why otherwise) and the images of one run of sections must share a
    shape (an InputError names the file that does not). `where` names the input."""
    context = run.train_config.context_slices
    planes = [f for f in files if context and len(shapes[str(f)]) == 2]
    units = [Unit((f,)) for f in files if f not in planes]
    if not planes:
        return units
    blocks = section_blocks([f.stem for f in planes])
    if blocks is None and len(planes) == 1:
        raise InputError(
            f"the run uses 2.5D input (context_slices={context}): each 2D image needs its "
            f"neighbouring sections, but {planes[0]} is one 2D image alone; give a 3D TIFF "
            "stack, or a folder whose file names number consecutive sections (slice_010.tif, "
            "slice_011.tif, ...)."
        )
    if blocks is None:
        raise InputError(
            f"the run uses 2.5D input (context_slices={context}): each 2D image needs its "
            f"neighbouring sections, but the names of the 2D images in {where} "
            f"({_shown(planes)}) number no sections (one prefix and suffix around "
            "distinct integers); give a 3D TIFF stack, or name the files by "
            "section (slice_010.tif, slice_011.tif, ...)."
        )
    for block in blocks:
        first = planes[block[0]]
        for k in block[1:]:
            if shapes[str(planes[k])] != shapes[str(first)]:
                raise InputError(
                    f"{planes[k]} has shape {shapes[str(planes[k])]}, but {first.name} of the "
                    f"same run of sections has {shapes[str(first)]}; sections of one volume "
                    "share a shape (crop or pad them alike)."
                )
    if len(blocks) > 1:
        runs = "; ".join(f"{planes[b[0]].name}-{planes[b[-1]].name}" for b in blocks)
        log.info(
            "predict: the numbered sections in %s have gaps; each run of consecutive sections "
            "is predicted as its own stack (its ends repeated): %s",
            where,
            runs,
        )
    return units + [Unit(tuple(planes[k] for k in b), sections=True) for b in blocks]


def segment_sections(
    run: Run, unit: Unit, *, sizes: dict, zooms: dict
) -> list[tuple[Path, object, Segmentation]]:
    """(file, its `TiffImage`, its `Segmentation`) of each image of a sections `Unit`,
    predicted as one stack; ``sizes`` and ``zooms`` by ``str(path)`` as `predict_folder`
    gives them (one zoom for the stack: an InputError when the images' pixel sizes differ)."""
    files = unit.files
    zoom = zooms[str(files[0])]
    for f in files[1:]:
        if zooms[str(f)] != zoom:
            raise InputError(
                f"{f} and {files[0].name} are sections of one stack but resample by different "
                f"zooms ({zooms[str(f)]} against {zoom}); give them one pixel size "
                "(--pixel-size-nm N)."
            )
    images = [io.read_grey(f, ndims=(2,)) for f in files]
    where = f"{files[0].parent} (sections {files[0].name} ... {files[-1].name})"
    stack = np.stack([img.data for img in images])
    seg = run.segment(stack, sizes=sizes[str(files[0])], zoom=zoom, where=where)
    return [
        (f, img, Segmentation(seg.probability[z], seg.mask[z]))
        for z, (f, img) in enumerate(zip(files, images, strict=True))
    ]
