"""Run folders: the config as YAML/JSON, checkpoints (weights_only), the log CSV and curves."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = [
    "CHECKPOINT_FORMAT",
    "load_checkpoint",
    "read_train_config",
    "save_checkpoint",
    "write_curves",
    "write_log_csv",
    "write_run_config",
]


CHECKPOINT_FORMAT = "mitoshape-segtrain-checkpoint"


def write_run_config(run_dir: str | Path, config) -> None:
    """Write the training config as ``config.yaml`` and ``config.json`` in `run_dir`."""
    import yaml

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    data = config.model_dump(mode="json")
    (run_dir / "config.json").write_text(json.dumps(data, indent=2, sort_keys=True))
    (run_dir / "config.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def read_train_config(path: str | Path):
    """Read a `TrainConfig` from YAML or JSON, naming the file in any error.

    A run folder may be given: its ``config.json`` is read.
    """
    import yaml
    from pydantic import ValidationError

    from .._config import CONFIG_VERSION, TrainConfig

    path = Path(path)
    if path.is_dir():
        path = path / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"training config {path} does not exist.")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"training config {path} must be a mapping of fields; got {type(data)}.")
    version = data.get("version", CONFIG_VERSION)
    if version != CONFIG_VERSION:
        raise ValueError(
            f"config {path} has format version {version}; this segtrain reads version "
            f"{CONFIG_VERSION}. Re-train, or write the config again with the current fields."
        )
    try:
        return TrainConfig(**data)
    except ValidationError as err:
        msg = "; ".join(
            f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in err.errors()[:5]
        )
        raise ValueError(
            f"config {path} does not fit this segtrain version ({msg}). Fix the fields, or "
            "re-train if the run folder comes from an older version."
        ) from None


def save_checkpoint(path: str | Path, payload: dict) -> None:
    """Write a checkpoint dict (tensors, numbers, strings only) atomically."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"format": CHECKPOINT_FORMAT, **payload}, tmp)
    tmp.replace(path)


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint with ``weights_only=True``; a clear error for a foreign file."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist; train first (mitoshape train).")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for foreign/corrupt files
        raise ValueError(f"{path} is not a readable segtrain checkpoint ({err}).") from None
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(
            f"{path} is not a segtrain checkpoint (no '{CHECKPOINT_FORMAT}' marker); pass a run "
            "folder written by mitoshape train."
        )
    return data


def write_log_csv(path: str | Path, rows: list[dict]) -> None:
    """Write training log rows as CSV."""
    import pandas as pd

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)


def write_curves(path: str | Path, rows: list[dict]) -> None:
    """Plot training loss, validation loss and validation Dice/IoU against step to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not rows:
        return
    steps = [r["step"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    a.plot(steps, [r["train_loss"] for r in rows], label="train loss")
    a.plot(steps, [r["val_loss"] for r in rows], label="val loss")
    a.set_xlabel("step")
    a.legend()
    b.plot(steps, [r["val_dice"] for r in rows], label="val Dice (pooled)")
    b.plot(steps, [r["val_iou"] for r in rows], label="val foreground IoU (pooled)")
    b.set_xlabel("step")
    b.set_ylim(0, 1)
    b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_yaml(path: str | Path, data: dict) -> None:
    """Write a mapping as YAML (creating the folder)."""
    import yaml

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def read_yaml(path: str | Path) -> dict:
    """Read a YAML (or JSON) mapping, naming the file in errors."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist.")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a mapping of fields; got {type(data).__name__}.")
    return data


def write_csv(path: str | Path, table) -> None:
    """Write a DataFrame as CSV (creating the folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)


def write_bench_outputs(out: str | Path, table, markdown: str) -> None:
    """Write ``table.csv``, ``table.md`` and ``table.png`` (foreground IoU) of a bench."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    write_csv(out / "table.csv", table)
    (out / "table.md").write_text(markdown)
    labels = [f"{r.model}\n{r.training}\n{r.test_set}" for r in table.itertuples()]
    fig, ax = plt.subplots(figsize=(max(4, 1.3 * len(labels)), 3.8))
    ax.bar(range(len(labels)), table["iou_mean"], yerr=table["iou_std"], capsize=3)
    ax.set_xticks(range(len(labels)), labels, fontsize=7)
    ax.set_ylabel("foreground IoU (mean +- std per image)")
    ax.set_ylim(0, 1)
    fig.tight_layout()
    fig.savefig(out / "table.png", dpi=100)
    plt.close(fig)
