"""The benchmark grid (compute): its config (models x training data x seeds x test sets x test-time
outputs) and its table over seeds. Running it: `segtrain.run_bench`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._exports import attach

if TYPE_CHECKING:  # the public names, loaded on first use (segtrain._exports)
    from ._config import BenchConfig

__getattr__, __dir__, __all__ = attach(__name__, __file__)
