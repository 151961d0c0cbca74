"""Merge objects, commit the clicked object (micro-sam's flow), layers redrawn by the box a
change touched, suggested clicks on the map's scale, and deleting a saved session (its owner
only); with the stand-in model of conftest (plumbing) and the tiny interactive run."""

import imagecodecs
import numpy as np
import pytest
import tifffile

from shapelib.io import write_tiff
from tests.segtrain._tiny import disks
from tests.webapp.conftest import make_client
from webapp import ServeConfig

TAB = {"X-Session-Id": "tab-cccccccccccc"}
OWNER_A = "a" * 32
OWNER_B = "b" * 32


@pytest.fixture
def images(tmp_path):
    img, labels = disks(64, 3, rng=1)
    write_tiff(tmp_path / "imgs" / "scaled.tif", img, pixel_size_nm=50.0)
    return tmp_path / "imgs", labels


@pytest.fixture
def cfg(webapp_data, images, tmp_path):
    return ServeConfig(run=webapp_data.run, images=images[0], state=tmp_path / "state")


def _client(cfg, fake):
    c = make_client(cfg)
    c.__enter__()
    c.app.state.served.bench.segmenter = fake
    return c


def _open(c, owner=OWNER_A):
    r = c.post("/api/segment/open", json={"name": "scaled.tif"}, headers={**TAB, "X-Owner": owner})
    assert r.status_code == 200, r.text
    return r.json()


def _objects(c):
    """The export's labels and, per label, one pixel (x, y) of it."""
    s, labels, _ = c.app.state.served.bench.labelled(TAB["X-Session-Id"], measure=False)
    points = {}
    for k in np.unique(labels[labels > 0]):
        ys, xs = np.nonzero(labels == k)
        points[int(k)] = (int(xs[0]), int(ys[0]))
    return labels, points


def _table_labels(c):
    return [r["label"] for r in c.get("/api/segment/objects", headers=TAB).json()["rows"]]


def test_merge_two_objects_into_one_label_and_undo(cfg, fake_segmenter):
    c = _client(cfg, fake_segmenter)
    try:
        _open(c)
        labels, pts = _objects(c)
        assert len(pts) >= 2  # objects apart
        (ka, a), (kb, b) = list(pts.items())[:2]
        n = len(_table_labels(c))
        body = {"a": {"x_px": a[0], "y_px": a[1]}, "b": {"x_px": b[0], "y_px": b[1]}}
        st = c.post("/api/segment/merge", json=body, headers=TAB).json()
        assert st["committed"] == 1 and st["edits"] == 1
        merged, _ = _objects(c)
        one = merged[labels == ka]
        assert np.all(one == one[0]) and np.all(merged[labels == kb] == one[0])  # one label
        assert np.array_equal(merged > 0, labels > 0)  # the mask is unchanged
        rows = c.get("/api/segment/objects", headers=TAB).json()["rows"]
        assert len(rows) == n - 1
        area = {r["label"]: r["area_px"] for r in rows}[int(one[0])]
        assert area == int((labels == ka).sum() + (labels == kb).sum())
        # the export holds the merged label, as the table does
        tif = tifffile.imread(__import__("io").BytesIO(
            c.get("/api/segment/export/labels.tif", headers=TAB).content))  # fmt: skip
        assert sorted(np.unique(tif[tif > 0]).tolist()) == sorted(r["label"] for r in rows)
        # refused: the same object twice, background
        same = {"a": body["a"], "b": body["a"]}
        assert c.post("/api/segment/merge", json=same, headers=TAB).status_code == 422
        bg = {"a": body["a"], "b": {"x_px": 0, "y_px": 0}}
        assert labels[0, 0] == 0
        assert c.post("/api/segment/merge", json=bg, headers=TAB).status_code == 422
        st = c.post("/api/segment/undo", headers=TAB).json()
        assert st["committed"] == 0 and len(_table_labels(c)) == n
    finally:
        c.__exit__(None, None, None)


def test_commit_gives_the_clicked_object_its_label_and_clears_the_clicks(cfg, fake_segmenter):
    c = _client(cfg, fake_segmenter)
    try:
        _open(c)
        labels, pts = _objects(c)
        (ka, a), (kb, b) = list(pts.items())[:2]
        r = c.post("/api/segment/commit", headers=TAB)
        assert r.status_code == 422 and "nothing to commit" in r.json()["detail"]
        c.post("/api/segment/click", json={"x_px": a[0], "y_px": a[1]}, headers=TAB)
        st = c.post("/api/segment/commit", headers=TAB).json()
        assert st["clicks"] == [] and st["committed"] == 1
        s = c.app.state.served.bench.session(TAB["X-Session-Id"])
        inst = s.current.instances
        assert inst.dtype == np.uint16 and set(np.unique(inst[labels == ka])) == {1}
        assert not inst[labels != ka].any()
        # the next clicks build a new object: only they are the session's clicks
        c.post("/api/segment/click", json={"x_px": b[0], "y_px": b[1]}, headers=TAB)
        st = c.get("/api/segment/state", headers=TAB).json()
        assert [(k["x_px"], k["y_px"]) for k in st["clicks"]] == [b]
        st = c.post("/api/segment/commit", headers=TAB).json()
        assert st["committed"] == 2 and st["clicks"] == []
        inst = c.app.state.served.bench.session(TAB["X-Session-Id"]).current.instances
        assert set(np.unique(inst[labels == kb])) == {2}
        # undo the commit: its clicks come back, the object has no label of its own again
        st = c.post("/api/segment/undo", headers=TAB).json()
        assert st["committed"] == 1 and [(k["x_px"], k["y_px"]) for k in st["clicks"]] == [b]
    finally:
        c.__exit__(None, None, None)
    # after a restart on the same --state: the committed object and the clicks are back
    c = _client(cfg, fake_segmenter)
    try:
        st = c.get("/api/segment/state", headers=TAB).json()
        assert st["committed"] == 1 and [(k["x_px"], k["y_px"]) for k in st["clicks"]] == [b]
        inst = c.app.state.served.bench.session(TAB["X-Session-Id"]).current.instances
        assert set(np.unique(inst[labels == ka])) == {1}
    finally:
        c.__exit__(None, None, None)


def test_a_change_redraws_only_its_box(cfg, fake_segmenter):
    c = _client(cfg, fake_segmenter)
    try:
        st = _open(c)
        v = st["version"]
        st = c.post("/api/segment/paint", json={"points": [[10, 50], [30, 50]], "radius_px": 2},
                    headers=TAB).json()  # fmt: skip
        assert st["changed_from"] == v and st["changed_box"] == [48, 53, 8, 33]
        y0, y1, x0, x1 = st["changed_box"]
        whole = imagecodecs.png_decode(c.get("/api/segment/layers/mask.png", headers=TAB).content)
        part = c.get("/api/segment/layers/mask.png", params={"box": "48,53,8,33"}, headers=TAB)
        part = imagecodecs.png_decode(part.content)
        assert part.shape[:2] == (5, 25) and np.array_equal(part, whole[y0:y1, x0:x1])
        assert part[2, :, 3].all()  # the brushed stroke fills its box's middle row
        unc = c.get("/api/segment/layers/uncertainty.png", params={"box": "0,4,0,4"}, headers=TAB)
        assert imagecodecs.png_decode(unc.content).shape[:2] == (4, 4)
        for bad in ("0,0,0,4", "1,2,3", "0,65,0,4", "a,b,c,d"):
            r = c.get("/api/segment/layers/mask.png", params={"box": bad}, headers=TAB)
            assert r.status_code == 422, bad
        st = c.post("/api/segment/undo", headers=TAB).json()
        assert st["changed_from"] == v + 1 and st["changed_box"] == [48, 53, 8, 33]
    finally:
        c.__exit__(None, None, None)


def test_delete_a_saved_session_by_its_owner_only(cfg, fake_segmenter):
    c = _client(cfg, fake_segmenter)
    try:
        _open(c, owner=OWNER_A)
        sid = TAB["X-Session-Id"]
        mine = c.get("/api/segment/sessions", headers={"X-Owner": OWNER_A}).json()["sessions"]
        theirs = c.get("/api/segment/sessions", headers={"X-Owner": OWNER_B}).json()["sessions"]
        assert [(m["id"], m["owned"]) for m in mine] == [(sid, True)]
        assert [(m["id"], m["owned"]) for m in theirs] == [(sid, False)]
        assert "owner" not in mine[0]  # the owner's hash is not handed out
        for h in ({"X-Owner": OWNER_B}, {}):
            r = c.delete(f"/api/segment/sessions/{sid}", headers=h)
            assert r.status_code == 403 and "browser that opened" in r.json()["detail"]
        assert c.delete("/api/segment/sessions/tab-nonexistent", headers={"X-Owner": OWNER_A}
                        ).status_code == 404  # fmt: skip
        assert c.delete("/api/segment/sessions/x", headers={"X-Owner": OWNER_A}).status_code == 400
        assert c.delete(f"/api/segment/sessions/{sid}", headers={"X-Owner": OWNER_A}
                        ).status_code == 204  # fmt: skip
        assert c.get("/api/segment/sessions").json()["sessions"] == []
        assert not (cfg.state / sid).exists() and not list(cfg.state.glob(".deleted-*"))
        assert c.get("/api/segment/state", headers=TAB).json().get("image") is None
    finally:
        c.__exit__(None, None, None)


def test_suggested_clicks_score_the_uncertainty_the_map_shows(webapp_data, images):
    from shapelib.io import read_tiff
    from webapp._png import UNCERTAINTY_VMAX
    from webapp._segment import Segmenter

    seg = Segmenter.open(webapp_data.interactive_run)
    img = read_tiff(images[0] / "scaled.tif").data
    p = seg.predict(img)
    assert p.suggestions
    for g in p.suggestions:
        assert g.score == pytest.approx(float(p.uncertainty[g.y_px, g.x_px]))
        assert 0 < g.score <= UNCERTAINTY_VMAX
