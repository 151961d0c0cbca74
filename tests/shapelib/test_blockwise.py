"""Blockwise connected components equal cc3d's, whatever the blocks cut."""

from __future__ import annotations

import itertools

import cc3d
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shapelib import InputError
from shapelib._block_labels import label_block
from shapelib._blockwise import (
    FORWARD_DIRECTIONS,
    BlockGrid,
    block_pairs,
    join_blocks,
    label_blockwise,
)


@st.composite
def volumes_and_blocks(draw):
    """A random mask or label volume and block sides that cut it along every axis."""
    shape = tuple(draw(st.integers(2, 11)) for _ in range(3))
    seed = draw(st.integers(0, 2**32 - 1))
    density = draw(st.floats(0.1, 0.7))
    rng = np.random.default_rng(seed)
    vol = rng.random(shape) < density
    if draw(st.booleans()):  # ids: neighbours join only with the same id
        vol = (vol * rng.integers(1, 4, shape)).astype(np.uint16)
    blocks = tuple(draw(st.integers(1, max(1, s - 1))) for s in shape)
    return vol, blocks


@settings(max_examples=100, deadline=None)
@given(case=volumes_and_blocks(), connectivity=st.sampled_from([6, 18, 26]))
def test_blockwise_labels_equal_cc3d(case, connectivity):
    vol, blocks = case
    ref, n_ref = cc3d.connected_components(vol, connectivity=connectivity, return_N=True)
    got, n = label_blockwise(vol, block_shape=blocks, connectivity=connectivity)
    assert n == n_ref
    np.testing.assert_array_equal(got, ref)


def _two_voxels(a, b, shape=(4, 4, 4)):
    vol = np.zeros(shape, bool)
    vol[a] = vol[b] = True
    return vol


@pytest.mark.parametrize(
    ("a", "b", "joined_at"),
    [
        ((1, 1, 1), (2, 1, 1), {6, 18, 26}),  # across a face
        ((1, 1, 1), (2, 2, 1), {18, 26}),  # across an edge: four blocks meet
        ((1, 1, 1), (2, 1, 2), {18, 26}),
        ((1, 1, 1), (2, 2, 2), {26}),  # across a corner: eight blocks meet
        ((1, 2, 1), (2, 1, 2), {26}),  # a corner with mixed directions
        ((2, 1, 2), (1, 2, 1), {26}),
        ((1, 2, 2), (2, 1, 1), {26}),
    ],
)
@pytest.mark.parametrize("connectivity", [6, 18, 26])
def test_single_voxel_contacts_across_block_faces_edges_and_corners(a, b, joined_at, connectivity):
    vol = _two_voxels(a, b)
    labels, n = label_blockwise(vol, block_shape=2, connectivity=connectivity)  # cut at 2
    assert n == (1 if connectivity in joined_at else 2)
    assert (labels[a] == labels[b]) == (connectivity in joined_at)


def test_statistics_from_the_blocks_equal_cc3d_statistics():
    rng = np.random.default_rng(4)
    vol = rng.random((13, 17, 11)) < 0.4
    grid = BlockGrid(vol.shape, (5, 4, 6))
    blocks = {}
    for idx in grid.indices():
        lo, hi = grid.box(idx)
        sel = vol[tuple(slice(x, y) for x, y in zip(lo, hi, strict=True))]
        blocks[idx] = label_block(sel, index=idx, origin=lo, volume_shape=vol.shape)
    pairs = []
    for idx in grid.indices():
        for d in FORWARD_DIRECTIONS:
            nb = tuple(i + s for i, s in zip(idx, d, strict=True))
            if grid.contains(nb):
                pairs.append((idx, nb, block_pairs(blocks[idx], blocks[nb], d)))
    comps = join_blocks(blocks.values(), pairs)
    cc, n = cc3d.connected_components(vol, connectivity=26, return_N=True)
    stats = cc3d.statistics(cc, no_slice_conversion=True)
    assert comps.n == n
    # match components through their first voxel (cc3d numbers in raster order of it)
    order = np.argsort(comps.first)
    np.testing.assert_array_equal(comps.counts[order], stats["voxel_counts"][1:])
    bb = stats["bounding_boxes"][1:].astype(np.int64)
    np.testing.assert_array_equal(comps.boxes[order, :3], bb[:, 0::2])
    np.testing.assert_array_equal(comps.boxes[order, 3:], bb[:, 1::2] + 1)
    first = [np.flatnonzero(cc.ravel() == k)[0] for k in range(1, n + 1)]
    np.testing.assert_array_equal(comps.first[order], first)


def test_empty_volume_and_one_block():
    labels, n = label_blockwise(np.zeros((3, 4, 5), bool), block_shape=2)
    assert n == 0 and not labels.any()
    vol = np.zeros((3, 4, 5), bool)
    vol[1, 1:3, 1:4] = True
    labels, n = label_blockwise(vol, block_shape=(8, 8, 8))
    assert n == 1 and (labels == 1).sum() == 6


def test_a_tube_through_many_blocks_is_one_component():
    vol = np.zeros((9, 9, 40), bool)
    t = np.arange(40)
    vol[(4 + 3 * np.sin(t / 5)).astype(int), (4 + 3 * np.cos(t / 7)).astype(int), t] = True
    ref, n_ref = cc3d.connected_components(vol, connectivity=26, return_N=True)
    labels, n = label_blockwise(vol, block_shape=(2, 3, 1))
    assert n == n_ref
    np.testing.assert_array_equal(labels, ref)


def test_bad_arguments_are_refused():
    with pytest.raises(InputError, match="3D"):
        label_blockwise(np.zeros((3, 3), bool), block_shape=2)
    with pytest.raises(InputError, match="connectivity"):
        label_blockwise(np.zeros((3, 3, 3), bool), block_shape=2, connectivity=8)
    with pytest.raises(InputError, match="block_shape"):
        label_blockwise(np.zeros((3, 3, 3), bool), block_shape=0)
    bl = label_block(np.ones((2, 2, 2), bool), index=(0, 0, 0), origin=(0, 0, 0),
                     volume_shape=(2, 2, 2))  # fmt: skip
    with pytest.raises(InputError, match="direction"):
        block_pairs(bl, bl, (-1, 0, 0))


def test_forward_directions_are_half_of_the_26_neighbours():
    assert len(FORWARD_DIRECTIONS) == 13
    every = set(FORWARD_DIRECTIONS) | {tuple(-v for v in d) for d in FORWARD_DIRECTIONS}
    assert every == set(itertools.product((-1, 0, 1), repeat=3)) - {(0, 0, 0)}
