"""Model registry: name -> class (loaded on first use), with the error that lists the valid
names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from shapelib import InputError

__all__ = [
    "MODELS",
    "PROBABILISTIC_MODELS",
    "ModelName",
    "build_model",
    "min_input_px",
    "model_names",
]


def _unet():
    from ._unet import UNet

    return UNet


def _attention_res_unet():
    from ._attention import AttentionResUNet

    return AttentionResUNet


def _efficientnet_unet():
    from ._efficientnet import EfficientNetUNet

    return EfficientNetUNet


def _patch_cnn():
    from ._patchcnn import PatchCNN

    return PatchCNN


def _prob_unet():
    from ._prob_unet import ProbUNet

    return ProbUNet


# name -> the class's loader: each network's module is imported when it is first built, so
# `import segtrain` does not import torch (and the imports stay plain imports).
MODELS: dict[str, Callable[[], type]] = {
    "unet": _unet,
    "attention_res_unet": _attention_res_unet,
    "efficientnet_unet": _efficientnet_unet,
    "patch_cnn": _patch_cnn,
    "prob_unet": _prob_unet,
}

# Models that draw samples (a latent z): they train with a latent loss and `--samples` works.
PROBABILISTIC_MODELS: tuple[str, ...] = ("prob_unet",)

# The registered names as a type: configs validated with it list the allowed names.
ModelName = Literal[tuple(MODELS)]


def model_names() -> list[str]:
    """The registered model names."""
    return list(MODELS)


def model_class(name: str):
    """The class registered under `name`; an InputError listing the names otherwise."""
    if name not in MODELS:
        raise InputError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}.")
    return MODELS[name]()


def build_model(name: ModelName, params: dict[str, Any] | None = None):
    """Build a randomly initialised network by name.

    Parameters
    ----------
    name : str, one of `MODELS`
    params : dict, the model's options (validated; unknown keys are an error)

    Returns
    -------
    torch.nn.Module mapping (B, C, H, W) float32 to logits (B, 1, H, W)

    Examples
    --------
    >>> net = build_model("unet", {"depth": 2, "width": 8})
    """
    from pydantic import ValidationError

    from shapelib._errors import format_validation_error

    cls = model_class(name)
    try:
        p = cls.Params(**(params or {}))
    except ValidationError as err:
        raise InputError(
            format_validation_error(err, where=f"bad model_params for {name!r}")
        ) from None
    return cls(p)


def min_input_px(name: ModelName, params: dict[str, Any] | None = None) -> int:
    """The smallest patch or tile side a model supports with `params` (1: any size).

    Raises pydantic's ValidationError for params the model does not accept.
    """
    cls = model_class(name)
    rule = getattr(cls, "min_input_px", None)
    return int(rule(cls.Params(**(params or {})))) if rule is not None else 1
