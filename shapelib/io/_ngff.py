"""The one OME-Zarr (OME-NGFF 0.4 and 0.5) writer: an image pyramid with its physical scale,
label images under ``labels/`` and named extra images beside them.

Layout of one store (what napari-ome-zarr, ome-zarr-py, Fiji's MoBIE/n5-viewer and
neuroglancer open)::

    NAME.ome.zarr/            multiscales: levels "0", "1", ... (y and x halved each level)
      0/ 1/ ...               the image, as given (2D ``(y, x)`` or 3D ``(z, y, x)``)
      labels/                 {"labels": [names]}
        mask/ instances/      multiscales + "image-label" (colours, source "../../")
      probabilities/          an extra image (its own multiscales), for float maps

NGFF 0.4 stores are Zarr v2 (``dimension_separator`` "/"); 0.5 stores are Zarr v3 with the
metadata under the ``ome`` key. Scales are in micrometer (the axes say so); an image without
a pixel size gets scale 1 and no unit. Stores are written to a temporary folder beside the
target and renamed into place, so a reader never sees half a store. Reading is
:func:`shapelib.io.read_volume` (the level-0 array with its scale).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from .._errors import InputError

__all__ = [
    "NGFF_VERSIONS",
    "OUTPUT_FORMATS",
    "check_output_store",
    "ngff_version",
    "output_format",
    "store_stem",
    "write_label_store",
    "write_ome_zarr",
]

NGFF_VERSIONS = ("0.4", "0.5")
NgffVersion = Literal["0.4", "0.5"]
OUTPUT_FORMATS = ("tiff", "ome-zarr", "ome-zarr-0.5")
_MIN_LEVEL_SIDE = 64  # no pyramid level smaller than this (px), the first level excepted


def output_format(out: str | os.PathLike, given: str | None) -> str:
    """The format a command writes `out` in: `given` (one of `OUTPUT_FORMATS`), else
    ``ome-zarr`` for an output ending in ``.zarr`` and ``tiff`` otherwise."""
    if given is None:
        return "ome-zarr" if str(out).rstrip("/").lower().endswith(".zarr") else "tiff"
    if given not in OUTPUT_FORMATS:
        raise InputError(f"unknown output format {given!r}; choose one of {OUTPUT_FORMATS}.")
    return given


def ngff_version(out_format: str) -> NgffVersion:
    """The NGFF version of an OME-Zarr output format (``ome-zarr-0.5``: 0.5, else 0.4)."""
    return "0.5" if out_format.endswith("0.5") else "0.4"


def _levels(shape: Sequence[int], max_levels: int) -> int:
    n = 1
    while n < max_levels and min(shape[-2:]) // 2**n >= _MIN_LEVEL_SIDE:
        n += 1
    return n


def _downsample(data: np.ndarray, *, label: bool) -> np.ndarray:
    """Half the y and x sides: every second pixel for labels, the 2x2 mean for images."""
    if label:
        return data[..., ::2, ::2]
    y, x = (s // 2 * 2 for s in data.shape[-2:])
    d = data[..., :y, :x].astype(np.float64)
    mean = (d[..., ::2, ::2] + d[..., 1::2, ::2] + d[..., ::2, 1::2] + d[..., 1::2, 1::2]) / 4
    if data.dtype.kind in "iu":
        mean = np.rint(mean)
    return mean.astype(data.dtype)


def _axes(ndim: int, unit: bool) -> list[dict]:
    names = ("z", "y", "x")[-ndim:]
    return [{"name": n, "type": "space", **({"unit": "micrometer"} if unit else {})} for n in names]


def _colours(ids: np.ndarray) -> list[dict]:
    """A fixed colour per label id (golden-angle hues), so every viewer shows the same."""
    import colorsys

    out = []
    for i in ids.tolist():
        r, g, b = colorsys.hsv_to_rgb((i * 0.618033988749895) % 1.0, 0.75, 1.0)
        out.append({"label-value": int(i), "rgba": [int(r * 255), int(g * 255), int(b * 255), 255]})
    return out


def _write_pyramid(group, data: np.ndarray, scale_um, *, label: bool, version, name: str):
    """Write levels 0.. of `data` into `group` and return its ``multiscales`` entry (scale 1
    and no unit when `scale_um` is None)."""
    unit = scale_um is not None
    scale_um = scale_um if unit else [1.0] * data.ndim
    datasets = []
    level = data
    for k in range(_levels(data.shape, 5)):
        if k:
            level = _downsample(level, label=label)
        chunks = tuple(
            min(s, c) for s, c in zip(level.shape, (1, 256, 256)[-level.ndim :], strict=True)
        )
        kw: dict = (  # 0.4: "/" between chunk indices; 0.5: the axes named on the array
            {"chunk_key_encoding": {"name": "v2", "separator": "/"}}
            if version == "0.4"
            else {"dimension_names": ("z", "y", "x")[-level.ndim :]}
        )
        arr = group.create_array(str(k), shape=level.shape, dtype=level.dtype, chunks=chunks, **kw)
        arr[...] = level
        factor = [1.0] * (data.ndim - 2) + [2.0**k, 2.0**k]
        sc = [float(s) * f for s, f in zip(scale_um, factor, strict=True)]
        datasets.append(
            {"path": str(k), "coordinateTransformations": [{"type": "scale", "scale": sc}]}
        )
    entry = {"name": name, "axes": _axes(data.ndim, unit=unit), "datasets": datasets}
    if version == "0.4":
        entry = {"version": "0.4", **entry}
    return entry


def _set_ome(group, version: NgffVersion, attrs: dict) -> None:
    """NGFF attributes at the top (0.4) or under ``ome`` with its version (0.5)."""
    if version == "0.4":
        group.attrs.update(attrs)
    else:
        group.attrs.update({"ome": {"version": "0.5", **attrs}})


def _write_image(group, data, scale_um, *, version, name, label_source: str | None = None):
    is_label = label_source is not None
    entry = _write_pyramid(group, data, scale_um, label=is_label, version=version, name=name)
    attrs: dict = {"multiscales": [entry]}
    if label_source is not None:
        ids = np.unique(data)
        info: dict = {"colors": _colours(ids[ids != 0][:4096]), "source": {"image": label_source}}
        attrs["image-label"] = {"version": "0.4", **info} if version == "0.4" else info
    _set_ome(group, version, attrs)


def _check(image: np.ndarray, labels: Mapping, images: Mapping, voxel_size_nm, version):
    if version not in NGFF_VERSIONS:
        raise InputError(f"NGFF version must be one of {NGFF_VERSIONS}; got {version!r}.")
    if image.ndim not in (2, 3):
        raise InputError(f"an OME-Zarr image must be 2D (y, x) or 3D (z, y, x); got {image.shape}.")
    for what, arrays in (("label", labels), ("image", images)):
        for key, arr in arrays.items():
            if np.shape(arr) != image.shape:
                raise InputError(
                    f"{what} {key!r} has shape {np.shape(arr)}; it must match the image's "
                    f"{image.shape}."
                )
            if what == "label" and np.asarray(arr).dtype.kind not in "biu":
                raise InputError(f"label {key!r} must hold integers; got {np.asarray(arr).dtype}.")
    if voxel_size_nm is not None and len(voxel_size_nm) != image.ndim:
        raise InputError(
            f"voxel_size_nm must give one size per image axis ({image.ndim}); got {voxel_size_nm}."
        )


@contextlib.contextmanager
def _atomic_dir(path: Path):
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_ome_zarr(
    path: str | os.PathLike,
    image: np.ndarray,
    *,
    voxel_size_nm: Sequence[float] | None,
    labels: Mapping[str, np.ndarray] | None = None,
    images: Mapping[str, np.ndarray] | None = None,
    version: NgffVersion = "0.4",
) -> Path:
    """Write an image, its label images and extra images as one OME-Zarr store.

    Parameters
    ----------
    path : the store's folder (``NAME.ome.zarr``); replaced atomically when it exists (the
        caller's output guard decides whether it may)
    image : 2D ``(y, x)`` or 3D ``(z, y, x)`` array, any numeric dtype
    voxel_size_nm : one size per axis in nm (``(y, x)`` or ``(z, y, x)``), or None (scale 1,
        no unit)
    labels : name -> integer array of the image's shape, under ``labels/NAME`` with
        ``image-label`` metadata (colours, source); instance ids should be uint32
    images : name -> array of the image's shape, written as ``NAME/`` with its own multiscales
        (a probability map beside the image)
    version : "0.4" (Zarr v2) or "0.5" (Zarr v3)

    Returns
    -------
    path : Path

    Examples
    --------
    >>> write_ome_zarr("a.ome.zarr", img, voxel_size_nm=(5, 5), labels={"m": m})  # doctest: +SKIP
    """
    import zarr

    image = np.asarray(image)
    labels = {k: np.asarray(v) for k, v in (labels or {}).items()}
    images = {k: np.asarray(v) for k, v in (images or {}).items()}
    _check(image, labels, images, voxel_size_nm, version)
    scale_um = None if voxel_size_nm is None else [float(s) / 1000.0 for s in voxel_size_nm]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt: Literal[2, 3] = 2 if version == "0.4" else 3
    with _atomic_dir(path) as tmp:
        root = zarr.open_group(str(tmp), mode="w", zarr_format=fmt)
        _write_image(root, image, scale_um, version=version, name=path.name.split(".")[0])
        for key, arr in images.items():
            _write_image(root.create_group(key), arr, scale_um, version=version, name=key)
        if labels:
            group = root.create_group("labels")
            _set_ome(group, version, {"labels": list(labels)})
            for key, arr in labels.items():
                sub = group.create_group(key)
                _write_image(sub, arr, scale_um, version=version, name=key, label_source="../../")
    return path


def store_stem(path: str | os.PathLike) -> str:
    """A store's name without ``.ome.zarr`` / ``.zarr`` (``vol.ome.zarr`` -> ``vol``)."""
    name = Path(path).name
    for suffix in (".ome.zarr", ".zarr"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


def check_output_store(
    path: str | os.PathLike,
    *,
    inputs: Sequence[str | os.PathLike] = (),
    overwrite: bool = False,
) -> Path:
    """Check one OME-Zarr store as a command's output (``-o NAME.ome.zarr``); writes nothing.

    Refused when it is an input or inside one, when it exists (unless `overwrite`), and
    whatever `overwrite` says when what exists there is not a Zarr store (never removed).
    """
    from ._outputs import OutputExistsError, _check_not_input, _is_zarr_store, _resolved

    path = Path(path)
    _check_not_input(path, _resolved(path), [_resolved(p) for p in inputs])
    if path.exists() or path.is_symlink():
        if not (path.is_dir() and _is_zarr_store(path)):
            raise OutputExistsError(
                f"output {path} exists and is not a Zarr store; nothing there is replaced. "
                "Choose another name."
            )
        if not overwrite:
            raise OutputExistsError(
                f"output {path} exists; pass --overwrite to replace it, or choose another name."
            )
    return path


def write_label_store(
    path: str | os.PathLike,
    labels: np.ndarray,
    *,
    voxel_size_nm: Sequence[float] | None,
    version: NgffVersion = "0.4",
) -> Path:
    """A label volume as one OME-Zarr store (`write_ome_zarr`): the foreground (uint8 0/1) as
    the image and the ids (uint32) as ``labels/instances``, for `phantom` and `extract`."""
    labels = np.asarray(labels)
    if labels.ndim not in (2, 3) or not np.issubdtype(labels.dtype, np.integer):
        raise InputError(
            f"a label store takes a 2D or 3D integer array; got {labels.dtype} {labels.shape}."
        )
    return write_ome_zarr(
        path,
        (labels > 0).astype(np.uint8),
        voxel_size_nm=voxel_size_nm,
        labels={"instances": labels.astype(np.uint32)},
        version=version,
    )
