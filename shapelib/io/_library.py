"""Library folders on disk: the run manifest, resume state, library.csv and library.json."""

from __future__ import annotations

import csv
import io as _io
import json
import logging
import math
import re
import shutil
from pathlib import Path

from .._errors import InputError
from ._atomic import atomic_write
from ._instance_io import is_complete

__all__ = [
    "MANIFEST_NAME",
    "clear_incomplete",
    "instance_folder",
    "prepare_library_dir",
    "read_library_table",
    "write_library_files",
]

log = logging.getLogger(__name__)

MANIFEST_NAME = ".mitoshape-library.json"  # written first: what this folder is being built from
_ID_DIR = re.compile(r"^\d+$")
ID_WIDTH = 6


def instance_folder(library_dir: str | Path, instance_id: int) -> Path:
    """``library_dir / 000042`` for instance 42 (zero-padded to 6 digits)."""
    return Path(library_dir) / f"{int(instance_id):0{ID_WIDTH}d}"


def _dumps(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"


def _existing_run(out: Path) -> dict | None:
    for name in (MANIFEST_NAME, "library.json"):
        p = out / name
        if p.is_file():
            try:
                return json.loads(p.read_text(encoding="utf-8")).get("run")
            except (json.JSONDecodeError, AttributeError):
                return {"unreadable": str(p)}
    return None


def prepare_library_dir(out_dir: str | Path, run: dict, *, overwrite: bool) -> Path:
    """Check ``out_dir`` and make it ready; return it. Nothing is written before the checks.

    - absent or empty: created, the run manifest written;
    - a library (or an interrupted one) made with the same ``run``: kept, to resume;
    - a library made with a different ``run``: ``FileExistsError`` unless ``overwrite``, which
      removes the library's own files (instance folders, library.csv/json, manifest) only;
    - a non-empty folder that is not a library: ``FileExistsError``.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"output {out} exists and is a file; pass a folder path.")
    if out.is_dir() and any(out.iterdir()):
        old = _existing_run(out)
        if old is None:
            raise FileExistsError(
                f"output folder {out} is not empty and holds no library; choose a new or empty "
                "folder."
            )
        if old != run:
            if not overwrite:
                diff = sorted(k for k in set(old) | set(run) if old.get(k) != run.get(k))
                raise FileExistsError(
                    f"output folder {out} holds a different library (differs in: "
                    f"{', '.join(diff)}); pass --overwrite (overwrite=True) to replace it, or "
                    "choose another folder."
                )
            log.warning("overwriting the library in %s", out)
            for child in out.iterdir():
                if child.is_dir() and _ID_DIR.match(child.name):
                    shutil.rmtree(child)
                elif child.name in (MANIFEST_NAME, "library.csv", "library.json"):
                    child.unlink()
        else:
            log.info("resuming the library in %s", out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / MANIFEST_NAME, _dumps({"run": run}).encode())
    return out


def clear_incomplete(folder: Path) -> None:
    """Remove a half-written instance folder (no meta.json) before it is made again."""
    if folder.exists() and not is_complete(folder):
        shutil.rmtree(folder)


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(float(v))
    return str(v)


def write_library_files(out_dir: str | Path, columns: list[str], rows: list[dict], info: dict):
    """Write ``library.csv`` (one row per instance) and ``library.json`` (parameters, versions)."""
    out = Path(out_dir)
    buf = _io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_fmt(row.get(c)) for c in columns])
    atomic_write(out / "library.csv", buf.getvalue().encode())
    atomic_write(out / "library.json", _dumps(info).encode())


def read_library_table(library_dir: str | Path):
    """``library.csv`` of a library folder as a pandas DataFrame (one row per instance)."""
    import pandas as pd

    path = Path(library_dir) / "library.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"{library_dir} is not a finished library (no library.csv); run `mitoshape extract` "
            "first, or re-run it to finish an interrupted library."
        )
    try:
        table = pd.read_csv(path, dtype={"folder": str, "class": str, "source": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(
            f"{path} is not a readable library table ({type(err).__name__}: {err}); re-run "
            "`mitoshape extract` to write it again."
        ) from None
    if "volume_um3" in table.columns and "mesh_volume_um3" not in table.columns:
        # libraries of format 1 named the mesh volume volume_um3
        table = table.rename(columns={"volume_um3": "mesh_volume_um3"})
    return table
