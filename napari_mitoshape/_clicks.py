"""Clicks on one 2D image (a slice) of an interactive run, kept with every state so a click can
be undone: the Segment widget's model of the refinement (`segtrain.Run.refine`). No viewer:
the widget (`_widget.py`) runs these calls in napari's thread workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from segtrain import Run

__all__ = ["ClickSession", "plain_run_message"]


def plain_run_message(run) -> str:
    """The one line said when clicks are added on a run trained without them."""
    return (
        f"{run.name} ({run.train_config.model}) was trained without clicks, so clicks cannot "
        "refine its mask; train one with `mitoshape train --interactive` (or pick an "
        "interactive run)."
    )


@dataclass(eq=False)
class ClickSession:
    """The clicks on one 2D image and the state after each (``states[0]``: without clicks).

    Build one with `ClickSession.start`; `click` adds a click and re-predicts around it (only
    the last click is applied to the previous state), `undo` goes back one click.
    """

    run: Run
    image: np.ndarray = field(repr=False)  # the prepared (C, Y, X) image
    states: list = field(repr=False)
    options: Any = None  # a segtrain.RefineConfig, or None: its defaults

    @classmethod
    def start(cls, run, image: np.ndarray, *, options=None, where: str = "the image layer"):
        """The session of `run` (interactive) on a 2D `image`: its first state, without clicks.

        Raises `shapelib.InputError` for a run trained without clicks or a 2.5D run (whose
        slices need their neighbours; refine a stack with the CLI)."""
        from shapelib import InputError

        if run.clicks is None:
            raise InputError(plain_run_message(run))
        if run.train_config.context_slices:
            raise InputError(
                f"{run.name} is a 2.5D run (context_slices={run.train_config.context_slices}); "
                "the widget refines 2D runs only: use `mitoshape refine` for it."
            )
        x = run.prepare(np.asarray(image), where=where)
        first = run.refine(x, [], options=options, prepared=True, where=where)
        return cls(run, x, [first], options)

    @property
    def state(self):
        """The current `Refinement` (mask, probability, uncertainty, suggestions)."""
        return self.states[-1]

    @property
    def clicks(self) -> tuple:
        return self.state.clicks

    def click(self, row: int, col: int, positive: bool = True):
        """Add a click at pixel (`row`, `col`), object or background; the new state."""
        from segtrain import Click

        clicks = (*self.clicks, Click(int(row), int(col), bool(positive)))
        new = self.run.refine(self.image, clicks, self.state, options=self.options, prepared=True)
        self.states.append(new)
        return new

    def undo(self):
        """Forget the last click (none left: the state without clicks); the state now."""
        if len(self.states) > 1:
            self.states.pop()
        return self.state
