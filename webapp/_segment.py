"""The adapter: the one place the web app calls a segmentation model.

It serves a run written by `segtrain.train`, loaded by `segtrain.load_run`:

- **Interactive runs** (``mitoshape train --interactive``; `Segmenter.uses_clicks` is True):
  clicks and the previous mask go back into the network. `predict` gives the first mask
  (no clicks); `refine` applies each new click with `segtrain.refine`, which re-predicts a
  window around it. The normalised image and every state of a tab's click history are kept
  (keyed by the tab's first prediction), so a click costs one window, and undo or reset are a
  look-up. Clicks enter at the network's input, so the network body cannot be cached across
  clicks; the window is what keeps a click under a second.
- **Probabilistic runs** (``prob_unet``): the prediction is the mean of K samples of its prior
  (`segtrain.sample_prediction`, K = 16), the uncertainty their standard deviation, and the
  suggested clicks `segtrain.suggest_clicks` (the most uncertain pixels clustered).
- **Deterministic runs**: the prediction is the mean of the four flip test-time-augmentation
  predictions (identity, left-right, up-down, both) and its "uncertainty" their spread, a proxy
  that says where the network is unstable, not a probabilistic model's uncertainty (the page says
  so, from `Segmenter.uncertainty_label`); suggestions are the strongest local maxima of it.
- A run trained without clicks stores and shows the clicks, but `refine` returns the first
  prediction unchanged.

Window refinements run on `refine_threads` torch threads (1 by default: a window is small, and
on a shared machine one thread answered about four times faster than two).
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

__all__ = ["Click", "Prediction", "Segmenter", "Suggestion"]

FLIPS = ((), (1,), (0,), (0, 1))  # identity, left-right, up-down, both


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


def _suggest(uncertainty: np.ndarray, n: int) -> tuple:
    """The `n` strongest local maxima of the uncertainty map, at least 1/20 of the image apart."""
    from skimage.feature import peak_local_max

    if n < 1 or float(uncertainty.max(initial=0.0)) <= 1e-6:
        return ()
    gap = max(3, min(uncertainty.shape) // 20)
    peaks = peak_local_max(uncertainty, min_distance=gap, num_peaks=n, exclude_border=False)
    return tuple(Suggestion(int(x), int(y), float(uncertainty[y, x])) for y, x in peaks)


def _suggestions(found) -> tuple:
    """segtrain suggestions (row, col) as the page's (x, y)."""
    return tuple(Suggestion(int(g.col), int(g.row), float(g.score)) for g in found)


class Segmenter:
    """A trained run behind a lock: one model call at a time, loaded on first use.

    Parameters
    ----------
    run_dir : path of a run folder (``best.pt`` or ``last.pt`` inside)
    device : "cpu", "cuda", "mps" or "auto"
    threshold : probability -> mask
    n_suggestions : suggested clicks per prediction
    samples : prior samples of a probabilistic run
    window_px : least side of the window a click re-predicts
    refine_threads : torch threads for a click (None: as set)
    max_tabs : tabs whose click history is kept (least recently used dropped)
    """

    def __init__(
        self,
        run_dir: str | Path,
        *,
        device: str = "cpu",
        tile_px: int = 256,
        overlap_px: int = 64,
        threshold: float = 0.5,
        n_suggestions: int = 3,
        samples: int = 16,
        window_px: int = 192,
        refine_threads: int | None = 1,
        max_tabs: int = 8,
        max_states: int = 64,
    ):
        run_dir = Path(run_dir)
        if not run_dir.exists():
            raise FileNotFoundError(f"--run {run_dir} does not exist; pass a run folder.")
        if run_dir.is_dir() and not any((run_dir / f).is_file() for f in ("best.pt", "last.pt")):
            raise FileNotFoundError(
                f"--run {run_dir} holds no best.pt or last.pt; pass a folder written by "
                "`mitoshape train`."
            )
        self.run_dir = run_dir
        self.device = device
        self.tile_px, self.overlap_px = tile_px, overlap_px
        self.threshold = threshold
        self.n_suggestions = n_suggestions
        self.samples, self.window_px = samples, window_px
        self.refine_threads = refine_threads
        self.max_tabs, self.max_states = max_tabs, max_states
        self._lock = threading.Lock()
        self._model = None
        self._cfg = None
        self._normalize = (1.0, 99.0)
        self._torch_device = None
        self._tabs: OrderedDict[int, dict] = OrderedDict()

    @property
    def name(self) -> str:
        return self.run_dir.name

    # --- what the run is ---------------------------------------------------------------------

    def _config(self):
        """The run's TrainConfig (config.json, without loading the weights when it can)."""
        if self._cfg is None:
            from segtrain import read_train_config

            folder = self.run_dir if self.run_dir.is_dir() else self.run_dir.parent
            if (folder / "config.json").is_file():
                self._cfg = read_train_config(folder)
            else:
                self.load()
        return self._cfg

    @property
    def uses_clicks(self) -> bool:
        """True for an interactive run: clicks change the mask."""
        return bool(self._config().interactive)

    @property
    def probabilistic(self) -> bool:
        from segtrain import PROBABILISTIC_MODELS

        return self._config().model in PROBABILISTIC_MODELS

    @property
    def uncertainty_label(self) -> str:
        if self.probabilistic:
            return (
                f"standard deviation of {self.samples} sampled masks of the probabilistic U-Net "
                "(draws of its latent prior)"
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

    def load(self) -> None:
        """Load the run's network (once)."""
        with self._lock:
            self._load_locked()

    def _load_locked(self) -> None:
        if self._model is not None:
            return
        import torch

        from segtrain import load_run, pick_device

        model, cfg = load_run(self.run_dir)
        self._torch_device = pick_device(self.device)
        model = model.to(self._torch_device).eval()
        self._model = model.to(memory_format=torch.channels_last)
        self._cfg = cfg
        self._normalize = cfg.normalization

    def predict(self, image: np.ndarray) -> Prediction:
        """The first prediction of a 2D image (no clicks yet)."""
        import torch

        image = np.asarray(image)
        if image.ndim != 2:
            raise InputError(f"segmenting needs a 2D image; got shape {image.shape}.")
        t0 = time.perf_counter()
        with self._lock, torch.inference_mode():
            self._load_locked()
            if self.probabilistic:
                out = self._sampled(image, t0)
            else:
                out = self._flips(image, t0)
            if self.uses_clicks:
                self._remember(out, image)
        return out

    def _flips(self, image: np.ndarray, t0: float) -> Prediction:
        from segtrain import predict_image

        probs = []
        for axes in FLIPS:
            flipped = np.ascontiguousarray(np.flip(image, axes) if axes else image)
            p = predict_image(
                self._model,
                flipped,
                tile_px=self.tile_px,
                overlap_px=self.overlap_px,
                normalize=self._normalize,
                device=self._torch_device,
            )
            probs.append(np.flip(p, axes) if axes else p)
        stack = np.stack(probs)
        prob = stack.mean(axis=0).astype(np.float32)
        spread = stack.std(axis=0).astype(np.float32)
        return Prediction(
            probability=prob,
            mask=(prob >= self.threshold).astype(np.uint8),
            uncertainty=spread,
            suggestions=_suggest(spread, self.n_suggestions),
            seconds=time.perf_counter() - t0,
        )

    def _sampled(self, image: np.ndarray, t0: float) -> Prediction:
        from segtrain import refine, sample_prediction, suggest_clicks

        if self.uses_clicks:  # the zero-click state of an interactive run
            r = refine(self._model, image, (), samples=self.samples, n_suggestions=0,
                       tile_px=max(self.tile_px, 512), overlap_px=self.overlap_px,
                       normalize=self._normalize, device=self._torch_device, rng=0)  # fmt: skip
            prob, unc = r.probability, r.uncertainty
        else:
            s = sample_prediction(
                self._model, image, samples=self.samples, tile_px=max(self.tile_px, 512),
                overlap_px=self.overlap_px, normalize=self._normalize,
                device=self._torch_device, rng=0,
            )  # fmt: skip
            prob, unc = s.mean, s.std
        radius = self._config().clicks.radius_px
        return Prediction(
            probability=prob,
            mask=(prob >= self.threshold).astype(np.uint8),
            uncertainty=unc,
            suggestions=_suggestions(suggest_clicks(unc, n=self.n_suggestions, radius_px=radius)),
            seconds=time.perf_counter() - t0,
        )

    def _remember(self, first: Prediction, image: np.ndarray) -> dict:
        """A tab's history: its normalised image and the state after each click sequence."""
        from segtrain import prepare_image

        x = prepare_image(self._model, image, normalize=self._normalize)
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
        import torch

        from segtrain import Click as SegClick
        from segtrain import refine, torch_threads

        keys = tuple((int(c.y_px), int(c.x_px), bool(c.positive)) for c in clicks)
        with self._lock, torch.inference_mode(), torch_threads(self.refine_threads):
            self._load_locked()
            tab = self._tabs.get(id(previous))
            if tab is None or tab["first"] is not previous:
                tab = self._remember(previous, image)
            self._tabs.move_to_end(id(previous))
            states = tab["states"]
            if keys in states:  # undo, reset, or a sequence seen before
                states.move_to_end(keys)
                return states[keys]
            # From the longest sequence already answered, one click (one window) at a time.
            n = max(k for k in range(len(keys)) if keys[:k] in states)
            state = states[keys[:n]]
            t0 = time.perf_counter()
            for k in range(n + 1, len(keys) + 1):
                seq = [SegClick(*c) for c in keys[:k]]
                r = refine(self._model, tab["x"], seq, state.probability,
                           prev_uncertainty=state.uncertainty, samples=self.samples,
                           window_px=self.window_px, n_suggestions=self.n_suggestions,
                           threshold=self.threshold, normalize=None,
                           device=self._torch_device, rng=0)  # fmt: skip
                state = Prediction(
                    probability=r.probability,
                    mask=r.mask,
                    uncertainty=r.uncertainty,
                    suggestions=_suggestions(r.suggestions),
                    seconds=time.perf_counter() - t0,
                )
                states[keys[:k]] = state
            while len(states) > self.max_states:
                oldest = next(iter(states))
                if oldest == ():  # the first prediction stays
                    states.move_to_end(oldest)
                    oldest = next(iter(states))
                states.pop(oldest)
            return state
