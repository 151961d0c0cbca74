"""Reading a run folder back (a workflow over io): its config (`read_train_config`) and its
network (`load_run`), checked against each other so a folder that mixes two runs, a foreign
checkpoint or a config of another format version is refused with the reason. Writing one:
`_train.py`.
"""

from __future__ import annotations

import json
from pathlib import Path

from shapelib import InputError

from . import io
from ._clicks import mark_interactive
from ._config import CONFIG_VERSION, ClickConfig, TrainConfig, model_build_params
from ._registry import build_model

__all__ = ["load_run", "read_train_config"]


def read_train_config(path: str | Path) -> TrainConfig:
    """Read a `TrainConfig` from YAML or JSON, naming the file in any error.

    A run folder may be given: its ``config.json`` is read. A config of another format version
    is refused.
    """
    from pydantic import ValidationError

    from shapelib._errors import format_validation_error

    data = io.read_run_config(path)
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


def load_run(run_dir: str | Path, *, which: str = "best", expect_model: str | None = None):
    """Load a trained network and its config from a run folder (or a checkpoint file).

    The network is built with the params stored in the checkpoint (the ones it was trained
    with, input channels included), so a later change of the recipe cannot change it. An
    interactive run's network carries its click settings (`segtrain._clicks.click_settings`);
    the checkpoint and config.json must agree on whether the run is interactive.

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
    cfg = read_train_config(path.parent) if (path.parent / "config.json").is_file() else None
    if cfg is None:
        try:
            cfg = TrainConfig(**json.loads(ck["config_json"]))
        except (TypeError, ValueError) as err:
            raise InputError(f"checkpoint {path} holds no valid config ({err}).") from None
    name = ck["model_name"]
    if expect_model is not None and name != expect_model:
        raise InputError(
            f"checkpoint {path} holds a {name!r} model, not {expect_model!r}; pass a run of "
            f"{expect_model!r} or ask for {name!r}."
        )
    if name != cfg.model:
        raise InputError(
            f"checkpoint {path} holds a {name!r} model but the run's config.json says "
            f"{cfg.model!r}; the folder mixes two runs. Re-train or fix config.json."
        )
    interactive = bool(ck.get("interactive", False))
    if interactive != cfg.interactive:
        said = "interactive" if interactive else "not interactive"
        raise InputError(
            f"checkpoint {path} is {said} but the run's config.json says interactive: "
            f"{str(cfg.interactive).lower()}; the folder mixes two runs. Re-train or fix "
            "config.json."
        )
    if interactive and ck.get("clicks_json"):
        stored_clicks = ClickConfig.model_validate_json(ck["clicks_json"])
        if stored_clicks != cfg.clicks:
            raise InputError(
                f"checkpoint {path} was trained with clicks {stored_clicks.model_dump()}, the "
                f"run's config.json gives {cfg.clicks.model_dump()}; it comes from another run."
            )
    params = model_build_params(cfg)
    stored = json.loads(ck.get("model_params_json", "null") or "null")
    if stored is not None and stored != params:
        raise InputError(
            f"checkpoint {path} does not fit the run's config.json: it was trained with model "
            f"params {stored}, the config gives {params}; it comes from another run or settings."
        )
    model = build_model(name, params)
    try:
        model.load_state_dict(ck["state_dict"])
    except RuntimeError as err:
        first = str(err).splitlines()[1:2]
        raise InputError(
            f"checkpoint {path} does not fit a {name!r} model with params {params} "
            f"({first[0].strip() if first else err}); it comes from another model or settings."
        ) from None
    model.eval()
    mark_interactive(model, cfg.clicks if cfg.interactive else None)
    return model, cfg
