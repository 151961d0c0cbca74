"""Label volumes opened lazily: only the chunks a slice needs are read (Zarr, HDF5, TIFF, NumPy).

:func:`open_volume` reads a volume's shape, dtype, chunks and voxel size (the same metadata
rules and the same ``source`` as :func:`~shapelib.io.read_volume`) and returns a
:class:`~shapelib.io.Volume` whose ``data`` is a :class:`LazyVolume`: numpy slicing reads
the voxels asked for, ``np.asarray`` the whole volume, :meth:`LazyVolume.to_dask` gives a
dask array. Zarr v2 and v3 stores (OME-NGFF scale) and HDF5 datasets are read chunk by chunk,
TIFF through tifffile's Zarr store (strip by strip or tile by tile, never the whole file),
``.npy`` through a memory map.

A ``LazyVolume`` pickles as its path: every process (a pool worker, forked or not, a Dask
worker) opens the file itself on first read. A chunk that cannot be read stops with one line
naming it.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from itertools import product
from pathlib import Path

import numpy as np

from .._errors import InputError
from .._labels import check_label_layout
from .._units import as_spacing_nm
from ._tiff import TiffImage, _tiff_scale, _valid_scale
from ._volume import (
    Volume,
    _final_size,
    _hdf5_dataset,
    _open_hdf5,
    _parse_spec,
    _zarr_array,
)

__all__ = ["LazyVolume", "open_volume"]

log = logging.getLogger(__name__)

_MAX_CHUNKS_TO_SEARCH = 4096  # chunks re-read one by one to name the one that fails


class LazyVolume:
    """A 3D volume on disk, read piece by piece.

    Attributes
    ----------
    shape : (Z, Y, X)
    dtype : numpy dtype as stored (checked values come from
        :func:`~shapelib.io.check_label_volume` on what is read)
    chunks : (z, y, x) of the store's chunks, or None (memory-mapped ``.npy``, contiguous HDF5)
    source : str
        The path spec, as in :attr:`Volume.source`.
    """

    def __init__(self, kind, path, key, *, raw_shape, squeeze, dtype, chunks, source):
        self.kind = kind
        self.path = str(path)
        self.key = key
        self._raw_shape = tuple(int(s) for s in raw_shape)
        self._squeeze = tuple(squeeze)  # axes of the stored array dropped (length 1)
        keep = [a for a in range(len(self._raw_shape)) if a not in self._squeeze]
        self.shape = tuple(self._raw_shape[a] for a in keep)
        self.dtype = np.dtype(dtype)
        self.chunks = None if chunks is None else tuple(int(chunks[a]) for a in keep)
        self.source = source
        self._handle = None
        self._keep = None  # the open file, when the array needs it open
        self._pid = None  # the process that opened it (a forked child opens its own)

    # -- numpy-like ---------------------------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"LazyVolume({self.source!r}, shape={self.shape}, dtype={self.dtype})"

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_handle"] = state["_keep"] = state["_pid"] = None  # each process opens its own
        return state

    def __array__(self, dtype=None, copy=None):
        arr = self[...]
        return arr if dtype is None else arr.astype(dtype)

    def _full_key(self, key) -> tuple:
        """The stored array's index for a key into the squeezed volume (slices and ints)."""
        if not isinstance(key, tuple):
            key = (key,)
        if any(k is Ellipsis for k in key):
            i = next(i for i, k in enumerate(key) if k is Ellipsis)
            fill = (slice(None),) * (self.ndim - len(key) + 1)
            key = key[:i] + fill + key[i + 1 :]
        key = key + (slice(None),) * (self.ndim - len(key))
        if len(key) != self.ndim or not all(isinstance(k, (slice, int, np.integer)) for k in key):
            raise IndexError(f"LazyVolume takes {self.ndim} slices or ints; got {key!r}.")
        it = iter(key)
        return tuple(0 if a in self._squeeze else next(it) for a in range(len(self._raw_shape)))

    def __getitem__(self, key) -> np.ndarray:
        full = self._full_key(key)
        try:
            return np.asarray(self._open()[full])
        except (InputError, MemoryError):
            raise
        except Exception as err:  # the stores raise many types for a damaged chunk
            raise self._locate(full, err) from None

    def to_dask(self, chunks=None):
        """The volume as a dask array (one task per block of ``chunks``, default the store's)."""
        import dask.array as da

        return da.from_array(
            self, chunks=chunks or self.chunks or "auto", lock=False, asarray=False,
            fancy=False, meta=np.empty((0,) * self.ndim, self.dtype),
        )  # fmt: skip

    # -- the store ------------------------------------------------------------------------------
    def _open(self):
        # a file handle inherited through fork shares its offset with the parent: reads race
        if self._handle is None or self._pid != os.getpid():
            self._handle, self._keep = _open_array(self.kind, Path(self.path), self.key)
            self._pid = os.getpid()
        return self._handle

    def _locate(self, full, err) -> InputError:
        """An error naming the first chunk of the region ``full`` that cannot be read."""
        sl = [k if isinstance(k, slice) else slice(int(k), int(k) + 1) for k in full]
        lo = [s.indices(n)[0] for s, n in zip(sl, self._raw_shape, strict=True)]
        hi = [s.indices(n)[1] for s, n in zip(sl, self._raw_shape, strict=True)]
        chunks = _raw_chunks(self._open())
        what = f"{type(err).__name__}: {err}"
        if chunks is not None:
            ranges = [range(a // c, -(-b // c)) for a, b, c in zip(lo, hi, chunks, strict=True)]
            if math.prod(len(r) for r in ranges) <= _MAX_CHUNKS_TO_SEARCH:
                for idx in product(*ranges):
                    box = tuple(
                        slice(i * c, min((i + 1) * c, n))
                        for i, c, n in zip(idx, chunks, self._raw_shape, strict=True)
                    )
                    try:
                        np.asarray(self._handle[box])
                    except Exception as chunk_err:  # noqa: BLE001 - any failure names it
                        voxels = ", ".join(f"{b.start}:{b.stop}" for b in box)
                        return InputError(
                            f"could not read chunk {tuple(idx)} (voxels {voxels}) of "
                            f"{self.source} ({type(chunk_err).__name__}: {chunk_err}); the "
                            "store is damaged or incomplete: restore or re-write that chunk."
                        )
        voxels = ", ".join(f"{a}:{b}" for a, b in zip(lo, hi, strict=True))
        return InputError(
            f"could not read voxels {voxels} of {self.source} ({what}); the store is damaged "
            "or incomplete."
        )


def _raw_chunks(handle):
    chunks = getattr(handle, "chunks", None)
    return tuple(int(c) for c in chunks) if chunks else None


def _open_array(kind: str, path: Path, key):
    """``(array-like, object to keep open)`` of a stored volume."""
    if kind == "zarr":
        return _zarr_array(path, key)[0], None
    if kind == "hdf5":
        f = _open_hdf5(path)
        return f[key], f
    if kind == "tiff":
        import tifffile
        import zarr

        store = tifffile.imread(path, aszarr=True, series=0, level=0)
        return zarr.open(store, mode="r"), store
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False), None
    except (ValueError, OSError, EOFError) as err:
        raise InputError(f"could not read NumPy file {path}: {err}") from None


def _tiff_size(path: Path):
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            pixel, z = _tiff_scale(tif)
    except Exception as err:  # tifffile raises many types for a bad file
        raise InputError(
            f"could not read TIFF {path} ({type(err).__name__}: {err}); is the file complete "
            "and really a TIFF?"
        ) from None
    pixel, z = _valid_scale(path, pixel, z)
    return TiffImage(data=np.empty(0), pixel_size_nm=pixel, z_step_nm=z).voxel_size_nm


def open_volume(
    path_spec: str | os.PathLike,
    *,
    voxel_size_nm: float | Sequence[float] | str | None = None,
) -> Volume:
    """Open a 3D label volume lazily: its metadata now, its voxels when sliced.

    Parameters
    ----------
    path_spec : str or Path
        As for :func:`~shapelib.io.read_volume`: ``file.tif``, ``file.h5:/dataset``, a Zarr
        store (``store.zarr:array``; OME-NGFF scale), or ``file.npy``.
    voxel_size_nm : float or (z, y, x) floats or "z,y,x", optional
        Required when the file does not say; overrides the file.

    Returns
    -------
    volume : Volume
        ``data`` is a :class:`LazyVolume`; ``voxel_size_nm`` and ``source`` as
        :func:`~shapelib.io.read_volume` gives them.

    Examples
    --------
    >>> vol = open_volume("labels.zarr")  # doctest: +SKIP
    >>> vol.data[0:64, 0:64, 0:64].max()  # doctest: +SKIP
    """
    spec = str(path_spec)
    user_size = None if voxel_size_nm is None else as_spacing_nm(voxel_size_nm)
    kind, file, key = _parse_spec(spec)
    source, keep, size = spec, None, None
    if kind == "hdf5":
        with _open_hdf5(file) as f:
            dset, size, source = _hdf5_dataset(f, file, key)
            key = dset.name
            raw_shape, dtype, chunks = dset.shape, dset.dtype, dset.chunks
    elif kind == "zarr":
        node, size, source = _zarr_array(file, key)
        key = source[len(str(file)) + 1 :] or None
        raw_shape, dtype, chunks = node.shape, node.dtype, node.chunks
    else:
        if kind == "tiff":
            size = _tiff_size(file)
        handle, keep = _open_array(kind, file, None)
        raw_shape, dtype, chunks = handle.shape, handle.dtype, _raw_chunks(handle)
        del handle
    squeeze: tuple[int, ...] = ()
    if kind == "zarr" and len(raw_shape) > 3 and all(s == 1 for s in raw_shape[:-3]):
        squeeze = tuple(range(len(raw_shape) - 3))
    if kind == "tiff" and len(raw_shape) == 4 and 1 in raw_shape:
        log.info("squeezing singleton axis of TIFF shape %s", raw_shape)
        squeeze = tuple(a for a, s in enumerate(raw_shape) if s == 1)
    lazy = LazyVolume(
        kind, file, key, raw_shape=raw_shape, squeeze=squeeze, dtype=dtype, chunks=chunks,
        source=source,
    )  # fmt: skip
    if keep is not None and hasattr(keep, "close"):
        keep.close()
    check_label_layout(lazy.shape, lazy.dtype, what=f"the volume in {source}")
    size = _final_size(size, user_size, source)
    log.info("opened %s: shape %s, %s, chunks %s, voxel %s nm", source, lazy.shape,
             lazy.dtype, lazy.chunks, size)  # fmt: skip
    return Volume(data=lazy, voxel_size_nm=size, source=source)
