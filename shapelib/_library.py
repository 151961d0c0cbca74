"""A whole library from a label volume: extract, build every shape in parallel, write, index.

A workflow: compute (extract, build_shape) and io (write_shape, the library folder) meet here.
Per-instance work (:func:`make_instance`) is a pure function of one ``Instance``, the shape
parameters and a seed, so it runs unchanged on a process pool (here) or on Dask later.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

import numpy as np

from ._errors import InputError
from ._extract import ExtractParams, extract_instances
from ._instance import Instance
from ._labels import check_label_volume
from ._shape import ShapeParams, build_shape
from ._summary import summarize_table
from ._units import as_spacing_nm
from .io import Volume, is_complete, read_meta, read_volume, write_shape
from .io._library import (
    instance_files,
    instance_folder,
    prepare_library_dir,
    source_files,
    write_library_files,
)

__all__ = ["extract_library", "make_instance", "instance_seed", "LIBRARY_COLUMNS"]

log = logging.getLogger(__name__)

FORMAT = "mitoshape-library/2"  # 2: mesh_volume_um3 (was volume_um3), class once in meta

# library.csv columns; measurements come from each instance's meta.json.
MEASUREMENTS = [
    "mesh_volume_um3",
    "surface_area_um2",
    "skeleton_length_um",
    "n_branches",
    "n_junctions",
    "n_loops",
    "genus",
]
LIBRARY_COLUMNS = [
    "id",
    "folder",
    "class",
    "voxel_count",
    *MEASUREMENTS,
    *(f"bbox_{a}_px" for a in ("z0", "y0", "x0", "z1", "y1", "x1")),
    *(f"centroid_{a}_px" for a in "zyx"),
    *(f"centroid_{a}_nm" for a in "zyx"),
    "touches_border",
    "source_label",
    "source",
]


def instance_seed(seed: int, instance_id: int) -> np.random.SeedSequence:
    """Seed of one instance from the library seed and the instance id (not the schedule)."""
    return np.random.SeedSequence([int(seed), int(instance_id)])


def make_instance(instance: Instance, shape_params, seed: int, folder: str) -> str:
    """Build one instance's shape forms and write its folder (pure apart from that folder).

    Parameters
    ----------
    instance : Instance
    shape_params : ShapeParams
    seed : int
        Library seed; the instance's generator is ``SeedSequence([seed, instance.id])``.
    folder : str
        Instance folder; ``meta.json`` is written last (the folder is then complete).

    Returns
    -------
    folder : str
    """
    rng = np.random.default_rng(instance_seed(seed, instance.id))
    shape = build_shape(instance, shape_params, rng=rng)
    write_shape(shape, folder)
    return folder


def _fingerprint(data: np.ndarray) -> str:
    """blake2b of the volume's bytes, shape and dtype, read in slabs (no copy of the volume)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((data.shape, str(data.dtype))).encode())
    for z in range(0, data.shape[0], 16):
        h.update(np.ascontiguousarray(data[z : z + 16]).tobytes())
    return h.hexdigest()


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("mitoshape", "numpy", "scipy", "scikit-image", "connected-components-3d",
                 "edt", "trimesh", "skan"):  # fmt: skip
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _row(inst: Instance, meta: dict, folder: Path) -> dict:
    """One library.csv row: geometry from the instance, class and measurements from meta.json."""
    meas = meta.get("measurements") if isinstance(meta.get("measurements"), dict) else {}
    idx = np.nonzero(inst.mask)
    cen_px = [float(idx[a].mean() + inst.offset_vox[a]) for a in range(3)]
    row = {
        "id": inst.id,
        "folder": folder.name,
        "class": meta.get("class"),
        "voxel_count": inst.voxel_count,
        "touches_border": inst.touches_border,
        "source_label": inst.source_label,
        "source": inst.source,
    }
    for key in MEASUREMENTS:
        row[key] = meas.get(key)
    for name, v in zip(("z0", "y0", "x0", "z1", "y1", "x1"), inst.bbox_vox, strict=True):
        row[f"bbox_{name}_px"] = int(v)
    for a, name in enumerate("zyx"):
        row[f"centroid_{name}_px"] = round(cen_px[a], 4)
        row[f"centroid_{name}_nm"] = round(cen_px[a] * inst.voxel_size_nm[a], 3)
    return row


def extract_library(
    volume,
    out_dir: str | Path,
    *,
    voxel_size_nm=None,
    extract: ExtractParams | None = None,
    shape=None,
    seed: int = 0,
    n_workers: int | None = None,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
):
    """Extract every instance of a label volume and write the library folder.

    Parameters
    ----------
    volume : path, shapelib.io.Volume or (Z, Y, X) ndarray of int or bool
        The label volume: a path as :func:`shapelib.io.read_volume` takes it (``vol.tif``,
        ``file.h5:/labels``, ...), or a ``Volume`` (it carries its voxel size and source), or
        an array.
    out_dir : str or Path
        Library folder: one sub-folder per instance (``000001``, ...), ``library.csv``,
        ``library.json``, and the output guard's manifest of what was written. An interrupted
        run re-run with the same arguments resumes; a folder holding a different library is
        refused unless ``overwrite`` (which removes that library's files, nothing else); a
        folder holding anything else is refused, and the input is never written over.
    voxel_size_nm : float or (z, y, x), optional
        Required when ``volume`` is a bare array.
    extract : ExtractParams
    shape : ShapeParams
    seed : int
        Library seed; each instance draws from ``SeedSequence([seed, id])``.
    n_workers : int, optional
        Processes (default: all cores; 1 = in this process).
    overwrite : bool
    progress : callable(done, total), optional
        Called as instances finish (resumed ones count as done at once).

    Returns
    -------
    summary : LibrarySummary
        Counts per class and size statistics of the written library.

    Examples
    --------
    >>> from shapelib.phantoms import phantom_volume  # doctest: +SKIP
    >>> pv = phantom_volume(5, rng=0)  # doctest: +SKIP
    >>> extract_library(pv.labels, "lib", voxel_size_nm=pv.voxel_size_nm)  # doctest: +SKIP
    >>> extract_library("phantom_labels.tif", "lib")  # voxel size from the TIFF  # doctest: +SKIP
    """
    # Check everything before anything is written.
    extract = ExtractParams() if extract is None else ExtractParams.model_validate(extract)
    shape = ShapeParams() if shape is None else ShapeParams.model_validate(shape)
    if isinstance(volume, (str, os.PathLike)):
        volume = read_volume(volume, voxel_size_nm=voxel_size_nm)
    if isinstance(volume, Volume):
        data, source = volume.data, volume.source
        spacing = as_spacing_nm(
            voxel_size_nm if voxel_size_nm is not None else volume.voxel_size_nm
        )
    else:
        data, source = volume, "array"
        spacing = as_spacing_nm(voxel_size_nm)
    data = check_label_volume(data)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be an integer >= 0; got {seed!r}.")
    if n_workers is not None and n_workers < 1:
        raise InputError(f"n_workers must be >= 1; got {n_workers}.")
    run = {
        "format": FORMAT,
        "input": {
            "source": source,
            "shape": list(data.shape),
            "dtype": str(data.dtype),
            "voxel_size_nm": list(spacing),
            "blake2b": _fingerprint(data),
        },
        "extract": extract.model_dump(mode="json"),
        "shape": shape.model_dump(mode="json"),
        "seed": int(seed),
    }
    inputs = source_files(source)
    prepare_library_dir(out_dir, run, overwrite=overwrite, inputs=inputs, dry_run=True)
    instances = extract_instances(data, voxel_size_nm=spacing, params=extract, source=source)
    guard = prepare_library_dir(out_dir, run, overwrite=overwrite, inputs=inputs)
    out = guard.root

    # Claim every instance's files (in id order) before any is written, then build the
    # instances whose folder is not complete yet; a half-written folder is written over.
    guard.claim(*(rel for inst in instances for rel in instance_files(inst.id)))
    folders = {inst.id: instance_folder(out, inst.id) for inst in instances}
    todo = [inst for inst in instances if not is_complete(folders[inst.id])]
    total, done = len(instances), len(instances) - len(todo)
    if done:
        log.info("resuming: %d of %d instances already complete", done, total)
    if progress:
        progress(done, total)
    n_workers = n_workers or os.cpu_count() or 1
    if n_workers == 1 or len(todo) <= 1:
        for inst in todo:
            make_instance(inst, shape, seed, str(folders[inst.id]))
            done += 1
            if progress:
                progress(done, total)
    else:
        with ProcessPoolExecutor(max_workers=min(n_workers, len(todo))) as pool:
            # Submit biggest first so the longest jobs do not start last.
            order = sorted(todo, key=lambda i: -i.voxel_count)
            pending = {
                pool.submit(make_instance, i, shape, seed, str(folders[i.id])) for i in order
            }
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    fut.result()  # re-raise a worker's error here
                    done += 1
                    if progress:
                        progress(done, total)

    # Index: one row per instance, from the instance and its meta.json.
    rows = [_row(i, read_meta(folders[i.id]), folders[i.id]) for i in instances]
    info = {
        "run": run,
        "versions": _versions(),
        "n_instances": total,
        "columns": LIBRARY_COLUMNS,
        "folder_pattern": "%06d",
    }
    write_library_files(guard, LIBRARY_COLUMNS, rows, info)
    import pandas as pd

    return summarize_table(pd.DataFrame(rows, columns=LIBRARY_COLUMNS), path=out)
