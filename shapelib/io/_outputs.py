"""The guard every command's outputs pass through: nothing the user has is ever written over.

Rules (one place for all of them):

- An **output folder** is new, empty, or holds a manifest (``.mitoshape-manifest.jsonl``) of
  what mitoshape wrote there: a header line naming the command and one line per file claimed.
  A folder with files but no manifest is the user's and is refused.
- Every file is **claimed** before it is written (so an interrupted run is still known); a path
  that exists and is not in the manifest is refused, as is a path outside the folder (``..``,
  absolute names, symlinks leading out).
- ``overwrite=True`` removes exactly the files the manifest lists (and folders left empty),
  never anything else and never an input of the command; ``resume=True`` keeps them for a
  command that continues its own earlier run.
- A single **output file** is refused when it exists (unless ``overwrite``) and always when it
  is one of the command's inputs.
- Files themselves are written atomically (:mod:`shapelib.io._atomic`), so a failure leaves
  the old file intact.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from .._errors import MitoshapeError

__all__ = [
    "MANIFEST_FILE",
    "OutputExistsError",
    "OutputFolder",
    "claim_output_file",
    "open_output_folder",
    "read_manifest",
]

log = logging.getLogger(__name__)

MANIFEST_FILE = ".mitoshape-manifest.jsonl"
MANIFEST_VERSION = 1


class OutputExistsError(MitoshapeError, FileExistsError):
    """An output would write over (or delete) something mitoshape did not make."""


def _resolved(p: str | os.PathLike) -> Path:
    return Path(os.path.abspath(os.path.realpath(p)))


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def read_manifest(root: str | os.PathLike) -> tuple[dict | None, list[str]]:
    """The header (command, details) and the claimed relative paths of a folder's manifest.

    Returns ``(None, [])`` when the folder has no manifest.
    """
    path = Path(root) / MANIFEST_FILE
    if not path.is_file():
        return None, []
    header, files = None, []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f):
            line = line.strip()
            if not line:
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                # A line cut by a crash while appending: everything before it stands.
                log.warning("%s: line %d is cut; ignoring it", path, n + 1)
                continue
            if n == 0 and isinstance(entry, dict) and "command" in entry:
                header = entry
            elif isinstance(entry, dict) and isinstance(entry.get("path"), str):
                files.append(entry["path"])
    if header is None:
        raise OutputExistsError(
            f"{path} is not a mitoshape manifest (no header line); remove it or choose "
            "another output folder."
        )
    return header, files


class OutputFolder:
    """An output folder opened through :func:`open_output_folder`; claim files, then write."""

    def __init__(self, root: Path, command: str, owned: Iterable[str], inputs: list[Path]):
        self.root = root
        self.command = command
        self._real = _resolved(root)
        self._owned = set(owned)
        self._inputs = inputs

    @property
    def owned(self) -> frozenset[str]:
        """Relative paths (POSIX) that mitoshape wrote or claimed in this folder."""
        return frozenset(self._owned)

    def _rel(self, rel: str | os.PathLike) -> str:
        p = Path(rel)
        if p.is_absolute() or ".." in p.parts or not p.parts:
            raise OutputExistsError(
                f"output name {str(rel)!r} must be a relative path inside {self.root} "
                "(no '..', not absolute)."
            )
        real = _resolved(self.root / p)
        if not _inside(real, self._real):
            raise OutputExistsError(
                f"output {self.root / p} leads outside {self.root} (through a symlink); "
                "refusing to write there."
            )
        for inp in self._inputs:
            if real == inp:
                raise OutputExistsError(
                    f"output {self.root / p} is an input of this command; refusing to write "
                    "over it. Choose another output folder."
                )
        return p.as_posix()

    def claim(self, *rels: str | os.PathLike) -> list[Path]:
        """Register files as this folder's outputs before writing them; returns their paths.

        Raises OutputExistsError for a path that exists but was not made by mitoshape here,
        that is an input, or that leads outside the folder.
        """
        new, out = [], []
        for rel in rels:
            key = self._rel(rel)
            path = self.root / key
            if key not in self._owned:
                if path.exists() or path.is_symlink():
                    raise OutputExistsError(
                        f"{path} exists and was not written by mitoshape in this folder; "
                        "refusing to write over it. Move it away or choose another output "
                        "folder."
                    )
                new.append(key)
            out.append(path)
        if new:
            with open(self.root / MANIFEST_FILE, "a", encoding="utf-8") as f:
                f.write("".join(json.dumps({"path": k}) + "\n" for k in new))
            self._owned.update(new)
        return out

    def path(self, rel: str | os.PathLike) -> Path:
        """Claim one file and return its path; parent folders are created."""
        p = self.claim(rel)[0]
        p.parent.mkdir(parents=True, exist_ok=True)
        return p


def _remove_owned(root: Path, files: list[str], inputs: list[Path]) -> None:
    real_root = _resolved(root)
    targets = []
    for rel in files:
        p = root / rel
        real = _resolved(p)
        if not _inside(real, real_root):
            continue  # a manifest line that leads out is never followed
        for inp in inputs:
            if _inside(inp, real) or real == inp:
                raise OutputExistsError(
                    f"--overwrite would delete {p}, an input of this command; choose another "
                    "output folder."
                )
        targets.append(p)
    for p in targets:
        if p.is_file() or p.is_symlink():
            p.unlink()
    # Folders left empty by the removal go too, deepest first; anything else stays.
    dirs = {d for p in targets for d in p.parents if _inside(_resolved(d), real_root)}
    for d in sorted(dirs, key=lambda d: len(d.parts), reverse=True):
        if d != root and d.is_dir() and not any(d.iterdir()):
            d.rmdir()
    (root / MANIFEST_FILE).unlink(missing_ok=True)


def open_output_folder(
    root: str | os.PathLike,
    *,
    command: str,
    inputs: Iterable[str | os.PathLike] = (),
    overwrite: bool = False,
    resume: bool = False,
    details: dict | None = None,
) -> OutputFolder:
    """Open (create) an output folder for ``command`` under the rules of this module.

    Parameters
    ----------
    root : path of the folder
    command : the command's name, recorded in the manifest (``extract``, ``dataset``, ...)
    inputs : paths the command reads; never written over, never deleted, and the folder may
        not be one of them
    overwrite : remove the files of an earlier mitoshape run here first (only those)
    resume : keep an earlier run of the same command (the caller decides what to redo)
    details : JSON-able facts for the manifest header (e.g. the arguments)

    Returns
    -------
    OutputFolder
    """
    root = Path(root)
    real = _resolved(root)
    ins = [_resolved(p) for p in inputs]
    for inp in ins:
        if real == inp:
            raise OutputExistsError(
                f"output folder {root} is an input of this command; choose another folder."
            )
    if root.exists() and not root.is_dir():
        raise OutputExistsError(f"output folder {root} is a file; choose a folder name.")
    header, files = read_manifest(root) if root.is_dir() else (None, [])
    if header is None:
        foreign = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
        if foreign:
            shown = ", ".join(foreign[:4]) + (" ..." if len(foreign) > 4 else "")
            raise OutputExistsError(
                f"output folder {root} holds files mitoshape did not write ({shown}); choose "
                "a new or empty folder (nothing there is touched, even with --overwrite)."
            )
    else:
        same = header.get("command") == command
        if resume and same:
            log.info("resuming the %s run in %s", command, root)
            return OutputFolder(root, command, files, ins)
        if not overwrite:
            what = f"an earlier `mitoshape {header.get('command')}` run"
            raise OutputExistsError(
                f"output folder {root} holds {what}; pass --overwrite to replace its files "
                "(only those), or choose another folder."
            )
        log.warning("overwriting the %s output in %s", header.get("command"), root)
        _remove_owned(root, files, ins)
    root.mkdir(parents=True, exist_ok=True)
    head = {"command": command, "version": MANIFEST_VERSION, "details": details or {}}
    with open(root / MANIFEST_FILE, "w", encoding="utf-8") as f:
        f.write(json.dumps(head, default=str) + "\n")
    return OutputFolder(root, command, [], ins)


def claim_output_file(
    path: str | os.PathLike,
    *,
    inputs: Iterable[str | os.PathLike] = (),
    overwrite: bool = False,
) -> Path:
    """Check a single output file: never an input; an existing file only with ``overwrite``.

    Returns the path; its parent folder is created.
    """
    path = Path(path)
    real = _resolved(path)
    for inp in inputs:
        if real == _resolved(inp):
            raise OutputExistsError(
                f"output {path} is an input of this command; refusing to write over it. "
                "Choose another output name."
            )
    if path.is_dir():
        raise OutputExistsError(f"output {path} is a folder; give a file name.")
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"output {path} exists; pass --overwrite to replace it, or choose another name."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
