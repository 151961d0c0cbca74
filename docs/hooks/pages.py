"""MkDocs hook: pages that are made, not copied, so they cannot drift from their source.

- ``api/<package>.md`` for each package: one mkdocstrings block per name of the package's
  ``__all__``, at the module that defines it (segtrain's names load lazily, so a static reader
  cannot follow them from ``segtrain/__init__.py``).
- ``results.md``, ``contributing.md``, ``changelog.md``: ``benchmarks/RESULTS.md``,
  ``CONTRIBUTING.md`` and ``CHANGELOG.md`` as they are in the repository (their links to
  ``docs/PAGE.md`` become links to ``PAGE.md``).
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "shapelib": "EM label volumes to shape libraries.",
    "shapelib.io": "The only disk access of shapelib: volumes, instance folders, libraries.",
    "shapelib.phantoms": "Procedural shapes with closed-form truth.",
    "simulator": "Fluorescence microscopes, rendering and calibration.",
    "simulator.io": "Library shapes and microscope configs in, images and folders out.",
    "segtrain": "Training, prediction, metrics, benchmarks, interaction and explanations.",
    "webapp": "`mitoshape serve`: the browser face.",
}
COPIED = {
    "results.md": "benchmarks/RESULTS.md",
    "contributing.md": "CONTRIBUTING.md",
    "changelog.md": "CHANGELOG.md",
}


def _home(package: str, name: str) -> str:
    """Dotted path of the module that defines ``package.name`` (the package for constants)."""
    obj = getattr(importlib.import_module(package), name)
    module = getattr(obj, "__module__", None) if (inspect.isclass(obj) or callable(obj)) else None
    if module and module.split(".")[0] == package.split(".")[0]:
        return f"{module}.{getattr(obj, '__qualname__', name)}"
    return ""


def api_page(package: str) -> str:
    mod = importlib.import_module(package)
    lines = [f"# `{package}`", "", PACKAGES[package], ""]
    constants = []
    for name in mod.__all__:
        path = _home(package, name)
        if not path:
            constants.append(name)
            continue
        lines += [
            f"## `{package}.{name}`",
            "",
            f"::: {path}",
            "    options:",
            "      show_root_heading: false",
            "      show_root_toc_entry: false",
            "",
        ]
    if constants:
        lines += ["## Constants and aliases", ""]
        lines += [f"- `{package}.{name}`" for name in constants]
        lines.append("")
    return "\n".join(lines)


def on_files(files, config):
    for package in PACKAGES:
        uri = f"api/{package}.md"
        files.append(File.generated(config, uri, content=api_page(package)))
    for uri, source in COPIED.items():
        text = (ROOT / source).read_text(encoding="utf-8").replace("](docs/", "](")
        files.append(File.generated(config, uri, content=text))
    return files
