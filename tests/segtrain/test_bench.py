"""Train then evaluate: the benchmark grid on tiny data, and the short round (read once)."""

import collections

import segtrain
from segtrain import BenchConfig, run_bench

from ._tiny import write_pairs


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
        train={
            "max_steps": 2,
            "val_every": 2,
            "patch_px": 32,
            "batch_size": 2,
            "amp": False,
            "val_patches": 2,
        },
        tile_px=32,
        overlap_px=8,
    )
    table = run_bench(cfg, tmp_path / "out")
    assert list(table["training"]) == ["synthetic_then_real"]
    assert table["train_data"][0] == "syn+real"
    for f in ("table.md", "table.csv", "table.png", "bench.yaml"):
        assert (tmp_path / "out" / f).is_file()
    assert "+-" in (tmp_path / "out" / "table.md").read_text()
    assert (tmp_path / "out" / "runs" / "unet__synthetic_then_real" / "config.yaml").is_file()


def test_mixture_weights_give_the_synthetic_share(tmp_path):
    from segtrain._bench import _sources

    cfg = BenchConfig(
        models={"unet": {}},
        real=[{"path": "a"}, {"path": "b"}],
        synthetic=[{"path": "s"}],
        synthetic_share=0.25,
        regimes=["real_plus_synthetic"],
        test_sets={"t": "t"},
    )
    w = {d.path: d.weight for d in _sources(cfg, "real_plus_synthetic")}
    assert w == {"a": 0.375, "b": 0.375, "s": 0.25}


def test_bench_config_checks_names_and_connectivity():
    import pytest
    from pydantic import ValidationError

    base = {"models": {"unet": {}}, "test_sets": {"t": "t"}}
    with pytest.raises(ValidationError, match="patch_cnn"):
        BenchConfig(**{**base, "models": {"resnet": {}}})
    with pytest.raises(ValidationError, match="connectivity"):
        BenchConfig(**base, connectivity=6)


def test_train_and_evaluate_reads_the_test_folder_once(tmp_path, monkeypatch):
    import segtrain.io._images as images

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
    )
    assert res.summary["n_images"] == 3
    for f in ("metrics.csv", "summary.csv", "predictions.png", "pred/masks/im00.tif"):
        assert (tmp_path / "o" / f).is_file()
    test_reads = {p: n for p, n in reads.items() if p.startswith(str(test_dir))}
    assert len(test_reads) == 6 and set(test_reads.values()) == {1}  # 3 images + 3 masks, once
