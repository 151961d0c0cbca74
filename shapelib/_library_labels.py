"""The instance label volume of a library (`write_library_labels`): the volume it was extracted
from, cut into instances again with the same settings, each instance's voxels painted with its
library id, written as one OME-Zarr store in the library folder (``instances.ome.zarr``), so
a shape's row in ``library.csv`` is traceable to its voxels in napari or Fiji.

Labelling is the quick part of extraction (meshes and samples are the long one), so the
library is not touched; the ids and voxel counts are checked against ``library.csv``, and a
volume or settings that give another library are refused.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._errors import InputError
from ._extract import ExtractParams, extract_instances
from ._instance import paint_instances
from ._library import _use_blocks
from ._units import as_spacing_nm
from .io import (
    Volume,
    check_label_volume,
    ngff_version,
    open_output_folder,
    open_volume,
    output_format,
    read_library_table,
    write_label_store,
)
from .io._library import source_files

__all__ = ["LABELS_STORE", "check_library_labels", "write_library_labels"]

LABELS_STORE = "instances.ome.zarr"


def check_library_labels(
    volume: Volume, *, labels_format: str, chunked: bool | None = None
) -> None:
    """Refuse now (before a long extraction) a label store that cannot be written: a format
    that is not OME-Zarr, or a volume extracted block by block (the store is painted whole)."""
    if output_format("", labels_format) == "tiff":
        raise InputError(
            f"the label volume is written as ome-zarr or ome-zarr-0.5; got {labels_format!r}."
        )
    if _use_blocks(volume.data, chunked):
        raise InputError(
            f"an OME-Zarr label volume ({labels_format}) is painted whole in memory, but "
            f"{volume.source} is extracted block by block (above 1 GiB, or --chunked); extract "
            "it --in-memory, or without --format."
        )


def write_library_labels(
    volume: str | os.PathLike | Volume,
    library_dir: str | os.PathLike,
    *,
    extract: ExtractParams | None = None,
    labels_format: str = "ome-zarr",
) -> Path:
    """Write the instance label volume of a library as ``library_dir/instances.ome.zarr``.

    Parameters
    ----------
    volume : the label volume the library was extracted from (a path, or a ``Volume``)
    library_dir : the library folder (`extract_library`'s output); the store is claimed in
        its manifest, so ``--overwrite`` of the library removes it too
    extract : the ExtractParams the library was extracted with
    labels_format : "ome-zarr" (NGFF 0.4) or "ome-zarr-0.5"

    Returns
    -------
    The store: the foreground (uint8 0/1) as its image and ``labels/instances`` (uint32, each
    voxel the id of its shape in ``library.csv``, 0 outside), on the extraction grid (the
    voxel size times ``downsample``), scale in micrometer (`shapelib.io.write_label_store`).
    """
    extract = ExtractParams() if extract is None else ExtractParams.model_validate(extract)
    if not isinstance(volume, Volume):
        volume = open_volume(volume)
    check_library_labels(volume, labels_format=labels_format)
    table = read_library_table(Path(library_dir))
    spacing = as_spacing_nm(volume.voxel_size_nm)
    data = check_label_volume(np.asarray(volume.data))
    instances = extract_instances(data, voxel_size_nm=spacing, params=extract, source=volume.source)
    got = {int(i.id): i.voxel_count for i in instances}
    want = {int(k): int(v) for k, v in zip(table["id"], table["voxel_count"], strict=True)}
    if got != want:
        raise InputError(
            f"{library_dir} was not extracted from {volume.source} with these settings (its "
            f"{len(want)} shapes differ from the {len(got)} found now); pass the volume and "
            "the options it was extracted with."
        )
    guard = open_output_folder(
        library_dir, command="extract", inputs=source_files(volume.source), resume=True
    )
    step = extract.downsample
    nz, ny, nx = (-(-int(n) // step) for n in data.shape)
    ids = paint_instances(instances, (nz, ny, nx))
    size = tuple(float(v) * step for v in spacing)
    return write_label_store(
        guard.path(LABELS_STORE), ids, voxel_size_nm=size, version=ngff_version(labels_format)
    )
