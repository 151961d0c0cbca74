"""The guard every command's outputs pass through: nothing the user has is ever written over.

Rules (one place for all of them):

- An **output folder** is new, empty, or holds a manifest (``.mitoshape-manifest.jsonl``) of
  what mitoshape wrote there: a header line naming the command and one line per file claimed.
  A folder with files but no manifest is the user's and is refused.
- Every file is **claimed** before it is written (so an interrupted run is still known); a path
  that exists and is not in the manifest is refused, as is a path outside the folder (``..``,
  absolute names, symlinks leading out).
- ``overwrite=True`` removes exactly the files the manifest lists (claimed OME-Zarr stores
  whole, and folders left empty),
  never anything else and never an input of the command; ``resume=True`` keeps them for a
  command that continues its own earlier run.
- A single **output file** is refused when it exists (unless ``overwrite``) and always when it
  is one of the command's inputs.
- No output lies inside an input folder (a command never adds files to the data it reads).
- A claimed folder may be an output folder of its own (the demo claims ``library/``, which
  ``extract`` fills): ``overwrite`` removes what that folder's manifest lists, too.
- A manifest that claims no file (a run that stopped before writing anything) leaves its
  folder as good as empty.
- :func:`check_output_folder` and :func:`check_output_files` raise the same errors and write
  nothing, so a command can check its outputs before a long computation.
- Files themselves are written atomically (:mod:`shapelib.io._atomic`), so a failure leaves
  the old file intact.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from .._errors import MitoshapeError

__all__ = [
    "MANIFEST_FILE",
    "OutputExistsError",
    "OutputFolder",
    "check_output_files",
    "check_output_folder",
    "claim_output_file",
    "claim_output_files",
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


def _check_not_input(path: Path, real: Path, inputs: list[Path], what: str = "output") -> None:
    """Refuse ``path`` (resolved ``real``) when it is an input or lies inside an input folder."""
    for inp in inputs:
        if real == inp:
            raise OutputExistsError(
                f"{what} {path} is an input of this command; refusing to write over it. "
                "Choose another output name."
            )
        if inp.is_dir() and _inside(real, inp):
            raise OutputExistsError(
                f"{what} {path} lies inside the input folder {inp}; write results elsewhere "
                "(a command never adds files to the data it reads)."
            )


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
        _check_not_input(self.root / p, real, self._inputs)
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

    def subfolder(self, rel: str | os.PathLike) -> Path:
        """Claim a folder that another command fills (it opens it with its own manifest).

        ``overwrite`` of this folder then removes what the sub-folder's manifest lists.
        """
        return self.claim(rel)[0]


def _is_zarr_store(p: Path) -> bool:
    return (p / ".zgroup").is_file() or (p / "zarr.json").is_file()


def _owned_targets(root: Path, files: list[str], inputs: list[Path]) -> tuple[list, list]:
    """Files to remove for ``overwrite`` (following claimed sub-folders' manifests) and the
    folders holding a manifest; refuses when any of them is, holds or lies in an input."""
    real_root = _resolved(root)
    targets, manifests = [], [root]
    for rel in files:
        p = root / rel
        real = _resolved(p)
        if not _inside(real, real_root):
            continue  # a manifest line that leads out is never followed
        for inp in inputs:
            if _inside(inp, real) or _inside(real, inp):
                raise OutputExistsError(
                    f"--overwrite would delete {p}, an input of this command (or inside one); "
                    "choose another output folder."
                )
        if p.is_dir() and not p.is_symlink():
            header, sub = read_manifest(p)
            if header is not None:
                more, subs = _owned_targets(p, sub, inputs)
                targets += more
                manifests += subs
            elif _is_zarr_store(p):  # a claimed OME-Zarr store goes whole
                targets.append(p)
        else:
            targets.append(p)
    return targets, manifests


def _remove_owned(root: Path, files: list[str], inputs: list[Path]) -> None:
    real_root = _resolved(root)
    targets, manifests = _owned_targets(root, files, inputs)  # every check before any removal
    for p in targets:
        if p.is_file() or p.is_symlink():
            p.unlink()
        elif p.is_dir():
            shutil.rmtree(p)
    for m in manifests[::-1]:
        (m / MANIFEST_FILE).unlink(missing_ok=True)
    # Folders left empty by the removal go too, deepest first; anything else stays.
    dirs = {d for p in targets + manifests for d in (p, *p.parents)}
    dirs = {d for d in dirs if d != root and _inside(_resolved(d), real_root)}
    for d in sorted(dirs, key=lambda d: len(d.parts), reverse=True):
        if d.is_dir() and not d.is_symlink() and not any(d.iterdir()):
            d.rmdir()


def _plan(root: Path, command: str, ins: list[Path], overwrite: bool, resume: bool):
    """What opening ``root`` means: ``("new"|"resume"|"overwrite", files)``; raises the
    guard's errors and writes nothing."""
    real = _resolved(root)
    for inp in ins:
        if real == inp:
            raise OutputExistsError(
                f"output folder {root} is an input of this command; choose another folder."
            )
    _check_not_input(root, real, ins, what="output folder")
    if root.exists() and not root.is_dir():
        raise OutputExistsError(f"output folder {root} is a file; choose a folder name.")
    header, files = read_manifest(root) if root.is_dir() else (None, [])
    others = (
        sorted(p.name for p in root.iterdir() if p.name != MANIFEST_FILE) if root.is_dir() else []
    )
    if header is None or (not files and not others):
        if header is None and others:
            shown = ", ".join(others[:4]) + (" ..." if len(others) > 4 else "")
            raise OutputExistsError(
                f"output folder {root} holds files mitoshape did not write ({shown}); choose "
                "a new or empty folder (nothing there is touched, even with --overwrite)."
            )
        return "new", []
    if resume and header.get("command") == command:
        return "resume", files
    if not overwrite:
        what = f"an earlier `mitoshape {header.get('command')}` run"
        raise OutputExistsError(
            f"output folder {root} holds {what}; pass --overwrite to replace its files "
            "(only those), or choose another folder."
        )
    _owned_targets(root, files, ins)  # refuses before anything is removed
    return "overwrite", files


def check_output_folder(
    root: str | os.PathLike,
    *,
    command: str,
    inputs: Iterable[str | os.PathLike] = (),
    overwrite: bool = False,
    resume: bool = False,
) -> None:
    """Raise what :func:`open_output_folder` would raise, writing nothing (check before a long
    computation)."""
    _plan(Path(root), command, [_resolved(p) for p in inputs], overwrite, resume)


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
    ins = [_resolved(p) for p in inputs]
    action, files = _plan(root, command, ins, overwrite, resume)
    if action == "resume":
        log.info("resuming the %s run in %s", command, root)
        return OutputFolder(root, command, files, ins)
    if action == "overwrite":
        log.warning("overwriting the earlier mitoshape output in %s", root)
        _remove_owned(root, files, ins)
    root.mkdir(parents=True, exist_ok=True)
    head = {"command": command, "version": MANIFEST_VERSION, "details": details or {}}
    with open(root / MANIFEST_FILE, "w", encoding="utf-8") as f:
        f.write(json.dumps(head, default=str) + "\n")
    return OutputFolder(root, command, [], ins)


def _check_file(path: Path, ins: list[Path], overwrite: bool) -> None:
    _check_not_input(path, _resolved(path), ins)
    if path.is_dir():
        raise OutputExistsError(f"output {path} is a folder; give a file name.")
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise OutputExistsError(
            f"output {path} exists; pass --overwrite to replace it, or choose another name."
        )


def check_output_files(
    paths: Iterable[str | os.PathLike],
    *,
    inputs: Iterable[str | os.PathLike] = (),
    overwrite: bool = False,
) -> list[Path]:
    """Check single output files (a file and its sidecars) all at once; writes nothing.

    Each is refused when it is an input or inside an input folder, is a folder, exists
    (unless ``overwrite``), or is another of ``paths`` (``-o X.png --figure X.png``). Returns
    the paths.
    """
    ins = [_resolved(p) for p in inputs]
    out = [Path(p) for p in paths]
    seen: dict[Path, Path] = {}
    for p in out:
        first = seen.setdefault(_resolved(p), p)
        if first is not p:
            raise OutputExistsError(
                f"two outputs would be the same file {p} ({first} and {p}); give each its own name."
            )
        _check_file(p, ins, overwrite)
    return out


def claim_output_files(
    paths: Iterable[str | os.PathLike],
    *,
    inputs: Iterable[str | os.PathLike] = (),
    overwrite: bool = False,
) -> list[Path]:
    """:func:`check_output_files`, then create the parent folders; returns the paths."""
    out = check_output_files(paths, inputs=inputs, overwrite=overwrite)
    for p in out:
        p.parent.mkdir(parents=True, exist_ok=True)
    return out


def claim_output_file(
    path: str | os.PathLike,
    *,
    inputs: Iterable[str | os.PathLike] = (),
    overwrite: bool = False,
) -> Path:
    """Check a single output file: never an input (nor inside an input folder); an existing
    file only with ``overwrite``.

    Returns the path; its parent folder is created.
    """
    return claim_output_files([path], inputs=inputs, overwrite=overwrite)[0]
