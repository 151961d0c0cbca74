"""Instances of a volume read in blocks, so memory holds a block and one instance, not the volume.

The same instances as :func:`shapelib.extract_instances` on the whole volume (ids, masks,
offsets, flags), in three passes of independent tasks (run by a
:class:`~shapelib._runner.TaskRunner`: here, on a process pool or on a Dask cluster):

1. **Blocks**: each block of the (downsampled) selection is read, checked, selected and
   downsampled alone (:func:`shapelib._extract.select` gives the same voxels region by
   region) and labelled by :func:`shapelib._blockwise.label_block`; as blocks come back, the
   items of neighbouring blocks that touch are paired, and the blocks' voxels are hashed.
2. **Join**: the pairs are joined (:func:`shapelib._blockwise.join_blocks`); each component's
   voxel count, bounding box and first voxel come from its items. Dust is dropped.
3. **Components**: each component's bounding box is read again and labelled alone; the
   component is the label at its first voxel, exactly the crop ``cc[box] == k`` of the
   in-memory path, so the same split (:func:`shapelib._extract.component_parts`) cuts it the
   same way. Each object comes back as an :class:`InstanceRecord` (its mask packed), and ids
   follow the raster order of every object's first voxel, as in memory.

No margin around a component's box is needed: the in-memory path, too, handles each
component alone in its bounding box.
"""

from __future__ import annotations

import logging
import math
import zlib
from dataclasses import dataclass, replace

import numpy as np

from ._block_labels import connected_components, label_block
from ._blockwise import FORWARD_DIRECTIONS, BlockGrid, block_pairs, join_blocks
from ._errors import InputError
from ._extract import (
    ExtractParams,
    check_params,
    component_parts,
    nothing_selected,
    select,
    touches_border,
)
from ._fingerprint import fingerprint_of, hash_part
from ._instance import Instance
from ._labels import check_label_layout, check_label_volume
from ._memory import format_bytes, max_array_bytes
from ._units import int3

__all__ = [
    "InstanceRecord",
    "ChunkedInstances",
    "chunked_instances",
    "choose_block_shape",
]

log = logging.getLogger(__name__)

BLOCK_BUDGET_VOX = 1 << 24  # source voxels read per block (16 Mi: 64 MiB of uint32 labels)


# -- the layout of blocks ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Layout:
    """Blocks over the downsampled selection, and the source region each one reads."""

    source_shape: tuple[int, int, int]
    shape: tuple[int, int, int]  # of the downsampled selection
    factor: int
    grid: BlockGrid

    def source_box(self, lo, hi):
        """The source region whose selection is the voxels ``lo:hi`` of the selection."""
        f = self.factor
        src_lo = tuple(int(a) * f for a in lo)
        src_hi = tuple(
            s if b == n else min(int(b) * f, s)
            for b, n, s in zip(hi, self.shape, self.source_shape, strict=True)
        )
        return src_lo, src_hi


def _selection_shape(source_shape, params: ExtractParams) -> tuple[int, int, int]:
    f = params.downsample
    if params.instances:  # the centre voxel of every block of f^3
        return int3(len(range(f // 2, s, f)) for s in source_shape)
    return int3(-(-s // f) for s in source_shape)


def choose_block_shape(shape, *, chunks=None, factor: int = 1, budget_vox: int = BLOCK_BUDGET_VOX):
    """Blocks of the selection (downsampled voxels) reading about ``budget_vox`` source voxels,
    whole store chunks when the store has them."""
    side = max(1, int(round(budget_vox ** (1 / 3))))
    src = []
    for a in range(3):
        c = int(chunks[a]) if chunks is not None and chunks[a] else 0
        src.append(max(c, side // c * c) if 0 < c <= side else (c or side))
    # shrink while the block reads too much (e.g. TIFF strips of whole rows): first the side
    # holding the most chunks, so a block still reads whole chunks where it can
    chunk = [int(chunks[a]) if chunks is not None and chunks[a] else 1 for a in range(3)]
    while math.prod(src) > 2 * budget_vox and max(src) > 1:
        a = int(
            np.argmax([s / c if s > c else s / c / 1e6 for s, c in zip(src, chunk, strict=True)])
        )
        src[a] = max(1, src[a] // 2)
    return tuple(max(1, min(int(s) // factor, n)) for s, n in zip(src, shape, strict=True))


# -- reading ---------------------------------------------------------------------------------
def read_region(source, lo, hi) -> np.ndarray:
    """Voxels ``lo:hi`` of an array-like (numpy, memmap, zarr, h5py, dask, a lazy volume)."""
    key = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    try:
        part = source[key]
        if hasattr(part, "compute"):  # a dask array: read it here, not on the cluster
            part = part.compute(scheduler="synchronous")
        return np.ascontiguousarray(part)
    except (InputError, OSError, MemoryError):
        raise
    except Exception as err:  # the readers raise many types for a damaged store
        where = ", ".join(f"{n} {a}:{b}" for n, a, b in zip("zyx", lo, hi, strict=True))
        raise InputError(
            f"could not read voxels {where} of the volume ({type(err).__name__}: {err}); "
            "the store is damaged or incomplete."
        ) from None


def _read_selection(source, layout: _Layout, lo, hi, params: ExtractParams):
    """(checked source region, its selection) for the selection's voxels ``lo:hi``."""
    src_lo, src_hi = layout.source_box(lo, hi)
    raw = read_region(source, src_lo, src_hi)
    where = ", ".join(f"{n} {a}:{b}" for n, a, b in zip("zyx", src_lo, src_hi, strict=True))
    arr = check_label_volume(raw, what=f"the volume (voxels {where})")
    return arr, src_lo, select(arr, params)


# -- the tasks -------------------------------------------------------------------------------
def _block_task(source, index, layout: _Layout, params: ExtractParams):
    lo, hi = layout.grid.box(index)
    arr, src_lo, sel = _read_selection(source, layout, lo, hi, params)
    part = hash_part(arr, src_lo, layout.source_shape)
    labels = label_block(
        sel, index=index, origin=lo, volume_shape=layout.shape, connectivity=params.connectivity
    )
    return labels, part


@dataclass(frozen=True)
class InstanceRecord:
    """One instance of a chunked extraction with its mask packed (bits, then zlib).

    The attributes :func:`shapelib.extract_library` reads from an
    :class:`~shapelib.Instance` (``id``, ``voxel_count``, ``bbox_vox``, ``centroid_px``, ...)
    without unpacking the mask; :meth:`to_instance` gives the instance itself.
    """

    key: tuple[int, int, int]
    offset_vox: tuple[int, int, int]
    mask_shape: tuple[int, int, int]
    packed: bytes
    voxel_count: int
    centroid_px: tuple[float, float, float]
    touches_border: bool
    source_label: int
    n_parts: int
    id: int = 0
    voxel_size_nm: tuple[float, float, float] = (1.0, 1.0, 1.0)
    source: str = ""

    @classmethod
    def pack(cls, key, mask: np.ndarray, offset, src_label, n_parts, shape) -> InstanceRecord:
        inst = Instance(0, mask, tuple(offset), (1.0, 1.0, 1.0))
        packed = zlib.compress(np.packbits(mask.reshape(-1)).tobytes(), 1)
        return cls(
            key=tuple(key), offset_vox=tuple(offset), mask_shape=tuple(mask.shape),
            packed=packed, voxel_count=inst.voxel_count, centroid_px=inst.centroid_px,
            touches_border=touches_border(offset, mask.shape, shape),
            source_label=int(src_label), n_parts=int(n_parts),
        )  # fmt: skip

    @property
    def bbox_vox(self) -> tuple[int, int, int, int, int, int]:
        z0, y0, x0 = self.offset_vox
        dz, dy, dx = self.mask_shape
        return (z0, y0, x0, z0 + dz, y0 + dy, x0 + dx)

    def mask(self) -> np.ndarray:
        n = math.prod(self.mask_shape)
        bits = np.frombuffer(zlib.decompress(self.packed), np.uint8)
        return np.unpackbits(bits, count=n).astype(bool).reshape(self.mask_shape)

    def to_instance(self) -> Instance:
        return Instance(
            id=self.id, mask=self.mask(), offset_vox=self.offset_vox,
            voxel_size_nm=self.voxel_size_nm, source=self.source,
            touches_border=self.touches_border, source_label=self.source_label,
            extra={"n_parts_of_component": self.n_parts},
        )  # fmt: skip


def _component_task(source, lo, hi, first, layout: _Layout, params: ExtractParams):
    _, _, sel = _read_selection(source, layout, lo, hi, params)
    cc, _ = connected_components(sel, params.connectivity)
    # the component is the label at its first voxel (its crop holds pieces of others too)
    at = np.unravel_index(first, layout.shape)
    at = tuple(int(v) - int(o) for v, o in zip(at, lo, strict=True))
    comp = cc == cc[at]
    src_label = int(sel[at]) if params.instances else 0
    return [
        InstanceRecord.pack(key, mask, off, src, n_parts, layout.shape)
        for key, mask, off, src, n_parts in component_parts(
            comp, lo, layout.shape, params, src_label
        )
    ]


# -- the passes ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChunkedInstances:
    """Result of :func:`chunked_instances`.

    Attributes
    ----------
    records : list of InstanceRecord
        Ids ``1..N`` in raster order of each instance's first voxel.
    shape, dtype
        Of the source volume (dtype as checked: signed ids become unsigned, a float mask bool).
    fingerprint : str
        :func:`shapelib._fingerprint.content_fingerprint` of the volume, from its blocks.
    n_blocks : int
    """

    records: list
    shape: tuple[int, int, int]
    dtype: str
    fingerprint: str
    n_blocks: int


BLOCK_BOOK_BYTES = 4096  # what one block's bookkeeping holds at least (task, items, hash)


def _check_blocks(grid: BlockGrid, src_shape, name: str) -> None:
    """Price the block pass from the header's shape before any block is read: a tiny file can
    claim 100000^3 voxels (refused at once, not after hours and gigabytes)."""
    n = math.prod(grid.grid)
    limit = max_array_bytes()
    if n * BLOCK_BOOK_BYTES > limit:
        per_block = math.prod(grid.block_shape)
        most = limit // BLOCK_BOOK_BYTES * per_block
        dims = " x ".join(str(s) for s in src_shape)
        raise InputError(
            f"the volume in {name or 'array'} claims {dims} voxels: its {n} blocks would need "
            f"{format_bytes(n * BLOCK_BOOK_BYTES)} of bookkeeping, more than the "
            f"{format_bytes(limit)} allowed (half this machine's memory); at most about "
            f"{most:.3g} voxels fit: check the file's header, or extract a crop of it."
        )


def chunked_instances(
    source, *, voxel_size_nm, params: ExtractParams, runner, block_shape=None, name: str = ""
) -> ChunkedInstances:
    """Every instance of a volume read block by block (module docstring).

    Parameters
    ----------
    source : array-like (Z, Y, X)
        Anything numpy-sliceable: a lazy volume from :func:`shapelib.io.open_volume`, a zarr
        or h5py array, a memory map, a dask array or an ndarray. ``runner.shared`` must be
        this same object (the tasks read from it).
    voxel_size_nm : (z, y, x)
        Of the source volume.
    params : ExtractParams
    runner : TaskRunner
    block_shape : int or (z, y, x), optional
        Block size in voxels of the downsampled selection (default from the store's chunks).
    name : str
        The instances' source.

    Returns
    -------
    ChunkedInstances
    """
    params = ExtractParams.model_validate(params)
    src_shape = int3(source.shape)
    dtype = check_label_layout(src_shape, source.dtype, what=f"the volume in {name or 'array'}")
    check_params(src_shape, dtype, params)
    shape = _selection_shape(src_shape, params)
    if block_shape is None:
        block_shape = choose_block_shape(
            shape, chunks=getattr(source, "chunks", None), factor=params.downsample
        )
    block_shape = int3(np.broadcast_to(np.asarray(block_shape), (3,)))
    if min(block_shape) < 1:
        raise InputError(f"block_shape must be >= 1 voxel per axis; got {block_shape}.")
    layout = _Layout(src_shape, shape, params.downsample, BlockGrid(shape, block_shape))
    grid = layout.grid
    _check_blocks(grid, src_shape, name)
    log.info("labelling %d blocks of %s voxels", len(grid), block_shape)

    # Pass 1: label the blocks; pair every block with the neighbours already back.
    blocks, pairs, parts = {}, [], []
    waiting = {}  # neighbours a block still waits for before its faces can go
    multilabel = params.instances and dtype != np.bool_
    indices = grid.indices()

    def neighbours(idx):
        for d in FORWARD_DIRECTIONS:
            for sign in (1, -1):
                nb = tuple(i + sign * s for i, s in zip(idx, d, strict=True))
                if grid.contains(nb):
                    yield nb, d, sign

    for i, (labels, part) in runner.imap_unordered(
        _block_task, [(idx, layout, params) for idx in indices]
    ):
        idx = indices[i]
        parts.append(part)
        blocks[idx] = labels
        waiting[idx] = 0
        for nb, d, sign in neighbours(idx):
            if nb not in blocks:
                waiting[idx] += 1
                continue
            a, b = (labels, blocks[nb]) if sign == 1 else (blocks[nb], labels)
            p = block_pairs(a, b, d, connectivity=params.connectivity, multilabel=multilabel)
            pairs.append((a.index, b.index, p))
            waiting[nb] -= 1
            if waiting[nb] == 0:  # every neighbour of nb is paired: drop its faces
                blocks[nb] = replace(blocks[nb], faces=())
        if waiting[idx] == 0:
            blocks[idx] = replace(labels, faces=())
    fingerprint = fingerprint_of(src_shape, dtype, parts)

    # Pass 2: join into components; drop the dust.
    comps = join_blocks(blocks.values(), pairs)
    del blocks, pairs
    keep = np.flatnonzero(comps.counts >= params.min_voxels)
    n_dust = comps.n - len(keep)
    if comps.n == 0:
        log.warning("the volume %s holds %s: the library is empty", name, nothing_selected(params))
    if n_dust:
        log.info("dropped %d dust components (< %d voxels)", n_dust, params.min_voxels)

    # Pass 3: every component from its own box, biggest first.
    keep = keep[np.argsort(-comps.counts[keep], kind="stable")]
    tasks = [
        (tuple(comps.boxes[k, :3]), tuple(comps.boxes[k, 3:]), int(comps.first[k]), layout, params)
        for k in keep
    ]
    records = []
    for _, recs in runner.imap_unordered(_component_task, tasks):
        records.extend(recs)
    records.sort(key=lambda r: r.key)
    spacing = tuple(float(s) * params.downsample for s in voxel_size_nm)
    records = [
        replace(r, id=i, voxel_size_nm=spacing, source=name) for i, r in enumerate(records, 1)
    ]
    if comps.n and not records:
        log.warning("every component of %s is dust (< %d voxels)", name, params.min_voxels)
    return ChunkedInstances(records, src_shape, str(dtype), fingerprint, len(grid))
