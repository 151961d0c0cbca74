"""Run folders and result files: the config as YAML/JSON, checkpoints (weights_only), the log
CSV, tables and figures. Every file is written atomically (``shapelib.io.atomic_path``)."""

from __future__ import annotations

from pathlib import Path

from shapelib import InputError
from shapelib.io import atomic_path, atomic_write, read_config, write_config

__all__ = [
    "CHECKPOINT_FORMAT",
    "POSTPROCESS_FILE",
    "SPLIT_FILE",
    "load_checkpoint",
    "read_log_csv",
    "read_postprocess",
    "read_run_config",
    "read_split",
    "save_checkpoint",
    "write_bench_outputs",
    "write_csv",
    "write_figure",
    "write_log_csv",
    "write_run_config",
]


CHECKPOINT_FORMAT = "mitoshape-segtrain-checkpoint"
# What a run validated on: held-out images or bands, or the given set.
SPLIT_FILE = "split.json"
# The post-processing sizes a run chose on its held-out validation images.
POSTPROCESS_FILE = "postprocess.json"


def write_run_config(run_dir: str | Path, config) -> None:
    """Write a config (pydantic model or mapping) as ``config.yaml`` and ``config.json``."""
    run_dir = Path(run_dir)
    write_config(run_dir / "config.json", config)
    write_config(run_dir / "config.yaml", config)


def read_run_config(path: str | Path) -> dict:
    """The config mapping of a run: a YAML/JSON file, or a run folder's ``config.json``.

    Plain data: the caller validates it (`segtrain.read_train_config`).
    """
    path = Path(path)
    if path.is_dir():
        path = path / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"training config {path} does not exist.")
    return read_config(path)


def read_split(run_dir: str | Path) -> dict:
    """What a run validated on (``split.json``): ``mode``, ``description``, ``pixel_size_nm``
    (the training images' (y, x) in nm, or None), ``validation`` and ``training`` (name, shape
    and pixel size of each image)."""
    path = Path(run_dir) / SPLIT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; is {run_dir} a run folder of train?")
    return read_config(path)


def read_postprocess(run_dir: str | Path) -> dict:
    """The post-processing a run chose on its validation data (``postprocess.json``): a dict
    with ``min_size_px``, ``max_hole_px``, ``rule`` and ``candidates``. `run_dir` may be a
    checkpoint file in the run folder."""
    path = Path(run_dir)
    if path.is_file():
        path = path.parent
    path = path / POSTPROCESS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist: the run chose no post-processing (it had no held-out "
            "validation data, or was trained by an older version); pass the sizes "
            "(--min-size-px, --max-hole-px) instead."
        )
    chosen = read_config(path)
    for key in ("min_size_px", "max_hole_px"):  # what predict and bench read from it
        v = chosen.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise InputError(
                f"{path} must give {key} as an integer >= 0; got {v!r}. Re-train, or pass the "
                "sizes (--min-size-px, --max-hole-px)."
            )
    return chosen


def save_checkpoint(path: str | Path, payload: dict) -> None:
    """Write a checkpoint dict (tensors, numbers, strings only) atomically."""
    import torch

    # Through an open file: torch.save to a path turns a full disk into a RuntimeError
    # ("unexpected pos ..."); a file object's write raises the OSError (ENOSPC) it is.
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save({"format": CHECKPOINT_FORMAT, **payload}, f)


def _is_pickle(path: Path) -> bool:
    """Whether a file is a torch zip archive or a whole pickle stream (read, never run)."""
    import pickletools
    import zipfile

    if zipfile.is_zipfile(path):
        return True
    try:
        with open(path, "rb") as fh:
            for _ in pickletools.genops(fh):
                pass
    except Exception:
        return False
    return True


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint with ``weights_only=True``; a clear error for a foreign file."""
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist; train first (mitoshape train).")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        if not _is_pickle(path):  # torch says the same of garbage bytes
            raise InputError(f"{path} is not a readable segtrain checkpoint.") from None
        # torch's message advises weights_only=False: never here
        raise InputError(
            f"{path} holds Python objects beyond weights (a pickle that loading would run); "
            "refused. Only checkpoints written by mitoshape train load."
        ) from None
    except Exception as err:  # torch raises many types for foreign/corrupt files
        raise InputError(f"{path} is not a readable segtrain checkpoint ({err}).") from None
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise InputError(
            f"{path} is not a segtrain checkpoint (no '{CHECKPOINT_FORMAT}' marker); pass a run "
            "folder written by mitoshape train."
        )
    return data


def write_csv(path: str | Path, table) -> Path:
    """Write a DataFrame as CSV (creating the folder)."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return Path(path)


def write_log_csv(path: str | Path, rows: list[dict]) -> Path:
    """Write training log rows (one dict per validation) as CSV."""
    import pandas as pd

    return write_csv(path, pd.DataFrame(rows))


def read_log_csv(path: str | Path) -> list[dict]:
    """Read a training log (``log.csv``) back as one dict per row."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"training log {path} does not exist; train first.")
    return pd.read_csv(path).to_dict("records")


def write_figure(path: str | Path, fig, *, dpi: int = 100) -> Path:
    """Save a ``matplotlib.figure.Figure`` (format from the suffix, PNG usually)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi)
    return Path(path)


def read_bench_seeds(folder: str | Path):
    """A bench folder's per-seed table (``table_seeds.csv``) as a DataFrame."""
    from io import StringIO

    import pandas as pd

    path = Path(folder) / "table_seeds.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: {folder} is not a finished bench folder.")
    text = path.read_text(encoding="utf-8", errors="replace")
    # written whole by pandas (ending in a newline), a row per run: anything else is a cut copy
    if not text.endswith("\n"):
        raise InputError(f"{path} is cut short (its last line is incomplete); copy it again.")
    try:
        table = pd.read_csv(StringIO(text))
    except (ValueError, pd.errors.ParserError) as err:
        raise InputError(f"{path} is not a readable table ({err}).") from None
    missing = [c for c in ("model", "test_set", "seed") if c not in table.columns]
    if missing or table.empty:
        said = f"no column {', '.join(missing)}" if missing else "no row"
        raise InputError(f"{path} has {said}: not the table of a finished bench.")
    return table


def write_bench_outputs(out: str | Path, table, markdown: str, figure) -> None:
    """Write a bench's ``table.csv``, ``table.md`` and ``table.png`` (the given figure)."""
    out = Path(out)
    write_csv(out / "table.csv", table)
    atomic_write(out / "table.md", markdown)
    write_figure(out / "table.png", figure)
