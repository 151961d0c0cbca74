"""Where the benchmark scripts write by default: ``benchmarks/runs/NAME`` (git-ignored).

Not /tmp: it is wiped when the machine reboots, and a later sitting needs the folders of the
earlier ones to pool new seeds with ``mitoshape bench-merge`` (twice their loss meant pooling
seeds by hand in RESULTS.md). ``--out`` still chooses any folder.
"""

from __future__ import annotations

from pathlib import Path

RUNS = Path(__file__).resolve().parent / "runs"


def default_out(name: str) -> Path:
    """The default output folder of one benchmark: ``benchmarks/runs/<name>``."""
    return RUNS / name
