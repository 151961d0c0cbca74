"""Held-out validation: whole images or a band of every image, never training pixels."""

import numpy as np
import pytest

from segtrain import split_holdout
from segtrain.io import LabeledImage


def _items(n, h=40, w=30, *, stack=False, channels=1):
    out = []
    for k in range(n):
        # Every pixel holds a unique value, so overlaps can be checked by value.
        base = (k * h * w + np.arange(h * w, dtype=np.float32)).reshape(h, w)
        image = np.stack([base] * channels) if channels > 1 else base
        out.append(
            LabeledImage(
                name=f"s_z{k:04d}" if stack else f"im{k:02d}",
                image=image,
                mask=(base % 3 == 0).astype(np.uint8),
                instances=(base % 5).astype(np.int32),
                source="s",
                index=k if stack else None,
            )
        )
    return out


def _values(items):
    return {float(v) for it in items for v in np.ravel(it.image)}


def test_band_holds_out_the_bottom_rows_and_never_a_training_pixel():
    items = _items(5)
    h = split_holdout(items, mode="band", fraction=0.2, gap_px=4)
    assert h.mode == "band" and h.held_out
    assert [v.mask.shape for v in h.val] == [(8, 30)] * 5
    assert [t.mask.shape for t in h.train] == [(28, 30)] * 5  # 40 - 8 - 4 rows
    assert not _values(h.train) & _values(h.val)
    np.testing.assert_array_equal(h.val[0].image, items[0].image[-8:])
    assert h.val[0].instances.shape == (8, 30)
    assert "bottom 20%" in h.description and "4 rows" in h.description
    assert h.as_dict()["validation"][0] == {
        "name": "im00:band",
        "shape": [8, 30],
        "pixel_size_nm": None,
    }


def test_band_gap_is_at_most_an_eighth_of_the_rows_and_channels_follow():
    h = split_holdout(_items(2, h=32, channels=3), mode="band", fraction=0.25, gap_px=32)
    assert h.train[0].image.shape == (3, 20, 30)  # 32 - 8 - 32 // 8
    assert h.val[0].image.shape == (3, 8, 30)


def test_auto_picks_band_for_few_images_and_images_for_many():
    assert split_holdout(_items(5)).mode == "band"
    h = split_holdout(_items(10), fraction=0.2, seed=3)
    assert h.mode == "images" and len(h.val) == 2 and len(h.train) == 8
    assert not {it.name for it in h.train} & set(h.names)
    # The same seed picks the same images; the names given pick exactly those.
    assert split_holdout(_items(10), fraction=0.2, seed=3).names == h.names
    named = split_holdout(_items(10), mode="images", names=["im04"])
    assert named.names == ("im04",) and len(named.train) == 9


def test_stack_holds_out_the_last_slices_with_a_gap():
    items = _items(20, stack=True)
    h = split_holdout(items, mode="images", fraction=0.2, context=1)
    assert [it.index for it in h.val] == [16, 17, 18, 19]
    # 2.5D windows of 1 neighbour: training slices stay 3 slices away from held-out ones.
    assert max(it.index for it in h.train) == 13
    assert "2 slices" in h.description


def test_holdout_errors_say_what_to_do():
    with pytest.raises(ValueError, match="band"):
        split_holdout(_items(1), mode="images")
    with pytest.raises(ValueError, match="not training images"):
        split_holdout(_items(3), mode="images", names=["nope"])
    with pytest.raises(ValueError, match="too few"):
        split_holdout(_items(2, h=1), mode="band", fraction=0.5)


def test_none_validates_on_the_training_images():
    items = _items(2)
    h = split_holdout(items, mode="none")
    assert not h.held_out and h.val == h.train == items
