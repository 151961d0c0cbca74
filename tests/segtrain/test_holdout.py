"""Held-out validation: whole images or a band of every image, never training pixels."""

import dataclasses

import numpy as np
import pytest

from segtrain import split_holdout
from segtrain.io import LabeledImage
from segtrain.training._holdout import gap_sections, numbered_sections


def _items(n, h=40, w=30, *, stack=False, channels=1, names=None):
    out = []
    for k in range(n):
        # Every pixel holds a unique value, so overlaps can be checked by value.
        base = (k * h * w + np.arange(h * w, dtype=np.float32)).reshape(h, w)
        image = np.stack([base] * channels) if channels > 1 else base
        out.append(
            LabeledImage(
                name=names[k] if names else f"s_z{k:04d}" if stack else f"im{k:02d}",
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


# Names that number nothing (distinct words around no common integer frame).
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
         "juliet", "kilo", "lima"]  # fmt: skip


def test_auto_picks_band_for_few_images_and_images_for_many():
    assert split_holdout(_items(5)).mode == "band"
    h = split_holdout(_items(10, names=WORDS), fraction=0.2, seed=3)
    assert h.mode == "images" and len(h.val) == 2 and len(h.train) == 8
    assert not {it.name for it in h.train} & set(h.names)
    assert "chosen by seed" in h.description
    # The same seed picks the same images, another seed others; the names given pick those.
    assert split_holdout(_items(10, names=WORDS), fraction=0.2, seed=3).names == h.names
    others = {split_holdout(_items(10, names=WORDS), seed=s).names for s in range(6)}
    assert len(others) > 1
    named = split_holdout(_items(10, names=WORDS), mode="images", names=["echo"])
    assert named.names == ("echo",) and len(named.train) == 9


def test_numbered_names_are_sections_of_one_volume():
    assert numbered_sections(["training_010", "training_011", "training_029"]) == [10, 11, 29]
    assert numbered_sections(["010", "011"]) == [10, 11]
    assert numbered_sections(["a1", "b2"]) is None  # two prefixes
    assert numbered_sections(["x_01", "x_1"]) is None  # one number twice
    assert numbered_sections(["cell", "cell2"]) is None and numbered_sections(["x_01"]) is None


def test_numbered_files_hold_out_a_block_at_the_end_with_a_gap():
    # As in the em_cdeep3m folder: 20 consecutive sections training_010 ... training_029,
    # in a shuffled reading order.
    names = [f"training_{k:03d}" for k in range(10, 30)]
    order = np.random.default_rng(0).permutation(20)
    items = [_items(20, names=names)[i] for i in order]
    for seed in (0, 1, 2):
        h = split_holdout(items, fraction=0.2, seed=seed)
        assert h.mode == "images"
        assert sorted(h.names) == [f"training_{k:03d}" for k in range(26, 30)]  # the last 4
        train = sorted(it.name for it in h.train)
        assert train == [f"training_{k:03d}" for k in range(10, 25)]  # 025 dropped: the gap
        assert "contiguous block" in h.description and "near-copies" in h.description
    # 2.5D context 2: at least context + 1 sections (here 2 x 2) between the two sides.
    h = split_holdout(items, mode="images", fraction=0.2, context=2)
    assert max(int(it.name[-3:]) for it in h.train) == 21 and gap_sections(2) == 4
    # Names given: held out as given, their neighbours dropped.
    h = split_holdout(items, mode="images", names=["training_015"])
    assert {"training_014", "training_016"}.isdisjoint(it.name for it in h.train)
    assert len(h.train) == 17


def test_sources_with_the_same_names_are_held_out_apart():
    # Two datasets both named img_000000 ...: each holds out its own last block; a name held
    # out in one does not take the image of that name from the other (it held out 550 of
    # 1,450 images of four synthetic sets instead of 290).
    a = _items(10, names=[f"img_{k:06d}" for k in range(10)])
    b = [
        dataclasses.replace(it, source="t")
        for it in _items(5, names=[f"img_{k:06d}" for k in range(5)])
    ]
    h = split_holdout(a + b, mode="images", fraction=0.2)
    assert sorted((it.source, it.name) for it in h.val) == [
        ("s", "img_000008"), ("s", "img_000009"), ("t", "img_000004")
    ]  # fmt: skip
    assert len(h.train) == 15 - 3 - 2  # and one gap image in each


def test_em_cdeep3m_folder_is_held_out_as_a_block(shared_data):
    from segtrain.io import read_pairs_folder

    root = shared_data / "em_cdeep3m" / "train"
    if not root.is_dir():
        pytest.skip(f"{root} is absent (the real SBEM sections)")
    items = read_pairs_folder(root)
    h = split_holdout(items, fraction=0.2, seed=0)
    assert sorted(h.names) == ["026", "027", "028", "029"]
    assert sorted(it.name for it in h.train) == [f"{k:03d}" for k in range(10, 25)]


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
