"""Library folders on disk: the output folder (through the output guard), resume state,
library.csv and library.json."""

from __future__ import annotations

import csv
import io as _io
import json
import logging
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

from .._errors import InputError
from ._atomic import atomic_write
from ._instance_io import MESH_FILE, META_FILE, OCC_FILE, PLY_FILE
from ._outputs import (
    OutputExistsError,
    OutputFolder,
    check_output_folder,
    open_output_folder,
    read_manifest,
)

if TYPE_CHECKING:
    import pandas

__all__ = [
    "INSTANCE_FILES",
    "instance_files",
    "instance_folder",
    "prepare_library_dir",
    "read_library_table",
    "source_files",
    "write_library_files",
]

log = logging.getLogger(__name__)

ID_WIDTH = 6
INSTANCE_FILES = (MESH_FILE, PLY_FILE, OCC_FILE, META_FILE)  # what write_shape may write
_FILE_SPEC = re.compile(r"^(?P<file>.+?\.(?:h5|hdf5|hdf|he5|zarr))(?::.*)?$", re.IGNORECASE)


def instance_folder(library_dir: str | Path, instance_id: int) -> Path:
    """``library_dir / 000042`` for instance 42 (zero-padded to 6 digits)."""
    return Path(library_dir) / f"{int(instance_id):0{ID_WIDTH}d}"


def instance_files(instance_id: int) -> list[str]:
    """The files of instance ``instance_id`` relative to its library (claimed before writing)."""
    folder = instance_folder("", instance_id).as_posix()
    return [f"{folder}/{name}" for name in INSTANCE_FILES]


def source_files(source: str) -> list[Path]:
    """The file or folder a volume's ``source`` names (``file.h5:/key`` -> ``file.h5``); none
    for an in-memory array. These are the extraction's inputs (never written over)."""
    m = _FILE_SPEC.match(str(source))
    path = Path(m["file"] if m else str(source))
    return [path] if path.exists() else []


def _dumps(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"


def prepare_library_dir(
    out_dir: str | Path, run: dict, *, overwrite: bool, inputs=(), dry_run: bool = False
) -> OutputFolder | None:
    """Open ``out_dir`` for a library through the output guard; nothing is written before the
    checks (``dry_run``: only the checks, returning None).

    - absent or empty: created (its manifest records ``run``);
    - a library (or an interrupted one) made with the same ``run``: kept, to resume;
    - a library made with a different ``run``: refused unless ``overwrite``, which removes the
      files the manifest lists (those mitoshape wrote there) and nothing else;
    - a folder holding anything else: refused (:mod:`shapelib.io._outputs`).
    """
    out = Path(out_dir)
    run = json.loads(json.dumps(run))  # as the manifest stores it (lists, not tuples)
    header, files = read_manifest(out) if out.is_dir() else (None, [])
    if header is not None and header.get("command") == "extract" and files:
        old = (header.get("details") or {}).get("run") or {}
        if old == run:
            if dry_run:
                check_output_folder(out, command="extract", inputs=inputs, resume=True)
                return None
            log.info("resuming the library in %s", out)
            return open_output_folder(out, command="extract", inputs=inputs, resume=True)
        if not overwrite:
            diff = sorted(k for k in set(old) | set(run) if old.get(k) != run.get(k))
            raise OutputExistsError(
                f"output folder {out} holds a different library (differs in: "
                f"{', '.join(diff)}); pass --overwrite (overwrite=True) to replace its files "
                "(only those), or choose another folder."
            )
    if dry_run:
        check_output_folder(out, command="extract", inputs=inputs, overwrite=overwrite)
        return None
    return open_output_folder(
        out, command="extract", inputs=inputs, overwrite=overwrite, details={"run": run}
    )


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(float(v))
    return str(v)


def write_library_files(
    out: OutputFolder | str | Path, columns: list[str], rows: list[dict], info: dict
) -> None:
    """Write ``library.csv`` (one row per instance) and ``library.json`` (parameters, versions),
    claimed in ``out``'s manifest first when ``out`` is an :class:`OutputFolder`."""
    if isinstance(out, OutputFolder):
        csv_path, json_path = out.claim("library.csv", "library.json")
    else:
        csv_path, json_path = Path(out) / "library.csv", Path(out) / "library.json"
    buf = _io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_fmt(row.get(c)) for c in columns])
    atomic_write(csv_path, buf.getvalue().encode())
    atomic_write(json_path, _dumps(info).encode())


_REQUIRED = ("id", "folder")


def _check_table_text(path: Path) -> None:
    """The table is whole: a header with ``id`` and ``folder``, every row as long as the
    header, integer ids, plain folder names, and as many rows as library.json says."""
    from .._names import check_file_name

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text; re-run `mitoshape extract`.") from None
    lines = list(csv.reader(_io.StringIO(text)))
    fix = "re-run `mitoshape extract` to write it again"
    if not lines:
        raise InputError(f"{path} is empty (no header line); {fix}.")
    if not text.endswith("\n"):
        raise InputError(f"{path} does not end with a line break: the table is cut; {fix}.")
    header = lines[0]
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise InputError(
            f"{path} has no {', '.join(missing)} column (header {header[:6]}...): the table is "
            f"cut or not a library table; {fix}."
        )
    i_id, i_folder = header.index("id"), header.index("folder")
    for n, row in enumerate(lines[1:], start=2):
        if len(row) != len(header):
            raise InputError(
                f"{path} line {n} has {len(row)} fields but the header has {len(header)}: the "
                f"table is cut or edited; {fix}."
            )
        if not row[i_id].strip().isdigit():
            raise InputError(f"{path} line {n}: id {row[i_id]!r} is not an integer; {fix}.")
        check_file_name(row[i_folder], what=f"{path} line {n}: folder")
    info_path = path.with_name("library.json")
    try:
        expected = json.loads(info_path.read_text(encoding="utf-8")).get("n_instances")
    except (OSError, ValueError, AttributeError):
        expected = None  # no or unreadable library.json: the table stands alone
    if isinstance(expected, int) and expected != len(lines) - 1:
        raise InputError(
            f"{path} lists {len(lines) - 1} instances but {info_path.name} says {expected}: the "
            f"table is cut; {fix}."
        )


def read_library_table(library_dir: str | Path) -> pandas.DataFrame:
    """``library.csv`` of a library folder as a pandas DataFrame (one row per instance).

    Raises InputError for a table that is cut or edited (see :func:`_check_table_text`).
    """
    import pandas as pd

    path = Path(library_dir) / "library.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"{library_dir} is not a finished library (no library.csv); run `mitoshape extract` "
            "first, or re-run it to finish an interrupted library."
        )
    _check_table_text(path)
    try:
        table = pd.read_csv(path, dtype={"folder": str, "class": str, "source": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        raise InputError(
            f"{path} is not a readable library table ({type(err).__name__}: {err}); re-run "
            "`mitoshape extract` to write it again."
        ) from None
    if "volume_um3" in table.columns and "mesh_volume_um3" not in table.columns:
        # libraries of format 1 named the mesh volume volume_um3
        table = table.rename(columns={"volume_um3": "mesh_volume_um3"})
    return table
