"""`mitoshape train --interactive`, `refine`, `clicks` and `predict --samples` on tiny data, and
their one-line errors (nothing written when refused)."""

import numpy as np
import pytest
import tifffile

from tests.segtrain._tiny import write_pairs


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny interactive prob_unet run and a plain unet run, trained through the CLI."""
    from typer.testing import CliRunner

    from cli import app
    from cli._errors import run_guarded

    root = tmp_path_factory.mktemp("interactive_cli")
    data = write_pairs(root / "data", n=3, size=48)
    common = ["--data", data, "--model-params", "depth=2,width=4", "--patch-px", 32,
              "--batch-size", 2, "--max-steps", 3, "--no-amp", "--threads", 1]  # fmt: skip
    with CliRunner().isolation():
        args = ["train", "--run-dir", root / "prob", "--model", "prob_unet", "--interactive"]
        assert run_guarded(app, [str(a) for a in args + common]) == 0
        assert (
            run_guarded(app, [str(a) for a in ["train", "--run-dir", root / "unet", *common]]) == 0
        )
    return root, data


def test_train_interactive_then_refine(runs, invoke, tmp_path):
    import yaml

    root, data = runs
    cfg = yaml.safe_load((root / "prob" / "config.yaml").read_text())
    assert cfg["interactive"] is True and cfg["loss"] == "elbo+dice"
    assert cfg["clicks"]["radius_px"] == 20
    (tmp_path / "c.csv").write_text("row,col,sign\n5,6,+\n")
    out = tmp_path / "ref"
    img = data / "images" / "im00.tif"
    r = invoke("refine", root / "prob", img, "-o", out, "--clicks", tmp_path / "c.csv",
               "--click", "20,30,-", "--samples", 4, "--threads", 1)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert "2 click(s)" in r.stdout
    for sub in ("masks", "probabilities", "uncertainty"):
        assert tifffile.imread(out / sub / "im00.tif").shape == (48, 48)
    assert (out / "clicks.csv").read_text().splitlines()[1:] == ["1,5,6,+", "2,20,30,-"]
    assert (out / "suggestions.csv").read_text().startswith("image,row,col,score")
    assert tifffile.imread(out / "masks" / "im00.tif")[5, 6] == 1  # honoured at its pixel
    # Again into the same folder: refused without --overwrite.
    r = invoke("refine", root / "prob", data / "images" / "im00.tif", "-o", out, "--click", "1,1,+")
    assert r.exit_code == 2 and "--overwrite" in r.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--click", "5,6,x"], "the sign must be + (object) or - (background)"),
        (["--click", "500,6,+"], "outside"),
        (["--clicks", "bad.csv"], "misses the column(s) ['sign']"),
    ],
)
def test_refine_refuses_bad_clicks_and_writes_nothing(runs, invoke, tmp_path, args, message):
    root, data = runs
    (tmp_path / "bad.csv").write_text("row,col\n1,2\n")
    args = [str(tmp_path / a) if a == "bad.csv" else a for a in args]
    out = tmp_path / "out"
    r = invoke("refine", root / "prob", data / "images" / "im00.tif", "-o", out, *args)
    assert r.exit_code == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_refine_and_samples_refuse_the_wrong_run(runs, invoke, tmp_path):
    root, data = runs
    img = data / "images" / "im00.tif"
    r = invoke("refine", root / "unet", img, "-o", tmp_path / "o", "--click", "1,1,+")
    assert r.exit_code == 2 and "train --interactive" in r.stderr and not (tmp_path / "o").exists()
    r = invoke("predict", root / "unet", img, "-o", tmp_path / "p", "--samples", 4)
    assert r.exit_code == 2 and "this run is not probabilistic" in r.stderr
    assert not (tmp_path / "p").exists()
    # An RGB image for a grey run.
    tifffile.imwrite(tmp_path / "rgb.tif", np.zeros((48, 48, 3), np.uint8))
    r = invoke(
        "refine", root / "prob", tmp_path / "rgb.tif", "-o", tmp_path / "o", "--click", "1,1,+"
    )
    assert r.exit_code == 2 and "image channel" in r.stderr and not (tmp_path / "o").exists()


def test_predict_samples_of_another_size(runs, invoke, tmp_path):
    from tests.segtrain._tiny import disks

    root, _ = runs
    img, _ = disks(90, 3, rng=1)  # trained on 32 px patches of 48 px images: tiled
    tifffile.imwrite(tmp_path / "big.tif", img)
    r = invoke("predict", root / "prob", tmp_path / "big.tif", "-o", tmp_path / "p", "--samples",
               4, "--tile-px", 64, "--overlap-px", 16, "--threads", 1)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    unc = tifffile.imread(tmp_path / "p" / "uncertainty" / "big.tif")
    assert unc.shape == (90, 90) and unc.dtype == np.float32 and unc.max() > 0
    lines = (tmp_path / "p" / "suggestions.csv").read_text().splitlines()
    assert lines[0] == "image,row,col,score" and 2 <= len(lines) <= 4


def test_clicks_evaluation(runs, invoke, tmp_path):
    root, data = runs
    out = tmp_path / "clk"
    r = invoke("clicks", root / "prob", "--data", data, "-o", out, "--max-clicks", 2,
               "--clicker", "error", "--clicker", "random", "--scope", "image", "--scope",
               "object", "--samples", 2, "--threads", 1)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert "| image | error | 3 |" in r.stdout and "NoC@85" in r.stdout
    import pandas as pd

    table = pd.read_csv(out / "clicks.csv")
    assert set(table["scope"]) == {"image", "object"} and set(table["clicks"]) == {0, 1, 2}
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 4 and {"miou@2", "noc@95", "nof@95"} <= set(summary.columns)
    assert (out / "miou.png").stat().st_size > 1000
    unc = pd.read_csv(out / "uncertainty.csv")
    assert list(unc["image"])[-1] == "pooled"
    # A plain run: only without clicks.
    r = invoke("clicks", root / "unet", "--data", data, "-o", tmp_path / "u")
    assert r.exit_code == 2 and "--max-clicks 0" in r.stderr and not (tmp_path / "u").exists()
    r = invoke("clicks", root / "unet", "--data", data, "-o", tmp_path / "u", "--max-clicks", 0,
               "--samples", 4, "--threads", 1)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    summary = pd.read_csv(tmp_path / "u" / "summary.csv")
    assert list(summary["clicker"]) == ["none"] and "miou@0" in summary.columns
    r = invoke("clicks", root / "prob", "--data", data, "-o", tmp_path / "x", "--scope", "pixel")
    assert r.exit_code == 2 and "choose scopes from image, object" in r.stderr
    # micro-sam's protocol: a point and 7 corrections per object, mSA per click count.
    r = invoke("clicks", root / "prob", "--data", data, "-o", tmp_path / "ms", "--protocol",
               "microsam", "--samples", 2, "--threads", 1)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert "micro-sam protocol" in r.stdout and "mSA@8" in r.stdout
    msa = pd.read_csv(tmp_path / "ms" / "msa.csv")
    assert set(msa["clicks"]) == set(range(9)) and msa["msa"].between(0, 1).all()
    summary = pd.read_csv(tmp_path / "ms" / "summary.csv")
    assert list(summary["scope"]) == ["microsam"] and "msa@8" in summary.columns
    r = invoke("clicks", root / "prob", "--data", data, "-o", tmp_path / "y", "--protocol", "sam")
    assert r.exit_code == 2 and "standard or microsam" in r.stderr


def test_train_interactive_from_a_plain_run(runs, invoke, tmp_path):
    import yaml

    root, data = runs
    common = ["--data", data, "--model-params", "depth=2,width=4", "--patch-px", 32,
              "--batch-size", 2, "--max-steps", 2, "--no-amp", "--threads", 1]  # fmt: skip
    r = invoke("train", "--run-dir", tmp_path / "ft", "--interactive", "--init-from",
               root / "unet", *common)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    cfg = yaml.safe_load((tmp_path / "ft" / "config.yaml").read_text())
    assert cfg["interactive"] is True and cfg["init_from"] == str(root / "unet")
    # Another architecture is one line, nothing written.
    r = invoke("train", "--run-dir", tmp_path / "bad", "--interactive", "--init-from",
               root / "prob", *common)  # fmt: skip
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "bad").exists()
