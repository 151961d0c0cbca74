"""Generalising along a volume: self-training on unlabelled sections (confident pseudo-labels
under augmentation), hard negatives, 2.5D input from numbered sections in folders, and the
patches prepared ahead on a thread."""

import logging

import numpy as np
import pytest
import tifffile
import torch

from segtrain import AugmentConfig, DataSource, TrainConfig, load_run, read_split, train
from segtrain.io import load_checkpoint
from segtrain.training._data import PatchDataset
from segtrain.training._losses import HardNegatives, hard_negative_bce, loss_fn
from segtrain.training._prefetch import Prefetcher
from segtrain.training._sections import section_windows
from segtrain.training._unlabelled import UnlabelledPatches, pseudo_label_loss

from ._tiny import disks, write_pairs


def _cfg(data, run, **kw):
    base = dict(
        train=[DataSource(path=str(data))],
        run_dir=str(run),
        model="unet",
        model_params={"depth": 2, "width": 8},
        patch_px=32,
        batch_size=4,
        val_patches=4,
        amp=False,
        num_threads=1,
    )
    base.update(kw)
    return TrainConfig(**base)


def _unlabelled(folder, n=3, size=48):
    folder.mkdir(parents=True)
    for i in range(n):
        tifffile.imwrite(folder / f"s{80 + i:03d}.tif", disks(size, 3, 10 + i)[0])
    return folder


# --- hard negatives ------------------------------------------------------------------------


def test_hard_negative_bce_equals_a_hand_computation():
    logits = torch.tensor([2.0, -1.0, 0.5, -3.0, 1.0, 0.0]).reshape(1, 1, 2, 3)
    target = torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0, 1.0]).reshape(1, 1, 2, 3)
    x, t = logits.flatten().double(), target.flatten().double()
    bce = torch.clamp(x, min=0) - x * t + torch.log1p(torch.exp(-x.abs()))
    # Background pixels 1..4 have BCE of logits -1, 0.5, -3, 1: the two hardest (share 0.5 of
    # 4) are those of logits 1.0 (pixel 4) and 0.5 (pixel 2), weighted 1 + 3.
    w = torch.tensor([1, 1, 4, 1, 4, 1], dtype=torch.float64)
    want = float((w * bce).sum() / w.sum())
    got = hard_negative_bce(logits, target, HardNegatives(share=0.5, weight=3.0))
    assert float(got) == pytest.approx(want, rel=1e-6)
    # One pixel of 4 background pixels at share 0.25: only the hardest (pixel 4).
    w1 = torch.tensor([1, 1, 1, 1, 4, 1], dtype=torch.float64)
    got1 = hard_negative_bce(logits, target, HardNegatives(share=0.25, weight=3.0))
    assert float(got1) == pytest.approx(float((w1 * bce).sum() / w1.sum()), rel=1e-6)
    # Share 0 (off), or weight 0: the plain mean.
    plain = float(bce.mean())
    assert float(loss_fn(logits, target, "bce", HardNegatives(share=0.0))) == pytest.approx(plain)
    off = hard_negative_bce(logits, target, HardNegatives(share=1.0, weight=0.0))
    assert float(off) == pytest.approx(plain, rel=1e-6)


def test_hard_negatives_reach_the_training_loss(tmp_path):
    data = write_pairs(tmp_path / "d", n=2, size=48)
    cfg = _cfg(data, tmp_path / "r", hard_negatives=0.1, hard_negative_weight=5.0)
    assert cfg.hard == HardNegatives(share=0.1, weight=5.0)
    assert _cfg(data, tmp_path / "r").hard.share == 0.0  # off by default
    kw = dict(max_steps=2, val_every=2, augment=AugmentConfig.none())
    a, _ = load_run(train(_cfg(data, tmp_path / "a", **kw)), which="last")
    b, _ = load_run(train(_cfg(data, tmp_path / "b", hard_negatives=0.2, **kw)), which="last")
    sa, sb = a.state_dict(), b.state_dict()
    assert not all(torch.equal(sa[k], sb[k]) for k in sa)


# --- self-training -------------------------------------------------------------------------


def test_unconfident_pixels_carry_no_loss():
    prob = torch.tensor([0.95, 0.5, 0.05, 0.89, 0.11, 0.99]).reshape(1, 1, 2, 3)
    logits = torch.randn(1, 1, 2, 3, generator=torch.Generator().manual_seed(0))
    logits.requires_grad_(True)
    loss, n = pseudo_label_loss(logits, prob, hi=0.9, lo=0.1)
    loss.backward()
    confident = torch.tensor([1, 0, 1, 0, 0, 1], dtype=torch.bool).reshape(1, 1, 2, 3)
    assert n == 3
    assert torch.all(logits.grad[~confident] == 0)
    assert torch.all(logits.grad[confident] != 0)
    # By hand: BCE against 1, 0, 1 at the confident pixels, summed, over the 6 pixels.
    x = logits.detach()[confident].double()
    t = torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)
    bce = torch.clamp(x, min=0) - x * t + torch.log1p(torch.exp(-x.abs()))
    assert float(loss.detach()) == pytest.approx(float(bce.sum() / 6), rel=1e-6)


def test_unlabelled_patches_are_seeded():
    images = [np.random.default_rng(0).random((40, 50), dtype=np.float32)]
    aug = AugmentConfig(warp_p=1.0, blur_p=1.0)
    a = UnlabelledPatches(images, patch_px=16, augment=aug, seed=3).batch(5, 4)
    b = UnlabelledPatches(images, patch_px=16, augment=aug, seed=3).batch(5, 4)
    c = UnlabelledPatches(images, patch_px=16, augment=aug, seed=4).batch(5, 4)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0], c[0])
    assert a[0].shape == (4, 1, 16, 16) and not torch.equal(a[0], a[1])  # weak != strong


def test_self_training_runs_logs_pixels_and_repeats(tmp_path, caplog):
    data = write_pairs(tmp_path / "d", n=2, size=48)
    u = _unlabelled(tmp_path / "u")
    kw = dict(
        max_steps=4,
        val_every=2,
        unlabelled=[str(u)],
        unlabelled_start=0.25,
        pseudo_hi=0.51,
        pseudo_lo=0.49,
        augment=AugmentConfig(warp_p=1.0),
    )
    with caplog.at_level(logging.INFO, logger="segtrain"):
        run = train(_cfg(data, tmp_path / "a", **kw))
    rows = (run / "log.csv").read_text().splitlines()
    assert rows[0].split(",")[-1] == "pseudo_px_per_step"
    per_step = [float(r.split(",")[-1]) for r in rows[1:]]
    assert per_step[0] > 0 and all(0 < v <= 4 * 32 * 32 for v in per_step)
    assert "pseudo-labelled pixels per step" in caplog.text
    assert [u["name"] for u in read_split(run)["unlabelled"]] == ["s080", "s081", "s082"]
    assert "unlabelled" in (run / "config.yaml").read_text()
    # Same seed, same weights (with the patches cut on the training thread too); the unlabelled
    # images change them.
    again = train(_cfg(data, tmp_path / "b", prefetch_batches=0, **kw))
    plain = train(_cfg(data, tmp_path / "c", **{**kw, "unlabelled": []}))
    sa, sb, sc = (load_run(r, which="last")[0].state_dict() for r in (run, again, plain))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_self_training_resumes_with_its_teacher(tmp_path):
    data = write_pairs(tmp_path / "d", n=2, size=32)
    u = _unlabelled(tmp_path / "u", size=32)
    kw = dict(val_every=2, schedule="constant", lr=2e-2, unlabelled=[str(u)], teacher_ema=0.5,
              unlabelled_start=0.0, pseudo_hi=0.51, pseudo_lo=0.49)  # fmt: skip
    straight = train(_cfg(data, tmp_path / "a", max_steps=5, **kw))
    train(_cfg(data, tmp_path / "b", max_steps=3, **kw))
    resumed = train(_cfg(data, tmp_path / "b", max_steps=5, **kw), resume=True)
    a, _ = load_run(straight, which="last")
    b, _ = load_run(resumed, which="last")
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.allclose(va.float(), vb.float(), atol=1e-5), k
    # The teacher went on from the checkpoint's, not from the network at the resumed step.
    ta = load_checkpoint(straight / "last.pt")["terms"][0]["teacher"]
    tb = load_checkpoint(resumed / "last.pt")["terms"][0]["teacher"]
    assert all(torch.allclose(ta[k].float(), tb[k].float(), atol=1e-5) for k in ta)


def test_unlabelled_path_errors(tmp_path):
    data = write_pairs(tmp_path / "d", n=2, size=32)
    # A validation image among the unlabelled ones would leak into the held-out score.
    pairs = write_pairs(tmp_path / "many", n=10, size=32)
    with pytest.raises(ValueError, match="leak"):
        train(_cfg(pairs, tmp_path / "r", unlabelled=[str(pairs / "images")], max_steps=1))
    with pytest.raises(ValueError, match="leak"):  # the band of every image (2 images)
        train(_cfg(data, tmp_path / "r", unlabelled=[str(data / "images")], max_steps=1))
    with pytest.raises(FileNotFoundError, match="unlabelled images"):
        train(_cfg(data, tmp_path / "r", unlabelled=[str(tmp_path / "nope")], max_steps=1))
    with pytest.raises(ValueError, match="twice"):
        _cfg(data, tmp_path / "r", unlabelled=["a", "a"])


# --- 2.5D from numbered sections in a folder -------------------------------------------------


def test_section_windows_repeat_the_ends_of_each_run():
    assert section_windows(["a_10", "a_11", "a_12", "a_20"], 1) == [
        [0, 0, 1],
        [0, 1, 2],
        [1, 2, 2],
        [3, 3, 3],
    ]
    assert section_windows(["012", "010", "011"], 2) == [
        [1, 2, 0, 0, 0],
        [1, 1, 1, 2, 0],
        [1, 1, 2, 0, 0],
    ]
    assert section_windows(["cell_a", "cell_b"], 1) is None


def _numbered_folder(root, n=12, size=32):
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir(parents=True)
    planes = []
    for z in range(n):
        img, lab = disks(size, 2, z)
        planes.append(img)
        tifffile.imwrite(root / "images" / f"{10 + z:03d}.tif", img)
        tifffile.imwrite(root / "masks" / f"{10 + z:03d}.tif", (lab > 0).astype(np.uint8))
    return np.stack(planes)


def test_2p5d_from_a_folder_of_numbered_sections(tmp_path):
    from segtrain.workflows._train_data import read_source_2p5d

    planes = _numbered_folder(tmp_path / "d")
    items = read_source_2p5d(DataSource(path=str(tmp_path / "d")), 1)
    assert [it.image.shape for it in items[:1]] == [(3, 32, 32)]
    np.testing.assert_array_equal(items[0].image, planes[[0, 0, 1]])
    np.testing.assert_array_equal(items[5].image, planes[[4, 5, 6]])
    np.testing.assert_array_equal(items[-1].image, planes[[10, 11, 11]])
    run = train(_cfg(tmp_path / "d", tmp_path / "r", context_slices=1, max_steps=2, val_every=2))
    net, cfg = load_run(run)
    assert net.params.in_channels == 3
    split = read_split(run)  # the block at the end, with a gap of 2 sections
    assert [v["name"] for v in split["validation"]] == ["020", "021"]
    assert "019" not in [t["name"] for t in split["training"]]
    # Unlabelled sections get their neighbours too.
    u = _unlabelled(tmp_path / "u", size=32)
    kw = dict(context_slices=1, max_steps=2, val_every=2, unlabelled=[str(u)])
    train(_cfg(tmp_path / "d", tmp_path / "r2", **kw))


def test_2p5d_refuses_names_that_number_nothing(tmp_path):
    write_pairs(tmp_path / "d", n=2, size=32)
    (tmp_path / "d" / "images" / "im00.tif").rename(tmp_path / "d" / "images" / "a.tif")
    (tmp_path / "d" / "masks" / "im00.tif").rename(tmp_path / "d" / "masks" / "a.tif")
    with pytest.raises(ValueError, match="number consecutive sections"):
        train(_cfg(tmp_path / "d", tmp_path / "r", context_slices=1, max_steps=1))


# --- patches prepared ahead ------------------------------------------------------------------


def test_prefetched_patches_are_the_same_bytes(tmp_path):
    rng = np.random.default_rng(0)
    images = [rng.random((40, 40), dtype=np.float32)]
    masks = [(rng.random((40, 40)) > 0.7).astype(np.uint8)]
    ds = PatchDataset(images, masks, patch_px=16, augment=AugmentConfig(warp_p=1.0), seed=2)
    with Prefetcher(lambda i: ds.batch(4 * i, 4), ahead=3, stop=10) as pre:
        got = [pre.get(i) for i in [0, 1, 2, 5, 6, 9]]
    for i, b in zip([0, 1, 2, 5, 6, 9], got, strict=True):
        want = ds.batch(4 * i, 4)
        assert torch.equal(b.image, want.image) and torch.equal(b.mask, want.mask)
    data = write_pairs(tmp_path / "d", n=2, size=48)
    kw = dict(max_steps=4, val_every=2, augment=AugmentConfig(warp_p=1.0, blur_p=1.0))
    a = train(_cfg(data, tmp_path / "a", prefetch_batches=0, **kw))
    b = train(_cfg(data, tmp_path / "b", prefetch_batches=3, **kw))
    sa, sb = (load_run(r, which="last")[0].state_dict() for r in (a, b))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_em_cdeep3m_sections_and_unlabelled_slices_read_in_2p5d(shared_data):
    from segtrain.workflows._train_data import read_source_2p5d, read_unlabelled_2p5d

    root = shared_data / "em_cdeep3m"
    if not (root / "unlabelled").is_dir():
        pytest.skip(f"{root / 'unlabelled'} is absent")
    items = read_source_2p5d(DataSource(path=str(root / "train")), 1)
    names = [it.name for it in items]
    assert names == [f"{n:03d}" for n in range(10, 30)]
    first, mid = items[0], items[5]
    assert first.image.shape[0] == 3 and first.image.shape[1:] == first.mask.shape
    np.testing.assert_array_equal(first.image[0], first.image[1])  # 009 absent: 010 again
    np.testing.assert_array_equal(mid.image[0], items[4].image[1])  # 014 beside 015
    np.testing.assert_array_equal(mid.image[2], items[6].image[1])
    unlabelled = read_unlabelled_2p5d([str(root / "unlabelled")], 1)
    assert [u.name for u in unlabelled] == ["081", "082", "083", "084", "085"]
    assert all(u.image.shape[0] == 3 for u in unlabelled)
    np.testing.assert_array_equal(unlabelled[1].image[0], unlabelled[0].image[1])


def test_self_training_and_hard_negatives_with_an_interactive_prob_unet(tmp_path):
    data = write_pairs(tmp_path / "d", n=2, size=32)
    u = _unlabelled(tmp_path / "u", size=32)
    cfg = _cfg(data, tmp_path / "r", model="prob_unet", model_params={"depth": 2, "width": 4},
               interactive=True, plain_share=0.0, max_steps=2, val_every=2,
               unlabelled=[str(u)], unlabelled_start=0.0, pseudo_hi=0.51, pseudo_lo=0.49,
               hard_negatives=0.2)  # fmt: skip
    run = train(cfg)
    per_step = float((run / "log.csv").read_text().splitlines()[1].split(",")[-1])
    assert per_step > 0
