"""The adapter: the one place the web app calls a segmentation model.

It serves a trained run opened once as a `segtrain.Run` (`Segmenter.open`):

- **Interactive runs** (``mitoshape train --interactive``; `Segmenter.uses_clicks` is True):
  clicks and the previous mask go back into the network. `predict` gives the first mask
  (no clicks); `refine` applies each new click with `segtrain.Run.refine`, which re-predicts a
  window around it. The normalised image and every state of a tab's click history are kept
  (keyed by the tab's first prediction), so a click costs one window, and undo or reset are a
  look-up. Clicks enter at the network's input, so the network body cannot be cached across
  clicks; the window is what keeps a click under a second.
- **Probabilistic runs** (``prob_unet``): the prediction is the mean of K samples of its prior
  (`segtrain.Run.sample`, K = 16), the uncertainty their standard deviation.
- **Deterministic runs**: the prediction is the mean of the four flip test-time-augmentation
  predictions (identity, left-right, up-down, both; `segtrain.Run.sample`) and its
  "uncertainty" their spread, a proxy that says where the network is unstable, not a
  probabilistic model's uncertainty (the page says so, from `Segmenter.uncertainty_label`).
- The suggested clicks are `segtrain.suggest_clicks` of the uncertainty (`segtrain.Run.suggest`).
- A run trained without clicks stores and shows the clicks, but `refine` returns the first
  prediction unchanged.

Window refinements run on `click_threads` torch threads (1 by default: a window is small, and
on a shared machine one thread answered faster than two).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shapelib import InputError

__all__ = ["Click", "Prediction", "Segmenter", "Suggestion", "inference_config"]


def inference_config(device: str = "cpu"):
    """How the web app predicts: 512 px tiles, float32 (a click answers in float32 whatever
    the run was trained in), on `device`."""
    from segtrain import InferenceConfig

    return InferenceConfig(tile_px=512, amp=False, device=device)


@dataclass(frozen=True)
class Click:
    """One user click on the image: pixel column `x_px`, row `y_px`, positive or negative."""

    x_px: int
    y_px: int
    positive: bool = True


@dataclass(frozen=True)
class Suggestion:
    """A place worth a click: pixel column and row, and the uncertainty there."""

    x_px: int
    y_px: int
    score: float


@dataclass(frozen=True, eq=False)
class Prediction:
    """A model's answer for one image.

    Attributes
    ----------
    probability : (Y, X) ndarray of float32 in [0, 1]
    mask : (Y, X) ndarray of uint8 {0, 1}
    uncertainty : (Y, X) ndarray of float32 >= 0
    suggestions : tuple of Suggestion, most uncertain first
    seconds : float, wall time of the model call
    """

    probability: np.ndarray
    mask: np.ndarray
    uncertainty: np.ndarray
    suggestions: tuple
    seconds: float


def _answer(prob, mask, uncertainty, found, t0: float) -> Prediction:
    """The page's answer of a segtrain state, its suggestions (row, col) as the page's (x, y)."""
    suggestions = tuple(Suggestion(int(g.col), int(g.row), float(g.score)) for g in found)
    return Prediction(prob, mask, uncertainty, suggestions, time.perf_counter() - t0)


class Segmenter:
    """A trained run behind a lock: one model call at a time.

    Parameters
    ----------
    run : segtrain.Run, opened once (`Segmenter.open`); its config gives the tiles, the
        threshold and the device
    options : segtrain.RefineConfig or None, the samples, the click window and the suggestions
    click_threads : torch threads for a click (None: the run's)
    max_tabs : tabs whose click history is kept (least recently used dropped)
    max_states : click states kept per tab
    """

    def __init__(
        self,
        run,
        *,
        options=None,
        click_threads: int | None = 1,
        max_tabs: int = 8,
        max_states: int = 64,
    ):
        from segtrain import RefineConfig

        self.run = run
        self.options = options or RefineConfig()
        self._click_run = run.with_config(run.config.replace(threads=click_threads))
        self.max_tabs, self.max_states = max_tabs, max_states
        self._lock = threading.Lock()
        self._tabs: OrderedDict[int, dict] = OrderedDict()

    @classmethod
    def open(cls, run_dir: str | Path, *, device: str = "cpu", **kw) -> Segmenter:
        """The segmenter of a run folder (`--run`), opened once on `device`."""
        from segtrain import Run

        run_dir = Path(run_dir)
        if not run_dir.exists():
            raise FileNotFoundError(f"--run {run_dir} does not exist; pass a run folder.")
        if run_dir.is_dir() and not any((run_dir / f).is_file() for f in ("best.pt", "last.pt")):
            raise FileNotFoundError(
                f"--run {run_dir} holds no best.pt or last.pt; pass a folder written by "
                "`mitoshape train`."
            )
        return cls(Run.open(run_dir, inference_config(device)), **kw)

    @property
    def name(self) -> str:
        return self.run.name

    # --- what the run is ---------------------------------------------------------------------

    @property
    def uses_clicks(self) -> bool:
        """True for an interactive run: clicks change the mask."""
        return self.run.clicks is not None

    @property
    def probabilistic(self) -> bool:
        return self.run.probabilistic

    @property
    def uncertainty_label(self) -> str:
        if self.probabilistic:
            return (
                f"standard deviation of {self.options.samples} sampled masks of the "
                "probabilistic U-Net (draws of its latent prior)"
            )
        return (
            "spread (standard deviation) of the 4 flip test-time-augmentation predictions of a "
            "deterministic model; not a probabilistic model's uncertainty"
        )

    @property
    def note(self) -> str:
        if self.uses_clicks:
            return (
                "Clicks go back into the network: each click re-predicts a window around it "
                "(click = object, shift- or right-click = background); undo returns to the mask "
                "before it."
            )
        return (
            "Clicks are stored and shown, but this model does not use them: it was trained "
            "without clicks (`mitoshape train --interactive` trains one that does)."
        )

    # --- model calls -------------------------------------------------------------------------

    def predict(self, image: np.ndarray) -> Prediction:
        """The first prediction of a 2D image (no clicks yet)."""
        image = np.asarray(image)
        if image.ndim != 2:
            raise InputError(f"segmenting needs a 2D image; got shape {image.shape}.")
        t0 = time.perf_counter()
        n = self.options.n_suggestions
        with self._lock:
            if not self.uses_clicks:
                seg = self.run.segment(image, samples=self.options.samples, n_suggestions=n)
                return _answer(seg.probability, seg.mask, seg.uncertainty, seg.suggestions, t0)
            # The zero-click state of an interactive run, and the tab's history from it.
            x = self.run.prepare(image)
            r = self.run.refine(x, (), options=self.options, prepared=True)
            out = _answer(r.probability, r.mask, r.uncertainty, r.suggestions, t0)
            self._remember(out, x)
        return out

    def _remember(self, first: Prediction, x: np.ndarray) -> dict:
        """A tab's history: its normalised image and the state after each click sequence."""
        tab = {"first": first, "x": x, "states": OrderedDict({(): first})}
        self._tabs[id(first)] = tab
        while len(self._tabs) > self.max_tabs:
            self._tabs.popitem(last=False)
        return tab

    def refine(
        self, image: np.ndarray, clicks: Sequence[Click], previous: Prediction
    ) -> Prediction:
        """The prediction after `clicks` (in order) from the tab's first prediction `previous`;
        `previous` itself for a run that takes no clicks."""
        if not self.uses_clicks:
            return previous
        from segtrain import Click as SegClick

        keys = tuple((int(c.y_px), int(c.x_px), bool(c.positive)) for c in clicks)
        with self._lock:
            tab = self._tabs.get(id(previous))
            if tab is None or tab["first"] is not previous:
                tab = self._remember(previous, self.run.prepare(image))
            self._tabs.move_to_end(id(previous))
            states = tab["states"]
            if keys in states:  # undo, reset, or a sequence seen before
                states.move_to_end(keys)
                return states[keys]
            # From the longest sequence already answered, one click (one window) at a time.
            n = max(k for k in range(len(keys)) if keys[:k] in states)
            state = states[keys[:n]]
            t0, x, run = time.perf_counter(), tab["x"], self._click_run
            for k in range(n + 1, len(keys) + 1):
                seq = [SegClick(*c) for c in keys[:k]]
                r = run.refine(x, seq, state, options=self.options, prepared=True)
                state = _answer(r.probability, r.mask, r.uncertainty, r.suggestions, t0)
                states[keys[:k]] = state
            while len(states) > self.max_states:
                oldest = next(iter(states))
                if oldest == ():  # the first prediction stays
                    states.move_to_end(oldest)
                    oldest = next(iter(states))
                states.pop(oldest)
            return state
