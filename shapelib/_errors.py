"""The project's own error types: what the CLI and the web app show as one readable line.

Raise :class:`InputError` at a public boundary when the user's input (a file, an argument, a
config) is wrong and the message says how to fix it. Anything else that escapes is a bug and
keeps its traceback. ``InputError`` is a ``ValueError``, so ``except ValueError`` still works.
"""

from __future__ import annotations

__all__ = ["MitoshapeError", "InputError", "format_validation_error"]


class MitoshapeError(Exception):
    """Base of every error the project raises on purpose for a problem the user can fix."""


class InputError(MitoshapeError, ValueError):
    """Bad input at a public boundary: the message says what was expected, what came, the fix."""


def format_validation_error(err, *, where: str = "", limit: int = 5) -> str:
    """One line for a pydantic ``ValidationError``: ``where: field.path: message; ...``."""
    parts = []
    for e in err.errors()[:limit]:
        loc = ".".join(str(x) for x in e.get("loc", ())) or "(root)"
        parts.append(f"{loc}: {e.get('msg', '')}")
    more = len(err.errors()) - limit
    if more > 0:
        parts.append(f"and {more} more")
    text = "; ".join(" ".join(p.split()) for p in parts)
    return f"{where}: {text}" if where else text
