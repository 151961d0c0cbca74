"""`segtrain.Run`: a trained run opened once (from a folder, a checkpoint in memory or a network
at hand), predicting as its `InferenceConfig` says, equal to the compute functions it wraps."""

import numpy as np
import pytest
import torch

from segtrain import (
    DataSource,
    InferenceConfig,
    RefineConfig,
    Run,
    TrainConfig,
    build_model,
    load_run,
    postprocess_mask,
    predict_image,
)
from segtrain.io import load_checkpoint
from shapelib import InputError

from ._tiny import disks, train_tiny_run

TILES = InferenceConfig(tile_px=32, overlap_px=8, device="cpu")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return train_tiny_run(
        tmp_path_factory.mktemp("run"), n=4, size=48, model_params={"depth": 2, "width": 4},
        max_steps=4, num_threads=1,
    )  # fmt: skip


def test_open_reads_the_run_once_with_everything_a_prediction_needs(run_dir):
    run = Run.open(run_dir, TILES.replace(tta="flips", threshold=0.4))
    assert run.source == run_dir and run.name == run_dir.name
    assert run.train_config.model == "unet" and run.config.amp is False  # None: as trained
    assert run.postprocess is not None and {"min_size_px", "max_hole_px"} <= set(run.postprocess)
    assert run.training_pixel_size_nm is None  # plain TIFFs carry no pixel size
    assert run.clicks is None and not run.probabilistic and run.click_radius_px == 20
    assert not run.model.training and run.device == torch.device("cpu")
    # predict is predict_image with the run's normalisation and the config's tiles and TTA.
    image = disks(48, 3, rng=7)[0]
    net, cfg = load_run(run_dir)
    want = predict_image(net, image, run.config, normalize=tuple(cfg.normalize_percentiles))
    prob = run.predict(image)
    np.testing.assert_array_equal(prob, want)
    plain = predict_image(net, image, TILES, normalize=tuple(cfg.normalize_percentiles))
    assert np.abs(plain - prob).max() > 0  # the flips do change it
    # segment: the probability and its mask at the config's threshold, cleaned up with sizes.
    seg = run.segment(image)
    np.testing.assert_array_equal(seg.probability, prob)
    np.testing.assert_array_equal(seg.mask, (prob >= 0.4).astype(np.uint8))
    assert seg.uncertainty is None and seg.suggestions == ()
    cleaned = postprocess_mask(prob, threshold=0.4, min_size_px=30, max_hole_px=5)
    np.testing.assert_array_equal(run.segment(image, sizes=(30, 5)).mask, cleaned)
    # With samples: their mean, their spread and the clicks it suggests (flips here).
    sampled = run.segment(image, samples=4)
    flips = run.sample(image, samples=4)
    np.testing.assert_array_equal(sampled.probability, flips.mean)
    np.testing.assert_array_equal(sampled.uncertainty, flips.std)
    assert 1 <= len(sampled.suggestions) <= 3
    # A stack is predicted slice by slice.
    stack = np.stack([image, image[::-1].copy()])
    both = run.segment(stack)
    np.testing.assert_array_equal(both.probability[0], prob)
    assert both.mask.shape == stack.shape


def test_from_checkpoint_and_from_model_give_the_same_run(run_dir):
    opened = Run.open(run_dir, TILES)
    ck = load_checkpoint(run_dir / "best.pt")
    in_memory = Run.from_checkpoint(ck, TILES)  # the config stored in the checkpoint
    assert in_memory.source is None and in_memory.name == "unet"
    assert in_memory.postprocess is None and in_memory.train_config.model_params == {
        "depth": 2,
        "width": 4,
    }
    image = disks(40, 2, rng=3)[0]
    np.testing.assert_array_equal(in_memory.predict(image), opened.predict(image))
    net, cfg = load_run(run_dir)
    at_hand = Run.from_model(net, cfg, TILES)
    np.testing.assert_array_equal(at_hand.predict(image), opened.predict(image))
    # A foreign checkpoint is refused with the reason.
    bad = {**ck, "model_name": "patch_cnn"}
    with pytest.raises(InputError, match="holds a 'patch_cnn' model"):
        Run.from_checkpoint(bad, TILES)


def test_with_config_changes_how_it_predicts_not_what_it_is(run_dir):
    run = Run.open(run_dir, TILES)
    d4 = run.with_config(run.config.replace(tta="d4"))
    assert d4.model is run.model and d4.config.tta == "d4" and run.config.tta == "none"
    with pytest.raises(InputError, match="open it again"):
        run.with_config(run.config.replace(checkpoint="last"))
    with pytest.raises(InputError, match="open it again"):
        run.with_config(run.config.replace(device="auto"))


def test_sampling_a_deterministic_run_gives_its_flip_spread(run_dir):
    run = Run.open(run_dir, TILES)
    image = disks(40, 2, rng=4)[0]
    s = run.sample(image, samples=8)
    assert s.kind == "flips" and s.samples.shape == (4, 40, 40)
    one = run.sample(image, samples=1)
    assert one.kind == "single" and float(one.std.max()) == 0.0
    with pytest.raises(InputError, match="needs an interactive run"):
        run.refine(image, [])
    explained = run.explain(image)
    assert explained.layer == "dec.1" and explained.heatmaps["gradcam"].shape == (40, 40)


def test_configs_check_their_fields():
    from pydantic import ValidationError

    assert InferenceConfig(tta=True).tta == "flips" and InferenceConfig(tta=False).tta == "none"
    with pytest.raises(ValidationError, match="overlap_px must be in"):
        InferenceConfig(tile_px=32, overlap_px=20)
    for bad in ({"threshold": 1.0}, {"checkpoint": "first"}, {"tile_px": 8}, {"tta": "rot"}):
        with pytest.raises(ValidationError):
            InferenceConfig(**bad)
    with pytest.raises(ValidationError, match="frozen"):
        TILES.tile_px = 64
    assert RefineConfig().replace(samples=4).samples == 4
    with pytest.raises(ValidationError):
        RefineConfig(samples=0)


def test_a_run_of_a_network_at_hand_needs_no_folder():
    cfg = TrainConfig(train=[DataSource(path="-")], model_params={"depth": 1, "width": 2})
    run = Run.from_model(build_model("unet", {"depth": 1, "width": 2}), cfg)
    assert run.source is None and run.name == "unet" and run.config.device == "auto"
    assert run.predict(np.zeros((20, 24), np.float32)).shape == (20, 24)
