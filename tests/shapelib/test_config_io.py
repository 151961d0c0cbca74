"""The one config reader: YAML/JSON mappings, safe loading, one-line errors naming the file."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, Field

from shapelib import InputError
from shapelib.io import atomic_write, read_config, write_config


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    size_px: int = Field(8, ge=1)
    name: str = "x"


def test_round_trip_yaml_and_json(tmp_path):
    for suffix in (".yaml", ".json"):
        path = write_config(tmp_path / f"c{suffix}", _Cfg(size_px=3, name="a"))
        assert read_config(path, _Cfg) == _Cfg(size_px=3, name="a")
        assert read_config(path) == {"size_px": 3, "name": "a"}


def test_key_selects_a_section(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("camera:\n  size_px: 5\nother: 1\n")
    assert read_config(path, _Cfg, key="camera").size_px == 5


@pytest.mark.parametrize(
    "text, match",
    [
        ("size_px: [1, 2\n", "not valid YAML/JSON at line"),
        ("!!python/object/apply:os.system ['echo hi']\n", "not valid YAML/JSON"),
        ("- 1\n- 2\n", "must hold a mapping"),
        ("size_px: 0\n", "size_px: Input should be greater than or equal to 1"),
        ("size_px: 1\nbogus: 2\n", "bogus: Extra inputs are not permitted"),
    ],
)
def test_bad_configs_are_one_line_input_errors(tmp_path, text, match):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=match) as err:
        read_config(path, _Cfg)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_config(tmp_path / "nope.yaml")
    path = tmp_path / "b.yaml"
    path.write_bytes(b"\xff\xfe\x00\x00")
    with pytest.raises(InputError):
        read_config(path)


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    atomic_write(tmp_path / "a.txt", "one")
    atomic_write(tmp_path / "a.txt", b"two")
    assert (tmp_path / "a.txt").read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
