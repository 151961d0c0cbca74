"""The benchmark grid's config (compute): models x training data x seeds x test sets x test-time
outputs, the budget rule (equal steps unless a wall-clock comparison is asked for), and the
training sources of each regime."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shapelib import FileName, InputError

from ..evaluate._metrics import Connectivity
from ..models._registry import ModelName
from ..training._config import DataSource

__all__ = [
    "BenchConfig",
    "REGIMES",
    "Regime",
    "TTAMode",
    "base_train",
    "regime_sources",
    "all_sources",
]

Regime = Literal["real", "synthetic", "synthetic_then_real", "real_plus_synthetic"]
REGIMES = ("real", "synthetic", "synthetic_then_real", "real_plus_synthetic")
TTAMode = Literal["none", "flips", "d4"]
# Wall-clock budgets: the step cap when the train settings give none.
_UNCAPPED_STEPS = 10_000_000


class BenchConfig(BaseModel):
    """A benchmark grid. `train` holds the shared training settings (a partial TrainConfig;
    unset fields are the recipe's, `segtrain.RECIPE`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    models: dict[ModelName, dict[str, Any]] = Field(
        description="Model name -> model_params over the recipe's, e.g. {'unet': {}}."
    )
    real: list[DataSource] = Field(default_factory=list, description="Real training data.")
    synthetic: list[DataSource] = Field(default_factory=list, description="Synthetic data.")
    regimes: list[Regime] = Field(default_factory=lambda: ["real"], description="Training data.")
    synthetic_share: float = Field(
        0.5, gt=0, lt=1, description="Share of synthetic patches in real_plus_synthetic."
    )
    finetune_steps: int = Field(100, ge=1, description="Steps on real data after synthetic.")
    test_sets: dict[FileName, str] = Field(
        min_length=1,
        description="Name (a plain file name: it names folders) -> folder with images/ and "
        "masks/ (or image/, label/).",
    )
    train: dict[str, Any] = Field(
        default_factory=dict,
        description="TrainConfig fields shared by every run (not train/run_dir/model/seed).",
    )
    seeds: list[int] = Field(
        default_factory=lambda: [0, 1, 2], min_length=1, description="One run per seed."
    )
    budget: Literal["steps", "minutes"] = Field(
        "steps",
        description="steps: every run makes the same number of steps (max_steps); minutes: "
        "every run trains for `minutes` of wall clock (depends on the machine's load).",
    )
    minutes: float | None = Field(None, gt=0, description="Wall-clock minutes per run.")
    tile_px: int = Field(256, ge=16, description="Prediction tile side.")
    overlap_px: int = Field(64, ge=0, description="Prediction tile overlap.")
    tta: list[TTAMode] = Field(
        default_factory=lambda: ["none"],
        description="Test-time augmentations to report (none, flips, d4), one output each.",
    )
    clean: bool = Field(
        True,
        description="Also report each output with small objects and holes removed, at the "
        "sizes each run chose on its validation images (never on the test set).",
    )
    resample: bool = Field(
        False,
        description="Also report each TTA output on test images resampled to the pixel size "
        "of the training images (and back), named OUTPUT@train_px; needs pixel sizes in the "
        "TIFFs of both.",
    )
    save_predictions: Literal["first_seed", "all", "none"] = Field(
        "first_seed", description="Which runs write probability and mask TIFFs."
    )
    connectivity: Connectivity = Field(
        4, description="Foreground connectivity of the Betti error (4 or 8)."
    )

    @field_validator("tta", mode="before")
    @classmethod
    def _tta_bool(cls, v):
        # Old configs: `tta: true` meant the plain output and the flip average.
        if isinstance(v, bool):
            return ["none", "flips"] if v else ["none"]
        return v

    @model_validator(mode="after")
    def _check_budget(self):
        fixed = {"train", "run_dir", "model", "seed"} & set(self.train)
        if fixed:
            raise InputError(
                f"bench `train` settings may not set {sorted(fixed)}: the bench sets them per run."
            )
        if self.budget == "minutes" and self.minutes is None:
            raise InputError("budget: minutes needs `minutes` (wall-clock minutes per run).")
        if self.budget == "steps" and (self.minutes or self.train.get("time_budget_min")):
            raise InputError(
                "budget: steps compares at equal steps; drop `minutes` / train.time_budget_min, "
                "or set budget: minutes for a wall-clock comparison."
            )
        return self


def regime_sources(cfg: BenchConfig, regime: str) -> list[DataSource]:
    """The training sources of a regime (a mixture is weighted to give `synthetic_share`)."""
    need = {
        "real": ["real"],
        "synthetic": ["synthetic"],
        "synthetic_then_real": ["real", "synthetic"],
        "real_plus_synthetic": ["real", "synthetic"],
    }[regime]
    for n in need:
        if not getattr(cfg, n):
            raise InputError(f"regime {regime!r} needs `{n}` training data in the bench config.")
    if regime in ("real", "synthetic_then_real"):
        return cfg.real
    if regime == "synthetic":
        return cfg.synthetic
    # Mixture: weights so the synthetic sources together get `synthetic_share` of the patches.
    s = cfg.synthetic_share
    real = [
        d.model_copy(update={"weight": (1 - s) / len(cfg.real), "name": d.name or f"real{i}"})
        for i, d in enumerate(cfg.real)
    ]
    syn = [
        d.model_copy(update={"weight": s / len(cfg.synthetic), "name": d.name or f"syn{i}"})
        for i, d in enumerate(cfg.synthetic)
    ]
    return real + syn


def all_sources(cfg: BenchConfig, regime: str) -> list[DataSource]:
    """Every source a regime trains on, pre-training included (for the table's names)."""
    if regime == "synthetic_then_real":
        return cfg.synthetic + cfg.real
    return regime_sources(cfg, regime)


def base_train(cfg: BenchConfig) -> dict:
    """The TrainConfig fields every run shares, with the budget applied."""
    base = dict(cfg.train)
    if cfg.budget == "minutes":
        base["time_budget_min"] = cfg.minutes
        base.setdefault("max_steps", _UNCAPPED_STEPS)
    return base
