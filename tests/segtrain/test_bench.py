"""The benchmark grid on tiny data: two regimes, one model, one test set."""

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
