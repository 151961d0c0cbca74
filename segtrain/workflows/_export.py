"""A trained run as a bioimage.io model package (spec 0.5), for deepImageJ (Fiji), napari
(bioimageio.core), QuPath and ilastik.

The package's input is the raw grey image; its preprocessing is bioimage.io's ``scale_range``
(the run's percentiles, per image), its postprocessing a sigmoid, so the package's output is
the probability `predict` gives for an image in one tile without test-time augmentation.
bioimage.io's ``scale_range`` cannot express mitoshape's noise floor
(``normalize_min_range_sigmas``: the range is at least that many noise stds); on images with
contrast the floor does nothing, and the package's README says where it differs (pure noise is
stretched to the full range). The test tensor is checked to be such an image.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np

from shapelib import InputError
from shapelib.io import check_output_files, claim_output_file

from .. import io
from ..inference._clicks import click_settings, image_channels
from ..inference._config import InferenceConfig
from ..inference._predict import predict_image
from ._package import run_settings
from ._run import Run

__all__ = ["export_bioimageio"]

log = logging.getLogger(__name__)

_MAX_TEST_SIDE_PX = 256
_TOLERANCE = 1e-4


def _first_layer(net) -> str:
    import torch

    return next(
        (
            f"{n} ({type(m).__name__})"
            for n, m in net.named_modules()
            if isinstance(m, torch.nn.Conv2d)
        ),
        type(net).__name__,
    )


def check_exportable(run: Run) -> None:
    """An InputError naming the layer and why, for a run bioimage.io cannot hold."""
    net = run.model
    if run.probabilistic:
        raise InputError(
            f"cannot export {run.name}: its {type(net).__name__} draws a latent sample in the "
            "prior net (layer 'prior') at each pass; bioimage.io models are deterministic. "
            "Export a unet, attention_res_unet or efficientnet_unet run."
        )
    if click_settings(net) is not None:
        raise InputError(
            f"cannot export {run.name}: its first layer {_first_layer(net)} takes click "
            "channels besides the image (an interactive run); bioimage.io models take the image "
            "only. Export a run trained without --interactive."
        )
    if image_channels(net) != 1 or run.train_config.context_slices:
        raise InputError(
            f"cannot export {run.name}: its first layer {_first_layer(net)} takes "
            f"{image_channels(net)} image channels (2.5D input, neighbouring slices); the "
            "package holds 2D grey models. Export a 2D run."
        )


def _trace(net, x):
    """The TorchScript of `net` traced on `x`; an InputError naming the layer that fails."""
    import torch

    entered: list[str] = []
    hooks = [
        m.register_forward_pre_hook(lambda mod, args, name=n: entered.append(name))
        for n, m in net.named_modules()
        if n
    ]
    try:  # sizes are multiples of the network's step: its padding branch is constant
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            traced = torch.jit.trace(net, x, check_trace=False)
    except Exception as err:  # torch raises many types for an untraceable layer
        layer = entered[-1] if entered else type(net).__name__
        why = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(
            f"cannot export: layer {layer!r} cannot be traced to TorchScript ({why})."
        ) from None
    finally:
        for h in hooks:
            h.remove()
    return traced


def _test_image(run: Run, image: str | Path | None, side_step: int) -> np.ndarray:
    """The test image: `image`, else the first training image; cropped to a square side of at
    most 256 px, a multiple of the network's size step."""
    if image is None:
        sources = [s.path for s in run.train_config.train if Path(s.path).exists()]
        if not sources:
            raise InputError(
                f"the training images of {run.name} are not here; pass a test image (--image)."
            )
        image = io.list_images(io.image_folder(sources[0]))[0]
    data = io.read_grey(image, ndims=(2, 3)).data
    data = data[data.shape[0] // 2] if data.ndim == 3 else data
    side = min(_MAX_TEST_SIDE_PX, *data.shape) // side_step * side_step
    if side < side_step:
        raise InputError(
            f"test image {image} is {data.shape} px; the network needs at least {side_step} px "
            "a side. Pass a larger image (--image)."
        )
    return np.asarray(data[:side, :side])


def _cover(image: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """The image (1-99 % range) beside its probability, as a 2:1 RGB picture."""
    lo, hi = np.percentile(image, [1, 99])
    grey = np.clip((image - lo) / max(hi - lo, 1e-6), 0, 1)
    both = np.concatenate([grey, prob], axis=1)
    rgb = np.stack([both, both, both], axis=-1)
    rgb[:, image.shape[1] :, 1] = np.clip(prob * 0.6 + 0.2, 0, 1)  # probability tinted green
    return (rgb * 255).astype(np.uint8)


def _readme(run: Run, low: float, high: float, floor: float, pixel) -> str:
    cfg = run.train_config
    size = f"{pixel[0]:g} x {pixel[1]:g} nm" if pixel else "not recorded"
    return f"""# {run.name}: mitochondria segmentation (mitoshape)

A {cfg.model} trained by `mitoshape train` (mitoshape, BSD-3-Clause). Input: one 2D grey
image (EM or fluorescence), any size that is a multiple of the network's step. Output: the
foreground (mitochondria) probability in [0, 1]; threshold it at {run.config.threshold:g}
for a mask.

## Preprocessing

Each image is mapped so that its {low:g} and {high:g} percentiles become 0 and 1
(`scale_range`, no clipping), as mitoshape does before every prediction.

mitoshape also keeps the mapped range at least {floor:g} noise standard deviations wide
(`normalize_min_range_sigmas`; 0 = off), so that an image of pure noise is not stretched to
the full range. bioimage.io's `scale_range` cannot express that floor: on images with
objects it does nothing, but on an empty (background-only) image this package stretches the
noise and may see objects where mitoshape sees none.

## Training

- pixel size of the training images: {size}
- steps: {cfg.max_steps}, patch {cfg.patch_px} px
- model options: {cfg.model_params}

The package's output on its test tensor equals `mitoshape predict` (one tile, no test-time
augmentation) within {_TOLERANCE:g}. `mitoshape predict model.zip ...` rebuilds the run from
the state dict and `mitoshape_run.json` (its settings, noise floor included), so it predicts as
the run does.
"""


def export_bioimageio(
    run: Run,
    out: str | Path,
    *,
    image: str | Path | None = None,
    overwrite: bool = False,
) -> Path:
    """Write `run` as a bioimage.io model package (a ``.zip``, spec 0.5).

    Parameters
    ----------
    run : Run, a 2D, non-interactive, non-probabilistic run (an InputError names the layer
        that cannot be exported and why)
    out : the ``.zip`` to write (never over a file unless `overwrite`, never inside the run)
    image : the test image (PNG/TIFF); None: the first of the run's training images. A square
        of at most 256 px is cut from its top left corner

    Returns
    -------
    out : Path

    Examples
    --------
    >>> export_bioimageio(Run.open("runs/unet"), "unet.zip")  # doctest: +SKIP
    """
    import torch

    from ..io._bioimageio import ModelPackage, write_bioimageio_package
    from ..models._registry import min_input_px

    out = Path(out)
    if out.suffix.lower() != ".zip":
        raise InputError(f"a bioimage.io package is a .zip file; got {out}. Name it model.zip.")
    inputs = [run.source] if run.source is not None else []
    check_output_files([out], inputs=inputs, overwrite=overwrite)
    check_exportable(run)
    net = run.model.cpu().eval()
    params = net.params.model_dump(mode="json")
    step = max(min_input_px(run.train_config.model, params), 16)
    img = _test_image(run, image, step)
    low, high, floor = run.normalize
    # mitoshape's answer (one tile, no TTA) and the package's (percentiles without the floor).
    one_tile = InferenceConfig(tile_px=img.shape[0], overlap_px=0, tta="none", amp=False)
    want = predict_image(net, img, one_tile, normalize=(low, high, floor))
    plain = predict_image(net, img, one_tile, normalize=(low, high))
    if float(np.abs(want - plain).max()) > _TOLERANCE:
        raise InputError(
            f"the test image's contrast is below the run's noise floor ({floor:g} noise stds), "
            "which bioimage.io's scale_range cannot express; pass an image with objects (--image)."
        )
    x = torch.from_numpy(img.astype(np.float32)[None, None])
    traced = _trace(net, x)
    package = ModelPackage(
        name=f"mitoshape {run.name}"[:128].ljust(5, "_"),
        description=f"Mitochondria segmentation: a {run.train_config.model} trained with "
        "mitoshape; outputs the foreground probability of a 2D grey image.",
        model_name=run.train_config.model,
        model_params=params,
        state_dict={k: v.detach().cpu() for k, v in net.state_dict().items()},
        torchscript=traced,
        test_input=img.astype(np.float32)[None, None],
        test_output=want.astype(np.float32)[None, None],
        cover=_cover(img.astype(np.float64), want),
        pixel_size_nm=run.training_pixel_size_nm,
        percentiles=(low, high),
        min_side_px=step,
        documentation=_readme(run, low, high, floor, run.training_pixel_size_nm),
        run_settings=run_settings(run),
    )
    target = claim_output_file(out, inputs=inputs, overwrite=overwrite)
    return write_bioimageio_package(target, package)
