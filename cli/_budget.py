"""What a command's counts cost, priced from its options before any work starts.

Each count option has a lower bound of what one item holds in memory while the command runs
(checked by `shapelib.check_count` against half the machine's memory), or a documented limit
where the cost is time rather than memory. A refusal is one line naming the option and the
largest value that fits (docs/reliability.md, "Requests priced before work").
"""

from __future__ import annotations

import os

from ._errors import UserError

__all__ = [
    "THREADS_PER_CORE",
    "MAX_CLICKS",
    "MAX_OBJECTS_PER_IMAGE",
    "check_threads",
    "check_workers",
    "check_images",
    "check_objects_per_image",
    "check_views",
    "check_phantom_objects",
    "check_clicks",
]

THREADS_PER_CORE = 4  # --threads above 4 per core only slows torch down (and 100000 crashes it)
MAX_CLICKS = 1000  # clicks per image or object (NoC@95 evaluations use 20)
MAX_OBJECTS_PER_IMAGE = 2000  # a field of view of a real cell holds a few hundred
# `dataset`: one image's task, its pending result and its dataset.json entry
DATASET_IMAGE_BYTES = 4096
# `phantom`: the smallest phantom (a dot, ~500 voxels at 30 nm) at the volume's 10% foreground
PHANTOM_VOXELS_30NM = 5000


def check_threads(n: int | None, option: str = "--threads", *, what: str = "threads") -> None:
    """Refuse more torch threads (or worker processes, `what`) than ``THREADS_PER_CORE`` per
    core of this machine."""
    if n is None:
        return
    cores = os.cpu_count() or 1
    most = THREADS_PER_CORE * cores
    if int(n) > most:
        raise UserError(
            f"{option} {n}: more than {THREADS_PER_CORE} {what} per core of this machine's "
            f"{cores}; the largest {option} allowed is {most}."
        )


def check_workers(n: int | None, option: str = "--workers") -> None:
    """Refuse more worker processes than ``THREADS_PER_CORE`` per core (each imports numpy,
    scipy and the rest: ``--workers 100000`` forked processes without end)."""
    check_threads(n, option, what="processes")


def check_images(n: int, option: str = "--n") -> None:
    """``dataset --n``: every image's task and record is held while the set is written."""
    from shapelib import check_count

    check_count(n, each_bytes=DATASET_IMAGE_BYTES, option=option, what="image")


def check_objects_per_image(most_asked: int, option: str = "--objects") -> None:
    """Objects per field of view, at most ``MAX_OBJECTS_PER_IMAGE``."""
    if int(most_asked) > MAX_OBJECTS_PER_IMAGE:
        raise UserError(
            f"{option}: {most_asked} objects per image is more than a field of view holds; the "
            f"largest allowed is {MAX_OBJECTS_PER_IMAGE}."
        )


def check_views(n: int, *, size_px: int, z_planes: int, option: str = "--views") -> None:
    """``simulate --views random:N``: one shape's N views are rendered and held together."""
    from shapelib import check_count

    check_count(
        n, each_bytes=4.0 * size_px * size_px * max(1, z_planes), option=f"{option} random:",
        what=f"{size_px} x {size_px} x {max(1, z_planes)} view",
    )  # fmt: skip


def check_phantom_objects(n: int, voxel_size_nm: float, option: str = "--objects") -> None:
    """``phantom --objects``: the volume grows with the objects (10% foreground, uint32)."""
    from shapelib import check_count

    if not voxel_size_nm > 0:
        return  # the phantom's own check says what is wrong with the voxel size
    each = PHANTOM_VOXELS_30NM * (30.0 / float(voxel_size_nm)) ** 3 * 4
    check_count(n, each_bytes=each, option=option, what="phantom object")


def check_clicks(n: int, option: str = "--max-clicks") -> None:
    """Clicks per image or object, at most ``MAX_CLICKS`` (each is a model run)."""
    if int(n) > MAX_CLICKS:
        raise UserError(f"{option} {n}: the largest allowed is {MAX_CLICKS} clicks per image.")
