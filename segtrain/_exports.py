"""Public names declared once and loaded on first use.

Each package of segtrain lists its public names as the imports of its ``if TYPE_CHECKING:``
block: what a reader, a type checker and the architecture test see. `attach` turns that block
into the package's ``__getattr__``, ``__dir__`` and ``__all__`` with scientific Python's
`lazy_loader` (SPEC 1), so ``import segtrain`` stays fast and imports torch only when a name
that needs it is first used. ``from .sub import *`` in the block takes every name the
sub-package declares, so segtrain's names are its sub-packages' names and cannot drift from
them.
"""

from __future__ import annotations

import ast
from pathlib import Path

__all__ = ["attach", "declared"]


def _checking_block(tree: ast.Module) -> list[ast.stmt]:
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return node.body
    return []


def declared(init_file: str | Path) -> dict[str, list[str]]:
    """submodule -> the names a package's ``__init__.py`` declares in its TYPE_CHECKING block
    (relative imports only; a star import of a sub-package takes its declared names)."""
    init_file = Path(init_file)
    out: dict[str, list[str]] = {}
    for node in _checking_block(ast.parse(init_file.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.ImportFrom) and node.level == 1 and node.module):
            continue
        names = [a.name for a in node.names]
        if names == ["*"]:
            sub = declared(init_file.parent / node.module / "__init__.py")
            names = [n for ns in sub.values() for n in ns]
        out.setdefault(node.module, []).extend(names)
    return out


def attach(package: str, init_file: str | Path):
    """(``__getattr__``, ``__dir__``, ``__all__``) of a package, from its declared names."""
    import lazy_loader

    return lazy_loader.attach(package, submod_attrs=declared(init_file))
