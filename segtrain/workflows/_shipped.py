"""Models that ship with mitoshape: run folders inside the package (``segtrain/shipped/``),
listed in ``segtrain/shipped/MODELS.json`` with the SHA-256 of every file, so a damaged or
altered install is refused before its weights are read.

``Run.open`` takes a shipped model's name wherever it takes a run folder (the command line's
RUN argument, ``serve --run``, the napari plugin); `shipped_models` lists them and
`shipped_model_card` gives what each was trained on, for which microscopes and pixel sizes,
and under which licence.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from shapelib import InputError

__all__ = ["ShippedModel", "shipped_models", "shipped_model", "SHIPPED_DIR"]

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "shipped"
INDEX_FILE = "MODELS.json"


@dataclass(frozen=True)
class ShippedModel:
    """One shipped model: its name, run folder and what its card says.

    Attributes
    ----------
    name : str
    folder : Path, a run folder (config.yaml, best.pt, split.json, postprocess.json)
    summary : str, one line
    pixel_size_nm : float, the pixel size it was trained at
    pixel_size_range_nm : (float, float), what it takes (by resampling)
    card : Path, the model card (Markdown)
    files : dict, file name -> SHA-256
    """

    name: str
    folder: Path
    summary: str
    pixel_size_nm: float
    pixel_size_range_nm: tuple[float, float]
    card: Path
    files: dict


def _index() -> dict:
    path = SHIPPED_DIR / INDEX_FILE
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def shipped_model(name: str, *, verify: bool = True) -> ShippedModel:
    """The shipped model called ``name``, its files checked against their recorded hashes.

    Raises
    ------
    InputError
        No such model (the names are listed), or a file missing or altered.
    """
    index = _index()
    if name not in index:
        names = ", ".join(sorted(index)) or "none"
        raise InputError(f"no shipped model named {name!r}; shipped: {names} (mitoshape models).")
    entry = index[name]
    folder = SHIPPED_DIR / entry["folder"]
    files = dict(entry["sha256"])
    if verify:
        for file, want in files.items():
            path = folder / file
            if not path.is_file():
                raise InputError(f"shipped model {name!r} lacks {path}; reinstall mitoshape.")
            got = _sha256(path)
            if got != want:
                raise InputError(
                    f"shipped model {name!r}: {path} has SHA-256 {got[:12]}..., the index says "
                    f"{want[:12]}...; the install is damaged or altered: reinstall mitoshape."
                )
    lo, hi = entry["pixel_size_range_nm"]
    return ShippedModel(
        name=name,
        folder=folder,
        summary=entry["summary"],
        pixel_size_nm=float(entry["pixel_size_nm"]),
        pixel_size_range_nm=(float(lo), float(hi)),
        card=folder / entry.get("card", "card.md"),
        files=files,
    )


def shipped_models() -> dict[str, Path]:
    """Name -> run folder of every model that ships with mitoshape (files not hashed here:
    `Run.open` checks them when it opens one)."""
    return {name: SHIPPED_DIR / entry["folder"] for name, entry in sorted(_index().items())}
