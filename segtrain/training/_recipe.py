"""The training recipe: the model, its size, the patches, the batch and the steps every
training starts from (`Recipe`, `RECIPES`, `RECIPE`), and the steps it takes for the precision
a run will have."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shapelib import InputError

__all__ = ["RECIPE", "RECIPES", "AmpChoice", "Recipe", "recipe_steps"]


# Mixed precision: on, off, or "auto" (on where the hardware has it natively; resolved by the
# training to True or False, which the run's config.yaml records).
AmpChoice = bool | Literal["auto"]


class Recipe(BaseModel):
    """A named training recipe: the defaults every training starts from.

    Why these numbers (2 CPU cores, no GPU; `benchmarks/bench_segtrain.py --recipes` and
    `--steps 20` time them, measured alone): the U-Net of depth 4 and width 16 (1.8 M
    parameters) on 256 px patches in batches of 4 costs about 1.0 s per step in float32, while
    width 32 (7.2 M parameters) costs 3.7x and batches of 8 2.4x per step (ratios in bf16),
    so in the same minutes they get a fraction of the steps. 1,200 steps took 24 minutes on
    Lucchi++ (with the data, augmentation and 6 validations). Precision ``auto``: bf16 autocast
    on CUDA and on CPUs with native bf16 (AVX512-BF16 or AMX), where the U-Net trains 3.0x
    faster in it; float32 elsewhere, where bf16 is emulated and the U-Net's step is 1.4x
    slower in it, and float32 runs are bit-identical for one config, machine and thread count
    (`segtrain.resolve_amp`; ``--amp``/``--no-amp`` force one).

    Steps follow the precision: a run that does not give ``max_steps`` makes ``max_steps``
    (1,200) in float32 and ``max_steps_mixed`` (3,000, validating every 500) in mixed
    precision, about the same minutes: on the AMD EPYC with AVX512-BF16 of
    ``benchmarks/RESULTS.md`` a bf16 U-Net step cost 0.29 s with its data (3,000 steps in 14.5
    minutes; float32 1,200 steps took 24 minutes on the earlier CPU). The run's config.yaml
    records the number it used.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    model: str = Field(description="Model name from the registry.")
    model_params: dict[str, dict[str, Any]] = Field(
        description="Per model name, the params a training uses unless it overrides them."
    )
    patch_px: int
    batch_size: int
    lr: float
    max_steps: int = Field(description="Optimiser steps in float32.")
    val_every: int
    max_steps_mixed: int = Field(
        description="Optimiser steps when the run is in mixed precision (amp true, or auto on "
        "hardware with native bf16/fp16): the same minutes buy more steps there."
    )
    val_every_mixed: int
    amp: AmpChoice = Field(
        description="Mixed precision by default (bf16 on CPU, fp16 on CUDA); auto: where the "
        "hardware has it natively."
    )


RECIPES: dict[str, Recipe] = {
    "cpu": Recipe(
        name="cpu",
        model="unet",
        model_params={
            "unet": {"depth": 4, "width": 16},
            "attention_res_unet": {"depth": 4, "width": 16},
            "efficientnet_unet": {"depth": 4, "width": 16},
            "patch_cnn": {"width": 16, "fc": 64},
            "prob_unet": {"depth": 4, "width": 16},
        },
        patch_px=256,
        batch_size=4,
        lr=2e-3,
        max_steps=1200,
        val_every=200,
        max_steps_mixed=3000,
        val_every_mixed=500,
        amp="auto",
    ),
}
RECIPE = RECIPES["cpu"]


def recipe_steps(data: dict) -> dict:
    """`data` with the recipe's steps (and validation interval) for the precision the run will
    have, when it does not give them: `Recipe.max_steps_mixed` where ``amp`` is true or resolves
    to mixed precision on this machine (`segtrain.resolve_amp`), `Recipe.max_steps` elsewhere.
    The config then records the number, so a run folder says what it did."""
    if "max_steps" in data:
        return data
    from ..inference._device import pick_device, resolve_amp

    amp = data.get("amp", RECIPE.amp)
    try:
        mixed = resolve_amp(amp, pick_device(str(data.get("device", "auto"))))
    except (InputError, ValueError, TypeError):  # a bad device or amp: the fields say so
        return data
    if not mixed:
        return data
    out = {**data, "max_steps": RECIPE.max_steps_mixed}
    if "val_every" not in data:
        out["val_every"] = RECIPE.val_every_mixed
    return out
