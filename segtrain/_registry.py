"""Model registry: name -> class, with the error that lists the valid names."""

from __future__ import annotations

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

# name -> (module, class); imported on demand so `import segtrain` does not import torch.
MODELS: dict[str, tuple[str, str]] = {
    "unet": ("segtrain._models._unet", "UNet"),
    "attention_res_unet": ("segtrain._models._attention", "AttentionResUNet"),
    "efficientnet_unet": ("segtrain._models._efficientnet", "EfficientNetUNet"),
    "patch_cnn": ("segtrain._models._patchcnn", "PatchCNN"),
    "prob_unet": ("segtrain._models._prob_unet", "ProbUNet"),
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
    import importlib

    if name not in MODELS:
        raise InputError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}.")
    mod, cls = MODELS[name]
    return getattr(importlib.import_module(mod), cls)


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
