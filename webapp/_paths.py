"""The one gate between a URL and the disk: a relative path inside a folder named at start.

Every file the app reads on a request's behalf goes through :func:`inside`: the relative path
is refused when it is absolute or climbs (``..``), then resolved (following symlinks) and
refused when it lands outside the resolved root. Refusals are 403; a path that is inside but
does not exist is 404.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from fastapi import HTTPException

__all__ = ["inside", "safe_name"]

_DRIVE = re.compile(r"^[A-Za-z]:")
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def inside(root: Path, rel: str, *, kind: str = "file") -> Path:
    """The resolved path of `rel` under `root`, or an HTTP 403/404.

    Parameters
    ----------
    root : Path
        A folder named at start (resolved here again, so a moved symlink is seen).
    rel : str
        A relative path with ``/`` separators, as it came in the URL.
    kind : "file", "dir" or "any"
        What must exist there.

    Returns
    -------
    Path, resolved, inside ``root.resolve()``
    """
    if not rel or "\x00" in rel:
        raise HTTPException(404, "no such file")
    if rel.startswith(("/", "\\")) or _DRIVE.match(rel):
        raise HTTPException(403, "absolute paths are refused; give a path inside the folder")
    parts = PurePosixPath(rel.replace("\\", "/")).parts
    if any(p == ".." for p in parts):
        raise HTTPException(403, "paths with '..' are refused; give a path inside the folder")
    base = root.resolve()
    target = base.joinpath(*parts).resolve()
    if target != base and not target.is_relative_to(base):
        raise HTTPException(403, "the path leads outside the served folder (a symlink?)")
    ok = {"file": target.is_file, "dir": target.is_dir, "any": target.exists}[kind]()
    if not ok:
        raise HTTPException(404, f"no such {'folder' if kind == 'dir' else 'file'}: {rel}")
    return target


def safe_name(name: str, *, what: str = "name") -> str:
    """`name` when it is a plain file name (letters, digits, ``._-``), else HTTP 404."""
    if not _NAME.match(name) or name in (".", ".."):
        raise HTTPException(404, f"no such {what}: {name[:60]!r}")
    return name
