"""A 2.5D run predicts a folder of 2D images whose names number consecutive sections as the
stack they are (`segtrain/workflows/_predict_sections.py`), and refuses 2D images whose
neighbours are unknown."""

import logging

import numpy as np
import pytest
import tifffile

from segtrain import InferenceConfig, Run, predict_folder
from segtrain.training._sections import section_blocks
from shapelib import InputError
from shapelib.io import read_tiff

from ._tiny import disks, train_tiny_run

TILES = InferenceConfig(tile_px=32, overlap_px=8, device="cpu", threads=1)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("ctx")
    run_dir = train_tiny_run(root, n=6, context_slices=1, num_threads=1)
    return Run.open(run_dir, TILES)


def _planes(n=5, size=32):
    return np.stack([disks(size, 2, 100 + z)[0] for z in range(n)])


def _sections(folder, planes, numbers, prefix="s_"):
    folder.mkdir(parents=True)
    for z, n in zip(range(len(planes)), numbers, strict=True):
        tifffile.imwrite(folder / f"{prefix}{n}.tif", planes[z])
    return folder


def _stack(folder, planes):
    folder.mkdir(parents=True)
    tifffile.imwrite(folder / "stack.tif", planes, photometric="minisblack")
    return folder / "stack.tif"


def _probs(out, names):
    return np.stack([read_tiff(out / "probabilities" / f"{n}.tif").data for n in names])


def test_section_blocks_are_runs_of_consecutive_numbers():
    assert section_blocks(["s_9", "s_10", "s_8", "s_12"]) == [[2, 0, 1], [3]]
    assert section_blocks(["a", "b"]) is None
    assert section_blocks(["s_1"]) is None  # one file numbers nothing


def test_a_folder_of_numbered_sections_is_predicted_as_its_stack(tmp_path, run):
    planes = _planes()
    # Numbers 8..12: the file names sort 10, 11, 12, 8, 9; the sections go in 8..12.
    names = [f"s_{n}" for n in range(8, 13)]
    folder = _sections(tmp_path / "f", planes, range(8, 13))
    stack = _stack(tmp_path / "s", planes)
    predict_folder(run, folder, tmp_path / "pf")
    predict_folder(run, stack, tmp_path / "ps")
    want = read_tiff(tmp_path / "ps/probabilities/stack.tif").data
    got = _probs(tmp_path / "pf", names)
    assert got.shape == want.shape == planes.shape
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)
    masks = read_tiff(tmp_path / "ps/masks/stack.tif").data
    for z, n in enumerate(names):  # one output per file, as a 2D prediction writes
        np.testing.assert_array_equal(read_tiff(tmp_path / f"pf/masks/{n}.tif").data, masks[z])
        inst = read_tiff(tmp_path / f"pf/instances/{n}.tif").data
        assert inst.shape == planes.shape[1:]
        np.testing.assert_array_equal(inst > 0, masks[z] > 0)
    # The neighbours are what they are: a slice with itself as neighbours predicts otherwise.
    alone = run.predict(planes[[2, 2, 2]], channels=True)
    assert not np.allclose(alone, got[2], atol=1e-6)


def test_ome_zarr_gets_one_store_per_section(tmp_path, run):
    folder = _sections(tmp_path / "f", _planes(3), range(3))
    predict_folder(run, folder, tmp_path / "p.zarr")
    assert sorted(p.name for p in (tmp_path / "p.zarr").glob("*.ome.zarr")) == [
        "s_0.ome.zarr",
        "s_1.ome.zarr",
        "s_2.ome.zarr",
    ]


def test_a_gap_ends_a_stack_and_the_log_says_so(tmp_path, run, caplog):
    planes = _planes()
    folder = _sections(tmp_path / "f", planes, [1, 2, 3, 7, 8])
    with caplog.at_level(logging.INFO, logger="segtrain.workflows._predict_sections"):
        predict_folder(run, folder, tmp_path / "pf")
    assert "s_1.tif-s_3.tif; s_7.tif-s_8.tif" in caplog.text
    predict_folder(run, _stack(tmp_path / "a", planes[:3]), tmp_path / "pa")
    predict_folder(run, _stack(tmp_path / "b", planes[3:]), tmp_path / "pb")
    want = np.concatenate(
        [read_tiff(tmp_path / f"{p}/probabilities/stack.tif").data for p in ("pa", "pb")]
    )
    got = _probs(tmp_path / "pf", ["s_1", "s_2", "s_3", "s_7", "s_8"])
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)


def test_2d_images_without_numbered_neighbours_are_refused(tmp_path, run):
    planes = _planes(2)
    folder = tmp_path / "f"
    folder.mkdir()
    tifffile.imwrite(folder / "cell_a.tif", planes[0])
    tifffile.imwrite(folder / "cell_b.tif", planes[1])
    with pytest.raises(InputError, match=r"\(cell_a.tif, cell_b.tif\) number no sections"):
        predict_folder(run, folder, tmp_path / "p")
    with pytest.raises(InputError, match="cell_a.tif is one 2D image alone"):
        predict_folder(run, folder / "cell_a.tif", tmp_path / "p")
    assert not (tmp_path / "p").exists()


def test_sections_of_another_shape_are_named(tmp_path, run):
    folder = _sections(tmp_path / "f", _planes(3), range(3))
    tifffile.imwrite(folder / "s_1.tif", disks(40, 2, 0)[0])
    with pytest.raises(InputError, match=r"s_1\.tif has shape \(40, 40\)"):
        predict_folder(run, folder, tmp_path / "p")
    assert not (tmp_path / "p").exists()


def test_the_cli_predicts_a_folder_of_sections_and_refuses_in_one_line(tmp_path, run, invoke):
    folder = _sections(tmp_path / "f", _planes(3), range(3))
    r = invoke("predict", run.source, folder, "-o", tmp_path / "p", "--threads", 1)
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "p/masks").iterdir()) == [
        "s_0.tif",
        "s_1.tif",
        "s_2.tif",
    ]
    (folder / "s_2.tif").rename(folder / "other.tif")
    r = invoke("predict", run.source, folder, "-o", tmp_path / "q", "--threads", 1)
    assert r.exit_code == 2 and "number no sections" in r.stderr
    assert "\n" not in r.stderr.strip() and "Traceback" not in r.stderr


def test_train_and_evaluate_reads_a_2p5d_test_folder_with_its_neighbours(tmp_path):
    import segtrain

    from ._tiny import write_pairs

    train_dir = write_pairs(tmp_path / "train", n=6, size=32, rng=1)  # im00 ... im05
    test_dir = write_pairs(tmp_path / "test", n=3, size=32, rng=2)
    kw = dict(model_params={"depth": 1, "width": 2}, max_steps=1, patch_px=32, num_threads=1)
    res = segtrain.train_and_evaluate(
        train_dir, test_dir, tmp_path / "o", context_slices=1, n_figure=2, **kw
    )
    assert res.summary["n_images"] == 3
    assert read_tiff(tmp_path / "o/pred/masks/im01.tif").data.shape == (32, 32)
    assert (tmp_path / "o/predictions.png").is_file()
    (test_dir / "images/im02.tif").rename(test_dir / "images/last.tif")
    (test_dir / "masks/im02.tif").rename(test_dir / "masks/last.tif")
    with pytest.raises(InputError, match="number consecutive sections"):
        segtrain.train_and_evaluate(
            train_dir, test_dir, tmp_path / "o2", context_slices=1, n_figure=2, **kw
        )
    assert not (tmp_path / "o2").exists()  # refused before training
