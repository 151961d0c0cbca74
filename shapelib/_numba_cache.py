"""Where numba keeps the functions it compiles: a user cache folder, never the source tree.

numba's default (``cache=True``) writes ``.nbi``/``.nbc`` files into the ``__pycache__`` folder
beside the source, which is the installed package or a checkout (read-only for some users,
under version control for others). Set before numba is first asked to cache: ``NUMBA_CACHE_DIR``
(kept when the user has set it) is ``<user cache>/mitoshape/numba``, from platformdirs when
installed, else ``$XDG_CACHE_HOME`` or ``~/.cache``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["numba_cache_dir", "use_user_cache"]


def numba_cache_dir() -> Path:
    """The folder numba caches into (``NUMBA_CACHE_DIR`` when set)."""
    given = os.environ.get("NUMBA_CACHE_DIR")
    if given:
        return Path(given)
    try:
        from platformdirs import user_cache_dir
    except ImportError:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mitoshape"
    else:
        base = Path(user_cache_dir("mitoshape", appauthor=False))
    return base / "numba"


def use_user_cache() -> Path:
    """Point numba's cache at :func:`numba_cache_dir` (also when numba is imported already)."""
    folder = numba_cache_dir()
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    config = sys.modules.get("numba.core.config")
    if config is not None and not getattr(config, "CACHE_DIR", ""):
        config.CACHE_DIR = str(folder)  # type: ignore[attr-defined]
    return folder
