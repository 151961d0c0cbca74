"""Train then evaluate: the benchmark grid on tiny data, and the short round (read once)."""

import collections

import pytest

import segtrain
from segtrain import BenchConfig, run_bench

from ._tiny import write_pairs

TINY_TRAIN = {
    "max_steps": 2,
    "val_every": 2,
    "patch_px": 32,
    "batch_size": 2,
    "amp": False,
    "val_patches": 2,
    "num_threads": 1,
}


def test_bench_grid(tmp_path):
    real = write_pairs(tmp_path / "real", n=2, size=32, rng=1)
    syn = write_pairs(tmp_path / "syn", n=2, size=32, rng=2)
    test = write_pairs(tmp_path / "test", n=2, size=48, rng=3)
    cfg = BenchConfig(
        models={"unet": {"depth": 2, "width": 4}},
        real=[{"path": str(real)}],
        synthetic=[{"path": str(syn)}],
        regimes=["synthetic_then_real"],
        finetune_steps=2,
        test_sets={"tiny": str(test)},
        seeds=[0],
        train=TINY_TRAIN,
        tile_px=32,
        overlap_px=8,
    )
    table = run_bench(cfg, tmp_path / "out")
    assert list(table["training"]) == ["synthetic_then_real"] * 2
    assert list(table["output"]) == ["plain", "plain+clean"]
    assert table["train_data"][0] == "syn+real"
    for f in ("table.md", "table.csv", "table.png", "bench.yaml", "table_seeds.csv"):
        assert (tmp_path / "out" / f).is_file()
    assert "+-" in (tmp_path / "out" / "table.md").read_text()
    run = tmp_path / "out" / "runs" / "unet__synthetic_then_real__seed0"
    assert (run / "config.yaml").is_file() and (run / "postprocess.json").is_file()
    pred = tmp_path / "out" / "pred" / run.name / "tiny"
    assert (pred / "plain" / "masks" / "im00.tif").is_file()
    assert (pred / "plain+clean" / "per_image.csv").is_file()


def test_bench_over_seeds_at_equal_steps(tmp_path):
    import pandas as pd

    real = write_pairs(tmp_path / "real", n=2, size=32, rng=1)
    cfg = BenchConfig(
        models={"unet": {"depth": 1, "width": 2}, "patch_cnn": {"width": 2, "fc": 4}},
        real=[{"path": str(real)}],
        test_sets={"self": str(real)},
        seeds=[0, 1],
        train=TINY_TRAIN | {"max_steps": 3, "val_every": 3},
        tta=["flips"],
        clean=False,
        save_predictions="none",
        tile_px=32,
        overlap_px=8,
    )
    table = run_bench(cfg, tmp_path / "out")
    assert list(table["model"]) == ["unet", "patch_cnn"] and set(table["output"]) == {"flips"}
    assert list(table["steps"]) == [3, 3] and list(table["seeds"]) == [2, 2]
    assert (table["params"] > 0).all() and (table["s_per_step"] > 0).all()
    per_seed = pd.read_csv(tmp_path / "out" / "table_seeds.csv")
    assert len(per_seed) == 4
    unet = per_seed[per_seed["model"] == "unet"]
    row = table.iloc[0]
    assert row["iou_mean"] == pytest.approx(unet["iou_mean"].mean())
    assert row["iou_seed_std"] == pytest.approx(unet["iou_mean"].std(ddof=1))
    assert row["iou_image_std"] == pytest.approx(unet["iou_std"].mean())
    assert not (
        tmp_path / "out" / "pred" / "unet__real__seed0" / "self" / "flips" / "masks"
    ).exists()


def test_merge_of_benches_one_seed_each_equals_one_bench_of_both(tmp_path):
    """Benches run in two sittings (seed 0, then seed 1) pool to the table of one bench of both:
    same seed, same run, so every score matches; only the timing may differ."""
    import pandas as pd

    from segtrain import merge_bench

    real = write_pairs(tmp_path / "real", n=2, size=32, rng=1)
    base = {
        "models": {"unet": {"depth": 1, "width": 2}, "patch_cnn": {"width": 2, "fc": 4}},
        "real": [{"path": str(real)}],
        "test_sets": {"self": str(real)},
        "train": TINY_TRAIN | {"max_steps": 3, "val_every": 3},
        "clean": False,
        "save_predictions": "none",
        "tile_px": 32,
        "overlap_px": 8,
    }
    both = run_bench(BenchConfig(**base, seeds=[0, 1]), tmp_path / "both")
    for s in (0, 1):
        run_bench(BenchConfig(**base, seeds=[s]), tmp_path / f"s{s}")
    merged = merge_bench([tmp_path / "s1", tmp_path / "s0"], tmp_path / "merged")
    assert list(merged["model"]) == ["unet", "patch_cnn"] and list(merged["seeds"]) == [2, 2]
    assert list(merged["seed_list"]) == ["0 1", "0 1"]
    scores = [c for c in both.columns if c.startswith(("iou", "dice", "betti", "f1", "precision"))]
    pd.testing.assert_frame_equal(merged[scores], both[scores])
    out = tmp_path / "merged"
    for f in ("table.md", "table.csv", "table.png", "table_seeds.csv", "merged_from.txt"):
        assert (out / f).is_file()
    rows = pd.read_csv(out / "table_seeds.csv")
    assert list(rows["model"]) == ["unet", "unet", "patch_cnn", "patch_cnn"]
    assert list(rows["seed"]) == [0, 1, 0, 1]
    assert (tmp_path / "s1").resolve().as_posix() in (out / "merged_from.txt").read_text()
    with pytest.raises(
        ValueError, match=r"folder: patch_cnn \(real: real\) on self, plain, seed 0;"
    ):
        merge_bench([tmp_path / "s0", tmp_path / "both"], tmp_path / "dup")
    assert not (tmp_path / "dup").exists()  # nothing half-written
    with pytest.raises(FileNotFoundError, match="not a finished bench folder"):
        merge_bench([tmp_path / "s0", tmp_path / "real"], tmp_path / "bad")
    # Known answer: these tiny runs score the same at both seeds, so give each row its own
    # IoU and check the pooled mean and std over seeds (a swap or a lost row would show).
    per_seed = pd.read_csv(tmp_path / "both" / "table_seeds.csv")
    per_seed["iou_mean"] = per_seed["iou_pooled"] = [0.5, 0.7, 0.2, 0.4]
    for s in (0, 1):
        (tmp_path / f"k{s}").mkdir()
        per_seed[per_seed["seed"] == s].to_csv(tmp_path / f"k{s}" / "table_seeds.csv", index=False)
    known = merge_bench([tmp_path / "k1", tmp_path / "k0"], tmp_path / "known")
    assert list(known["iou_mean"]) == pytest.approx([0.6, 0.3])
    assert list(known["iou_seed_std"]) == pytest.approx([0.02**0.5] * 2)
    assert list(known["iou_pooled_mean"]) == pytest.approx([0.6, 0.3])


def test_bench_budget_rules():
    base = {"models": {"unet": {}}, "test_sets": {"t": "t"}}
    with pytest.raises(ValueError, match="budget: minutes needs"):
        BenchConfig(**base, budget="minutes")
    with pytest.raises(ValueError, match="equal steps"):
        BenchConfig(**base, train={"time_budget_min": 5})
    with pytest.raises(ValueError, match="may not set"):
        BenchConfig(**base, train={"seed": 3})
    cfg = BenchConfig(**base, budget="minutes", minutes=2)
    from segtrain.bench._config import base_train

    assert base_train(cfg)["time_budget_min"] == 2 and base_train(cfg)["max_steps"] > 1e6
    assert BenchConfig(**base, tta=True).tta == ["none", "flips"]


def test_mixture_weights_give_the_synthetic_share(tmp_path):
    from segtrain.bench._config import regime_sources

    cfg = BenchConfig(
        models={"unet": {}},
        real=[{"path": "a"}, {"path": "b"}],
        synthetic=[{"path": "s"}],
        synthetic_share=0.25,
        regimes=["real_plus_synthetic"],
        test_sets={"t": "t"},
    )
    w = {d.path: d.weight for d in regime_sources(cfg, "real_plus_synthetic")}
    assert w == {"a": 0.375, "b": 0.375, "s": 0.25}


def test_bench_config_checks_names_and_connectivity():
    from pydantic import ValidationError

    base = {"models": {"unet": {}}, "test_sets": {"t": "t"}}
    with pytest.raises(ValidationError, match="patch_cnn"):
        BenchConfig(**{**base, "models": {"resnet": {}}})
    with pytest.raises(ValidationError, match="connectivity"):
        BenchConfig(**base, connectivity=6)


def test_train_and_evaluate_reads_the_test_folder_once(tmp_path, monkeypatch):
    import shapelib.io._image_read as images  # the one reader of scaled images

    reads = collections.Counter()
    real = images.read_tiff

    def counting(path):
        reads[str(path)] += 1
        return real(path)

    monkeypatch.setattr(images, "read_tiff", counting)
    train_dir = write_pairs(tmp_path / "train", n=2, size=32, rng=1)
    test_dir = write_pairs(tmp_path / "test", n=3, size=32, rng=2)
    res = segtrain.train_and_evaluate(
        train_dir,
        test_dir,
        tmp_path / "o",
        model_params={"depth": 1, "width": 2},
        max_steps=1,
        patch_px=32,
        n_figure=2,
        num_threads=1,
    )
    cfg = segtrain.read_train_config(tmp_path / "o" / "run")
    assert (cfg.batch_size, cfg.lr, cfg.model) == (segtrain.RECIPE.batch_size, segtrain.RECIPE.lr,
                                                   segtrain.RECIPE.model)  # fmt: skip
    assert res.summary["n_images"] == 3
    for f in ("metrics.csv", "summary.csv", "predictions.png", "pred/masks/im00.tif"):
        assert (tmp_path / "o" / f).is_file()
    test_reads = {p: n for p, n in reads.items() if p.startswith(str(test_dir))}
    assert len(test_reads) == 6 and set(test_reads.values()) == {1}  # 3 images + 3 masks, once


def test_an_interactive_bench_owns_its_plain_stages(tmp_path):
    real = write_pairs(tmp_path / "real", n=2, size=32, rng=1)
    cfg = BenchConfig(
        models={"unet": {"depth": 1, "width": 2}},
        real=[{"path": str(real)}],
        test_sets={"self": str(real)},
        seeds=[0],
        train=TINY_TRAIN | {"interactive": True},
        clean=False,
        save_predictions="none",
        tile_px=32,
        overlap_px=8,
    )
    run_bench(cfg, tmp_path / "out")
    runs = tmp_path / "out" / "runs"
    assert (runs / "unet__real__seed0_plain" / "last.pt").is_file()
    run_bench(cfg, tmp_path / "out", overwrite=True)  # the bench replaces both folders


def test_a_test_set_that_is_training_data_is_said(tmp_path, caplog):
    """A bench testing on its training set passed without a word (issue 31)."""
    import logging

    from segtrain.workflows._bench import _warn_test_on_training

    real, other = tmp_path / "real", tmp_path / "other"
    cfg = BenchConfig(
        models={"unet": {}},
        real=[{"path": str(real)}],
        test_sets={"self": str(real), "new": str(other)},
    )
    with caplog.at_level(logging.WARNING, logger="segtrain"):
        _warn_test_on_training(cfg)
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and "'self'" in said[0] and "memorising" in said[0], said
