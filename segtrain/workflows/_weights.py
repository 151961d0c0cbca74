"""Where the weights of a trained run come from: a run folder or a checkpoint file in one
(`load_run`, `read_run_files`, with `read_train_config`), or a checkpoint already in memory
(`network_from_checkpoint`). The network is built with the params stored in the checkpoint and
checked against its run's config, so a folder that mixes two runs, a foreign checkpoint or a
config of another format version is refused with the reason. The opened run: `_run.Run`;
writing a run folder: `_train.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from shapelib import InputError

from .. import io
from ..inference._clicks import mark_interactive
from ..models._registry import build_model
from ..training._config import CONFIG_VERSION, ClickConfig, TrainConfig, model_build_params
from ..training._holdout import training_pixel_size

__all__ = [
    "RunFiles",
    "as_train_config",
    "load_run",
    "network_from_checkpoint",
    "read_run_files",
    "read_train_config",
    "resolve_run",
    "stored_config",
    "train_config_of",
]


def read_train_config(path: str | Path) -> TrainConfig:
    """Read a `TrainConfig` from YAML or JSON, naming the file in any error.

    A run folder may be given: its ``config.json`` is read. A config of another format version
    is refused.
    """
    return train_config_of(io.read_run_config(path), path)


def train_config_of(data: dict, path) -> TrainConfig:
    """A `TrainConfig` of the fields read from `path` (named in any error); another format
    version is refused."""
    from pydantic import ValidationError

    from shapelib._errors import format_validation_error

    version = data.get("version", CONFIG_VERSION)
    if version != CONFIG_VERSION:
        raise InputError(
            f"config {path} has format version {version}; this segtrain reads version "
            f"{CONFIG_VERSION}. Re-train, or write the config again with the current fields."
        )
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as err:
        raise InputError(
            f"config {path} does not fit this segtrain version ({format_validation_error(err)}). "
            "Fix the fields, or re-train if the run folder comes from an older version."
        ) from None


def as_train_config(config: TrainConfig | dict | str | Path) -> TrainConfig:
    """A `TrainConfig` of its fields, a YAML/JSON file or a run folder (`read_train_config`)."""
    if isinstance(config, TrainConfig):
        return config
    if isinstance(config, dict):
        return TrainConfig(**config)
    return read_train_config(config)


def _read(run_dir: str | Path, which: str) -> tuple[dict, TrainConfig, Path]:
    """(checkpoint, its run's config, the checkpoint's path) of a run folder or checkpoint."""
    if which not in ("best", "last"):
        raise InputError(f"which must be 'best' or 'last'; got {which!r}.")
    path = Path(run_dir)
    if path.is_dir():
        cand = path / f"{which}.pt"
        path = cand if cand.is_file() else path / "last.pt"
    ck = io.load_checkpoint(path)
    missing = {"model_name", "config_json", "state_dict"} - set(ck)
    if missing:
        raise InputError(f"checkpoint {path} lacks {sorted(missing)}; it is cut or foreign.")
    if (path.parent / "config.json").is_file():
        return ck, read_train_config(path.parent), path
    return ck, stored_config(ck, path), path


def stored_config(ck: dict, where) -> TrainConfig:
    try:
        return TrainConfig(**json.loads(ck["config_json"]))
    except (TypeError, ValueError) as err:
        raise InputError(f"checkpoint {where} holds no valid config ({err}).") from None


def _check_finite(state: dict, where) -> None:
    """Refuse weights holding NaN or infinity (a diverged run): they would write NaN
    probabilities and empty masks through predict, explain and report without a word."""
    import torch

    floats = {k: v for k, v in state.items() if torch.is_tensor(v) and v.is_floating_point()}
    bad = [k for k, v in floats.items() if not bool(torch.isfinite(v).all())]
    if bad:
        raise InputError(
            f"checkpoint {where} holds NaN or infinite weights ({len(bad)} tensors, first "
            f"{bad[0]!r}): the training diverged; use another checkpoint (--which) or re-train "
            "with a lower learning rate."
        )


def network_from_checkpoint(ck: dict, cfg: TrainConfig, where):
    """The network of a checkpoint dict, checked against its run's config `cfg` (in eval mode, on
    CPU; an interactive one marked with its click settings). `where` names it in errors."""
    name = ck["model_name"]
    if name != cfg.model:
        raise InputError(
            f"checkpoint {where} holds a {name!r} model but the run's config.json says "
            f"{cfg.model!r}; the folder mixes two runs. Re-train or fix config.json."
        )
    interactive = bool(ck.get("interactive", False))
    if interactive != cfg.interactive:
        said = "interactive" if interactive else "not interactive"
        raise InputError(
            f"checkpoint {where} is {said} but the run's config.json says interactive: "
            f"{str(cfg.interactive).lower()}; the folder mixes two runs. Re-train or fix "
            "config.json."
        )
    if interactive and ck.get("clicks_json"):
        stored_clicks = ClickConfig.model_validate_json(ck["clicks_json"])
        if stored_clicks != cfg.clicks:
            raise InputError(
                f"checkpoint {where} was trained with clicks {stored_clicks.model_dump()}, the "
                f"run's config.json gives {cfg.clicks.model_dump()}; it comes from another run."
            )
    params = model_build_params(cfg)
    stored = json.loads(ck.get("model_params_json", "null") or "null")
    if stored is not None and stored != params:
        raise InputError(
            f"checkpoint {where} does not fit the run's config.json: it was trained with model "
            f"params {stored}, the config gives {params}; it comes from another run or settings."
        )
    _check_finite(ck["state_dict"], where)
    model = build_model(name, params)
    try:
        model.load_state_dict(ck["state_dict"])
    except RuntimeError as err:
        first = str(err).splitlines()[1:2]
        raise InputError(
            f"checkpoint {where} does not fit a {name!r} model with params {params} "
            f"({first[0].strip() if first else err}); it comes from another model or settings."
        ) from None
    model.eval()
    return mark_interactive(model, cfg.clicks if cfg.interactive else None)


def load_run(run_dir: str | Path, *, which: str = "best", expect_model: str | None = None):
    """Load a trained network and its config from a run folder (or a checkpoint file).

    The network is built with the params stored in the checkpoint (the ones it was trained
    with, input channels included), so a later change of the recipe cannot change it. An
    interactive run's network carries its click settings (``click_settings`` of
    `segtrain.inference._clicks`); the checkpoint and config.json must agree on whether the
    run is interactive. `Run.open` opens a run with everything it needs to predict.

    Parameters
    ----------
    run_dir : path to a run folder, or to a ``.pt`` file written by `train`
    which : "best" or "last"
    expect_model : str or None, error if the checkpoint holds another model

    Returns
    -------
    model : torch.nn.Module in eval mode, on CPU
    config : TrainConfig
    """
    ck, cfg, path = _read(run_dir, which)
    name = ck["model_name"]
    if expect_model is not None and name != expect_model:
        raise InputError(
            f"checkpoint {path} holds a {name!r} model, not {expect_model!r}; pass a run of "
            f"{expect_model!r} or ask for {name!r}."
        )
    return network_from_checkpoint(ck, cfg, path), cfg


@dataclass(frozen=True)
class RunFiles:
    """What a run folder holds for prediction: the checkpoint dict, the config, the
    post-processing chosen on validation (None when none was) and the training images' (y, x)
    pixel size in nm (None when unknown); `path` is the checkpoint file."""

    checkpoint: dict
    config: TrainConfig
    postprocess: dict | None
    training_pixel_size_nm: tuple[float, float] | None
    path: Path


def resolve_run(source: str | Path) -> Path:
    """A run folder or checkpoint file as given, or the folder of the shipped model of that
    name (its files' hashes checked first: `_shipped.shipped_model`)."""
    path = Path(source)
    if path.exists():
        return path
    from ._shipped import shipped_models

    if str(source) in shipped_models():
        from ._shipped import shipped_model

        return shipped_model(str(source)).folder
    raise InputError(
        f"{source} does not exist, and it is not the name of a shipped model (shipped: "
        f"{', '.join(shipped_models()) or 'none'}; list them with `mitoshape models`)."
    )


def read_run_files(run_dir: str | Path, which: str = "best") -> RunFiles:
    """Read what `Run.open` needs from a run folder (or a checkpoint file in one, or a shipped
    model's name: `resolve_run`)."""
    ck, cfg, path = _read(resolve_run(run_dir), which)
    folder = path.parent
    return RunFiles(ck, cfg, _postprocess(folder), _training_pixel_size(folder), path)


def _training_pixel_size(folder: Path) -> tuple[float, float] | None:
    try:
        split = io.read_split(folder)
    except FileNotFoundError:  # a checkpoint copied out of its run folder: size unknown
        return None
    px = split.get("pixel_size_nm")
    if px is None and split.get("training"):  # written before the median rule (one size only)
        px = training_pixel_size([t.get("pixel_size_nm") for t in split["training"]])
    return None if px is None else (float(px[0]), float(px[1]))


def _postprocess(folder: Path) -> dict | None:
    try:
        return io.read_postprocess(folder)
    except FileNotFoundError:  # no held-out validation data, or an older version
        return None
