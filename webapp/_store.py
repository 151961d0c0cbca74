"""Where the tabs' sessions live: on disk under the state folder, the recent ones in memory.

Every change is on disk before the page gets its answer: a folder per session
``STATE/<session id>/`` with ``meta.json`` (image name, pixel size, counters), ``base.npz``
(the image and its first prediction, written when it is opened) and ``steps/NNNNNN.npz`` (one
compressed difference per click or edit, `webapp._history`); undo removes the last step file.
In memory, sessions are kept least recently used first within a byte budget (`--memory-gb`)
and a count (`--max-sessions`); one pushed out is read back from disk when its tab calls
again, after a server restart too (the page's URL names its session).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import shutil
import threading
import time
import zipfile
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ._history import Step, apply, read_step, step_file_arrays
from ._objects import ObjectTable
from ._pool import give_back_memory
from ._segment import Prediction, Suggestion

__all__ = ["Session", "SessionStore", "default_memory_bytes", "default_state_dir"]

log = logging.getLogger(__name__)


def default_state_dir() -> Path:
    """The user cache: ``$XDG_CACHE_HOME/mitoshape/sessions`` (``~/.cache`` without it)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mitoshape" / "sessions"


def default_memory_bytes(fraction: float = 0.25) -> int:
    """A quarter of this machine's memory."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 << 30
    return int(total * fraction)


@dataclass(eq=False)
class Session:
    """One tab's work on one image: the image, its current state and the steps to it."""

    id: str
    name: str | None = None
    run: str | None = None  # the name of the run that predicted it
    image: np.ndarray | None = None
    pixel_size_nm: float | None = None
    current: Prediction | None = None
    steps: list[Step] = field(default_factory=list)
    version: int = 0
    opened: int = 0  # images opened in this tab: the page fetches the image layer on change
    updated: float = 0.0
    x: np.ndarray | None = None  # the network input, made on the first click
    changed: tuple | None = None  # (version before, box or None) of the last change
    owner: str | None = None  # sha256 of the owner secret of the browser that opened it
    objects: ObjectTable = field(default_factory=ObjectTable)
    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0

    @property
    def first(self) -> Prediction | None:
        """The first prediction (every step undone)."""
        state = self.current
        for step in reversed(self.steps):
            state = apply(state, step, forward=False)
        return state

    @property
    def clicks(self) -> list:
        """The clicks of the object being built: those after the last commit (`webapp._tools`);
        they go back into the network, earlier ones no longer do."""
        out: list = []
        for st in self.steps:
            if st.kind == "commit":
                out = []
            elif st.click is not None:
                out.append(st.click)
        return out

    @property
    def nbytes(self) -> int:
        arrays = [self.image, self.x]
        if self.current is not None:
            c = self.current
            arrays += [c.probability, c.uncertainty, c.mask, c.instances]
        return (
            sum(int(a.nbytes) for a in arrays if a is not None)
            + sum(st.nbytes for st in self.steps)
            + self.objects.nbytes
        )


def _write_atomic(path: Path, arrays: dict) -> None:
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


class SessionStore:
    """Sessions by id: in memory within `budget_bytes` and `max_sessions`, all on disk."""

    def __init__(self, root: Path, *, budget_bytes: int, max_sessions: int = 16):
        self.root = Path(root)
        self.budget_bytes, self.max_sessions = int(budget_bytes), int(max_sessions)
        self._memory: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()
        self.evicted = 0

    # --- memory ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def use(self, sid: str) -> Iterator[Session]:
        """The session `sid` (read back from disk, or new), kept in memory while in use."""
        with self._lock:
            s = self._memory.get(sid)
            if s is not None:
                s.users += 1
        if s is None:
            loaded = self._load(sid)  # off the store's lock: other tabs go on meanwhile
            with self._lock:
                s = self._memory.setdefault(sid, loaded)  # a load that lost a race is dropped
                s.users += 1
        with self._lock:
            self._memory.move_to_end(sid)
        try:
            yield s
        finally:
            with self._lock:
                s.users -= 1
                pushed_out = self._trim()
            if pushed_out:
                give_back_memory()

    def _trim(self) -> int:
        """Push the least recently used sessions not in use out of memory (on disk already);
        how many."""
        total = sum(s.nbytes for s in self._memory.values())
        n = 0
        for sid in list(self._memory):
            if total <= self.budget_bytes and len(self._memory) <= self.max_sessions:
                break
            s = self._memory[sid]
            if s.users == 0:
                total -= s.nbytes
                del self._memory[sid]
                self.evicted += 1
                n += 1
        return n

    def in_memory(self) -> list[str]:
        with self._lock:
            return list(self._memory)

    def memory_bytes(self) -> int:
        with self._lock:
            return sum(s.nbytes for s in self._memory.values())

    # --- disk --------------------------------------------------------------------------------

    def folder(self, sid: str) -> Path:
        return self.root / sid  # sid checked by the workbench: letters, digits, _ and -

    def _load(self, sid: str) -> Session:
        s = Session(sid)
        d = self.folder(sid)
        try:
            meta = json.loads((d / "meta.json").read_text())
        except (OSError, ValueError):
            return s  # a new tab (or one never saved)
        s.name, s.pixel_size_nm = meta.get("name"), meta.get("pixel_size_nm")
        s.run, s.owner = meta.get("run"), meta.get("owner")
        s.version, s.opened = int(meta.get("version", 0)), int(meta.get("opened", 0))
        s.updated = float(meta.get("updated", 0.0))
        if s.name is None or not (d / "base.npz").is_file():
            return s
        try:
            back = self._load_arrays(sid)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
            log.warning("session %s: its saved image is unreadable (%s); it starts empty", sid, err)
            return Session(sid, version=s.version, opened=s.opened, owner=s.owner)
        s.image, s.current, s.steps = back.image, back.current, back.steps
        return s

    def _load_arrays(self, sid: str, folder: Path | None = None) -> Session:
        """The image, first prediction and steps saved for `sid` (in `folder`: a kept image),
        replayed to its state."""
        s, d = Session(sid), folder or self.folder(sid)
        with np.load(d / "base.npz", allow_pickle=False) as z:
            s.image = z["image"]
            sugg = tuple(Suggestion(int(x), int(y), float(v)) for x, y, v in z["suggestions"])
            s.current = Prediction(z["probability"], z["mask"], z["uncertainty"], sugg,
                                   float(z["seconds"]))  # fmt: skip
        for path in sorted((d / "steps").glob("[0-9]*.npz")):
            try:
                with np.load(path, allow_pickle=False) as z:
                    step = read_step(z)
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
                # a step the disk lost (full, cut): the state before it, and later ones gone
                log.warning("session %s: step %s unreadable (%s); kept the steps before it",
                            sid, path.name, err)  # fmt: skip
                for later in sorted((d / "steps").glob("[0-9]*.npz")):
                    if later.name >= path.name:
                        later.unlink(missing_ok=True)
                break
            s.current = apply(s.current, step, forward=True)
            s.steps.append(replace(step, after={}))
        return s

    def save_meta(self, s: Session) -> None:
        d = self.folder(s.id)
        d.mkdir(parents=True, exist_ok=True)
        s.updated = time.time()
        meta = {"id": s.id, "name": s.name, "pixel_size_nm": s.pixel_size_nm, "run": s.run,
                "owner": s.owner,
                "version": s.version, "opened": s.opened, "updated": s.updated,
                "steps": len(s.steps), "clicks": len(s.clicks),
                "shape": None if s.image is None else list(s.image.shape)}  # fmt: skip
        tmp = d / "meta.json.tmp"
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, d / "meta.json")

    def save_base(self, s: Session) -> None:
        """A newly opened image: its first prediction, no steps."""
        assert s.image is not None and s.current is not None
        d = self.folder(s.id)
        shutil.rmtree(d / "steps", ignore_errors=True)
        (d / "steps").mkdir(parents=True)
        c = s.current
        sugg = np.array([[g.x_px, g.y_px, g.score] for g in c.suggestions], float).reshape(-1, 3)
        arrays = {"image": s.image, "probability": c.probability, "mask": c.mask,
                  "uncertainty": c.uncertainty, "suggestions": sugg,
                  "seconds": np.float64(c.seconds)}  # fmt: skip
        _write_atomic(d / "base.npz", arrays)
        self.save_meta(s)

    def save_step(self, s: Session) -> None:
        """The last step of `s` (just added); in memory it keeps only what undo needs (the
        values before), the values after are on disk for a replay."""
        _write_atomic(self._step_path(s, len(s.steps)), step_file_arrays(s.steps[-1]))
        with s.lock:
            s.steps[-1] = replace(s.steps[-1], after={})
        self.save_meta(s)

    def drop_steps(self, s: Session, keep: int) -> None:
        """Step files beyond the first `keep` (after undo or reset)."""
        for path in (self.folder(s.id) / "steps").glob("[0-9]*.npz"):
            if int(path.stem) > keep:
                path.unlink()
        self.save_meta(s)

    # --- a folder of images: the work on each kept when the tab moves to another ----------

    def _shelf(self, sid: str, name: str) -> Path:
        return self.folder(sid) / "images" / (name.replace("/", "_") or "image")

    def shelve(self, s: Session) -> None:
        """Keep the work on the tab's current image under ``images/<name>/`` (on leaving it)."""
        if s.name is None or not (self.folder(s.id) / "base.npz").is_file():
            return
        shelf = self._shelf(s.id, s.name)
        shutil.rmtree(shelf, ignore_errors=True)
        shelf.mkdir(parents=True)
        for part in ("base.npz", "steps", "meta.json"):
            src = self.folder(s.id) / part
            if src.exists():
                os.replace(src, shelf / part) if part != "meta.json" else shutil.copy(src, shelf)

    def unshelve(self, s: Session, name: str) -> bool:
        """Bring back the work kept on image `name` into `s` (True), or False when none."""
        shelf = self._shelf(s.id, name)
        if not (shelf / "base.npz").is_file():
            return False
        try:
            meta = json.loads((shelf / "meta.json").read_text())
            s.pixel_size_nm, s.run = meta.get("pixel_size_nm"), meta.get("run")
        except (OSError, ValueError):
            pass
        d = self.folder(s.id)
        shutil.rmtree(d / "steps", ignore_errors=True)
        for part in ("base.npz", "steps"):
            os.replace(shelf / part, d / part)
        shutil.rmtree(shelf, ignore_errors=True)
        back = self._load_arrays(s.id)
        s.image, s.current, s.steps = back.image, back.current, back.steps
        return True

    def shelved_sessions(self, sid: str) -> list[Session]:
        """The work kept on the tab's other images, each as a session (name, pixel size,
        image, state), read from disk."""
        out = []
        for name in self.shelved(sid):
            shelf = self._shelf(sid, name)
            s = self._load_arrays(sid, shelf)
            meta = json.loads((shelf / "meta.json").read_text())
            s.name, s.pixel_size_nm = name, meta.get("pixel_size_nm")
            out.append(s)
        return out

    def shelved(self, sid: str) -> list[str]:
        """Images of the tab with work kept (names), besides its current one."""
        d = self.folder(sid) / "images"
        if not d.is_dir():
            return []
        out = []
        for shelf in sorted(d.iterdir()):
            try:
                out.append(json.loads((shelf / "meta.json").read_text())["name"])
            except (OSError, ValueError, KeyError):
                continue
        return out

    def _step_path(self, s: Session, n: int) -> Path:
        return self.folder(s.id) / "steps" / f"{n:06d}.npz"

    def delete(self, sid: str, owner: str | None) -> None:
        """Forget session `sid`, in memory and on disk, when `owner` (sha256 of the secret)
        is its owner's (PermissionError otherwise; FileNotFoundError for one never saved)."""
        d = self.folder(sid)
        try:
            saved = json.loads((d / "meta.json").read_text()).get("owner")
        except (OSError, ValueError):
            raise FileNotFoundError(f"no saved session {sid}") from None
        if saved is None or owner is None or not hmac.compare_digest(saved, owner):
            raise PermissionError("only the browser that opened this session may delete it")
        with self._lock:
            self._memory.pop(sid, None)
        gone = d.with_name(f".deleted-{sid}-{os.getpid()}")  # one rename: never half-deleted
        os.replace(d, gone)
        shutil.rmtree(gone, ignore_errors=True)

    def listing(self, limit: int = 200) -> list[dict]:
        """Saved sessions with an image, the most recently changed first."""
        out = []
        if not self.root.is_dir():
            return out
        for d in self.root.iterdir():
            if d.name.startswith("."):  # a session being deleted
                continue
            try:
                meta = json.loads((d / "meta.json").read_text())
            except (OSError, ValueError):
                continue
            if meta.get("name"):
                out.append(meta)
        out.sort(key=lambda m: -float(m.get("updated", 0)))
        return out[:limit]
