"""The training loop: overfitting, resume, checkpoints and their errors."""

import json

import pytest
import torch

from segtrain import AugmentConfig, DataSource, TrainConfig, load_run, train

from ._tiny import write_pairs

NO_AUG = AugmentConfig(flips=False, rot90=False, intensity=0, gamma=0, noise_std=0)


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


def test_tiny_model_overfits_four_patches(tmp_path):
    data = write_pairs(tmp_path / "d", n=4, size=32)
    cfg = _cfg(
        data,
        tmp_path / "run",
        max_steps=120,
        val_every=40,
        lr=1e-2,
        augment=NO_AUG,
        schedule="constant",
        fg_fraction=0.0,
    )
    run = train(cfg)
    log = (run / "log.csv").read_text().splitlines()
    last = dict(zip(log[0].split(","), log[-1].split(","), strict=True))
    assert float(last["val_iou"]) > 0.9
    for f in ("config.yaml", "config.json", "best.pt", "last.pt", "curves.png"):
        assert (run / f).is_file()


def test_resume_continues_from_the_same_step(tmp_path):
    data = write_pairs(tmp_path / "d", n=2, size=32)
    kw = dict(val_every=3, schedule="constant", lr=1e-3)
    straight = train(_cfg(data, tmp_path / "a", max_steps=8, **kw))
    train(_cfg(data, tmp_path / "b", max_steps=5, **kw))
    resumed = train(_cfg(data, tmp_path / "b", max_steps=8, **kw), resume=True)
    steps = [line.split(",")[0] for line in (resumed / "log.csv").read_text().splitlines()[1:]]
    assert steps == ["3", "5", "6", "8"]
    a, _ = load_run(straight, which="last")
    b, _ = load_run(resumed, which="last")
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.allclose(va.float(), vb.float(), atol=1e-5), k


def test_run_folder_errors(tmp_path):
    data = write_pairs(tmp_path / "d", n=2, size=32)
    run = train(_cfg(data, tmp_path / "r", max_steps=2, val_every=2))
    with pytest.raises(FileExistsError, match="--resume"):
        train(_cfg(data, tmp_path / "r", max_steps=2))
    with pytest.raises(ValueError, match="differs in"):
        train(
            _cfg(data, tmp_path / "r", max_steps=4, model="patch_cnn", model_params={}), resume=True
        )
    with pytest.raises(ValueError, match="holds a 'unet' model"):
        load_run(run, expect_model="patch_cnn")
    # A checkpoint put beside another model's config: a clear error, not a torch traceback.
    cfg = json.loads((run / "config.json").read_text())
    cfg["model_params"] = {"depth": 3, "width": 8}
    (run / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="does not fit"):
        load_run(run)
    cfg["version"] = 0
    (run / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="format version 0"):
        load_run(run)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable"):
        load_run(tmp_path / "junk.pt")


def test_fine_tune_from_another_run(tmp_path):
    data = write_pairs(tmp_path / "d", n=2, size=32)
    pre = train(_cfg(data, tmp_path / "pre", max_steps=2, val_every=2))
    ft = train(_cfg(data, tmp_path / "ft", max_steps=1, val_every=1, init_from=str(pre)))
    assert (ft / "last.pt").is_file()
    with pytest.raises(ValueError, match="holds a 'unet' model"):
        train(
            _cfg(
                data,
                tmp_path / "ft2",
                max_steps=1,
                model="patch_cnn",
                model_params={},
                init_from=str(pre),
            )
        )


def test_early_stopping_after_patience(tmp_path, monkeypatch):
    import segtrain._train as tr

    flat = {"val_loss": 1.0, "val_dice": 0.5, "val_iou": 0.5}
    monkeypatch.setattr(tr, "_validate", lambda *a, **k: dict(flat))
    data = write_pairs(tmp_path / "d", n=2, size=32)
    run = train(_cfg(data, tmp_path / "r", max_steps=50, val_every=1, patience=2))
    steps = [line.split(",")[0] for line in (run / "log.csv").read_text().splitlines()[1:]]
    assert steps == ["1", "2", "3"]


def test_progress_callback_counts_steps(tmp_path):
    data = write_pairs(tmp_path / "d", n=2, size=32)
    calls = []
    train(
        _cfg(data, tmp_path / "r", max_steps=3, val_every=3),
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]


def test_configs_are_frozen_and_model_names_checked(tmp_path):
    from pydantic import ValidationError

    cfg = _cfg(tmp_path, tmp_path / "r")
    with pytest.raises(ValidationError, match="frozen"):
        cfg.max_steps = 5
    with pytest.raises(ValidationError, match="frozen"):
        cfg.augment.flips = False
    assert cfg.model_copy(update={"max_steps": 5}).max_steps == 5
    with pytest.raises(ValidationError, match="'unet', 'attention_res_unet'"):
        _cfg(tmp_path, tmp_path / "r", model="resnet")
