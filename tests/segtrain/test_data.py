"""Reading image/mask folders and stacks; the patch dataset."""

import numpy as np
import pytest
import tifffile

from segtrain import AugmentConfig, DataSource, PatchDataset, augment_patch, normalize_percentile
from segtrain.io import read_pairs_folder, read_source, read_stack

from ._tiny import disks, write_pairs


@pytest.mark.parametrize("style", ["01", "255", "ids"])
def test_read_pairs_any_mask_style(tmp_path, style):
    write_pairs(tmp_path, n=2, size=32, mask_style=style)
    items = read_pairs_folder(tmp_path)
    assert [it.name for it in items] == ["im00", "im01"]
    assert set(np.unique(items[0].mask)) <= {0, 1}
    assert (items[0].instances is not None) == (style == "ids")


def test_mismatched_names_and_sizes_and_empty(tmp_path):
    write_pairs(tmp_path, n=2, size=32)
    (tmp_path / "masks" / "im01.tif").rename(tmp_path / "masks" / "other.tif")
    with pytest.raises(ValueError, match="im01"):
        read_pairs_folder(tmp_path)
    tifffile.imwrite(tmp_path / "masks" / "im01.tif", np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match="shape"):
        read_pairs_folder(tmp_path)
    (tmp_path / "e" / "images").mkdir(parents=True)
    (tmp_path / "e" / "masks").mkdir()
    with pytest.raises(ValueError, match="no .png"):
        read_pairs_folder(tmp_path / "e")


def test_fractional_mask_is_refused(tmp_path):
    write_pairs(tmp_path, n=1, size=16)
    tifffile.imwrite(tmp_path / "masks" / "im00.tif", np.full((16, 16), 0.5, np.float32))
    with pytest.raises(ValueError, match="fractional"):
        read_pairs_folder(tmp_path)


def test_stack_split_by_slices(tmp_path):
    img = np.stack([disks(32, 2, z)[0] for z in range(5)])
    lab = np.stack([disks(32, 2, z)[1] > 0 for z in range(5)]).astype(np.uint8)
    tifffile.imwrite(tmp_path / "v.tif", img)
    tifffile.imwrite(tmp_path / "l.tif", lab)
    items = read_stack(tmp_path / "v.tif", tmp_path / "l.tif", slices="1:5:2")
    assert [it.name for it in items] == ["v_z0001", "v_z0003"]
    src = DataSource(path=str(tmp_path / "v.tif"), label_path=str(tmp_path / "l.tif"))
    assert len(read_source(src)) == 5
    tifffile.imwrite(tmp_path / "bad.tif", lab[:3], photometric="minisblack")
    with pytest.raises(ValueError, match="same shape"):
        read_stack(tmp_path / "v.tif", tmp_path / "bad.tif")


def test_patch_dataset_deterministic_and_foreground_aware():
    imgs, masks = [], []
    for k in range(2):
        im, lab = disks(80, 2, k)
        imgs.append(normalize_percentile(im))
        masks.append((lab > 0).astype(np.uint8))
    ds = PatchDataset(imgs, masks, patch_px=24, length=50, fg_fraction=1.0, augment=AugmentConfig())
    a, b = ds[7], ds[7]
    assert torch_equal(a[0], b[0]) and a[0].shape == (1, 24, 24)
    fg_hit = np.mean([float(ds[i][1].sum() > 0) for i in range(40)])
    ds0 = PatchDataset(imgs, masks, patch_px=24, length=50, fg_fraction=0.0, seed=3)
    fg0 = np.mean([float(ds0[i][1].sum() > 0) for i in range(40)])
    assert fg_hit == 1.0 and fg_hit > fg0


def test_mixture_weights_follow_sources():
    imgs = [np.zeros((16, 16), np.float32), np.ones((16, 16), np.float32)]
    masks = [np.zeros((16, 16), np.uint8)] * 2
    ds = PatchDataset(
        imgs, masks, patch_px=16, sources=["real", "syn"], source_weights={"real": 1, "syn": 3}
    )
    share = np.mean([float(ds.sample(i)[0].mean()) for i in range(400)])
    assert 0.68 < share < 0.82


def test_augment_keeps_mask_aligned():
    rng = np.random.default_rng(1)
    im = rng.random((16, 16)).astype(np.float32)
    m = (im > 0.5).astype(np.uint8)
    geometry_only = AugmentConfig.none().model_copy(update={"flips": True, "rot90": True})
    for seed in range(5):
        a, b = augment_patch(im, m, seed, config=geometry_only)
        assert np.array_equal(a > 0.5, b.astype(bool))


def test_multichannel_patches_and_batches():
    rng = np.random.default_rng(4)
    imgs = [rng.random((3, 40, 40)).astype(np.float32) for _ in range(2)]
    masks = [(im[1] > 0.5).astype(np.uint8) for im in imgs]
    ds = PatchDataset(imgs, masks, patch_px=16, augment=AugmentConfig(warp_p=1.0))
    batch = ds.batch(0, 3)
    assert batch.image.shape == (3, 3, 16, 16) and batch.mask.shape == (3, 1, 16, 16)
    assert batch.to("cpu", channels_last=True).image.is_contiguous(
        memory_format=__import__("torch").channels_last
    )
    with pytest.raises(ValueError, match="same number of channels"):
        PatchDataset([imgs[0], imgs[1][0]], masks, patch_px=16)


def test_stack_context_channels(tmp_path):
    img = np.stack([np.full((8, 8), z, np.uint16) for z in range(4)])
    tifffile.imwrite(tmp_path / "v.tif", img, photometric="minisblack")
    tifffile.imwrite(tmp_path / "l.tif", (img > 1).astype(np.uint8), photometric="minisblack")
    items = read_stack(tmp_path / "v.tif", tmp_path / "l.tif", context=1)
    assert items[0].image.shape == (3, 8, 8) and items[0].index == 0
    assert [float(c[0, 0]) for c in items[0].image] == [0, 0, 1]  # the first slice repeated
    assert [float(c[0, 0]) for c in items[3].image] == [2, 3, 3]
    with pytest.raises(ValueError, match="needs EM stacks"):
        write_pairs(tmp_path / "f", n=1, size=16)
        read_source(DataSource(path=str(tmp_path / "f")), context=1)


def torch_equal(a, b):
    return bool((a == b).all())


def test_simulator_dataset_layout(tmp_path):
    write_pairs(tmp_path, n=2, size=32, mask_style="01")
    (tmp_path / "instances").mkdir()
    for p in (tmp_path / "masks").iterdir():
        tifffile.imwrite(tmp_path / "instances" / p.name, tifffile.imread(p).astype(np.uint16) * 7)
    (tmp_path / "dataset.json").write_text("{}")
    items = read_source(DataSource(path=str(tmp_path)))
    assert items[0].instances is not None and items[0].instances.max() == 7
    with pytest.raises(FileNotFoundError, match="dataset.json"):
        read_source(DataSource(path=str(tmp_path / "masks"), kind="simulator"))
