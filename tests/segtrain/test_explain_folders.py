"""explain_folder and report_folder on a tiny trained run: files, scale, tables, figures."""

import json

import numpy as np
import pytest
import tifffile
import torch

from segtrain import (
    DataSource,
    DeletionConfig,
    InferenceConfig,
    Run,
    TrainConfig,
    explain_folder,
    plot_image_report,
    quantify_mask,
    report_folder,
    run_layers,
    train,
)
from segtrain.evaluate._morphology import QuantifyParams
from shapelib.io import OutputExistsError, read_tiff, write_tiff
from tests.segtrain._tiny import disks, write_pairs


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A U-Net trained 30 steps on bright disks, and two scaled test images with masks."""
    root = tmp_path_factory.mktemp("explain")
    data = write_pairs(root / "train", n=4, size=48)
    cfg = TrainConfig(
        train=[DataSource(path=str(data))],
        run_dir=str(root / "run"),
        model="unet",
        model_params={"depth": 2, "width": 4},
        patch_px=32,
        batch_size=4,
        max_steps=30,
        lr=2e-2,
        val_every=30,
        val_patches=2,
        amp=False,
    )
    run = train(cfg)
    for i in range(2):
        img, lab = disks(48, 3, 10 + i)
        write_tiff(root / "test" / "images" / f"t{i}.tif", img, pixel_size_nm=20)
        write_tiff(root / "test" / "masks" / f"t{i}.tif", (lab > 0).astype(np.uint8),
                   pixel_size_nm=20)  # fmt: skip
    return Run.open(run, InferenceConfig(tile_px=64, overlap_px=8)), root / "test"


def test_run_layers(tiny_run):
    name, infos, defaults = run_layers(tiny_run[0])
    assert name == "unet" and defaults == ["dec.1", "down.2"]
    assert {"dec.1", "down.2", "head"} <= {i.name for i in infos}


def test_explain_folder_writes_heatmaps_scores_and_json(tiny_run, tmp_path):
    run, test = tiny_run
    out = tmp_path / "ex"
    res = explain_folder(run, test / "images" / "t0.tif", out, methods=("gradcam", "hirescam"),
                         deletion=DeletionConfig(n_random=1))  # fmt: skip
    heat = read_tiff(out / "heatmaps" / "gradcam" / "dec.1" / "t0.tif")
    assert heat.data.dtype == np.float32 and heat.data.shape == (48, 48)
    assert heat.pixel_size_nm == pytest.approx((20, 20))
    assert (out / "overlays" / "hirescam" / "down.2" / "t0.png").stat().st_size > 0
    assert (out / "deletion_curves.png").is_file() and (out / "masks" / "t0.tif").is_file()
    t = res.faithfulness
    assert len(t) == 2 * 2 and set(t["verdict"]) <= {"better than random",
                                                     "no better than random"}  # fmt: skip
    assert t["auc_deletion"].between(0, 1).all() and t["mass_in_mask"].between(0, 1).all()
    meta = json.loads((out / "explain.json").read_text())
    assert meta["model"] == "unet" and meta["layers"] == ["dec.1", "down.2"]
    assert meta["methods"] == ["gradcam", "hirescam"]
    assert meta["target"].startswith("sum of the foreground logit over the predicted mask")
    assert len(meta["faithfulness"]["summary"]) == 4


def test_explain_folder_one_object_and_the_output_guard(tiny_run, tmp_path):
    run, test = tiny_run
    out = tmp_path / "ex"
    kw = dict(layers=["dec.1"], faithfulness=False)
    first = explain_folder(run, test / "images" / "t1.tif", out, **kw)
    assert first.faithfulness is None and not (out / "faithfulness.csv").exists()
    whole = tifffile.imread(out / "masks" / "t1.tif")
    with pytest.raises(OutputExistsError, match="pass --overwrite"):
        explain_folder(run, test / "images" / "t1.tif", out, **kw)
    explain_folder(run, test / "images" / "t1.tif", out, object_id=1, overwrite=True, **kw)
    one = tifffile.imread(out / "masks" / "t1.tif")
    assert 0 < one.sum() < whole.sum() and not (one > whole).any()
    meta = json.loads((out / "explain.json").read_text())
    assert meta["object"] == 1 and "object 1 of it" in meta["target"]


def test_report_folder_with_truth(tiny_run, tmp_path):
    run, test = tiny_run
    out = tmp_path / "rep"
    res = report_folder(run, test / "images", out, gt=test / "masks")
    for name in ("summary.png", "objects.csv", "per_image.csv", "comparison.csv",
                 "gt_objects.csv", "report.json", "figures/t0.png", "heatmaps/t1.tif"):  # fmt: skip
        assert (out / name).is_file(), name
    assert list(res.per_image["image"]) == ["t0", "t1"] and res.comparison is not None
    assert read_tiff(out / "masks" / "t0.tif").pixel_size_nm == pytest.approx((20, 20))
    assert set(res.objects["image"]) <= {"t0", "t1"}


def _titles(fig):
    return [ax.get_title() for ax in fig.axes if ax.get_title()]


@pytest.mark.parametrize("with_gt", [True, False])
def test_report_figure_has_the_expected_panels(with_gt):
    img, lab = disks(64, 3, 2)
    mask = lab > 0
    objects = quantify_mask(mask, params=QuantifyParams(pixel_size_nm=20))
    heat = np.random.default_rng(0).random(mask.shape) * mask
    gt = mask if with_gt else None
    fig = plot_image_report(img, mask, heat, objects, pixel_size_nm=20, gt_mask=gt, layer="dec.3")
    n = len(objects)
    expected = ["input", *(["true mask"] if with_gt else []), "predicted mask",
                "Grad-CAM (dec.3)", f"objects by class (n = {n})", "measurements (µm)"]  # fmt: skip
    assert _titles(fig) == expected
    image_axes = [ax for ax in fig.axes if ax.get_title() in expected[:-1]]
    assert all(ax.get_xlabel() == "x (µm)" and ax.get_ylabel() == "y (µm)" for ax in image_axes)
    objects_ax = next(ax for ax in fig.axes if ax.get_title().startswith("objects"))
    numbers = {t.get_text() for t in objects_ax.texts}
    assert {str(k) for k in objects["label"]} <= numbers
    table_ax = next(ax for ax in fig.axes if ax.get_title() == "measurements (µm)")
    cells = table_ax.tables[0].get_celld()
    assert max(r for r, _ in cells) == n  # a header row and one row per object
    assert cells[(0, 2)].get_text().get_text() == "area\n(µm²)"
