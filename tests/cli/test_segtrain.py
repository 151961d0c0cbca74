"""Every segtrain command on tiny data, and its one-line errors."""

import numpy as np
import tifffile
import yaml

from shapelib.io import write_tiff
from tests.segtrain._tiny import write_pairs


def test_train_predict_evaluate_quantify(tmp_path, invoke):
    data = write_pairs(tmp_path / "d", n=3, size=32)
    cfg = {
        "train": [{"path": str(data)}],
        "model_params": {"depth": 2, "width": 4},
        "patch_px": 32,
        "batch_size": 2,
        "val_patches": 2,
        "amp": False,
        "num_threads": 1,
    }
    (tmp_path / "train.yaml").write_text(yaml.safe_dump(cfg))
    run = tmp_path / "run"
    r = invoke("train", "--config", tmp_path / "train.yaml", "--run-dir", run, "--max-steps", 3,
               "--model-params", "width=2", "--threads", 1)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert (run / "best.pt").is_file()
    assert "validation: held out the bottom 20%" in r.stdout
    assert yaml.safe_load((run / "config.yaml").read_text())["model_params"] == {
        "depth": 2,
        "width": 2,
    }
    r = invoke("train", "--config", tmp_path / "train.yaml", "--run-dir", run, "--max-steps", 5,
               "--model-params", "width=2", "--resume")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    r = invoke(
        "predict",
        run,
        data / "images",
        "-o",
        tmp_path / "pred",
        "--tile-px",
        32,
        "--overlap-px",
        8,
        "--tta-rotations",
        "--clean",
        "--threads",
        1,
    )
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "pred" / "masks" / "im00.tif").is_file()
    prob = tifffile.imread(tmp_path / "pred" / "probabilities" / "im00.tif")
    assert prob.dtype == np.float32 and prob.shape == (32, 32)
    # Images with a pixel size: predict keeps it, so quantify needs no --pixel-size-nm.
    for p in sorted((data / "images").iterdir())[:2]:
        write_tiff(tmp_path / "scaled" / p.name, tifffile.imread(p), pixel_size_nm=5)
    r = invoke("predict", run, tmp_path / "scaled", "-o", tmp_path / "sp", "--overlap-px", 0,
               "--threads", 1)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    r = invoke("quantify", tmp_path / "sp" / "masks", "-o", tmp_path / "sq.csv")
    assert r.exit_code == 0, r.stderr
    # The run's training TIFFs carry no pixel size: --resample is refused with one line.
    r = invoke("predict", run, tmp_path / "scaled", "-o", tmp_path / "rs", "--resample",
               "--pixel-size-nm", 5)  # fmt: skip
    assert r.exit_code == 2 and "training images" in r.stderr and not (tmp_path / "rs").exists()
    assert (tmp_path / "sq_per_image.csv").is_file()
    r = invoke("evaluate", "--pred", tmp_path / "pred", "--gt", data, "-o", tmp_path / "m.csv",
               "--images", data / "images", "--figure", tmp_path / "fig.png")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "fig.png").is_file()
    assert "betti_error" in r.stdout and (tmp_path / "m_summary.csv").is_file()
    r = invoke("evaluate", "--pred", data, "--gt", data)
    assert r.exit_code == 0 and "dice             mean 1.0000" in r.stdout
    r = invoke(
        "quantify", data / "masks", "-o", tmp_path / "q.csv", "--pixel-size-nm", 10, "--gt", data
    )
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "q_vs_gt.csv").is_file() and (tmp_path / "q_vs_gt.png").is_file()


def test_quantify_3d_and_bench(tmp_path, invoke):
    v = np.zeros((8, 16, 16), np.uint8)
    v[2:6, 3:7, 3:12] = 1
    (tmp_path / "vol").mkdir()
    tifffile.imwrite(tmp_path / "vol" / "v.tif", v)
    r = invoke(
        "quantify", tmp_path / "vol", "-o", tmp_path / "q3.csv", "--3d", "--voxel-size-nm", 20
    )
    assert r.exit_code == 0, r.stderr
    assert "skeleton_length_um" in (tmp_path / "q3.csv").read_text()
    data = write_pairs(tmp_path / "d", n=2, size=32)
    bench = {
        "models": {"patch_cnn": {"width": 2, "fc": 4}},
        "real": [{"path": str(data)}],
        "regimes": ["real"],
        "test_sets": {"self": str(data)},
        "train": {
            "max_steps": 1,
            "val_every": 1,
            "patch_px": 32,
            "batch_size": 2,
            "amp": False,
            "val_patches": 2,
            "num_threads": 1,
        },
        "seeds": [0],
        "tile_px": 32,
        "overlap_px": 8,
    }
    (tmp_path / "bench.yaml").write_text(yaml.safe_dump(bench))
    r = invoke("bench", tmp_path / "bench.yaml", "-o", tmp_path / "b")
    assert r.exit_code == 0, r.stderr
    assert "patch_cnn" in (tmp_path / "b" / "table.md").read_text()
    (tmp_path / "bench1.yaml").write_text(yaml.safe_dump(bench | {"seeds": [1]}))
    r = invoke("bench", tmp_path / "bench1.yaml", "-o", tmp_path / "b1")
    assert r.exit_code == 0, r.stderr
    r = invoke("bench-merge", tmp_path / "b", tmp_path / "b1", "-o", tmp_path / "m")
    assert r.exit_code == 0, r.stderr
    merged = (tmp_path / "m" / "table.md").read_text()
    assert "| patch_cnn | real (d) | self | plain | 2 |" in merged
    r = invoke("bench-merge", tmp_path / "b", tmp_path / "b", "-o", tmp_path / "m2")
    assert r.exit_code != 0 and "more than one folder" in r.stderr


def test_help_shows_every_default(invoke):
    import click
    import typer

    from cli import app
    from segtrain import RECIPE

    group = typer.main.get_command(app)
    for name in ("train", "predict"):
        cmd = group.commands[name]
        assert "--threads" in [o for p in cmd.params for o in p.opts]
        missing = [
            p.opts[0]
            for p in cmd.params
            if isinstance(p, click.Option)
            and not p.required
            and p.name != "help"
            and "default" not in (p.help or "")
            and not (p.show_default and p.default not in (None, False))
        ]
        assert not missing, (name, missing)
    helps = {p.opts[0]: p.help for p in group.commands["train"].params}
    assert f"(default: {RECIPE.max_steps})" in helps["--max-steps"]
    assert "unet: depth=4,width=16" in helps["--model-params"]
    assert invoke("train", "--help").exit_code == 0


def test_model_params_must_be_key_value(tmp_path, invoke):
    data = write_pairs(tmp_path / "d", n=2, size=32)
    r = invoke("train", "--data", data, "--run-dir", tmp_path / "r", "--model-params", "depth4")
    assert r.exit_code == 2 and "depth=4,width=16" in r.stderr


def test_errors_are_one_line(tmp_path, invoke):
    data = write_pairs(tmp_path / "d", n=2, size=32)
    r = invoke("train", "--data", data, "--model", "resnet", "--run-dir", tmp_path / "r")
    assert r.exit_code == 2 and "model" in r.stderr and "attention_res_unet" in r.stderr
    r = invoke("train", "--run-dir", tmp_path / "r")
    assert r.exit_code == 2 and "no training data" in r.stderr
    r = invoke("predict", tmp_path / "nope", data, "-o", tmp_path / "p")
    assert r.exit_code == 2 and "does not exist" in r.stderr
    (tmp_path / "empty").mkdir()
    r = invoke("evaluate", "--pred", tmp_path / "empty", "--gt", data)
    assert r.exit_code == 2 and "no .png/.tif" in r.stderr
    r = invoke("quantify", data / "masks", "-o", tmp_path / "q.csv")
    assert r.exit_code == 2 and "pixel_size_nm is required" in r.stderr and "im00.tif" in r.stderr


def test_train_and_predict_flags_are_the_config_fields():
    """Each option of train and predict is a field of TrainConfig or InferenceConfig: its type,
    its description in the help, its bounds checked by the config."""
    import typer.main

    from cli import app
    from segtrain import InferenceConfig, TrainConfig

    commands = typer.main.get_command(app).commands
    train = {p.name: p for p in commands["train"].params}
    for field in ("max_steps", "val_every", "weight_decay", "schedule", "time_budget_min"):
        assert field in train, field
        assert TrainConfig.model_fields[field].description.split()[0] in train[field].help
    assert train["time_budget_min"].opts == ["--minutes"] and "-o" in train["run_dir"].opts
    predict = {p.name: p for p in commands["predict"].params}
    assert set(InferenceConfig.model_fields) <= set(predict)
    assert predict["checkpoint"].opts == ["--which"] and predict["tta"].opts == ["--tta"]


def test_tta_takes_a_mode(tmp_path, invoke):
    from shapelib.io import read_config, read_manifest

    data = write_pairs(tmp_path / "d", n=2, size=32)
    r = invoke("train", "--data", data, "--run-dir", tmp_path / "run", "--max-steps", 1,
               "--model-params", "depth=1,width=2", "--patch-px", 32, "--batch-size", 2,
               "--no-amp", "--threads", 1)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert read_config(tmp_path / "run" / "config.yaml")["amp"] is False  # --no-amp forces it
    for args, mode in (([], "none"), (["--tta", "flips"], "flips"), (["--tta", "d4"], "d4"),
                       (["--tta-rotations"], "d4")):  # fmt: skip
        out = tmp_path / f"p_{mode}_{len(args)}"
        r = invoke("predict", tmp_path / "run", data / "images", "-o", out, *args, "--tile-px",
                   32, "--overlap-px", 8)  # fmt: skip
        assert r.exit_code == 0, r.stderr
        assert read_manifest(out)[0]["details"]["tta"] == mode
    r = invoke("predict", tmp_path / "run", data / "images", "-o", tmp_path / "x", "--tta", "rot")
    assert r.exit_code == 2 and "'none', 'flips' or 'd4'" in r.stderr
    # The old boolean --tta, followed by another option: one line saying what it became.
    r = invoke("predict", tmp_path / "run", data / "images", "-o", tmp_path / "x", "--tta",
               "--clean")  # fmt: skip
    assert r.exit_code == 2 and "--tta flips" in r.stderr
    assert not (tmp_path / "x").exists()


def test_train_takes_unlabelled_images_and_hard_negatives(tmp_path, invoke):
    data = write_pairs(tmp_path / "d", n=2, size=32)
    more = write_pairs(tmp_path / "u", n=2, size=32, rng=5)
    r = invoke("train", "--data", data, "--run-dir", tmp_path / "r", "--max-steps", 2,
               "--model-params", "depth=2,width=4", "--patch-px", 32, "--no-amp", "--threads", 1,
               "--unlabelled", more / "images", "--unlabelled", more / "masks",
               "--hard-negatives", 0.1, "--teacher", "snapshot")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    cfg = yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())
    assert cfg["unlabelled"] == [str(more / "images"), str(more / "masks")]
    assert cfg["hard_negatives"] == 0.1 and cfg["teacher"] == "snapshot"
    r = invoke("train", "--data", data, "--run-dir", tmp_path / "i", "--max-steps", 2,
               "--model-params", "depth=2,width=4", "--patch-px", 32, "--no-amp", "--threads", 1,
               "--interactive")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert f"{tmp_path / 'i'}_plain" in r.stdout and (tmp_path / "i_plain" / "last.pt").is_file()
    r = invoke("train", "--data", data, "--run-dir", tmp_path / "x", "--hard-negatives", 2)
    assert r.exit_code == 2 and "hard_negatives" in r.stderr


def test_train_on_a_full_disk_keeps_the_checkpoints_and_says_how_to_go_on(
    tmp_path, invoke, monkeypatch
):
    """A full disk while saving a checkpoint was a RuntimeError traceback from torch.save;
    now every earlier file is intact and one line says what to do (exit 2)."""
    import errno

    import torch

    data = write_pairs(tmp_path / "d", n=2, size=32)
    run = tmp_path / "run"
    real_save, calls, before = torch.save, [], {}

    def save(obj, f, *args, **kw):
        calls.append(1)
        if len(calls) < 3:  # step 1: best.pt and last.pt
            return real_save(obj, f, *args, **kw)
        kept = [p for p in run.iterdir() if p.is_file() and ".tmp" not in p.name]
        before.update({p.name: p.read_bytes() for p in kept})
        f.write(b"half a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", save)
    r = invoke("train", "--data", data, "--run-dir", run, "--max-steps", 3, "--val-every", 1,
               "--model-params", "depth=1,width=2", "--patch-px", 32, "--batch-size", 2,
               "--no-amp", "--threads", 1)  # fmt: skip
    assert r.exit_code == 2, (r.stderr, r.stdout)
    line = r.stderr.strip()
    assert "\n" not in line and "Traceback" not in r.stderr, r.stderr
    assert "No space left on device" in line and "--resume (last.pt holds step 1)" in line, line
    assert {"best.pt", "last.pt"} <= set(before)
    after = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    assert after == before  # no temporary left, nothing changed
    ck = torch.load(run / "last.pt", map_location="cpu", weights_only=True)
    assert ck["step"] == 1
