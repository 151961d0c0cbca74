"""The adapter: the one place the web app calls a segmentation model.

It serves a trained run opened once as a `segtrain.Run` (`Segmenter.open`):

- **Interactive runs** (``mitoshape train --interactive``; `Segmenter.uses_clicks` is True):
  clicks and the previous mask go back into the network. `predict` gives the first mask
  (no clicks); `refine` applies one new click to the tab's current state with
  `segtrain.Run.refine`, which re-predicts a window around it, so a click costs one window;
  undo and reset come from the tab's own history (`webapp._history`). Clicks enter at the
  network's input, so the network body cannot be cached across clicks; the window is what
  keeps a click under a second.
- **Probabilistic runs** (``prob_unet``): the prediction is the mean of K samples of its prior
  (`segtrain.Run.sample`, K = 16), the uncertainty their standard deviation.
- **Deterministic runs**: the prediction is the mean of the four flip test-time-augmentation
  predictions (identity, left-right, up-down, both; `segtrain.Run.sample`) and its
  "uncertainty" their spread, a proxy that says where the network is unstable, not a
  probabilistic model's uncertainty (the page says so, from `Segmenter.uncertainty_label`).
- The suggested clicks are `segtrain.suggest_clicks` of the uncertainty (`segtrain.Run.suggest`).
- A run trained without clicks stores and shows the clicks, but `refine` returns the current
  prediction unchanged.

Window refinements run on `click_threads` torch threads (1 by default: a window is small, and
on a shared machine one thread answered faster than two).
"""

from __future__ import annotations

import time
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
    """A place worth a click: pixel column and row, and the uncertainty there (the value the
    uncertainty map shows at that pixel)."""

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
    window : (row0, row1, col0, col1) a click re-predicted, or None (the whole image)
    instances : (Y, X) ndarray of uint16: the objects given a label of their own by hand
        (committed, merged; `webapp._tools`), 0 elsewhere; zeros when not given
    """

    probability: np.ndarray
    mask: np.ndarray
    uncertainty: np.ndarray
    suggestions: tuple
    seconds: float
    window: tuple | None = None
    instances: np.ndarray | None = None

    def __post_init__(self):
        if self.instances is None:
            object.__setattr__(self, "instances", np.zeros(np.shape(self.mask), np.uint16))

    def but(self, **changes) -> Prediction:
        """The same state with `changes` (the others, instances included, kept)."""
        return Prediction(**{**vars(self), "window": None, **changes})


def _answer(prob, mask, uncertainty, found, t0: float) -> Prediction:
    """The page's answer of a segtrain state, its suggestions (row, col) as the page's (x, y),
    each scored by the uncertainty at its point (the map's scale; segtrain ranks them by their
    region's uncertainty mass, and that order is kept)."""
    suggestions = tuple(
        Suggestion(int(g.col), int(g.row), float(uncertainty[g.row, g.col])) for g in found
    )
    return Prediction(prob, mask, uncertainty, suggestions, time.perf_counter() - t0)


class Segmenter:
    """A trained run, shared by every tab; stateless, so calls from several workers may run
    at once (`webapp._pool.ModelPool` bounds how many). A tab's history is the tab's own
    (`webapp._history`).

    Parameters
    ----------
    run : segtrain.Run, opened once (`Segmenter.open`); its config gives the tiles, the
        threshold and the device
    options : segtrain.RefineConfig or None, the samples, the click window and the suggestions
    click_threads : torch threads for a click (None: the run's)
    """

    def __init__(self, run, *, options=None, click_threads: int | None = 1):
        from segtrain import RefineConfig

        self.run = run
        self.key: str | None = None
        self.options = options or RefineConfig()
        self._click_run = run.with_config(run.config.replace(threads=click_threads))

    @classmethod
    def open(cls, run_dir: str | Path, *, device: str = "cpu", **kw) -> Segmenter:
        """The segmenter of a run folder (`--run`), opened once on `device`."""
        from segtrain import Run

        run_dir = Path(run_dir)
        if not run_dir.exists():
            from segtrain import shipped_models

            if str(run_dir) in shipped_models():  # a shipped model by name
                return cls(Run.open(str(run_dir), inference_config(device)), **kw)
            raise FileNotFoundError(
                f"--run {run_dir} does not exist, nor is it a shipped model (`mitoshape "
                "models`); pass a run folder or a model's name."
            )
        if run_dir.is_dir() and not any((run_dir / f).is_file() for f in ("best.pt", "last.pt")):
            raise FileNotFoundError(
                f"--run {run_dir} holds no best.pt or last.pt; pass a folder written by "
                "`mitoshape train`."
            )
        return cls(Run.open(run_dir, inference_config(device)), **kw)

    @property
    def name(self) -> str:
        """The run's name (made unique among the served runs by `key`)."""
        return self.key or self.run.name

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

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """The normalised network input of a 2D image (what `refine` takes)."""
        return self.run.prepare(np.asarray(image))

    def predict(self, image: np.ndarray) -> Prediction:
        """The first prediction of a 2D image (no clicks yet)."""
        image = np.asarray(image)
        if image.ndim != 2:
            raise InputError(f"segmenting needs a 2D image; got shape {image.shape}.")
        t0 = time.perf_counter()
        n = self.options.n_suggestions
        if not self.uses_clicks:
            seg = self.run.segment(image, samples=self.options.samples, n_suggestions=n)
            return _answer(seg.probability, seg.mask, seg.uncertainty, seg.suggestions, t0)
        r = self.run.refine(self.prepare(image), (), options=self.options, prepared=True)
        return _answer(r.probability, r.mask, r.uncertainty, r.suggestions, t0)

    def refine(self, x: np.ndarray, clicks: Sequence[Click], current: Prediction) -> Prediction:
        """The state after the last of `clicks`, from `current` (the state that answers the
        earlier ones; edits by hand included) and `x` (`prepare` of the image). Its `window`
        is the box re-predicted: outside it nothing changed. `current` itself for a run that
        takes no clicks."""
        if not self.uses_clicks or not clicks:
            return current
        from segtrain import Click as SegClick

        t0 = time.perf_counter()
        seq = [SegClick(int(c.y_px), int(c.x_px), bool(c.positive)) for c in clicks]
        r = self._click_run.refine(x, seq, current, options=self.options, prepared=True)
        out = _answer(r.probability, r.mask, r.uncertainty, r.suggestions, t0)
        return Prediction(**{**vars(out), "window": r.window})
