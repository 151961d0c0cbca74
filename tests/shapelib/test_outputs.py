"""The output guard: manifests, claims, --overwrite removing exactly what mitoshape wrote."""

from __future__ import annotations

import os

import pytest

from shapelib.io import (
    MANIFEST_FILE,
    OutputExistsError,
    atomic_write,
    claim_output_file,
    open_output_folder,
    read_manifest,
)


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_new_folder_claims_and_manifest(tmp_path):
    out = open_output_folder(tmp_path / "o", command="dataset", details={"n": 2})
    atomic_write(out.path("images/a.tif"), b"a")
    atomic_write(out.path("b.json"), b"{}")
    header, files = read_manifest(tmp_path / "o")
    assert header["command"] == "dataset" and header["details"] == {"n": 2}
    assert files == ["images/a.tif", "b.json"]


def test_foreign_folder_is_refused_and_untouched(tmp_path):
    root = tmp_path / "data"
    (root / "masks").mkdir(parents=True)
    (root / "masks" / "a.tif").write_bytes(b"truth")
    before = _tree(root)
    for kw in ({}, {"overwrite": True}, {"resume": True}):
        with pytest.raises(OutputExistsError, match="did not write"):
            open_output_folder(root, command="predict", **kw)
    assert _tree(root) == before and (root / "masks" / "a.tif").read_bytes() == b"truth"


def test_overwrite_removes_exactly_the_manifest(tmp_path):
    root = tmp_path / "o"
    out = open_output_folder(root, command="dataset")
    for name in ("images/0.tif", "images/1.tif", "masks/0.tif", "masks/1.tif"):
        atomic_write(out.path(name), b"x")
    (root / "images" / "mine.txt").write_text("user file")  # added by the user later
    (root / "2024").mkdir()  # an all-digit folder of the user's
    with pytest.raises(OutputExistsError, match="earlier `mitoshape dataset` run"):
        open_output_folder(root, command="dataset")
    out = open_output_folder(root, command="dataset", overwrite=True)
    assert _tree(root) == sorted(["2024", "images", "images/mine.txt", MANIFEST_FILE])
    assert read_manifest(root)[1] == []
    # Writing over the user's file is refused even now.
    with pytest.raises(OutputExistsError, match="not written by mitoshape"):
        out.claim("images/mine.txt")


def test_resume_keeps_the_same_commands_files(tmp_path):
    root = tmp_path / "lib"
    out = open_output_folder(root, command="extract")
    atomic_write(out.path("000001/meta.json"), b"{}")
    again = open_output_folder(root, command="extract", resume=True)
    assert "000001/meta.json" in again.owned
    atomic_write(again.path("000001/meta.json"), b"{} ")  # its own file: allowed
    with pytest.raises(OutputExistsError):
        open_output_folder(root, command="dataset", resume=True)


def test_inputs_are_never_written_or_deleted(tmp_path):
    root = tmp_path / "o"
    out = open_output_folder(root, command="demo")
    vol = out.path("vol.tif")
    vol.write_bytes(b"volume")
    # A later command reads vol.tif from the folder and is asked to overwrite it.
    with pytest.raises(OutputExistsError, match="input of this command"):
        open_output_folder(root, command="demo", overwrite=True, inputs=[vol])
    assert vol.read_bytes() == b"volume"
    with pytest.raises(OutputExistsError, match="is an input"):
        open_output_folder(root, command="x", inputs=[root])
    again = open_output_folder(root, command="demo", resume=True, inputs=[vol])
    with pytest.raises(OutputExistsError, match="input of this command"):
        again.claim("vol.tif")


@pytest.mark.parametrize("name", ["../x.tif", "/abs/x.tif", "a/../../x"])
def test_names_leading_out_are_refused(tmp_path, name):
    out = open_output_folder(tmp_path / "o", command="simulate")
    with pytest.raises(OutputExistsError):
        out.claim(name)
    assert not (tmp_path / "x.tif").exists()


def test_symlink_leading_out_is_refused(tmp_path):
    out = open_output_folder(tmp_path / "o", command="simulate")
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "o" / "link")
    with pytest.raises(OutputExistsError, match="leads outside"):
        out.claim("link/a.tif")


def test_cut_manifest_line_is_ignored(tmp_path):
    root = tmp_path / "o"
    out = open_output_folder(root, command="dataset")
    out.claim("a.tif")
    with open(root / MANIFEST_FILE, "a") as f:
        f.write('{"path": "b.t')  # a crash while appending
    assert read_manifest(root)[1] == ["a.tif"]


def test_single_output_file(tmp_path):
    inp = tmp_path / "raw.tif"
    inp.write_bytes(b"raw")
    with pytest.raises(OutputExistsError, match="is an input"):
        claim_output_file(inp, inputs=[inp], overwrite=True)
    with pytest.raises(OutputExistsError, match="pass --overwrite"):
        claim_output_file(inp)
    assert claim_output_file(inp, overwrite=True) == inp
    new = claim_output_file(tmp_path / "sub" / "m.csv")
    assert new.parent.is_dir() and not new.exists()
    assert inp.read_bytes() == b"raw"


def test_overwrite_follows_claimed_sub_folders(tmp_path):
    root = tmp_path / "demo"
    demo = open_output_folder(root, command="demo")
    atomic_write(demo.path("README.md"), b"made by the demo")
    lib = open_output_folder(demo.subfolder("library"), command="extract")
    atomic_write(lib.path("000001/meta.json"), b"{}")
    (root / "library" / "000001" / "notes.txt").write_text("the user's")
    open_output_folder(root, command="demo", overwrite=True)
    assert _tree(root) == sorted(
        ["library", "library/000001", "library/000001/notes.txt", MANIFEST_FILE]
    )


def test_a_manifest_that_claims_nothing_leaves_the_folder_empty(tmp_path):
    root = tmp_path / "lib"
    open_output_folder(root, command="extract", details={"seed": 0})  # then the run failed
    out = open_output_folder(root, command="dataset")  # no --overwrite needed
    assert read_manifest(root)[0]["command"] == "dataset" and out.owned == frozenset()


def test_outputs_inside_an_input_folder_are_refused(tmp_path):
    data = tmp_path / "data"
    (data / "masks").mkdir(parents=True)
    (data / "masks" / "a.tif").write_bytes(b"truth")
    with pytest.raises(OutputExistsError, match="inside the input folder"):
        open_output_folder(data / "masks" / "pred", command="predict", inputs=[data / "masks"])
    with pytest.raises(OutputExistsError, match="inside the input folder"):
        claim_output_file(data / "masks" / "m.csv", inputs=[data / "masks"])
    out = open_output_folder(tmp_path / "o", command="predict", inputs=[data / "masks"])
    out.claim("x.tif")  # beside the data: fine
    with pytest.raises(OutputExistsError, match="leads outside"):
        os.symlink(data / "masks", tmp_path / "o" / "link")
        out.claim("link/b.tif")
    assert sorted(p.name for p in (data / "masks").iterdir()) == ["a.tif"]


def test_overwrite_never_deletes_inside_an_input_folder(tmp_path):
    root = tmp_path / "ds"
    ds = open_output_folder(root, command="dataset")
    atomic_write(ds.path("images/0.tif"), b"image")
    # Predicting the dataset's own images into the dataset folder, with --overwrite.
    with pytest.raises(OutputExistsError, match="input of this command"):
        open_output_folder(root, command="predict", overwrite=True, inputs=[root / "images"])
    assert (root / "images" / "0.tif").read_bytes() == b"image"


def test_checks_write_nothing(tmp_path):
    from shapelib.io import check_output_files, check_output_folder

    check_output_folder(tmp_path / "new", command="dataset")
    assert not (tmp_path / "new").exists()
    (tmp_path / "f.csv").write_text("x")
    with pytest.raises(OutputExistsError, match="pass --overwrite"):
        check_output_files([tmp_path / "g.csv", tmp_path / "f.csv"])
    assert not (tmp_path / "g.csv").exists()
