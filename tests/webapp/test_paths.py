"""Files are served only from inside the folders named at start: `..`, absolute paths and
symlinks that lead out are refused (403), missing files are 404, through the API too."""

import shutil

import numpy as np
import pytest
from fastapi import HTTPException

from shapelib import InputError
from tests.webapp.conftest import make_client
from webapp import ServeConfig
from webapp._paths import inside, safe_name


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.txt").write_text("a")
    (tmp_path / "secret.txt").write_text("secret")
    (root / "out_link").symlink_to(tmp_path / "secret.txt")
    (root / "in_link").symlink_to(root / "sub" / "a.txt")
    return root


def _status(root, rel, **kw):
    with pytest.raises(HTTPException) as err:
        inside(root, rel, **kw)
    return err.value.status_code


def test_inside_resolves_and_refuses(tree):
    assert inside(tree, "sub/a.txt") == (tree / "sub" / "a.txt").resolve()
    assert inside(tree, "in_link").read_text() == "a"  # a symlink that stays inside is fine
    assert inside(tree, "sub", kind="dir").is_dir()
    assert _status(tree, "../secret.txt") == 403
    assert _status(tree, "sub/../../secret.txt") == 403
    assert _status(tree, "sub/..") == 403
    assert _status(tree, "/etc/passwd") == 403
    assert _status(tree, "\\windows") == 403
    assert _status(tree, "C:/x") == 403
    assert _status(tree, "out_link") == 403
    assert _status(tree, "sub/missing.txt") == 404
    assert _status(tree, "") == 404
    assert _status(tree, "a\x00b") == 404
    assert _status(tree, "sub") == 404  # a folder is not a file
    assert _status(tree, "sub/a.txt", kind="dir") == 404


def test_safe_name():
    assert safe_name("img_000.tif") == "img_000.tif"
    for bad in ("../x", "a/b", "..", "", "a b", "x" * 200):
        with pytest.raises(HTTPException) as err:
            safe_name(bad)
        assert err.value.status_code == 404


@pytest.fixture
def library_copy(webapp_data, tmp_path):
    lib = tmp_path / "lib"
    shutil.copytree(webapp_data.library, lib)
    (tmp_path / "secret.txt").write_text("secret")
    (lib / "000001" / "leak.txt").symlink_to(tmp_path / "secret.txt")
    from shapelib.io import write_tiff

    write_tiff(tmp_path / "outside" / "0_2_0.tif", np.ones((8, 8), np.uint16), pixel_size_nm=1)
    (lib / "000002" / "Epi1_imgs").symlink_to(tmp_path / "outside", target_is_directory=True)
    return lib


def test_api_serves_files_only_from_inside(library_copy):
    with make_client(ServeConfig(libraries=[library_copy])) as c:
        base = "/api/library/lib/1/files"
        r = c.get(f"{base}/raw_mesh.off")
        assert r.status_code == 200 and r.content.startswith(b"OFF")
        assert "attachment" in r.headers["content-disposition"]
        # encoded so the client keeps them; the server sees the decoded path
        for rel, code in [
            ("..%2F..%2Fsecret.txt", 403),
            ("..%2Flibrary.csv", 403),
            ("%2Fetc%2Fpasswd", 403),
            ("leak.txt", 403),
            ("nothing.txt", 404),
        ]:
            r = c.get(f"{base}/{rel}")
            assert r.status_code == code, (rel, r.status_code, r.text)
            assert "secret" not in r.text and "root:" not in r.text
            assert isinstance(r.json()["detail"], str)
        # the file list does not offer the symlink that leads out
        files = [f["path"] for f in c.get("/api/library/lib/1").json()["files"]]
        assert "raw_mesh.off" in files and "leak.txt" not in files
        # a view folder that is a symlink out is refused, not read
        r = c.get("/api/library/lib/2/views/Epi1/0.png")
        assert r.status_code == 403
        files = [f["path"] for f in c.get("/api/library/lib/2").json()["files"]]
        assert not any(f.startswith("Epi1_imgs") for f in files)


def test_library_table_cannot_lead_out(webapp_data, tmp_path):
    lib = tmp_path / "lib"
    shutil.copytree(webapp_data.library, lib)
    text = (lib / "library.csv").read_text().replace("\n1,000001,", "\n1,../..,", 1)
    (lib / "library.csv").write_text(text)
    # The table's reader refuses a folder name that is not a plain file name, so such a
    # library is never served (one line at start-up).
    with pytest.raises(InputError, match="plain file name"):
        with make_client(ServeConfig(libraries=[lib])) as c:
            c.get("/api/library/lib/1/mesh.glb")
