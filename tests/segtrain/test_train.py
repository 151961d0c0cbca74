"""The training loop: overfitting, held-out validation, reproducibility, resume, budgets,
checkpoints and their errors."""

import json
import logging

import numpy as np
import pytest
import tifffile
import torch

from segtrain import (
    RECIPE,
    AugmentConfig,
    DataSource,
    Run,
    TrainConfig,
    load_run,
    native_bf16,
    read_postprocess,
    read_split,
    resolve_amp,
    train,
)
from shapelib.io import read_config

from ._tiny import disks, write_pairs

NO_AUG = AugmentConfig.none()


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


def _log(run):
    lines = (run / "log.csv").read_text().splitlines()
    return [dict(zip(lines[0].split(","), row.split(","), strict=True)) for row in lines[1:]]


def test_defaults_are_the_recipe(tmp_path):
    cfg = TrainConfig(train=[DataSource(path=str(tmp_path))])
    assert (cfg.model, cfg.patch_px, cfg.batch_size) == (RECIPE.model, 256, 4)
    assert cfg.model_params == {"depth": 4, "width": 16}
    mixed = resolve_amp("auto", torch.device("cpu"))  # what amp auto means on this machine
    want = RECIPE.max_steps_mixed if mixed else RECIPE.max_steps
    assert cfg.max_steps == want and cfg.time_budget_min is None
    assert cfg.amp == RECIPE.amp == "auto"  # bf16 where the hardware has it, else float32
    assert cfg.holdout == "auto" and cfg.input_channels == 1
    # Given params go over the recipe's; in_channels comes from the config.
    cfg = TrainConfig(train=[DataSource(path=".")], model_params={"width": 8}, context_slices=2)
    assert cfg.model_params == {"depth": 4, "width": 8} and cfg.input_channels == 5
    with pytest.raises(ValueError, match="in_channels"):
        TrainConfig(train=[DataSource(path=".")], model_params={"in_channels": 2})


def test_recipe_steps_follow_the_precision(tmp_path):
    src = [DataSource(path=str(tmp_path))]
    f32 = TrainConfig(train=src, amp=False)
    assert (f32.max_steps, f32.val_every) == (RECIPE.max_steps, RECIPE.val_every) == (1200, 200)
    mixed = TrainConfig(train=src, amp=True)
    assert (mixed.max_steps, mixed.val_every) == (RECIPE.max_steps_mixed, 500) == (3000, 500)
    # Given numbers stand in either precision; a given val_every stands with the recipe's steps.
    assert TrainConfig(train=src, amp=True, max_steps=40).max_steps == 40
    assert TrainConfig(train=src, amp=True, val_every=7).val_every == 7
    # The run's config records the number (a reloaded config does not move with the machine).
    again = TrainConfig(**mixed.model_dump())
    assert again.max_steps == 3000 and again.amp is True


def test_amp_auto_follows_the_hardware():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    plain = "fpu vme sse sse2 avx2 avx512f avx512bw"
    assert not native_bf16(plain) and native_bf16(plain + " avx512_bf16")
    assert native_bf16("fpu amx_bf16 amx_tile") and not native_bf16("avx512_bf16x")
    assert resolve_amp("auto", cpu, flags=plain) is False
    assert resolve_amp("auto", cpu, flags=plain + " amx_bf16") is True
    assert resolve_amp("auto", cuda, flags=plain) is True
    assert resolve_amp("auto", torch.device("mps"), flags="avx512_bf16") is False
    # --amp / --no-amp force it whatever the hardware
    assert resolve_amp(True, cpu, flags=plain) is True
    assert resolve_amp(False, cpu, flags="avx512_bf16") is False
    with pytest.raises(ValueError, match="resolve"):
        _ = TrainConfig(train=[DataSource(path=".")]).mixed_precision


def test_the_run_records_the_resolved_precision(tmp_path):
    data = write_pairs(tmp_path / "d", n=2, size=32)
    run = train(_cfg(data, tmp_path / "r", amp="auto", max_steps=1, val_every=1))
    assert read_config(run / "config.yaml")["amp"] is native_bf16()  # this CPU's answer
    assert Run.open(run).config.amp is native_bf16()


def test_tiny_model_overfits_four_patches(tmp_path):
    data = write_pairs(tmp_path / "d", n=4, size=32)
    cfg = _cfg(data, tmp_path / "run", max_steps=120, val_every=40, lr=1e-2, augment=NO_AUG,
               schedule="constant", fg_fraction=0.0, holdout="none")  # fmt: skip
    run = train(cfg)
    assert float(_log(run)[-1]["val_iou"]) > 0.9
    for f in ("config.yaml", "config.json", "best.pt", "last.pt", "curves.png", "split.json"):
        assert (run / f).is_file()
    assert read_split(run)["mode"] == "none"
    assert not (run / "postprocess.json").exists()  # nothing held out to choose it on


def test_held_out_validation_by_default(tmp_path):
    data = write_pairs(tmp_path / "d", n=3, size=48)
    run = train(_cfg(data, tmp_path / "r", max_steps=4, val_every=2))
    split = read_split(run)
    assert split["mode"] == "band" and "bottom 20%" in split["description"]
    assert [v["shape"] for v in split["validation"]] == [[10, 48]] * 3
    assert read_config(run / "config.yaml")["holdout"] == "band"
    rows = _log(run)
    assert {"train_iou", "val_iou", "val_dice", "val_loss"} <= set(rows[0])
    chosen = read_postprocess(run)
    assert chosen["min_size_px"] >= 0 and 8 <= len(chosen["candidates"]) <= 16


def test_images_holdout_is_recorded_in_the_config(tmp_path):
    data = write_pairs(tmp_path / "d", n=10, size=32)
    run = train(_cfg(data, tmp_path / "r", max_steps=2, val_every=2))
    saved = read_config(run / "config.yaml")
    assert saved["holdout"] == "images" and len(saved["val_names"]) == 2
    assert [v["name"] for v in read_split(run)["validation"]] == saved["val_names"]
    # Re-running the written config reproduces the split.
    again = train(saved | {"run_dir": str(tmp_path / "r2")})
    assert read_split(again)["validation"] == read_split(run)["validation"]


def test_same_seed_same_weights_in_fp32(tmp_path):
    data = write_pairs(tmp_path / "d", n=2, size=48)
    kw = dict(max_steps=4, val_every=2, augment=AugmentConfig(warp_p=1.0, blur_p=1.0))
    a, _ = load_run(train(_cfg(data, tmp_path / "a", **kw)), which="last")
    b, _ = load_run(train(_cfg(data, tmp_path / "b", **kw)), which="last")
    c, _ = load_run(train(_cfg(data, tmp_path / "c", seed=1, **kw)), which="last")
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_resume_continues_from_the_same_step(tmp_path):
    data = write_pairs(tmp_path / "d", n=2, size=32)
    kw = dict(val_every=3, schedule="constant", lr=1e-3)
    straight = train(_cfg(data, tmp_path / "a", max_steps=8, **kw))
    train(_cfg(data, tmp_path / "b", max_steps=5, **kw))
    resumed = train(_cfg(data, tmp_path / "b", max_steps=8, **kw), resume=True)
    assert [r["step"] for r in _log(resumed)] == ["3", "5", "6", "8"]
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
    with pytest.raises(ValueError, match="best or 'last'|'best' or 'last'"):
        load_run(run, which="bogus")
    # A checkpoint put beside another model's config: a clear error, not a torch traceback.
    cfg = json.loads((run / "config.json").read_text())
    cfg["model_params"] = {"depth": 3, "width": 8}
    (run / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="does not fit"):
        load_run(run)
    cfg["version"] = 1
    (run / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="format version 1"):
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
        train(_cfg(data, tmp_path / "ft2", max_steps=1, model="patch_cnn", model_params={},
                   init_from=str(pre)))  # fmt: skip
    with pytest.raises(ValueError, match="same model_params"):
        train(_cfg(data, tmp_path / "ft3", max_steps=1, model_params={"depth": 1, "width": 8},
                   init_from=str(pre)))  # fmt: skip


def _flat_validation(monkeypatch, train_iou=0.5, val_iou=0.5):
    import segtrain.training._loop as tr

    flat = {"train_iou": train_iou, "val_loss": 1.0, "val_dice": 0.5, "val_iou": val_iou}
    monkeypatch.setattr(tr, "validate", lambda *a, **k: dict(flat))


def test_early_stopping_after_patience(tmp_path, monkeypatch):
    _flat_validation(monkeypatch)
    data = write_pairs(tmp_path / "d", n=2, size=32)
    calls = []
    run = train(_cfg(data, tmp_path / "r", max_steps=50, val_every=1, patience=2),
                progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    assert [r["step"] for r in _log(run)] == ["1", "2", "3"]
    assert calls[-1] == (3, 3)  # the bar ends full when training stops early


def test_divergence_warns_once(tmp_path, monkeypatch, caplog):
    _flat_validation(monkeypatch, train_iou=0.9, val_iou=0.5)
    data = write_pairs(tmp_path / "d", n=2, size=32)
    with caplog.at_level(logging.WARNING, logger="segtrain"):
        train(_cfg(data, tmp_path / "r", max_steps=3, val_every=1))
    warnings = [r for r in caplog.records if "held-out IoU" in r.getMessage()]
    assert len(warnings) == 1 and "0.900" in warnings[0].getMessage()


def test_no_holdout_warns(tmp_path, caplog):
    data = write_pairs(tmp_path / "d", n=2, size=32)
    with caplog.at_level(logging.WARNING, logger="segtrain"):
        train(_cfg(data, tmp_path / "r", max_steps=1, val_every=1, holdout="none"))
    assert any("cannot show overfitting" in r.getMessage() for r in caplog.records)


def test_progress_counts_steps(tmp_path):
    data = write_pairs(tmp_path / "d", n=2, size=32)
    calls = []
    train(
        _cfg(data, tmp_path / "r", max_steps=3, val_every=3),
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]


def test_progress_follows_the_time_budget_when_it_ends_first(tmp_path):
    data = write_pairs(tmp_path / "d", n=2, size=32)
    calls = []
    run = train(
        _cfg(data, tmp_path / "r", max_steps=100_000, val_every=100_000, time_budget_min=0.004),
        progress=lambda done, total: calls.append((done, total)),
    )
    steps = int(_log(run)[-1]["step"])
    assert 1 <= steps < 100_000
    assert calls[-1] == (steps, steps)
    assert calls[0] == (0, 100_000) and all(t < 100_000 for _, t in calls[2:])


def test_2p5d_training_and_prediction_on_a_stack(tmp_path):
    from segtrain import InferenceConfig, Run, predict_folder

    img = np.stack([disks(32, 2, z)[0] for z in range(12)])
    lab = np.stack([disks(32, 2, z)[1] > 0 for z in range(12)]).astype(np.uint8)
    tifffile.imwrite(tmp_path / "v.tif", img)
    tifffile.imwrite(tmp_path / "l.tif", lab)
    src = DataSource(path=str(tmp_path / "v.tif"), label_path=str(tmp_path / "l.tif"))
    run = train(_cfg(None, tmp_path / "r", train=[src], context_slices=1, max_steps=2,
                     val_every=2))  # fmt: skip
    net, cfg = load_run(run)
    assert net.params.in_channels == 3 and cfg.input_channels == 3
    split = read_split(run)
    assert split["mode"] == "images" and [v["name"] for v in split["validation"]] == [
        "v_z0010",
        "v_z0011",
    ]
    opened = Run.open(run, InferenceConfig(tile_px=32, overlap_px=8))
    out = predict_folder(opened, tmp_path / "v.tif", tmp_path / "p")
    assert tifffile.imread(out / "masks" / "v.tif").shape == (12, 32, 32)
    (tmp_path / "two").mkdir()
    tifffile.imwrite(tmp_path / "two" / "a.tif", img[0])
    with pytest.raises(ValueError, match="2.5D"):
        predict_folder(opened, tmp_path / "two", tmp_path / "p2")
    # A folder whose names number no sections: its neighbours are unknown.
    plain = write_pairs(tmp_path / "plain", n=2, size=32)
    for sub in ("images", "masks"):
        (plain / sub / "im00.tif").rename(plain / sub / "a.tif")
    with pytest.raises(ValueError, match="needs EM stacks"):
        train(_cfg(plain, tmp_path / "r2", context_slices=1, max_steps=1))


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
