"""A tab's history: each click or edit as a compressed difference of the window it changed.

A `Step` keeps, for the box where the state changed (a click's window, a brush stroke's
box), the values before and after of each layer that changed there (probability,
uncertainty, mask, instances), zlib-compressed, and the suggestions before and after. Undo
pastes the values before; a restore from disk replays the values after from the first prediction (in
memory a step keeps only the values before, `webapp._store`). A 1024 x 768 image with 64
clicks so keeps tens of MB of history at most rather than 64 full states (450 MB).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field

import numpy as np

from ._segment import Click, Prediction, Suggestion

__all__ = ["LAYERS", "Step", "apply", "diff", "read_step", "step_file_arrays"]

LAYERS = {
    "probability": np.float32,
    "uncertainty": np.float32,
    "mask": np.uint8,
    "instances": np.uint16,
}


@dataclass(frozen=True, eq=False)
class Step:
    """One click or edit: what it changed, where, and what it was before.

    Attributes
    ----------
    kind : "click", "paint", "delete", "merge" or "commit"
    click : Click or None (the click of a "click" step)
    box : (row0, row1, col0, col1) half-open, or None when nothing changed
    before, after : {layer: zlib bytes of the box's values}, layers that changed only
    suggestions : (before, after), tuples of Suggestion
    seconds : (before, after), model time shown with the state
    """

    kind: str
    click: Click | None
    box: tuple[int, int, int, int] | None
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)
    suggestions: tuple = ((), ())
    seconds: tuple = (0.0, 0.0)

    @property
    def nbytes(self) -> int:
        return sum(len(b) for b in (*self.before.values(), *self.after.values())) + 256


def _box_of(changed: np.ndarray) -> tuple[int, int, int, int] | None:
    rows, cols = np.flatnonzero(changed.any(1)), np.flatnonzero(changed.any(0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def diff(old: Prediction, new: Prediction, *, kind: str, click: Click | None = None) -> Step:
    """The step from state `old` to state `new` (the box of every pixel that changed)."""
    changed = {k: getattr(old, k) != getattr(new, k) for k in LAYERS}
    box = _box_of(np.logical_or.reduce(list(changed.values())))
    before, after = {}, {}
    if box is not None:
        y0, y1, x0, x1 = box
        for k, ch in changed.items():
            if ch[y0:y1, x0:x1].any():
                before[k] = zlib.compress(getattr(old, k)[y0:y1, x0:x1].tobytes(), 1)
                after[k] = zlib.compress(getattr(new, k)[y0:y1, x0:x1].tobytes(), 1)
    return Step(kind, click, box, before, after, (old.suggestions, new.suggestions),
                (old.seconds, new.seconds))  # fmt: skip


def apply(state: Prediction, step: Step, *, forward: bool) -> Prediction:
    """`state` with `step` redone (`forward`) or undone; the arrays are new (copy on write)."""
    values = step.after if forward else step.before
    arrays = {k: getattr(state, k) for k in LAYERS}
    if step.box is not None:
        y0, y1, x0, x1 = step.box
        for k, data in values.items():
            a = arrays[k].copy()
            a[y0:y1, x0:x1] = np.frombuffer(zlib.decompress(data), LAYERS[k]).reshape(
                y1 - y0, x1 - x0
            )
            arrays[k] = a
    k = 1 if forward else 0
    return Prediction(**arrays, suggestions=step.suggestions[k], seconds=step.seconds[k])


# --- on disk: one .npz per step (no pickles) -------------------------------------------------


def _suggestions(s) -> list:
    return [[g.x_px, g.y_px, g.score] for g in s]


def step_file_arrays(step: Step) -> dict[str, np.ndarray]:
    """The arrays of `np.savez` for one step (its header as JSON bytes)."""
    c = step.click
    head = {
        "kind": step.kind,
        "click": None if c is None else [c.x_px, c.y_px, c.positive],
        "box": step.box,
        "suggestions": [_suggestions(s) for s in step.suggestions],
        "seconds": list(step.seconds),
    }
    out = {"head": np.frombuffer(json.dumps(head).encode(), np.uint8)}
    for side, values in (("before", step.before), ("after", step.after)):
        for k, data in values.items():
            out[f"{side}_{k}"] = np.frombuffer(data, np.uint8)
    return out


def read_step(npz) -> Step:
    """The step saved by `step_file_arrays` (an open ``np.load`` of its file)."""
    head = json.loads(bytes(npz["head"]).decode())
    c = head["click"]
    values: dict[str, dict] = {"before": {}, "after": {}}
    for name in npz.files:
        side, _, layer = name.partition("_")
        if side in values and layer in LAYERS:
            values[side][layer] = bytes(npz[name])
    sugg = tuple(tuple(Suggestion(int(x), int(y), float(s)) for x, y, s in g)
                 for g in head["suggestions"])  # fmt: skip
    return Step(
        head["kind"],
        None if c is None else Click(int(c[0]), int(c[1]), bool(c[2])),
        None if head["box"] is None else tuple(head["box"]),
        values["before"],
        values["after"],
        sugg,
        tuple(head["seconds"]),
    )
