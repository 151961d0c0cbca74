"""Images of any size by overlapping tiles: the tiling (`pad_for_tiles`), the blending weights
(`blend_window`) and the blend of per-tile predictions (`blend_tiles`, or band by band:
`blend_tile_rows`), the one owner of the tiling that prediction, sampling and explanations
share.

`blend_tile_rows` keeps only one row of tiles of the K maps at a time: a row of image pixels is
final once no later tile covers it (tiles go row by row), so sampling a 2048 x 2048 image holds
K x tile x width floats, not K x 2048 x 2048 (`segtrain.samples_of_input` reduces each band to
its mean and spread as it comes)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from shapelib import InputError

__all__ = ["blend_tile_rows", "blend_tiles", "blend_tiles_many", "blend_window", "pad_for_tiles"]


def blend_window(tile_px: int, overlap_px: int, *, floor: float = 1e-6) -> np.ndarray:
    """A (tile, tile) blending weight that ignores tile edges and ramps smoothly between tiles.

    Along each axis: (almost) zero over the outer quarter of the overlap, a raised-cosine ramp
    over the next half, then 1. Neighbouring tiles overlap by `overlap_px`, so every pixel is
    covered by some tile's trusted part, and pixels within ``overlap_px // 4`` of a tile's edge,
    where the network sees padding, do not count (beyond `floor`). The blend therefore equals the
    untiled prediction wherever the network's reach is shorter than ``overlap_px // 4``, and the
    smooth ramp leaves no seams.
    """
    ramp = np.ones(tile_px, dtype=np.float64)
    if overlap_px > 0:
        q = overlap_px // 4
        n = max(overlap_px - 2 * q, 1)
        t = (np.arange(n) + 0.5) / n
        r = np.concatenate(
            [np.zeros(q), 0.5 * (1 - np.cos(np.pi * t)), np.ones(overlap_px - q - n)]
        )
        r = np.maximum(r, floor)
        ramp[:overlap_px] = r
        ramp[-overlap_px:] = np.minimum(ramp[-overlap_px:], r[::-1])
    return np.outer(ramp, ramp).astype(np.float32)


def _starts(n: int, tile: int, stride: int) -> list[int]:
    if n <= tile:
        return [0]
    k = int(np.ceil((n - tile) / stride))
    return [i * stride for i in range(k + 1)]


def _check_tiles(tile_px: int, overlap_px: int) -> None:
    if overlap_px < 0 or overlap_px * 2 > tile_px:
        raise InputError(
            f"overlap_px must be in [0, tile_px/2]; got {overlap_px} with tile_px {tile_px}."
        )


def pad_for_tiles(
    x: np.ndarray, tile_px: int, overlap_px: int
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The tiling of `predict_image` (its one owner: explanations tile the same way).

    The last two axes (Y, X) of `x` are reflect-padded by a margin of `overlap_px` on the
    top/left, so the first tile's ramp falls on padding, and by enough at the bottom/right to
    complete a grid of stride ``tile_px - overlap_px``; the image starts at
    ``(overlap_px, overlap_px)`` of the padded array.

    Returns
    -------
    padded : ndarray, `x` padded on its last two axes
    coords : list of (y0, x0), the tiles' top-left corners in the padded array
    """
    _check_tiles(tile_px, overlap_px)
    h, w = x.shape[-2:]
    stride = tile_px - overlap_px
    m = overlap_px
    ny = len(_starts(h + 2 * m, tile_px, stride))
    nx = len(_starts(w + 2 * m, tile_px, stride))
    full_h = max(tile_px, (ny - 1) * stride + tile_px)
    full_w = max(tile_px, (nx - 1) * stride + tile_px)
    coords = [
        (y0, x0)
        for y0 in _starts(full_h, tile_px, stride)
        for x0 in _starts(full_w, tile_px, stride)
    ]
    pads = [(0, 0)] * (x.ndim - 2) + [(m, full_h - h - m), (m, full_w - w - m)]
    return np.pad(x, pads, mode="reflect" if min(h, w) > 1 else "edge"), coords


def blend_tiles(
    x: np.ndarray,
    tile_px: int,
    overlap_px: int,
    predict: Callable[[np.ndarray], np.ndarray],
    *,
    batch_size: int = 4,
) -> np.ndarray:
    """Predict an input (C, Y, X) of any size by overlapping tiles and blend the tiles.

    `predict` maps a batch of tiles (B, C, tile, tile) float32 to K probability maps per tile,
    (K, B, tile, tile); each is weighted by `blend_window`, summed on the padded grid of
    `pad_for_tiles` and normalised by the weights, and the padding is cropped.

    Returns
    -------
    (K, Y, X) ndarray of float32 in [0, 1]
    """
    bands = [b for _, b in blend_tile_rows(x, tile_px, overlap_px, predict, batch_size=batch_size)]
    return np.concatenate(bands, axis=1)


def blend_tile_rows(
    x: np.ndarray,
    tile_px: int,
    overlap_px: int,
    predict: Callable[[np.ndarray], np.ndarray],
    *,
    batch_size: int = 4,
) -> Iterator[tuple[int, np.ndarray]]:
    """`blend_tiles` band by band: yields (row0, (K, rows, X) float32 in [0, 1]) for bands of
    image rows in order, together covering the image; each band is final when it comes and
    equal to those rows of `blend_tiles` (the same sums in the same order)."""
    x = np.asarray(x, np.float32)
    h, w = x.shape[-2:]
    m = overlap_px
    win = blend_window(tile_px, overlap_px)
    xp, coords = pad_for_tiles(x, tile_px, overlap_px)
    full_h, full_w = xp.shape[-2:]
    base = 0  # padded row of the band's first row
    acc = None  # (K, tile, full_w): the rows [base, base + tile) of the sums
    wsum = np.zeros((tile_px, full_w), np.float32)

    def finish(upto: int) -> Iterator[tuple[int, np.ndarray]]:
        # Padded rows [base, upto) are final: crop them to the image's and normalise.
        a, b = max(base, m), min(upto, m + h)
        if acc is not None and a < b:
            part = acc[:, a - base : b - base, m : m + w]
            part = part / np.maximum(wsum[a - base : b - base, m : m + w], 1e-12)
            yield a - m, np.clip(part, 0, 1, out=part)

    for k in range(0, len(coords), batch_size):
        chunk = coords[k : k + batch_size]
        prob = predict(np.stack([xp[:, y0 : y0 + tile_px, x0 : x0 + tile_px] for y0, x0 in chunk]))
        for b, (y0, x0) in enumerate(chunk):
            if y0 > base:  # a new row of tiles: rows above it are final; shift the band
                yield from finish(y0)
                keep = base + tile_px - y0
                acc[:, :keep], acc[:, keep:] = acc[:, tile_px - keep :], 0.0
                wsum[:keep], wsum[keep:] = wsum[tile_px - keep :], 0.0
                base = y0
            if acc is None:
                acc = np.zeros((prob.shape[0], tile_px, full_w), np.float32)
            acc[:, :, x0 : x0 + tile_px] += prob[:, b] * win
            wsum[:, x0 : x0 + tile_px] += win
    yield from finish(full_h)


def blend_tiles_many(
    xs: Sequence[np.ndarray],
    tile_px: int,
    overlap_px: int,
    predict: Callable[[np.ndarray], np.ndarray],
    *,
    batch_size: int = 4,
) -> list[np.ndarray]:
    """`blend_tiles` of several inputs (each (C, Y, X), one C, any sizes) whose tiles share
    the batches: `batch_size` tiles per call of `predict`, from one image or several (the
    slices of a stack, whose images are each smaller than a batch); one (K, Y, X) per input."""
    m = overlap_px
    win = blend_window(tile_px, overlap_px)
    padded, jobs = [], []
    for i, x in enumerate(xs):
        xp, coords = pad_for_tiles(np.asarray(x, np.float32), tile_px, overlap_px)
        padded.append(xp)
        jobs += [(i, y0, x0) for y0, x0 in coords]
    accs: list = [None] * len(xs)
    wsums = [np.zeros(xp.shape[-2:], np.float32) for xp in padded]
    for k in range(0, len(jobs), batch_size):
        chunk = jobs[k : k + batch_size]
        batch = np.stack(
            [padded[i][:, y0 : y0 + tile_px, x0 : x0 + tile_px] for i, y0, x0 in chunk]
        )
        prob = predict(batch)
        for b, (i, y0, x0) in enumerate(chunk):
            if accs[i] is None:
                accs[i] = np.zeros((prob.shape[0], *padded[i].shape[-2:]), np.float32)
            accs[i][:, y0 : y0 + tile_px, x0 : x0 + tile_px] += prob[:, b] * win
            wsums[i][y0 : y0 + tile_px, x0 : x0 + tile_px] += win
    out = []
    for x, acc, wsum in zip(xs, accs, wsums, strict=True):
        h, w = x.shape[-2:]
        blend = acc[:, m : m + h, m : m + w] / np.maximum(wsum[m : m + h, m : m + w], 1e-12)
        out.append(np.clip(blend, 0, 1).astype(np.float32))
    return out
