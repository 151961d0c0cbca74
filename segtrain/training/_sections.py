"""2.5D input from files whose names number consecutive sections of a volume
(``training_010.png ... training_029.png``), as an EM stack's slices give it.

The numbering is `segtrain.training._holdout.numbered_sections`' (the one reader of section
numbers). Section ``n`` gets ``n - k .. n + k`` as channels; a number absent from the folder
(the end of a run of sections) is replaced by the nearest present one towards ``n``, as a
stack's first and last slices are repeated beyond its ends. `section_blocks` cuts the
numbers into runs of consecutive sections (a 2.5D run predicts each as one stack:
`segtrain.workflows._predict_sections`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from shapelib import InputError

from ._holdout import numbered_sections

__all__ = ["section_blocks", "section_windows", "with_section_context"]


def section_windows(names: Sequence[str], context: int) -> list[list[int]] | None:
    """Per name, the indices into `names` of its ``2 x context + 1`` sections (module
    docstring), or None when the names number no sections.

    Examples
    --------
    >>> section_windows(["s_10", "s_11", "s_12", "s_20"], 1)
    [[0, 0, 1], [0, 1, 2], [1, 2, 2], [3, 3, 3]]
    """
    numbers = numbered_sections(names)
    if numbers is None:
        return None
    where = {n: i for i, n in enumerate(numbers)}
    out = []
    for n in numbers:
        row = []
        for d in range(-context, context + 1):
            m = n + d
            while m not in where:  # towards n, which is present
                m += 1 if d < 0 else -1
            row.append(where[m])
        out.append(row)
    return out


def with_section_context(items: Sequence, context: int, *, where: str) -> list:
    """`items` (dataclasses with ``name`` and a (Y, X) ``image``: `LabeledImage` s of one
    folder) with each image as ``(2 x context + 1, Y, X)``: its numbered neighbours.

    Raises InputError when the names number no sections (the neighbours are unknown) or the
    images of a window differ in shape; `where` names the folder in the message.
    """
    items = list(items)
    if context == 0:
        return items
    names = [it.name for it in items]
    windows = section_windows(names, context)
    if windows is None:
        shown = ", ".join(names[:4]) + (" ..." if len(names) > 4 else "")
        raise InputError(
            f"2.5D input (context_slices={context}) needs EM stacks or files whose names "
            f"number consecutive sections (training_010.png, training_011.png, ...), but the "
            f"names in {where} ({shown}) number none; give the stack TIFF and its label_path "
            "(kind: stack), rename the files, or set context_slices to 0."
        )
    out = []
    for it, window in zip(items, windows, strict=True):
        planes = [np.asarray(items[k].image) for k in window]
        if len({p.shape for p in planes}) != 1:
            raise InputError(
                f"2.5D input: the sections around {it.name} in {where} differ in shape "
                f"({sorted({p.shape for p in planes})}); sections of one volume share a shape."
            )
        out.append(dataclasses.replace(it, image=np.stack(planes).astype(np.float32)))
    return out


def section_blocks(names: Sequence[str]) -> list[list[int]] | None:
    """The runs of consecutive section numbers among `names`: per run, the indices into
    `names` in section order (a gap in the numbers ends a run), or None when the names number
    no sections (`numbered_sections`).

    Examples
    --------
    >>> section_blocks(["s_11", "s_10", "s_12", "s_20"])
    [[1, 0, 2], [3]]
    """
    numbers = numbered_sections(names)
    if numbers is None:
        return None
    order = sorted(range(len(names)), key=numbers.__getitem__)
    blocks = [[order[0]]]
    for prev, k in zip(order[:-1], order[1:], strict=True):
        if numbers[k] == numbers[prev] + 1:
            blocks[-1].append(k)
        else:
            blocks.append([k])
    return blocks
