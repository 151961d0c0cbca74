"""The adapter: the one place the web app calls a segmentation model.

Part 1 (issue 11) serves a deterministic run written by `segtrain.train`, through
`segtrain.load_run` and `segtrain.predict_image`:

- the prediction is the mean of the four flip test-time-augmentation predictions (identity,
  left-right, up-down, both);
- its "uncertainty" is the per-pixel standard deviation of those four predictions, a proxy that
  says where the network is unstable, not a probabilistic model's uncertainty (the page says so,
  from `Segmenter.uncertainty_label`);
- the suggested clicks are the strongest local maxima of that map;
- clicks are accepted and stored, but this model does not take them: `Segmenter.uses_clicks` is
  False and `Segmenter.refine` returns the first prediction unchanged.

Issue 10 (probabilistic interactive segmentation) plugs in here and nowhere else: `load` opens
its run, `predict` returns its mean mask, spread and suggestions, `refine` feeds the clicks and
the previous mask back in, and `uses_clicks` becomes True.
"""

from __future__ import annotations

import threading
import time
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


class Segmenter:
    """A trained run behind a lock: one model call at a time, loaded on first use.

    Parameters
    ----------
    run_dir : path of a run folder (``best.pt`` or ``last.pt`` inside)
    device : "cpu", "cuda", "mps" or "auto"
    threshold : probability -> mask
    n_suggestions : suggested clicks per prediction
    """

    uses_clicks = False
    uncertainty_label = (
        "spread (standard deviation) of the 4 flip test-time-augmentation predictions of a "
        "deterministic model; not a probabilistic model's uncertainty"
    )
    note = (
        "Clicks are stored and shown, but this model does not use them yet: the mask stays the "
        "first prediction (the interactive model comes with the probabilistic segmentation)."
    )

    def __init__(
        self,
        run_dir: str | Path,
        *,
        device: str = "cpu",
        tile_px: int = 256,
        overlap_px: int = 64,
        threshold: float = 0.5,
        n_suggestions: int = 3,
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
        self._lock = threading.Lock()
        self._model = None
        self._normalize = (1.0, 99.0)
        self._torch_device = None

    @property
    def name(self) -> str:
        return self.run_dir.name

    def load(self) -> None:
        """Load the run's network (once)."""
        with self._lock:
            self._load_locked()

    def _load_locked(self) -> None:
        if self._model is not None:
            return
        from segtrain import load_run, pick_device

        model, cfg = load_run(self.run_dir)
        self._torch_device = pick_device(self.device)
        self._model = model.to(self._torch_device).eval()
        self._normalize = tuple(cfg.normalize_percentiles)

    def predict(self, image: np.ndarray) -> Prediction:
        """The first prediction of a 2D image (no clicks yet)."""
        import torch

        from segtrain import predict_image

        image = np.asarray(image)
        if image.ndim != 2:
            raise InputError(f"segmenting needs a 2D image; got shape {image.shape}.")
        t0 = time.perf_counter()
        with self._lock, torch.inference_mode():
            self._load_locked()
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

    def refine(
        self, image: np.ndarray, clicks: Sequence[Click], previous: Prediction
    ) -> Prediction:
        """The prediction after `clicks`. Part 1: the model takes no clicks; `previous` as is."""
        return previous
