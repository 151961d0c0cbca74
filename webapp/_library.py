"""The served shape libraries: their tables, instance folders, details and meshes.

A library is ours (``library.csv`` written by `mitoshape extract`) or a released 3DMSL folder
(instance folders holding ``raw_mesh.off``, no table); one instance folder alone serves as a
library of one. Released instances carry no measurements, so a background thread measures them
with `shapelib.classify_mesh` (the same rules as ``mitoshape classify``) and the table fills in
as it goes; until then their class reads ``measuring``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from fastapi import HTTPException

from shapelib import InputError
from shapelib.io import MESH_FILE

from ._cache import BytesCache
from ._paths import inside

__all__ = ["Catalog", "Library", "SKELETON_KEYS"]

log = logging.getLogger(__name__)

SKELETON_KEYS = (
    "skeleton_length_um", "n_branches", "n_junctions", "n_end_points", "n_loops", "genus",
    "loops_agree",
)  # fmt: skip
# Columns of a released library's table, as library.csv names them.
RELEASED_COLUMNS = (
    "id", "folder", "class", "voxel_count", "mesh_volume_um3", "surface_area_um2",
    "skeleton_length_um", "n_branches", "n_junctions", "n_loops", "genus",
)  # fmt: skip
MAX_FILES = 400  # files listed per instance (a released folder holds about 20)


@dataclass
class Library:
    """One served library: a URL key, its resolved folder, its kind and its table rows."""

    key: str
    name: str
    path: Path
    kind: Literal["mitoshape", "3dmsl"]
    columns: list[str]
    rows: list[dict] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)  # released ids still to measure


def _slug(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "library"
    key, k = base, 2
    while key in taken:
        key, k = f"{base}-{k}", k + 1
    return key


def _plain(table) -> list[dict]:
    """Table rows as JSON-ready dicts (NaN -> None, numpy numbers -> Python)."""
    return json.loads(table.to_json(orient="records"))


def _scalar(v):
    """A JSON-ready scalar (numpy numbers become Python ones; NaN and inf become None)."""
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not (v == v and abs(v) != float("inf")):
        return None
    return v


def _clean(obj):
    """Nested dicts and lists of JSON-ready scalars."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return _scalar(obj)


def _row_from_meta(meta: dict, folder: str) -> dict:
    m = dict(meta.get("measurements") or {})
    row = {"id": int(meta.get("id", 0)), "folder": folder, "class": meta.get("class")}
    row.update({k: _scalar(v) for k, v in m.items() if not isinstance(v, (list, dict))})
    return row


def _open_library(path: Path, taken: set[str]) -> Library:
    """Read what a folder named at start holds; an error a user can fix if it is none of them."""
    from shapelib.io import read_library_table, read_meta

    if not path.is_dir():
        raise FileNotFoundError(f"--library {path} is not a folder; pass a shape library folder.")
    root = path.resolve()
    key = _slug(root.name, taken)
    if (root / "library.csv").is_file():
        rows = _plain(read_library_table(root))
        columns = list(rows[0]) if rows else ["id", "folder", "class"]
        return Library(key, root.name, root, "mitoshape", columns, rows)
    singles = [root] if (root / MESH_FILE).is_file() else []
    folders = singles or sorted(
        (p for p in root.iterdir() if p.is_dir() and (p / MESH_FILE).is_file()),
        key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else 0, p.name),
    )
    if not folders:
        raise InputError(
            f"--library {path} holds no library.csv and no instance folder with {MESH_FILE}; "
            "pass a library written by `mitoshape extract` or a released 3DMSL folder."
        )
    lib = Library(key, root.name, root, "3dmsl", list(RELEASED_COLUMNS))
    for k, f in enumerate(folders):
        rel = "." if f == root else f.name
        meta = read_meta(f)
        if meta is not None:  # one of ours, without its library table
            lib.kind = "mitoshape"
            lib.rows.append(_row_from_meta(meta, rel))
            continue
        iid = int(f.name) if f.name.isdigit() else k + 1
        lib.rows.append({"id": iid, "folder": rel, "class": "measuring"})
        lib.pending.append(iid)
    return lib


class Catalog:
    """Every library served, looked up by (library key, instance id)."""

    def __init__(self, paths):
        taken: set[str] = set()
        self.libraries: dict[str, Library] = {}
        for p in paths:
            lib = _open_library(Path(p), taken)
            taken.add(lib.key)
            self.libraries[lib.key] = lib
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.meshes = BytesCache(128 * 1024 * 1024)

    # --- the table ---------------------------------------------------------------------------

    def rows(self) -> list[dict]:
        """Every instance of every library: its library.csv row plus a ``library`` key."""
        self.start()
        with self._lock:
            return [{"library": k, **r} for k, lib in self.libraries.items() for r in lib.rows]

    def n_pending(self) -> int:
        with self._lock:
            return sum(len(lib.pending) for lib in self.libraries.values())

    def library(self, key: str) -> Library:
        lib = self.libraries.get(key)
        if lib is None:
            raise HTTPException(404, f"no library {key!r}; served: {', '.join(self.libraries)}")
        return lib

    def row(self, key: str, iid: int) -> dict:
        lib = self.library(key)
        with self._lock:
            hit = next((r for r in lib.rows if r.get("id") == iid), None)
        if hit is None:
            raise HTTPException(404, f"library {key!r} has no instance {iid}")
        return dict(hit)

    def folder(self, key: str, iid: int) -> Path:
        """The instance's folder, resolved inside its library (the table cannot lead out)."""
        lib = self.library(key)
        rel = str(self.row(key, iid).get("folder") or f"{iid:06d}")
        return lib.path if rel == "." else inside(lib.path, rel, kind="dir")

    # --- one instance ------------------------------------------------------------------------

    def files(self, key: str, iid: int) -> list[dict]:
        """The instance's files (path relative to its folder, bytes), two levels deep."""
        folder = self.folder(key, iid)
        out = []
        for p in sorted(folder.iterdir()):
            subs = sorted(p.iterdir()) if p.is_dir() and not p.is_symlink() else [p]
            for f in subs:
                if f.is_file() and not f.is_symlink() and len(out) < MAX_FILES:
                    rel = f.relative_to(folder).as_posix()
                    out.append({"path": rel, "bytes": f.stat().st_size})
        return out

    def measurements(self, key: str, iid: int) -> dict:
        """meta.json's measurements (ours), or those measured here (released)."""
        from shapelib.io import read_meta

        meta = read_meta(self.folder(key, iid))
        if meta is not None:
            return _clean(meta.get("measurements") or {})
        row = self.row(key, iid)
        return {k: v for k, v in row.items() if k not in ("id", "folder", "class", "library")}

    def mesh(self, key: str, iid: int):
        """The instance's mesh, vertices (x, y, z) in nm (shapelib's one reader)."""
        from shapelib.io import read_mesh

        return read_mesh(self.folder(key, iid))

    def mesh_glb(self, key: str, iid: int) -> bytes:
        """The mesh as binary glTF (positions in nm, normals, uint32 indices); cached."""

        def make() -> bytes:
            import trimesh

            scene = trimesh.Scene(self.mesh(key, iid))
            return bytes(trimesh.exchange.gltf.export_glb(scene, include_normals=True))

        self.folder(key, iid)  # 404 before anything is cached
        return self.meshes.get((key, iid), make)

    # --- measuring released instances in the background --------------------------------------

    def start(self) -> None:
        """Start measuring released instances (once; returns at once)."""
        with self._lock:
            if self._thread is not None or not any(lib.pending for lib in self.libraries.values()):
                return
            self._thread = threading.Thread(target=self._measure_all, name="measure", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the background measuring after the instance in hand."""
        self._stop.set()

    def _measure_all(self) -> None:
        from shapelib import classify_mesh
        from shapelib.io import RELEASED_VOXEL_SIZE_NM  # the unit read_mesh assumes

        for lib in list(self.libraries.values()):
            for iid in list(lib.pending):
                if self._stop.is_set():
                    return
                row = self.row(lib.key, iid)
                try:
                    m = classify_mesh(self.mesh(lib.key, iid), voxel_size_nm=RELEASED_VOXEL_SIZE_NM)
                    keys = (*RELEASED_COLUMNS[3:], *SKELETON_KEYS)
                    new = {k: _scalar(m.get(k)) for k in keys}
                    new["class"] = str(m["shape_class"])
                except Exception as err:  # an unreadable mesh must not stop the others
                    log.warning("could not measure %s/%s: %s", lib.name, row["folder"], err)
                    new = {"class": "unreadable", "error": " ".join(str(err).split())[:200]}
                with self._lock:
                    for r in lib.rows:
                        if r.get("id") == iid:
                            r.update(new)
                    lib.pending.remove(iid)
