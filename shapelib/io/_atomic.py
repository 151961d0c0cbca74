"""Atomic writes: a reader (or a crash) never sees half a file; a failure keeps the old file.

A disk that fills up (or a quota, or a file-size limit) while a file is written is one
`DiskFullError` naming the file and saying that its earlier version is unchanged.
"""

from __future__ import annotations

import contextlib
import errno
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from .._errors import MitoshapeError

__all__ = ["DiskFullError", "atomic_write", "atomic_path"]

# What a full disk, a quota or a file-size limit raises while a file is written.
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class DiskFullError(MitoshapeError, OSError):
    """A file could not be written for lack of space; its earlier version (if any) is intact.
    An ``OSError`` (with the writer's ``errno``) that the CLI shows as one line (exit 2)."""


def _disk_full(path: Path, err: OSError) -> DiskFullError:
    kept = "its earlier version is unchanged" if path.exists() else "nothing was written there"
    why = err.strerror or os.strerror(err.errno or 28)  # 28: ENOSPC
    out = DiskFullError(f"could not write {path}: {why} ({kept}); free some space and run again")
    out.errno = err.errno
    return out


def _tmp_name(path: Path) -> Path:
    # Same folder (so the rename is atomic), same suffix (writers that pick a format by suffix).
    return path.with_name(f".{path.stem}.tmp{os.getpid()}-{uuid.uuid4().hex[:8]}{path.suffix}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, else it goes.

    For writers that need a file name (tifffile, matplotlib, torch.save)::

        with atomic_path("out/img.tif") as tmp:
            tifffile.imwrite(tmp, data)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as err:
        if err.errno not in _FULL or isinstance(err, DiskFullError):
            raise
        raise _disk_full(path, err) from err
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` (bytes, or str as UTF-8) to ``path`` through a temporary file."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return path
