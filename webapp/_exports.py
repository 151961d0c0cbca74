"""What the Segment page hands out: instance-label TIFFs (pixel size kept) whose values are
the objects table's ``label``, the table as CSV, and a ZIP of every image a tab worked on."""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["folder_zip", "labels_tiff", "stem"]


def stem(name: str | None) -> str:
    """A file-name stem safe in a download header (letters, digits, ``._-``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name or "image").stem)[:80] or "image"


def labels_tiff(name: str | None, labels: np.ndarray, pixel_size_nm: float | None):
    """(file name, bytes): `labels` as a TIFF (uint16 while they fit, else uint32; 0 is
    background) with the pixel size, through `shapelib.io.write_tiff`."""
    from shapelib.io import write_tiff

    dtype = np.uint16 if int(labels.max(initial=0)) <= 65535 else np.uint32
    fname = f"{stem(name)}_labels.tif"
    with tempfile.TemporaryDirectory(prefix="mitoshape-export-") as tmp:
        path = write_tiff(Path(tmp) / fname, labels.astype(dtype), pixel_size_nm=pixel_size_nm)
        return fname, path.read_bytes()


def folder_zip(items) -> bytes:
    """A ZIP of ``<stem>_labels.tif`` per image and one ``objects.csv`` (an ``image`` column
    first; images without a pixel size have labels but no rows), from (name, labels, table or
    None, pixel size) items."""
    import pandas as pd

    buf = io.BytesIO()
    tables = []
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, labels, table, px in items:
            fname, data = labels_tiff(name, labels, px)
            z.writestr(fname, data)
            if table is not None:
                tables.append(table.assign(image=name)[["image", *table.columns]])
        if tables:
            z.writestr("objects.csv", pd.concat(tables, ignore_index=True).to_csv(index=False))
    return buf.getvalue()
