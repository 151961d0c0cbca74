"""A whole library from a label volume: extract, build every shape in parallel, write, index.

A workflow: compute (extract, build_shape) and io (write_shape, the library folder) meet here.
Per-instance work (:func:`make_instance`) is a pure function of one ``Instance``, the shape
parameters and a seed, so it runs unchanged in this process, on a process pool or on a Dask
cluster (:class:`~shapelib._runner.TaskRunner`).

Two ways to find the instances, with the same result (ids, masks, files): the whole volume in
memory (:func:`~shapelib.extract_instances`), or block by block from a volume on disk
(:func:`~shapelib._chunked.chunked_instances`), chosen by the volume's size.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ._chunked import InstanceRecord, chunked_instances
from ._errors import InputError
from ._extract import ExtractParams, extract_instances
from ._fingerprint import content_fingerprint
from ._instance import Instance
from ._labels import check_label_volume
from ._runner import TaskRunner
from ._shape import ShapeParams, build_shape, check_skeleton_grid
from ._summary import LibrarySummary, summarize_table
from ._units import as_spacing_nm
from .io import (
    OutputExistsError,
    Volume,
    check_output_folder,
    is_complete,
    open_volume,
    read_manifest,
    read_meta,
    write_shape,
)
from .io._library import (
    instance_files,
    instance_folder,
    prepare_library_dir,
    source_files,
    write_library_files,
)

__all__ = [
    "extract_library",
    "make_instance",
    "instance_seed",
    "LIBRARY_COLUMNS",
    "IN_MEMORY_MAX_BYTES",
]

log = logging.getLogger(__name__)

# Volumes read lazily (shapelib.io.open_volume) up to this size are read whole into memory;
# larger ones are extracted block by block.
IN_MEMORY_MAX_BYTES = 1 << 30

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


def _make_task(_shared, item, shape_params, seed: int, folder: str) -> str:
    """A runner task: one instance (or a chunked extraction's packed record) to its folder."""
    inst = item.to_instance() if isinstance(item, InstanceRecord) else item
    return make_instance(inst, shape_params, seed, folder)


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for name in ("mitoshape", "numpy", "scipy", "scikit-image", "connected-components-3d",
                 "edt", "trimesh", "skan"):  # fmt: skip
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _row(inst: Instance | InstanceRecord, meta: dict | None, folder: Path) -> dict:
    """One library.csv row: geometry from the instance, class and measurements from meta.json."""
    meta = meta or {}
    meas = meta.get("measurements")
    if not isinstance(meas, dict):
        meas = {}
    cen_px = inst.centroid_px
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
    volume: str | os.PathLike | Volume | npt.ArrayLike,
    out_dir: str | Path,
    *,
    voxel_size_nm: float | Sequence[float] | str | None = None,
    extract: ExtractParams | None = None,
    shape: ShapeParams | dict | None = None,
    seed: int = 0,
    n_workers: int | None = None,
    overwrite: bool = False,
    chunked: bool | None = None,
    scheduler: str | Any = None,
    block_shape: int | Sequence[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LibrarySummary:
    """Extract every instance of a label volume and write the library folder.

    Parameters
    ----------
    volume : path, shapelib.io.Volume, (Z, Y, X) ndarray of int or bool, or a lazy array
        The label volume: a path as :func:`shapelib.io.open_volume` takes it (``vol.tif``,
        ``file.h5:/labels``, a Zarr store, ...; opened lazily), or a ``Volume`` (it carries
        its voxel size and source; its ``data`` may be lazy: a zarr or h5py array, a memory
        map or a dask array), or an array.
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
    chunked : bool, optional
        Read and label the volume block by block (memory: a block and the largest instance)
        or whole in memory. Default: in memory for an ndarray and for lazy volumes up to
        :data:`IN_MEMORY_MAX_BYTES`, by blocks above. Both give the same library, byte for
        byte.
    scheduler : str or distributed.Client, optional
        A Dask scheduler (``tcp://HOST:PORT``) to run the blockwise passes and the instances
        on; the library folder must be reachable from its workers.
    block_shape : int or (z, y, x), optional
        Block size of the chunked passes, in voxels of the downsampled volume (default: whole
        store chunks, about 16 Mi source voxels per block).
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
        volume = open_volume(volume, voxel_size_nm=voxel_size_nm)
    if isinstance(volume, Volume):
        data, source = volume.data, volume.source
        spacing = as_spacing_nm(
            voxel_size_nm if voxel_size_nm is not None else volume.voxel_size_nm
        )
    else:
        data, source = volume, "array"
        spacing = as_spacing_nm(voxel_size_nm)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be an integer >= 0; got {seed!r}.")
    check_skeleton_grid(tuple(float(v) * extract.downsample for v in spacing), shape)
    if n_workers is not None and n_workers < 1:
        raise InputError(f"n_workers must be >= 1; got {n_workers}.")
    n_workers = n_workers or os.cpu_count() or 1
    # The output folder is checked before the long passes (the run's fingerprint, which
    # decides resume or refuse, is known after them).
    _check_library_dir(out_dir, overwrite=overwrite, inputs=source_files(source))
    if _use_blocks(data, chunked):
        # One runner for every pass: the blocks, the components, then the instances.
        runner = TaskRunner(data, n_workers=n_workers, scheduler=scheduler)
        with runner:
            found = chunked_instances(
                data, voxel_size_nm=spacing, params=extract, runner=runner,
                block_shape=block_shape, name=source,
            )  # fmt: skip
            instances = found.records
            data_info = (found.shape, found.dtype, found.fingerprint)
            return _write_library(
                instances, out_dir, runner, source=source, spacing=spacing,
                data_info=data_info, extract=extract, shape=shape, seed=seed,
                overwrite=overwrite, progress=progress,
            )  # fmt: skip
    data = check_label_volume(np.asarray(data))
    instances = extract_instances(data, voxel_size_nm=spacing, params=extract, source=source)
    data_info = (data.shape, str(data.dtype), content_fingerprint(data))
    with TaskRunner(None, n_workers=n_workers, scheduler=scheduler) as runner:
        return _write_library(
            instances, out_dir, runner, source=source, spacing=spacing, data_info=data_info,
            extract=extract, shape=shape, seed=seed, overwrite=overwrite, progress=progress,
        )  # fmt: skip


def _check_library_dir(out_dir, *, overwrite: bool, inputs) -> None:
    """Refuse now what `prepare_library_dir` would refuse whatever the run is."""
    out = Path(out_dir)
    header, _ = read_manifest(out) if out.is_dir() else (None, [])
    if header is not None and header.get("command") == "extract":
        return  # a library: resume or refuse once the run is known
    check_output_folder(out, command="extract", inputs=inputs, overwrite=overwrite)


def _check_claims(out: Path, rels: list[str]) -> None:
    """Refuse now a file at an instance's path that mitoshape did not write there: found by the
    claim after ``overwrite`` had removed the earlier library, it left neither."""
    if not out.is_dir():
        return
    _, owned = read_manifest(out)
    mine = set(owned)
    for rel in rels:
        path = out / rel
        if rel not in mine and (path.exists() or path.is_symlink()):
            raise OutputExistsError(
                f"{path} exists and was not written by mitoshape in this folder; refusing to "
                "write over it (nothing was removed). Move it away or choose another output "
                "folder."
            )


def _use_blocks(data, chunked: bool | None) -> bool:
    """Whether to extract block by block (see ``chunked`` of :func:`extract_library`)."""
    if chunked is not None:
        return bool(chunked)
    if isinstance(data, np.ndarray):
        return False
    nbytes = int(np.prod(data.shape)) * np.dtype(data.dtype).itemsize
    return nbytes > IN_MEMORY_MAX_BYTES


def _write_library(
    instances, out_dir, runner: TaskRunner, *, source, spacing, data_info, extract, shape,
    seed, overwrite, progress,
):  # fmt: skip
    """Resume or start the library folder, build the instances not complete yet, index."""
    data_shape, data_dtype, fingerprint = data_info
    run = {
        "format": FORMAT,
        "input": {
            "source": source,
            "shape": [int(s) for s in data_shape],
            "dtype": str(data_dtype),
            "voxel_size_nm": list(spacing),
            "fingerprint": fingerprint,
        },
        "extract": extract.model_dump(mode="json"),
        "shape": shape.model_dump(mode="json"),
        "seed": int(seed),
    }
    inputs = source_files(source)
    rels = [rel for inst in instances for rel in instance_files(inst.id)]
    _check_claims(Path(out_dir), rels)  # before --overwrite removes the earlier library
    guard = prepare_library_dir(out_dir, run, overwrite=overwrite, inputs=inputs)
    assert guard is not None  # not a dry run: the folder is open
    out = guard.root

    # Claim every instance's files (in id order) before any is written, then build the
    # instances whose folder is not complete yet; a half-written folder is written over.
    guard.claim(*rels)
    folders = {inst.id: instance_folder(out, inst.id) for inst in instances}
    todo = [inst for inst in instances if not is_complete(folders[inst.id])]
    total, done = len(instances), len(instances) - len(todo)
    if done:
        log.info("resuming: %d of %d instances already complete", done, total)
    if progress:
        progress(done, total)
    if len(todo) <= 1 and runner.where == "pool":
        runner = TaskRunner(None, n_workers=1)  # one instance: no pool to start
    # Submit biggest first so the longest jobs do not start last.
    order = sorted(todo, key=lambda i: -i.voxel_count)
    tasks = [(inst, shape, seed, str(folders[inst.id])) for inst in order]
    for _ in runner.imap_unordered(_make_task, tasks):
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
