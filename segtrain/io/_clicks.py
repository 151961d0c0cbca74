"""Click files: a CSV with one click per line (columns row, col, sign)."""

from __future__ import annotations

import csv
from pathlib import Path

from shapelib import InputError

__all__ = ["read_clicks_csv"]


def read_clicks_csv(path: str | Path) -> list[dict]:
    """The rows of a clicks CSV as dicts (header names stripped and lower-cased), in order.

    Plain data: the caller checks the columns and values (`clicks_from_rows` of
    `segtrain.inference._clicks`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"clicks file {path} does not exist.")
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None:
                raise InputError(f"clicks file {path} is empty; it needs a header row, col, sign.")
            rows = [
                {(k or "").strip().lower(): (v or "").strip() for k, v in r.items()} for r in reader
            ]
    except (UnicodeDecodeError, csv.Error) as err:
        raise InputError(f"clicks file {path} is not a readable CSV ({err}).") from None
    return rows
