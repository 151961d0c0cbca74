"""A trained run, opened once (`Run`): its network on a device, its training config, how it
predicts (`InferenceConfig`), its normalisation, clicks, pixel size and post-processing; with
`Run.segment` (probability, mask and, with samples, uncertainty and suggested clicks),
`Run.predict`, `Run.sample`, `Run.refine` and `Run.explain`. Every workflow, the benchmarks and
the faces take a `Run`, so a run folder is read in one place. Where the weights come from
is kept apart (`_weights.py`): `Run.open`, `Run.from_checkpoint`, `Run.from_model`.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shapelib import InputError

from ..inference._clicks import (
    Click,
    check_clicks,
    click_settings,
    mark_interactive,
    network_input,
    require_interactive,
)
from ..inference._config import SAMPLES, InferenceConfig, RefineConfig
from ..training._config import ClickConfig, TrainConfig
from ._weights import network_from_checkpoint, read_run_files, resolve_run, stored_config

__all__ = ["Run", "Segmentation"]


@dataclass(frozen=True, eq=False)
class Segmentation:
    """A run's answer for one image (`Run.segment`).

    Attributes
    ----------
    probability : (Y, X) (or (Z, Y, X)) ndarray of float32 in [0, 1]
    mask : ndarray of uint8 {0, 1}, the probability at or above the threshold, cleaned up
    uncertainty : (Y, X) ndarray of float32 or None, the std of the samples (None: one pass)
    suggestions : tuple of Suggestion, where to click next (empty without samples)
    """

    probability: np.ndarray = field(repr=False)
    mask: np.ndarray = field(repr=False)
    uncertainty: np.ndarray | None = field(default=None, repr=False)
    suggestions: tuple = ()


@dataclass(frozen=True, eq=False)
class Run:
    """A trained run, opened once: everything a prediction needs.

    Build one with `Run.open` (a run folder), `Run.from_checkpoint` (a checkpoint in memory)
    or `Run.from_model` (a network at hand); change how it predicts with `Run.with_config`.

    Attributes
    ----------
    model : torch.nn.Module, in eval mode on `device` (not to be changed in place)
    train_config : TrainConfig, how it was trained (normalisation, 2.5D context, clicks)
    config : InferenceConfig, how it predicts; ``amp`` resolved (None: as trained)
    device : torch.device
    postprocess : dict or None, the small-object and hole sizes chosen on its validation
        images (``min_size_px``, ``max_hole_px``, ...; ``postprocess.json``)
    training_pixel_size_nm : (y, x) or None, the pixel size of its training images
    source : Path or None, the run folder or checkpoint file it was read from

    Examples
    --------
    >>> run = Run.open("runs/unet", InferenceConfig(tta="flips"))   # doctest: +SKIP
    >>> seg = run.segment(image)                                     # doctest: +SKIP
    >>> seg.probability, seg.mask                                    # doctest: +SKIP
    """

    model: object
    train_config: TrainConfig
    config: InferenceConfig
    device: object
    postprocess: dict | None = None
    training_pixel_size_nm: tuple[float, float] | None = None
    source: Path | None = None

    # --- where the weights come from ---------------------------------------------------------

    @classmethod
    def open(cls, run_dir: str | Path, config: InferenceConfig | None = None) -> Run:
        """Open a run folder written by `segtrain.train` (or a ``.pt`` checkpoint in one, or a
        shipped model by name: `segtrain.shipped_models`): its
        ``config.checkpoint`` weights, config, post-processing and training pixel size.

        The device is checked before the weights are read (a one-line error names the devices
        this machine has)."""
        from ..inference._device import pick_device

        config = config or InferenceConfig()
        pick_device(config.device)
        run_dir = resolve_run(run_dir)  # a shipped model's name: its folder, files checked
        files = read_run_files(run_dir, config.checkpoint)
        return cls.from_checkpoint(
            files.checkpoint,
            config,
            train_config=files.config,
            postprocess=files.postprocess,
            training_pixel_size_nm=files.training_pixel_size_nm,
            source=Path(run_dir),
        )

    @classmethod
    def from_checkpoint(
        cls,
        checkpoint: dict,
        config: InferenceConfig | None = None,
        *,
        train_config: TrainConfig | None = None,
        postprocess: dict | None = None,
        training_pixel_size_nm: tuple[float, float] | None = None,
        source: Path | None = None,
    ) -> Run:
        """A run from a checkpoint dict (as `segtrain.io.load_checkpoint` reads it), checked
        against its config (`train_config`, else the one stored in the checkpoint)."""
        where = source if source is not None else "in memory"
        cfg = train_config if train_config is not None else stored_config(checkpoint, where)
        model = network_from_checkpoint(checkpoint, cfg, where)
        return cls.from_model(
            model,
            cfg,
            config,
            postprocess=postprocess,
            training_pixel_size_nm=training_pixel_size_nm,
            source=source,
        )

    @classmethod
    def from_model(
        cls,
        model,
        train_config: TrainConfig,
        config: InferenceConfig | None = None,
        *,
        postprocess: dict | None = None,
        training_pixel_size_nm: tuple[float, float] | None = None,
        source: Path | None = None,
    ) -> Run:
        """A run of a network at hand, trained as `train_config` says (its normalisation,
        2.5D context and clicks); the network is put in eval mode on the config's device."""
        from ..inference._device import pick_device

        config = config or InferenceConfig()
        device = pick_device(config.device)
        if train_config.interactive and click_settings(model) is None:
            mark_interactive(model, train_config.clicks)
        # As trained: a run's config records True or False; "auto" (a config never trained)
        # says nothing of how the network was validated, so float32.
        trained = train_config.amp if isinstance(train_config.amp, bool) else False
        amp = trained if config.amp is None else config.amp
        return cls(
            model.to(device).eval(),
            train_config,
            config.replace(amp=amp),
            device,
            postprocess,
            training_pixel_size_nm,
            source,
        )

    def with_config(self, config: InferenceConfig) -> Run:
        """The same run (the same network) predicting with other settings; the checkpoint
        and device cannot change without opening the run again."""
        for name in ("checkpoint", "device"):
            if getattr(config, name) != getattr(self.config, name):
                raise InputError(
                    f"a run opened with {name} {getattr(self.config, name)!r} cannot predict "
                    f"with {getattr(config, name)!r}; open it again (Run.open) for another."
                )
        amp = self.config.amp if config.amp is None else config.amp
        return Run(
            self.model,
            self.train_config,
            config.replace(amp=amp),
            self.device,
            self.postprocess,
            self.training_pixel_size_nm,
            self.source,
        )

    # --- what it is --------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The run folder's name (a package's file name; the model's for a run without one)."""
        if self.source is None:
            return self.train_config.model
        if self.source.suffix.lower() == ".zip":  # a bioimage.io package (`open_run`)
            return self.source.stem
        return self.source.name if self.source.is_dir() else self.source.parent.name

    @property
    def normalize(self) -> tuple[float, float, float]:
        """How each image channel is normalised, as in training: (low, high percentiles,
        least range in noise stds)."""
        return self.train_config.normalization

    @property
    def clicks(self) -> ClickConfig | None:
        """The click settings of an interactive run; None for one that takes no clicks."""
        return click_settings(self.model)

    @property
    def click_radius_px(self) -> int:
        """The radius of a click's disk: the run's, else the default (for suggestions)."""
        return (self.clicks or ClickConfig()).radius_px

    @property
    def probabilistic(self) -> bool:
        """True for a network that draws latent samples (``prob_unet``)."""
        from ..inference._sampling import is_probabilistic

        return is_probabilistic(self.model)

    @functools.cached_property
    def _sampler(self):
        # Samples and clicks run on a channels_last copy of the network (their tiles and
        # windows are channels_last; a plain prediction keeps the network as trained).
        import torch

        return copy.deepcopy(self.model).to(memory_format=torch.channels_last).eval()

    def _running(self, *, grad: bool = False):
        """The config's torch threads, and no autograd unless `grad`."""
        from ..inference._device import running

        return running(self.config.threads, grad=grad)

    # --- what it does ------------------------------------------------------------------------

    def prepare(self, image: np.ndarray, *, where: str = "image") -> np.ndarray:
        """The normalised image channels (C, Y, X) float32 of a raw image, checked against the
        network's image channels (`prepared=True` in `sample` and `refine` takes them)."""
        from ..inference._normalise import prepare_image

        return prepare_image(self.model, image, normalize=self.normalize, where=where)

    def predict(
        self, image: np.ndarray, *, where: str = "image", channels: bool = False, zoom=1.0
    ) -> np.ndarray:
        """Foreground probability of a 2D image (Y, X) or an EM stack (Z, Y, X), float32.

        A stack is predicted slice by slice (with its neighbours as channels for a 2.5D run);
        with `channels` a 3D `image` is one slice and its neighbours (C, Y, X), as
        `segtrain.io.read_stack` gives it. `zoom` resamples each slice first
        (`segtrain.predict_image`)."""
        from ..inference._predict import predict_image, predict_stack

        image = np.asarray(image)
        context = self.train_config.context_slices
        if image.ndim == 2 and context:
            raise InputError(
                f"{where} is a 2D image, but the run uses 2.5D input (context_slices="
                f"{context}): predict an EM stack (3D TIFF) with it, or a folder of 2D images "
                "whose names number consecutive sections (predict_folder)."
            )
        if image.ndim not in (2, 3):
            raise InputError(f"{where} must be a 2D image or a 3D stack; got shape {image.shape}.")
        kw = {"normalize": self.normalize, "zoom": zoom}
        with self._running():
            if image.ndim == 2 or channels:
                return predict_image(self.model, image, self.config, **kw)
            return predict_stack(self.model, image, self.config, context=context, **kw)

    def sample(
        self,
        image: np.ndarray,
        *,
        samples: int = SAMPLES,
        rng=0,
        zoom=1.0,
        prepared: bool = False,
        where: str = "image",
        keep_samples: bool = True,
    ):
        """`Samples` of a 2D image without clicks: K prior draws of a probabilistic run (from
        `rng`), the 4 flips of a deterministic one (one pass for ``samples=1``). With `zoom`
        the image is resampled first and every sample back, so mean and std are in the
        image's pixels. `prepared`: `image` is `prepare`'s output (normalised already).
        `keep_samples`: False gives only the mean and std (``samples`` None), a band of tiles
        at a time (the K maps of a large image are never held; without a zoom)."""
        from ..inference._normalise import prepare_image
        from ..inference._sampling import sample_kind, samples_of_input, summarize_samples
        from ..inference._zoom import check_zoom, zoomed

        if not prepared and np.ndim(image) != 2 and self.train_config.context_slices == 0:
            raise InputError(f"sampling predicts 2D images; {where} has shape {np.shape(image)}.")
        net, radius = self._sampler, self.click_radius_px

        def draw(image: np.ndarray, keep: bool = True):
            norm = self.normalize
            x = image if prepared else prepare_image(net, image, normalize=norm, where=where)
            if self.clicks is not None:  # an interactive network without clicks
                x = network_input(x, (), None, radius_px=radius)
            with self._running():
                return samples_of_input(
                    net, x, self.config, samples=samples, rng=rng, keep_samples=keep
                )

        if not keep_samples and check_zoom(zoom) == (1.0, 1.0):
            return draw(image, keep=False)
        stack = zoomed(image, zoom, lambda im: draw(im).samples)
        return summarize_samples(stack, sample_kind(net, samples))

    def segment(
        self,
        image: np.ndarray,
        *,
        samples: int | None = None,
        rng=0,
        zoom=1.0,
        sizes: tuple[int, int] = (0, 0),
        n_suggestions: int = 3,
        where: str = "image",
    ) -> Segmentation:
        """The run's answer for one image (2D, or an EM stack without `samples`): its
        probability and mask (without objects under ``sizes[0]`` and holes under ``sizes[1]``
        pixels); with `samples`, the probability is the mean of K samples (`sample`), and
        their spread and the `n_suggestions` clicks it suggests come along."""
        from ..inference._predict import postprocess_mask
        from ..interactive._suggest import suggest_clicks

        unc, found = None, ()
        if samples is None:
            prob = self.predict(image, where=where, zoom=zoom)
        else:
            kw = {"rng": rng, "zoom": zoom, "where": where, "keep_samples": False}
            s = self.sample(image, samples=samples, **kw)
            prob, unc = s.mean, s.std
            found = suggest_clicks(unc, n=n_suggestions, radius_px=self.click_radius_px)
        lo, hole = sizes
        kw = {"threshold": self.config.threshold, "min_size_px": lo, "max_hole_px": hole}
        return Segmentation(prob, postprocess_mask(prob, **kw), unc, found)

    def refine(
        self,
        image: np.ndarray,
        clicks: Sequence[Click],
        previous=None,
        *,
        options: RefineConfig | None = None,
        window="auto",
        rng=0,
        prepared: bool = False,
        where: str = "image",
    ):
        """The state (`Refinement`) of an interactive run after `clicks` (`segtrain.refine`;
        `previous` the state before the last click, or None to apply them all in order).
        `prepared`: `image` is `prepare`'s output (normalised already)."""
        from ..interactive._refine import previous_state, refine_input

        require_interactive(self.model)
        x = image if prepared else self.prepare(image, where=where)
        clicks = check_clicks(clicks, x.shape[-2:], where=where)
        previous_state(previous, x.shape[-2:])
        with self._running():
            return refine_input(
                self._sampler,
                x,
                clicks,
                previous,
                config=self.config,
                options=options,
                window=window,
                rng=rng,
            )

    def explain(
        self,
        image: np.ndarray,
        *,
        layer: str | None = None,
        methods=("gradcam",),
        object_id: int | None = None,
        where: str = "image",
    ):
        """Heatmaps of the run's mask of one image (`segtrain.explain_image`, with the config's
        tiles and threshold)."""
        from ..explain._explain import explain_image

        with self._running(grad=True):
            return explain_image(
                self.model,
                image,
                self.config,
                layer=layer,
                methods=methods,
                object_id=object_id,
                normalize=self.normalize,
                where=where,
            )
