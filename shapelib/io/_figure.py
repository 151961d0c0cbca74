"""Save a matplotlib figure atomically; the figure is a ``matplotlib.figure.Figure`` built
without pyplot, so the caller's backend (a notebook's, say) is never switched."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ._atomic import atomic_path

if TYPE_CHECKING:
    import matplotlib.figure

__all__ = ["save_figure"]


def save_figure(fig: matplotlib.figure.Figure, path: str | Path, *, dpi: int = 120) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix) through a temporary file.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or Path
        Parent folders are created; a failure leaves an existing file as it was.
    dpi : int

    Returns
    -------
    path : Path
    """
    path = Path(path)
    # PNGs carry no "Software" (matplotlib version) tag, so the same figure gives the same bytes.
    metadata = {"Software": None} if path.suffix.lower() == ".png" else None
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, metadata=metadata)
    return path
