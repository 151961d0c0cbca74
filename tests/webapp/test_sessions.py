"""Sessions for real work (issue 33): tabs that do not wait on each other's model calls, a
history of compressed differences, sessions pushed out of memory and back from disk
identical, sessions across a server restart, objects kept up to date where the mask changed,
brush and eraser."""

import io
import threading
import time

import numpy as np
import pytest
import tifffile

from webapp._objects import ObjectTable
from webapp._segment import Click, Prediction, Suggestion
from webapp._store import SessionStore
from webapp._workbench import Workbench

A, B = "tab-aaaaaaaaaaaa", "tab-bbbbbbbbbbbb"


class ClickFake:
    """An interactive stand-in: the first mask is the image above its mean; a click paints a
    disk of radius 5 (object or background) inside a 24 px window about it. `slow` maps an
    image's first pixel value to seconds each call on it sleeps."""

    uses_clicks = True
    uncertainty_label = note = name = "fake"

    def __init__(self, slow=None):
        self.slow = slow or {}
        self.calls = self.predicts = 0

    def _wait(self, image):
        time.sleep(self.slow.get(int(np.asarray(image).flat[0]), 0.0))

    def prepare(self, image):
        return np.asarray(image, np.float32)[None]

    def predict(self, image):
        self._wait(image)
        self.predicts += 1
        img = np.asarray(image, np.float32)
        prob = (img > img.mean()).astype(np.float32)
        unc = np.abs(img - img.mean()) / max(float(np.ptp(img)), 1.0)
        return Prediction(prob, prob.astype(np.uint8), unc.astype(np.float32),
                          (Suggestion(1, 2, 0.5),), 0.0)  # fmt: skip

    def refine(self, x, clicks, current):
        self._wait(x[0])
        self.calls += 1
        c = clicks[-1]
        h, w = current.mask.shape
        win = (max(0, c.y_px - 12), min(h, c.y_px + 12), max(0, c.x_px - 12), min(w, c.x_px + 12))
        prob, unc = current.probability.copy(), current.uncertainty.copy()
        yy, xx = np.ogrid[:h, :w]
        prob[(yy - c.y_px) ** 2 + (xx - c.x_px) ** 2 <= 25] = float(c.positive)
        unc[win[0] : win[1], win[2] : win[3]] *= 0.5
        mask = (prob >= 0.5).astype(np.uint8)
        sugg = (Suggestion(c.x_px, c.y_px, float(len(clicks))),)
        return Prediction(prob, mask, unc, sugg, 0.01, window=win)


def _tiff(img, px=None) -> bytes:
    buf = io.BytesIO()
    tifffile.imwrite(buf, img)
    return buf.getvalue()


def _image(first: int, size=(96, 128), seed=0):
    rng = np.random.default_rng(seed)
    img = (rng.random(size) * 200).astype(np.uint16)
    img[0, 0] = first
    return img


def _blobs(first: int, size=(96, 128)):
    """Three bright squares on a dark ground (three objects)."""
    img = np.full(size, 10, np.uint16)
    for y, x in ((10, 10), (40, 60), (70, 100)):
        img[y : y + 12, x : x + 16] = 200
    img[0, 0] = first
    return img


def _bench(root, seg, **kw) -> Workbench:
    store = SessionStore(root, budget_bytes=kw.pop("budget", 1 << 30), max_sessions=16)
    return Workbench(seg, None, store=store, max_bytes=1 << 24, max_pixels=1 << 22, **kw)


def _same(a, b):
    assert a.name == b.name and a.pixel_size_nm == b.pixel_size_nm
    assert a.version == b.version and a.opened == b.opened
    assert a.clicks == b.clicks and [st.kind for st in a.steps] == [st.kind for st in b.steps]
    assert np.array_equal(a.image, b.image)
    for k in ("probability", "mask", "uncertainty"):
        assert np.array_equal(getattr(a.current, k), getattr(b.current, k)), k
    assert a.current.suggestions == b.current.suggestions


def test_a_slow_model_call_does_not_hold_another_tab(tmp_path):
    """Tab A's upload takes 2 s in the model; tab B's click and A's own objects table answer
    meanwhile, well before A's call ends (no global lock; the table is off the model queue)."""
    seg = ClickFake(slow={7: 2.0})
    bench = _bench(tmp_path, seg)
    bench.upload(B, _tiff(_image(1)), "b.tif", 50.0)
    bench.upload(A, _tiff(_blobs(1)), "a.tif", 50.0)
    bench.objects_table(A)  # imports and first measurement before the clock starts
    done = {}

    def slow_upload():
        bench.upload(A, _tiff(_image(7)), "slow.tif", 50.0)
        done["a"] = time.perf_counter()

    t0 = time.perf_counter()
    th = threading.Thread(target=slow_upload)
    th.start()
    time.sleep(0.2)  # A's upload is in the model now
    assert bench.pool.pending() >= 1
    s = bench.click(B, Click(40, 30, True))
    t_b = time.perf_counter() - t0
    cols, rows = bench.objects_table(A)  # A's table of its current (previous) image
    t_table = time.perf_counter() - t0
    th.join()
    assert s.clicks == [Click(40, 30, True)] and len(rows) == 3 and "label" in cols
    assert t_b < 1.0 and t_table < 1.0, (t_b, t_table)
    assert done["a"] - t0 >= 2.0 and bench.session(A).name == "slow.tif"


def test_one_tab_runs_its_calls_in_order(tmp_path):
    """Two clicks of one tab sent at once run one after the other, both in the history."""
    seg = ClickFake(slow={5: 0.3})
    bench = _bench(tmp_path, seg)
    bench.upload(A, _tiff(_image(5)), "a.tif", None)
    ths = [threading.Thread(target=bench.click, args=(A, Click(10 + 20 * k, 20, True)))
           for k in range(2)]  # fmt: skip
    for t in ths:
        t.start()
        time.sleep(0.05)
    for t in ths:
        t.join()
    s = bench.session(A)
    assert [c.x_px for c in s.clicks] == [10, 30] and s.version == 3 and seg.calls == 2


def test_history_is_compressed_windows_and_undo_is_exact(tmp_path):
    bench = _bench(tmp_path, ClickFake())
    bench.upload(A, _tiff(_image(1, size=(384, 512))), "a.tif", 50.0)
    first = bench.session(A).current
    states = []
    for k in range(12):
        s = bench.click(A, Click(20 + 40 * k, 30 + 25 * k, k % 3 != 0))
        states.append(s.current)
    full = sum(a.nbytes for a in (first.probability, first.mask, first.uncertainty))
    history = sum(st.nbytes for st in s.steps)
    assert all(st.box is not None and (st.box[1] - st.box[0]) <= 24 for st in s.steps)
    assert history < 0.2 * full, (history, full)  # 12 states in less than a fifth of one
    for k in range(11, 0, -1):
        s = bench.undo(A)
        assert np.array_equal(s.current.probability, states[k - 1].probability)
        assert np.array_equal(s.current.uncertainty, states[k - 1].uncertainty)
        assert s.current.suggestions == states[k - 1].suggestions
    s = bench.reset(A)
    assert s.clicks == [] and np.array_equal(s.current.mask, first.mask)


def test_a_session_pushed_out_of_memory_comes_back_identical(tmp_path):
    bench = _bench(tmp_path, ClickFake(), budget=1)  # only the session in use stays
    bench.upload(A, _tiff(_image(1)), "a.tif", 42.0)
    for k in range(3):
        bench.click(A, Click(15 + 30 * k, 40, k != 1))
    bench.paint(A, [(5, 5), (8, 6)], 3, True)
    before = bench.session(A)
    bench.upload(B, _tiff(_image(2)), "b.tif", None)
    assert bench.store.in_memory() == [] and bench.store.evicted >= 2
    after = bench.session(A)
    assert after is not before
    _same(before, after)
    # and it goes on from there: undo the paint, then the third click
    s = bench.undo(A)
    s = bench.undo(A)
    assert len(s.clicks) == 2 and s.steps[-1].kind == "click"


def test_sessions_survive_a_restart(tmp_path):
    bench = _bench(tmp_path, ClickFake())
    bench.upload(A, _tiff(_image(1)), "a.tif", 42.0)
    bench.click(A, Click(30, 30, True))
    bench.click(A, Click(60, 50, False))
    bench.undo(A)
    bench.set_pixel_size(A, 55.0)
    before = bench.session(A)
    bench.pool.close()
    again = _bench(tmp_path, ClickFake())  # a new server on the same --state
    after = again.session(A)
    _same(before, after)
    assert after.pixel_size_nm == 55.0 and len(after.clicks) == 1
    listed = again.sessions()
    assert [m["id"] for m in listed] == [A] and listed[0]["name"] == "a.tif"
    assert listed[0]["clicks"] == 1
    s = again.click(A, Click(70, 20, True))
    assert len(s.clicks) == 2 and (tmp_path / A / "steps" / "000002.npz").is_file()


def test_brush_and_eraser(tmp_path):
    bench = _bench(tmp_path, ClickFake())
    img = np.zeros((64, 64), np.uint16)  # an empty first mask
    bench.upload(A, _tiff(img), "a.tif", 50.0)
    s = bench.paint(A, [(20, 20), (30, 20)], 4, True)
    assert s.current.mask[20, 20:31].all() and s.current.mask[20, 25] == 1
    assert s.current.mask[20, 35] == 0 and s.current.probability[20, 20] == 1.0
    s = bench.paint(A, [(25, 14), (25, 26)], 2, False)  # a drag across the stroke
    assert s.current.mask[20, 25] == 0 and s.current.mask[20, 20] == 1
    cols, rows = bench.objects_table(A)
    assert len(rows) == 2  # the eraser cut the stroke in two
    s = bench.undo(A)
    assert s.current.mask[20, 25] == 1 and len(bench.objects_table(A)[1]) == 1
    # a click re-predicts its window only: a brush stroke elsewhere stays
    s = bench.click(A, Click(50, 50, True))
    assert s.current.mask[20, 20] == 1 and s.current.mask[50, 50] == 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_objects_follow_the_mask_where_it_changed(seed):
    """Objects kept up to date by boxes match a fresh count after each of many edits."""
    from skimage.measure import label

    from segtrain import QuantifyParams, quantify_mask

    rng = np.random.default_rng(seed)
    mask = np.zeros((80, 100), np.uint8)
    for _ in range(12):
        y, x = rng.integers(0, 72), rng.integers(0, 90)
        mask[y : y + rng.integers(2, 9), x : x + rng.integers(2, 11)] = 1
    table, params = ObjectTable(), QuantifyParams(pixel_size_nm=40.0)
    for _ in range(12):
        mask = mask.copy()
        y, x = rng.integers(0, 70), rng.integers(0, 90)
        h, w = rng.integers(2, 12), rng.integers(2, 12)
        mask[y : y + h, x : x + w] = rng.integers(0, 2)
        table.update(mask)
        got = table.table(params)
        fresh = label(mask > 0, connectivity=1)
        # the same objects (a one-to-one map of labels), measured the same
        pairs = set(zip(fresh[mask > 0].tolist(), table.labels[mask > 0].tolist(), strict=True))
        assert len(pairs) == fresh.max() == len(got) and (table.labels[mask == 0] == 0).all()
        want = quantify_mask(mask, params=params)
        key = ["area_px", "perimeter_um", "centroid_y_px", "centroid_x_px", "class"]
        a = got[key].sort_values(key[2:4]).reset_index(drop=True)
        b = want[key].sort_values(key[2:4]).reset_index(drop=True)
        assert a["area_px"].tolist() == b["area_px"].tolist()
        np.testing.assert_allclose(a[key[1:4]].to_numpy(float), b[key[1:4]].to_numpy(float))
        assert a["class"].tolist() == b["class"].tolist()


def _shapes():
    yy, xx = np.ogrid[:40, :40]
    r2 = (yy - 20) ** 2 + (xx - 20) ** 2
    rod = np.zeros((12, 80), bool)
    rod[3:9, 2:78] = True
    cross = np.zeros((80, 80), bool)
    cross[37:43, 5:75] = True
    cross[5:75, 37:43] = True
    tunnel = np.zeros((10, 700), bool)
    tunnel[3:7, 2:698] = True
    return [("dot", r2 <= 25), ("donut", (r2 <= 225) & (r2 >= 64)), ("rod", rod),
            ("network", cross), ("nano-tunnel", tunnel)]  # fmt: skip


@pytest.mark.parametrize(("want", "obj"), _shapes(), ids=[w for w, _ in _shapes()])
def test_objects_get_the_library_classes(want, obj):
    """A 0.5 um disk, a ring, a 3.8 um rod, a cross and a 35 um tube at 50 nm pixels."""
    from shapelib import SHAPE_CLASSES
    from webapp._classes import library_class

    assert want in SHAPE_CLASSES and library_class(np.pad(obj, 2), 50.0) == want


def test_next_image_keeps_the_work_on_the_last(tmp_path):
    """Moving to another image keeps the clicks on the one left; coming back restores them
    (no model call), also after a restart."""
    seg = ClickFake()
    bench = _bench(tmp_path, seg)
    bench.upload(A, _tiff(_blobs(1)), "one.tif", 40.0)
    bench.click(A, Click(20, 15, True))
    one = bench.session(A).current
    bench.upload(A, _tiff(_blobs(2)), "two.tif", None)
    s = bench.paint(A, [(3, 3)], 1, True)
    assert s.name == "two.tif" and s.clicks == [] and s.pixel_size_nm is None
    assert bench.store.shelved(A) == ["one.tif"]
    bench.pool.close()
    bench = _bench(tmp_path, seg)
    calls = seg.predicts
    s = bench.upload(A, _tiff(_blobs(1)), "one.tif", None)
    assert s.clicks == [Click(20, 15, True)] and s.pixel_size_nm == 40.0 and seg.predicts == calls
    assert np.array_equal(s.current.mask, one.mask) and bench.store.shelved(A) == ["two.tif"]
    s = bench.upload(A, _tiff(_blobs(2)), "two.tif", None)
    assert [st.kind for st in s.steps] == ["paint"]


def test_delete_an_object_and_export_every_image(tmp_path):
    import zipfile

    import pandas as pd

    bench = _bench(tmp_path, ClickFake())
    bench.upload(A, _tiff(_blobs(1)), "one.tif", 40.0)
    from fastapi import HTTPException

    with pytest.raises(HTTPException, match="no object"):
        bench.delete_object(A, 45, 15)  # background
    s = bench.delete_object(A, 15, 15)  # the first square (rows 10-21, columns 10-25)
    assert s.steps[-1].kind == "delete" and s.current.mask[10:22, 10:26].sum() == 0
    assert len(bench.objects_table(A)[1]) == 2 and s.current.mask[45, 65] == 1
    bench.upload(A, _tiff(_blobs(2)), "two.tif", None)  # no pixel size: labels, no rows
    name, data = bench.folder_zip(A)
    z = zipfile.ZipFile(io.BytesIO(data))
    assert sorted(z.namelist()) == ["objects.csv", "one_labels.tif", "two_labels.tif"]
    one = tifffile.imread(io.BytesIO(z.read("one_labels.tif")))
    two = tifffile.imread(io.BytesIO(z.read("two_labels.tif")))
    assert one.dtype == np.uint16 and len(np.unique(one)) == 3 and len(np.unique(two)) == 4
    table = pd.read_csv(io.BytesIO(z.read("objects.csv")))
    assert set(table["image"]) == {"one.tif"}
    assert sorted(table["label"]) == sorted(np.unique(one[one > 0]).tolist())
    for _, row in table.iterrows():
        assert (one == row["label"]).sum() == row["area_px"]


def test_a_damaged_step_on_disk_keeps_the_steps_before_it(tmp_path):
    bench = _bench(tmp_path, ClickFake())
    bench.upload(A, _tiff(_blobs(1)), "a.tif", 40.0)
    states = [bench.click(A, Click(20 + 30 * k, 30, True)).current for k in range(3)]
    (tmp_path / A / "steps" / "000002.npz").write_bytes(b"cut short")
    bench.pool.close()
    again = _bench(tmp_path, ClickFake())
    s = again.session(A)
    assert len(s.clicks) == 1 and np.array_equal(s.current.mask, states[0].mask)
    assert sorted(p.name for p in (tmp_path / A / "steps").iterdir()) == ["000001.npz"]
    s = again.click(A, Click(90, 60, True))  # and goes on from there
    assert len(s.clicks) == 2


def test_cli_state_that_cannot_be_written_is_one_line(invoke, tmp_path, webapp_data):
    (tmp_path / "file").write_text("not a folder")
    r = invoke("serve", "--run", webapp_data.run, "--state", tmp_path / "file", "--port", 0)
    assert r.exit_code == 2 and r.stderr.startswith("error: --state")
    assert len(r.stderr.strip().splitlines()) == 1


class _SlowOpen(ClickFake):
    """Opening an image whose first pixel is 7 takes 8 s; clicks are quick."""

    def __init__(self):
        super().__init__(slow={7: 8.0})

    def refine(self, x, clicks, current):
        return super().refine(np.zeros_like(x), clicks, current)


def test_requests_waiting_for_the_model_do_not_starve_the_server(webapp_data, tmp_path):
    """60 clicks of one tab queued behind its 8 s upload hold 60 request threads; the server
    still answers another tab meanwhile (more threads than anyio's default 40; with 40 it
    would wait for the upload)."""
    import httpx

    from webapp import ServeConfig, running_server

    cfg = ServeConfig(run=webapp_data.run, port=0, state=tmp_path / "state")
    with running_server(cfg) as srv:
        srv.app.state.served.bench.segmenter = _SlowOpen()
        url = srv.url + "api/segment/"
        up = threading.Thread(target=lambda: httpx.post(
            url + "upload", headers={"X-Session-Id": A}, timeout=60,
            files={"file": ("slow.tif", _tiff(_image(7)))}))  # fmt: skip
        up.start()
        time.sleep(0.3)
        codes = []
        clicks = [threading.Thread(target=lambda k=k: codes.append(httpx.post(
            url + "click", headers={"X-Session-Id": A}, timeout=60,
            json={"x_px": k, "y_px": 5}).status_code)) for k in range(60)]  # fmt: skip
        for t in clicks:
            t.start()
        pool, end = srv.app.state.served.bench.pool, time.monotonic() + 20
        while pool.pending() < 50 and time.monotonic() < end:  # each waits in a thread
            time.sleep(0.05)
        queued = pool.pending()
        t0 = time.perf_counter()
        r = httpx.get(url + "state", headers={"X-Session-Id": B}, timeout=60)
        waited = time.perf_counter() - t0
        up.join()
        for t in clicks:
            t.join()
        assert queued >= 50, queued  # more than anyio's default 40 threads are waiting
        assert r.status_code == 200 and waited < 2.5, waited
        assert codes == [200] * 60
        assert len(httpx.get(url + "state", headers={"X-Session-Id": A}).json()["clicks"]) == 60


def test_a_table_measured_while_the_mask_changes_stops_and_keeps_its_rows():
    """Measuring stops between two chunks once a newer change came; what it measured stays,
    and the next call measures only the rest."""
    from segtrain import QuantifyParams
    from webapp._objects import CHUNK

    mask = np.zeros((100, 100), np.uint8)
    mask[1::4, 1::4] = mask[2::4, 1::4] = 1  # 625 objects of 2 pixels
    table, params = ObjectTable(), QuantifyParams(pixel_size_nm=40.0)
    table.update(mask)
    looks = []
    assert table.table(params, stop=lambda: looks.append(1) or True) is None
    assert len(table.rows) == CHUNK and looks == [1]
    got = table.table(params, stop=lambda: False)
    assert len(got) == 625 and got["label"].tolist() == list(range(1, 626))
    assert (got["area_px"] == 2).all()


def test_uploads_leave_a_worker_for_clicks():
    """Two tabs' whole-image predictions run one after the other on a 2-worker pool; a third
    tab's click passes them both."""
    from webapp._pool import ModelPool

    pool = ModelPool(workers=2)
    t0 = time.perf_counter()
    ends = {}

    def job(name, s):
        time.sleep(s)
        ends[name] = time.perf_counter() - t0

    a = pool.submit("a", lambda: job("a", 0.8), heavy=True)
    b = pool.submit("b", lambda: job("b", 0.8), heavy=True)
    time.sleep(0.1)
    c = pool.submit("c", lambda: job("c", 0.05))
    for f in (a, b, c):
        f.result(timeout=10)
    pool.close()
    assert ends["c"] < 0.5 and ends["a"] < 1.2 and ends["b"] >= 1.6, ends
