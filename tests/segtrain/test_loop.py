"""The training loop as stages, in memory: batch hooks see every batch in order, the checkpoint
stage gets the state after every validation, and the loop writes nothing itself."""

import numpy as np
import torch

from segtrain import DataSource, TrainConfig
from segtrain.io import LabeledImage
from segtrain.training._batches import training_data
from segtrain.training._holdout import split_holdout
from segtrain.training._loop import LoopState, TrainLoop
from segtrain.workflows._resume import start_training

from ._tiny import disks


def _items(n=3, size=48):
    out = []
    for i in range(n):
        img, lab = disks(size, 3, rng=i)
        mask = (lab > 0).astype(np.uint8)
        out.append(LabeledImage(f"im{i}", img.astype(np.float32), mask, None, "s", None))
    return out


def test_the_loop_runs_its_stages_in_memory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = TrainConfig(train=[DataSource(path="s")], run_dir="never", max_steps=5, val_every=2,
                      model_params={"depth": 1, "width": 2}, patch_px=32, batch_size=2,
                      val_patches=2, amp=False, holdout="band")  # fmt: skip
    split = split_holdout(_items(), mode="band", fraction=0.2, seed=0, context=0, gap_px=4)
    data = training_data(cfg, split, split.as_dict())
    torch.manual_seed(0)
    start = start_training(cfg, torch.device("cpu"), resume=False)
    seen, saved = [], []

    def hook(model, batch, step):
        seen.append((step, tuple(batch.image.shape)))
        return batch

    def checkpoint(state, improved):
        saved.append((state.step, improved, len(state.rows)))

    loop = TrainLoop(start.model, start.opt, cfg, data, hooks=[hook], checkpoint=checkpoint)
    state = loop.run(start.state, torch.device("cpu"))
    assert isinstance(state, LoopState) and state.step == 5
    assert [s for s, _ in seen] == [0, 1, 2, 3, 4] and seen[0][1] == (2, 1, 32, 32)
    # Validation at steps 2, 4 and the last; the first always improves on -1.
    assert [(s, n) for s, _, n in saved] == [(2, 1), (4, 2), (5, 3)] and saved[0][1] is True
    assert [r["step"] for r in state.rows] == [2, 4, 5] and state.elapsed_s > 0
    assert list(tmp_path.iterdir()) == []  # the stages wrote no file


def test_the_same_batches_with_and_without_hooks_that_change_nothing():
    cfg = TrainConfig(train=[DataSource(path="s")], max_steps=2, val_every=2,
                      model_params={"depth": 1, "width": 2}, patch_px=32, batch_size=2,
                      val_patches=2, amp=False)  # fmt: skip
    split = split_holdout(_items(2), mode="none", fraction=0.2, seed=0, context=0, gap_px=4)
    data = training_data(cfg, split, split.as_dict())
    plain = data.batch(1, torch.device("cpu"))
    hooked = data.batch(1, torch.device("cpu"), hooks=[lambda m, b, s: b])
    torch.testing.assert_close(plain.image, hooked.image)
    torch.testing.assert_close(plain.mask, data.patches.batch(2, 2).mask)
