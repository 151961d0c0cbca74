"""The volume fingerprint: the same from any blocks, different for other voxels."""

from __future__ import annotations

import numpy as np

from shapelib._fingerprint import content_fingerprint, fingerprint_of, hash_part


def test_the_fingerprint_does_not_depend_on_the_blocks():
    rng = np.random.default_rng(0)
    vol = (rng.random((10, 11, 12)) < 0.2) * rng.integers(1, 9, (10, 11, 12))
    vol = vol.astype(np.uint16)
    whole = content_fingerprint(vol)
    parts = [hash_part(vol[z : z + 3, :, x : x + 5], (z, 0, x), vol.shape)
             for z in range(0, 10, 3) for x in range(0, 12, 5)]  # fmt: skip
    assert fingerprint_of(vol.shape, vol.dtype, parts) == whole
    moved = vol.copy()
    nz = np.argwhere(vol)[0]
    moved[tuple(nz)] += 1  # one voxel's id
    assert content_fingerprint(moved) != whole
    swapped = np.roll(vol, 1, axis=2)  # the same voxels elsewhere
    assert content_fingerprint(swapped) != whole


def test_a_mask_and_its_0_1_labels_hash_alike_but_the_dtype_counts():
    vol = np.zeros((4, 5, 6), bool)
    vol[1:3, 2:4, 1:5] = True
    parts = [hash_part(vol, (0, 0, 0), vol.shape)]
    same = [hash_part(vol.astype(np.uint8), (0, 0, 0), vol.shape)]
    assert np.array_equal(parts[0], same[0])
    assert fingerprint_of(vol.shape, vol.dtype, parts) == content_fingerprint(vol)
    assert content_fingerprint(vol) != content_fingerprint(vol.astype(np.uint8))
    assert content_fingerprint(np.zeros((4, 5, 6), bool)) != content_fingerprint(vol)
