"""A validation without one foreground pixel (issue 31): it validated IoU 0 at every check and
kept best.pt at the first one. Holdout auto picks the other mode when that one has
foreground (said in one line); any other validation without foreground is refused before a
file is written."""

import logging

import pytest
import tifffile

from segtrain import DataSource, TrainConfig
from segtrain.workflows._train_data import read_training_data
from shapelib import InputError

from ._tiny import write_pairs


def _data(root, n: int = 3, empty_rows: slice | None = None, empty_images=()):
    data = write_pairs(root, n=n, size=32)
    for k, p in enumerate(sorted((data / "masks").iterdir())):
        m = tifffile.imread(p)
        if empty_rows is not None:
            m[empty_rows] = 0
        if k in empty_images:
            m[:] = 0
        tifffile.imwrite(p, m)
    return data


def _cfg(tmp_path, data, **kw):
    return TrainConfig(train=[DataSource(path=str(data))], run_dir=str(tmp_path / "r"),
                       patch_px=32, amp=False, **kw)  # fmt: skip


def test_auto_holds_out_images_when_the_band_is_empty(tmp_path, caplog):
    data = _data(tmp_path / "d", empty_rows=slice(-10, None))
    with caplog.at_level(logging.WARNING, logger="segtrain"):
        cfg, td = read_training_data(_cfg(tmp_path, data))
    assert cfg.holdout == "images" and len(cfg.val_names) == 1
    assert td.split["mode"] == "images"
    said = [r.getMessage() for r in caplog.records if "no foreground" in r.getMessage()]
    assert len(said) == 1 and "holding out whole images instead" in said[0]
    assert any(m.sum() > 0 for m in td.val.masks)


def test_auto_keeps_a_band_that_has_foreground(tmp_path):
    data = _data(tmp_path / "d")
    cfg, _ = read_training_data(_cfg(tmp_path, data))
    assert cfg.holdout == "band"


@pytest.mark.parametrize(
    ("mode", "words"),
    [("band", "--holdout images"), ("images", "--holdout band")],
)
def test_a_chosen_mode_without_foreground_is_refused(tmp_path, mode, words):
    # band: the bottom rows are empty; images: the held-out image (the last section of 6) is
    empty = {"band": {"empty_rows": slice(-10, None)}, "images": {"empty_images": (5,)}}
    data = _data(tmp_path / "d", n=6, **empty[mode])
    with pytest.raises(InputError) as err:
        read_training_data(_cfg(tmp_path, data, holdout=mode))
    msg = str(err.value)
    assert "no foreground pixel" in msg and str(data) in msg and words in msg, msg
    assert not (tmp_path / "r").exists()


def test_auto_refuses_when_no_mode_has_foreground(tmp_path):
    data = _data(tmp_path / "d", n=2, empty_images=(0, 1))
    with pytest.raises(InputError, match="the held-out band .* no foreground pixel"):
        read_training_data(_cfg(tmp_path, data))
