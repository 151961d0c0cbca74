"""Segment API plumbing (with a stand-in model): open, upload, click, undo, reset, per-tab
state, limits, morphology and exports. The real adapter is tested in test_segment_adapter."""

import io

import imagecodecs
import numpy as np
import pytest
import tifffile

from shapelib.io import read_tiff, write_tiff
from tests.segtrain._tiny import disks
from tests.webapp.conftest import make_client
from webapp import ServeConfig

TAB_A = {"X-Session-Id": "tab-aaaaaaaaaaaa"}
TAB_B = {"X-Session-Id": "tab-bbbbbbbbbbbb"}


@pytest.fixture
def images(tmp_path):
    img, labels = disks(64, 3, rng=1)
    write_tiff(tmp_path / "imgs" / "scaled.tif", img, pixel_size_nm=50.0)
    tifffile.imwrite(tmp_path / "imgs" / "plain.tif", img)
    (tmp_path / "imgs" / "notes.txt").write_text("not an image")
    return tmp_path / "imgs", img, labels


@pytest.fixture
def client(webapp_data, images, fake_segmenter):
    cfg = ServeConfig(run=webapp_data.run, images=images[0], max_upload_pixels=128 * 128,
                      max_upload_bytes=256 * 1024)  # fmt: skip
    with make_client(cfg) as c:
        c.app.state.served.bench.segmenter = fake_segmenter
        yield c


def test_status_lists_images(client):
    s = client.get("/api/segment").json()
    assert s["available"] and s["images"] == ["plain.tif", "scaled.tif"]
    assert not s["uses_clicks"] and s["note"] == "fake model" and s["run"] == "fake"


def test_open_click_undo_reset(client, images):
    _, img, labels = images
    st = client.post("/api/segment/open", json={"name": "scaled.tif"}, headers=TAB_A).json()
    assert (st["width_px"], st["height_px"]) == (64, 64) and st["pixel_size_nm"] == 50.0
    assert st["clicks"] == [] and len(st["suggestions"]) == 1 and st["version"] == 1
    y, x = np.argwhere(labels == 1)[0]
    st = client.post("/api/segment/click", json={"x_px": int(x), "y_px": int(y)}, headers=TAB_A)
    st = st.json()
    assert st["clicks"] == [{"x_px": int(x), "y_px": int(y), "positive": True}]
    st = client.post("/api/segment/click", json={"x_px": 1, "y_px": 2, "positive": False},
                     headers=TAB_A).json()  # fmt: skip
    assert [c["positive"] for c in st["clicks"]] == [True, False] and st["version"] == 3
    st = client.post("/api/segment/undo", headers=TAB_A).json()
    assert len(st["clicks"]) == 1
    st = client.post("/api/segment/reset", headers=TAB_A).json()
    assert st["clicks"] == []
    r = client.post("/api/segment/click", json={"x_px": 64, "y_px": 0}, headers=TAB_A)
    assert r.status_code == 422 and "outside" in r.json()["detail"]


def test_tabs_do_not_share_state(client):
    client.post("/api/segment/open", json={"name": "scaled.tif"}, headers=TAB_A)
    client.post("/api/segment/click", json={"x_px": 3, "y_px": 4}, headers=TAB_A)
    b = client.get("/api/segment/state", headers=TAB_B).json()
    assert b["image"] is None and b["clicks"] == []
    client.post("/api/segment/open", json={"name": "plain.tif"}, headers=TAB_B)
    client.post("/api/segment/click", json={"x_px": 9, "y_px": 9}, headers=TAB_B)
    a = client.get("/api/segment/state", headers=TAB_A).json()
    b = client.get("/api/segment/state", headers=TAB_B).json()
    assert a["image"] == "scaled.tif" and [c["x_px"] for c in a["clicks"]] == [3]
    assert b["image"] == "plain.tif" and [c["x_px"] for c in b["clicks"]] == [9]


def test_layers_are_pngs(client):
    client.post("/api/segment/open", json={"name": "scaled.tif"}, headers=TAB_A)
    for layer, channels in (("image", None), ("mask", 4), ("uncertainty", 3)):
        r = client.get(f"/api/segment/layers/{layer}.png", headers=TAB_A)
        pic = imagecodecs.png_decode(r.content)
        assert pic.shape[:2] == (64, 64) and (channels is None or pic.shape[2] == channels)
    assert client.get("/api/segment/layers/secret.png", headers=TAB_A).status_code == 404
    assert client.get("/api/segment/layers/mask.png", headers=TAB_B).status_code == 409


def test_morphology_and_exports(client, images):
    from segtrain import QuantifyParams, quantify_mask

    _, img, _ = images
    client.post("/api/segment/open", json={"name": "scaled.tif"}, headers=TAB_A)
    mask = client.app.state.served.bench.session(TAB_A["X-Session-Id"]).current.mask
    t = client.get("/api/segment/objects", headers=TAB_A).json()
    want = quantify_mask(mask, params=QuantifyParams(pixel_size_nm=50.0))
    assert len(t["rows"]) == len(want) >= 1 and t["pixel_size_nm"] == 50.0
    assert [r["class"] for r in t["rows"]] == want["class"].tolist()
    np.testing.assert_allclose([r["area_um2"] for r in t["rows"]], want["area_um2"])
    r = client.get("/api/segment/export/labels.tif", headers=TAB_A)
    assert 'filename="scaled_labels.tif"' in r.headers["content-disposition"]
    (tmp := client.app.state.served.config.images.parent / "back.tif").write_bytes(r.content)
    back = read_tiff(tmp)
    assert back.data.dtype == np.uint16 and back.pixel_size_nm == (50.0, 50.0)
    assert np.array_equal(back.data > 0, mask > 0)
    # the table's labels are the TIFF's: each row's area and centroid are its label's pixels
    assert sorted(np.unique(back.data[back.data > 0]).tolist()) == [r["label"] for r in t["rows"]]
    for row in t["rows"]:
        ys, xs = np.nonzero(back.data == row["label"])
        assert ys.size == row["area_px"]
        assert (ys.mean(), xs.mean()) == pytest.approx((row["centroid_y_px"], row["centroid_x_px"]))
    r = client.get("/api/segment/export/objects.csv", headers=TAB_A)
    lines = r.text.strip().splitlines()
    assert lines[0].startswith("label,area_px,area_um2") and len(lines) == len(want) + 1


def test_no_pixel_size_asks_for_one(client):
    client.post("/api/segment/open", json={"name": "plain.tif"}, headers=TAB_A)
    r = client.get("/api/segment/objects", headers=TAB_A)
    assert r.status_code == 422 and "pixel size" in r.json()["detail"]
    st = client.post("/api/segment/pixel-size", json={"pixel_size_nm": 80}, headers=TAB_A).json()
    assert st["pixel_size_nm"] == 80.0
    assert client.get("/api/segment/objects", headers=TAB_A).status_code == 200
    r = client.post("/api/segment/pixel-size", json={"pixel_size_nm": -1}, headers=TAB_A)
    assert r.status_code == 422


def _tiff_bytes(arr, **kw) -> bytes:
    buf = io.BytesIO()
    tifffile.imwrite(buf, arr, **kw)
    return buf.getvalue()


# A colour image (its channels differ): refused, as by `mitoshape predict`.
_COLOUR = np.stack([np.zeros((16, 16)), np.eye(16), np.ones((16, 16))], -1).astype(np.uint8)


def test_an_upload_is_checked_as_the_command_line_checks_it(client, images, tmp_path):
    """The page accepted a NaN TIFF that `mitoshape predict` refuses: now both refuse it, and
    a grey image saved as RGB passes both, through one check (`shapelib.as_grey_image`)."""
    from shapelib import InputError
    from shapelib.io import read_grey

    nan = np.where(np.eye(32, dtype=bool), np.nan, 1.0).astype(np.float32)
    inf = np.full((32, 32), np.inf, np.float32)
    for name, arr in (("nan.tif", nan), ("inf.tif", inf), ("colour.tif", _COLOUR)):
        kw = {"photometric": "rgb"} if arr.ndim == 3 else {}
        data = _tiff_bytes(arr, **kw)
        r = client.post("/api/segment/upload", files={"file": (name, data)}, headers=TAB_A)
        assert r.status_code == 422, (name, r.status_code, r.text)
        (tmp_path / name).write_bytes(data)
        with pytest.raises(InputError) as cli:
            read_grey(tmp_path / name, ndims=(2, 3))  # what predict reads an image with
        web = r.json()["detail"]
        assert web.startswith(f"image {name!r} ") and "\n" not in web, web
        assert web.removeprefix(f"image {name!r}") == str(cli.value).removeprefix(
            f"image {tmp_path / name}"
        )
    grey = np.repeat(images[1][:, :, None], 3, axis=-1).astype(np.uint8)
    r = client.post("/api/segment/upload", files={"file": ("g.tif", _tiff_bytes(grey,
                    photometric="rgb"))}, headers=TAB_A)  # fmt: skip
    assert r.status_code == 200 and r.json()["width_px"] == 64, r.text


def test_uploads(client, images):
    _, img, _ = images
    up = lambda name, data, **form: client.post(  # noqa: E731
        "/api/segment/upload", files={"file": (name, data)}, data=form, headers=TAB_A
    )
    st = up("u.tif", _tiff_bytes(img)).json()
    assert st["image"] == "u.tif" and st["pixel_size_nm"] is None
    st = up("u.tif", _tiff_bytes(img), pixel_size_nm="65").json()
    assert st["pixel_size_nm"] == 65.0
    png = imagecodecs.png_encode(img)
    st = up("u.png", bytes(png)).json()
    assert st["image"] == "u.png" and st["width_px"] == 64
    # too many pixels: refused from the header, before decoding (413)
    r = up("big.tif", _tiff_bytes(np.zeros((200, 200), np.uint8)))
    assert r.status_code == 413 and "pixels" in r.json()["detail"]
    big_png = bytes(imagecodecs.png_encode(np.zeros((300, 300), np.uint8)))
    assert up("big.png", big_png).status_code == 413
    # too many bytes (413)
    r = up("huge.tif", b"\0" * (300 * 1024))
    assert r.status_code == 413
    # corrupt, empty, wrong kind, a stack: readable 422s, never a 500
    for name, data, words in [
        ("bad.tif", b"II*\0garbage" * 10, "could not read"),
        ("bad.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "could not read"),
        ("cut.tif", _tiff_bytes(img)[:200], "could not read"),
        ("empty.tif", b"", "empty"),
        ("notes.txt", b"hello", ".tif, .tiff or .png"),
        (
            "stack.tif",
            _tiff_bytes(np.zeros((3, 16, 16), np.uint8), photometric="minisblack"),
            "2D grey image",
        ),
        ("rgb.tif", _tiff_bytes(_COLOUR, photometric="rgb"), "colour image"),
    ]:
        r = up(name, data)
        assert r.status_code == 422, (name, r.status_code, r.text)
        assert words in r.json()["detail"], (name, r.json())
    assert client.get("/api/segment/state", headers=TAB_A).json()["image"] == "u.png"


def test_open_only_listed_images(client, images, tmp_path):
    for name, code in (("notes.txt", 404), ("../x.tif", 404), ("missing.tif", 404)):
        r = client.post("/api/segment/open", json={"name": name}, headers=TAB_A)
        assert r.status_code == code, (name, r.text)
    # an image that is a symlink out of the folder is listed by name but never read
    write_tiff(tmp_path / "elsewhere.tif", images[1], pixel_size_nm=5.0)
    (images[0] / "link.tif").symlink_to(tmp_path / "elsewhere.tif")
    r = client.post("/api/segment/open", json={"name": "link.tif"}, headers=TAB_A)
    assert r.status_code == 403


def test_sessions_are_bounded(webapp_data, fake_segmenter, images):
    cfg = ServeConfig(run=webapp_data.run, images=images[0], max_sessions=2)
    with make_client(cfg) as c:
        c.app.state.served.bench.segmenter = fake_segmenter
        for k in range(5):
            c.post("/api/segment/open", json={"name": "plain.tif"},
                   headers={"X-Session-Id": f"tab-{k:010d}"})  # fmt: skip
        store = c.app.state.served.bench.store
        assert len(store.in_memory()) == 2 and store.evicted == 3
        # the three pushed out were saved, not dropped: they answer from disk
        for k in range(3):
            st = c.get("/api/segment/state", headers={"X-Session-Id": f"tab-{k:010d}"}).json()
            assert st["image"] == "plain.tif" and st["width_px"] == 64


def test_a_choice_of_runs(webapp_data, images):
    """Two runs served: a tab opens its image with either; clicks go to the tab's own run,
    after a restart too."""
    cfg = ServeConfig(run=webapp_data.run, runs=(webapp_data.interactive_run,),
                      images=images[0])  # fmt: skip
    with make_client(cfg) as c:
        status = c.get("/api/segment").json()
        default, other = status["runs"]
        assert status["run"] == default and default != other
        st = c.post("/api/segment/open", json={"name": "scaled.tif", "run": other},
                    headers=TAB_A).json()  # fmt: skip
        assert st["run"] == other and st["uses_clicks"] and "re-predicts" in st["note"]
        before = c.app.state.served.bench.session(TAB_A["X-Session-Id"]).current.mask.copy()
        st = c.post("/api/segment/click", json={"x_px": 30, "y_px": 30, "positive": False},
                    headers=TAB_A).json()  # fmt: skip
        after = c.app.state.served.bench.session(TAB_A["X-Session-Id"]).current.mask
        assert after[30, 30] == 0 and not np.array_equal(before, after)
        st = c.post("/api/segment/open", json={"name": "scaled.tif"}, headers=TAB_B).json()
        assert st["run"] == default and not st["uses_clicks"]
        r = c.post("/api/segment/open", json={"name": "scaled.tif", "run": "nope"}, headers=TAB_B)
        assert r.status_code == 404 and "no run 'nope'" in r.json()["detail"]
        state = c.app.state.config.state
    with make_client(cfg.model_copy(update={"state": state})) as c:
        st = c.get("/api/segment/state", headers=TAB_A).json()
        assert st["run"] == other and st["uses_clicks"] and len(st["clicks"]) == 1
