"""End to end in real headless Chromium (the system's /usr/bin/chromium via Python Playwright):
every page loads without a console error, the library filters, an instance's 3D view draws,
clicks on the Segment page come back from the server as markers, tabs stay apart, zoom,
brush, eraser, keys, next image with its work kept, labels matching the table, merge and
commit (with undo), a change redrawn by its box, a saved session deleted by its browser, undo
across a server restart, a corrupt upload shows a readable error. One server and one browser for the
module; screenshots of each page go to ``$MITOSHAPE_SCREENSHOTS`` (else
``<pytest basetemp>/webapp_screens*/``)."""

from __future__ import annotations

import io
import os
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import tifffile

from tests.conftest import SHARED_DATA
from webapp import ServeConfig, running_server
from webapp._screens import open_dataset, open_instance, open_library, open_segment

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


@pytest.fixture(scope="module")
def browser():
    from webapp import launch_chromium
    from webapp._screens import chromium_path

    try:
        chromium_path()
    except FileNotFoundError as err:
        pytest.skip(str(err))
    pw = playwright_api.sync_playwright().start()
    b = launch_chromium(pw)
    yield b
    b.close()
    pw.stop()


@pytest.fixture(scope="module")
def server(webapp_data, tmp_path_factory):
    libraries = [webapp_data.library]
    released = SHARED_DATA / "3dmsl_samples"
    if released.is_dir():
        libraries.append(released)  # side by side with a released 3DMSL folder
    cfg = ServeConfig(libraries=libraries, datasets=[webapp_data.dataset],
                      run=webapp_data.interactive_run, images=webapp_data.images,
                      port=0, state=tmp_path_factory.mktemp("state"))  # fmt: skip
    with running_server(cfg) as srv:
        yield srv


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    """Where screenshots go: $MITOSHAPE_SCREENSHOTS when set, else a pytest temp folder."""
    folder = os.environ.get("MITOSHAPE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        return Path(folder)
    return tmp_path_factory.mktemp("webapp_screens")


@dataclass
class Tab:
    page: object
    errors: list = field(default_factory=list)

    def assert_no_console_errors(self, allow: tuple[str, ...] = ()):
        bad = [e for e in self.errors if not any(a in e for a in allow)]
        assert not bad, f"console errors: {bad}"


def _tab(context) -> Tab:
    page = context.new_page()
    tab = Tab(page)
    page.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: tab.errors.append(f"uncaught: {e}"))
    page.set_default_timeout(60_000)
    return tab


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    yield ctx
    ctx.close()


@pytest.fixture
def tab(context):
    return _tab(context)


def _png(data: bytes) -> np.ndarray:
    import imagecodecs

    return imagecodecs.png_decode(data)


def _all_measured(catalog, timeout_s: float = 180.0) -> None:
    """Wait until the released instances measured in the background are done, so the rows the
    test expects are the rows the page shows (the page refreshes while any are pending)."""
    catalog.start()
    end = time.monotonic() + timeout_s
    while catalog.n_pending():
        if time.monotonic() > end:
            pytest.fail(f"{catalog.n_pending()} released instances still unmeasured")
        time.sleep(0.2)


def test_library_filter_and_sort(server, tab, shots):
    page = tab.page
    _all_measured(server.app.state.served.catalog)
    rows = server.app.state.served.catalog.rows()
    ours = [r for r in rows if r["library"] == "lib"]
    cls = ours[0]["class"]
    open_library(page, server.url)
    assert page.locator(".lib-card").count() == len(server.app.state.served.catalog.libraries)
    assert page.locator("#lib-view tr.row").count() == len(rows)
    page.screenshot(path=str(shots / "library.png"), full_page=True)
    # one class
    page.select_option("#f-class", cls)
    shown = page.locator("#lib-view tr.row")
    want = sum(r["class"] == cls for r in rows)
    assert shown.count() == want >= 1
    col = page.locator("#lib-view th").all_inner_texts().index("class")
    classes = [shown.nth(i).locator("td").nth(col).inner_text().strip() for i in range(want)]
    assert classes == [cls] * want
    assert page.inner_text("#lib-count") == f"showing {want} of {len(rows)}"
    # a volume range: only instances at least as large as the median remain
    page.click("#f-reset")
    page.wait_for_selector("#main[data-ready='1'] .lib-card")
    vols = sorted(r["mesh_volume_um3"] for r in ours)
    page.fill("input[aria-label='Volume (µm³) min']", str(vols[len(vols) // 2]))
    assert page.locator("#lib-view tr.row").count() == sum(
        (r.get("mesh_volume_um3") or -1) >= vols[len(vols) // 2] for r in rows
    )
    # sort by volume, twice: ascending then descending
    page.click("#f-reset")
    page.wait_for_selector("#main[data-ready='1'] .lib-card")
    page.select_option("#f-library", "lib")
    page.click("#lib-view th[data-key='mesh_volume_um3']")
    col = page.locator("#lib-view th").all_inner_texts().index("mesh_volume_um3 ▲")
    cells = page.locator(f"#lib-view tr.row td:nth-child({col + 1})")
    got = [float(t) for t in cells.all_inner_texts()]
    assert got == sorted(got) and len(got) == len(ours)
    page.click("#lib-view th[data-key='mesh_volume_um3']")
    got = [float(t) for t in cells.all_inner_texts()]
    assert got == sorted(got, reverse=True)
    tab.assert_no_console_errors()


def test_library_thumbnails(server, tab, shots):
    page = tab.page
    open_library(page, server.url)
    page.click("button[data-mode='grid']")
    page.wait_for_selector(".thumb img.drawn")
    assert page.locator(".thumb").count() == len(server.app.state.served.catalog.rows())
    pic = _png(page.locator(".thumb img.drawn").first.screenshot())
    assert _non_blank(pic, pic[1, 1, :3]) > 0.01
    page.screenshot(path=str(shots / "library_thumbnails.png"), full_page=True)
    tab.assert_no_console_errors()


def _non_blank(pic: np.ndarray, background) -> float:
    diff = np.abs(pic[..., :3].astype(int) - np.asarray(background)[None, None]).sum(-1)
    return float(np.mean(diff > 30))


def test_instance_3d_view_draws_and_turns(server, tab, shots):
    page = tab.page
    lib = server.app.state.served.catalog.libraries["lib"]
    iid = int(lib.rows[0]["id"])
    open_instance(page, server.url, "lib", iid)
    canvas = page.locator("#viewer")
    first = _png(canvas.screenshot())
    corner = first[2, 2, :3]  # the background colour
    filled = _non_blank(first, corner)
    assert 0.005 < filled < 0.9, filled
    # orange-ish pixels: the mesh in its class colour, lit
    assert int(canvas.get_attribute("data-triangles")) > 100
    page.screenshot(path=str(shots / "instance.png"), full_page=True)
    # drag to turn: the picture changes
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 200, box["y"] + 240)
    page.mouse.down()
    page.mouse.move(box["x"] + 320, box["y"] + 200, steps=6)
    page.mouse.up()
    page.wait_for_timeout(100)
    turned = _png(canvas.screenshot())
    assert np.mean(np.any(turned != first, axis=-1)) > 0.002
    # the scale bar: a nice length with its width in pixels
    um = float(page.get_attribute(".scalebar .bar", "data-um"))
    assert um in {m * 10**k for m in (1, 2, 5) for k in range(-3, 4)}
    width = page.locator(".scalebar .bar").bounding_box()["width"]
    assert 20 < width < 480
    assert page.inner_text(".scalebar span").endswith("µm")
    # measurements and the microscope views
    assert page.locator("#skeleton tr").count() >= 5
    assert page.locator("figure.view.loaded").count() == 3
    tab.assert_no_console_errors()


def _object_pixel(webapp_data, name, mask):
    """A pixel near the middle of the largest true object of a dataset image, where `mask`
    misses it if it misses any."""
    inst = tifffile.imread(webapp_data.dataset / "instances" / name)
    missed = np.where(mask == 0, inst, 0)
    if missed.any():
        inst = missed
    ids, counts = np.unique(inst[inst > 0], return_counts=True)
    ys, xs = np.nonzero(inst == ids[np.argmax(counts)])
    k = np.argsort(ys * inst.shape[1] + xs)[len(ys) // 2]
    return int(xs[k]), int(ys[k])


def _click_pixel(page, x, y, w, h, *, shift=False, **kw):
    box = page.locator("#seg-img").bounding_box()
    if shift:
        page.keyboard.down("Shift")
    page.mouse.click(box["x"] + (x + 0.5) * box["width"] / w,
                     box["y"] + (y + 0.5) * box["height"] / h, **kw)  # fmt: skip
    if shift:
        page.keyboard.up("Shift")


def _sid(page) -> str:
    return page.evaluate("sessionStorage.getItem('mitoshape-session')")


def test_segment_click_round_trip(server, tab, shots, webapp_data):
    page = tab.page
    name = "img_000000.tif"
    open_segment(page, server.url, name)
    bench = server.app.state.served.bench
    session = bench.session(_sid(page))
    h, w = session.image.shape
    first = session.first
    # suggestions and the uncertainty map are shown
    assert page.locator("#seg-marks .suggestion").count() == len(first.suggestions) >= 1
    page.wait_for_selector("#seg-unc.loaded")
    assert "sampled masks" in page.inner_text("#seg-unc-label")  # the interactive prob_unet
    assert "re-predicts a window" in page.inner_text("#seg-note")
    # a positive click on a mitochondrion (one the mask misses) comes back as a marker there
    x, y = _object_pixel(webapp_data, name, first.mask)
    version = int(page.get_attribute("#seg-stage", "data-version"))
    _click_pixel(page, x, y, w, h)
    page.wait_for_selector("#seg-marks .click.pos")
    mark = page.locator("#seg-marks .click.pos")
    assert (int(mark.get_attribute("data-x")), int(mark.get_attribute("data-y"))) == (x, y)
    assert int(page.get_attribute("#seg-stage", "data-version")) == version + 1
    session = bench.session(_sid(page))
    assert [(c.x_px, c.y_px, c.positive) for c in session.clicks] == [(x, y, True)]
    assert bench.segmenter.uses_clicks  # the mask takes the click
    assert session.current.mask[y, x] == 1 and session.current is not first
    page.screenshot(path=str(shots / "segment.png"), full_page=True)
    # shift-click and right-click are negative; undo and reset
    _click_pixel(page, 2, 2, w, h, shift=True)
    page.wait_for_selector("#seg-marks .click.neg")
    _click_pixel(page, 5, 3, w, h, button="right")
    expect(page.locator("#seg-marks .click.neg")).to_have_count(2)
    assert [c.positive for c in bench.session(_sid(page)).clicks] == [True, False, False]
    page.click("#seg-undo")
    expect(page.locator("#seg-marks .click")).to_have_count(2)
    page.click("#seg-reset")
    expect(page.locator("#seg-marks .click")).to_have_count(0)
    assert bench.session(_sid(page)).clicks == []
    # the morphology table follows the mask
    page.wait_for_selector("#seg-objects p")
    tab.assert_no_console_errors()


def test_two_tabs_do_not_share_clicks(server, context):
    a, b = _tab(context), _tab(context)
    open_segment(a.page, server.url, "img_000001.tif")
    w = h = 96
    _click_pixel(a.page, 10, 12, w, h)
    a.page.wait_for_selector("#seg-marks .click.pos")
    open_segment(b.page, server.url)
    assert b.page.locator("#seg-stage").is_hidden()  # nothing open in tab B
    open_segment(b.page, server.url, "img_000001.tif")
    assert b.page.locator("#seg-marks .click").count() == 0
    assert _sid(a.page) != _sid(b.page)
    bench = server.app.state.served.bench
    assert len(bench.session(_sid(a.page)).clicks) == 1
    assert bench.session(_sid(b.page)).clicks == []
    a.assert_no_console_errors()
    b.assert_no_console_errors()


def _drag_pixels(page, points, w, h):
    box = page.locator("#seg-img").bounding_box()
    at = [(box["x"] + (x + 0.5) * box["width"] / w, box["y"] + (y + 0.5) * box["height"] / h)
          for x, y in points]  # fmt: skip
    page.mouse.move(*at[0])
    page.mouse.down()
    for p in at[1:]:
        page.mouse.move(*p, steps=4)
    page.mouse.up()


def _wait_version(page, version: int) -> None:
    page.wait_for_selector(f"#seg-stage[data-version='{version}']")


def test_segment_zoom_brush_eraser_keys_next_image_and_labels(server, tab, webapp_data):
    page = tab.page
    open_segment(page, server.url, "img_000000.tif")
    bench = server.app.state.served.bench
    sid = _sid(page)
    w = h = 96
    assert page.locator("#seg-keys dt").count() >= 6  # the shortcuts are listed
    # zoom with the wheel and back with 0; the image is drawn larger, then fits again
    before = page.locator("#seg-img").bounding_box()["width"]
    box = page.locator("#seg-viewport").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -200)
    expect(page.locator("#seg-zoom")).to_have_text("125 %")
    assert page.locator("#seg-img").bounding_box()["width"] == pytest.approx(
        before * 1.25, rel=0.02
    )
    page.keyboard.press("0")
    expect(page.locator("#seg-zoom")).to_have_text("100 %")
    # brush (b) a stroke, erase (e) across it, undo (z) the eraser
    version = int(page.get_attribute("#seg-stage", "data-version"))
    page.keyboard.press("b")
    page.fill("#seg-radius", "3")
    _drag_pixels(page, [(10, 80), (40, 80)], w, h)
    _wait_version(page, version + 1)
    s = bench.session(sid)
    assert s.current.mask[80, 10:41].all() and s.steps[-1].kind == "paint"
    page.keyboard.press("e")
    _drag_pixels(page, [(25, 70), (25, 90)], w, h)
    _wait_version(page, version + 2)
    assert bench.session(sid).current.mask[80, 25] == 0
    page.keyboard.press("z")
    _wait_version(page, version + 3)
    assert bench.session(sid).current.mask[80, 25] == 1
    assert "1 edit by hand" in page.inner_text("#seg-count")
    # the labels TIFF and the table agree
    page.wait_for_selector("#seg-table")
    with page.expect_download() as dl:
        page.click("#seg-export-labels")
    labels = tifffile.imread(dl.value.path())
    table = bench.objects(sid)
    assert labels.dtype == np.uint16 and labels.shape == (h, w)
    assert sorted(np.unique(labels[labels > 0]).tolist()) == table["label"].tolist()
    for _, row in table.iterrows():
        assert (labels == row["label"]).sum() == row["area_px"]
    assert page.locator("#seg-table tbody tr").count() == len(table)
    # the next image (n) keeps the work on this one; previous (p) brings it back
    page.evaluate("document.activeElement && document.activeElement.blur()")  # keys to the page
    page.keyboard.press("c")
    page.keyboard.press("n")
    expect(page.locator("#seg-name")).to_contain_text("img_000001.tif")
    assert "✓" in page.locator("#seg-image option[value='img_000000.tif']").inner_text()
    page.keyboard.press("p")
    expect(page.locator("#seg-name")).to_contain_text("img_000000.tif")
    s = bench.session(sid)
    _wait_version(page, s.version)  # the page has shown the image it came back to
    assert s.current.mask[80, 25] == 1 and [st.kind for st in s.steps][:1] == ["paint"]
    # delete (d) the brushed object with a click; every image of the tab in one ZIP
    version = int(page.get_attribute("#seg-stage", "data-version"))
    page.keyboard.press("d")
    _click_pixel(page, 10, 80, w, h)
    _wait_version(page, version + 1)
    assert bench.session(sid).current.mask[80, 10:41].sum() == 0
    with page.expect_download() as dl:
        page.click("#seg-export-all")
    names = zipfile.ZipFile(dl.value.path()).namelist()
    assert {"img_000000_labels.tif", "img_000001_labels.tif", "objects.csv"} <= set(names)
    tab.assert_no_console_errors()


def _label_at(bench, sid, x, y) -> int:
    return int(bench.labelled(sid, measure=False)[1][y, x])


def _canvas_rgba(page, selector, x, y) -> list[int]:
    return page.evaluate(
        f"Array.from(document.querySelector('{selector}').getContext('2d')"
        f".getImageData({x}, {y}, 1, 1).data)"
    )


def test_segment_merge_commit_keys_and_delete_a_session(server, context):
    tab = _tab(context)
    page = tab.page
    open_segment(page, server.url, "img_000001.tif")
    bench = server.app.state.served.bench
    sid = _sid(page)
    w = h = 96
    keys = page.inner_text("#seg-keys")
    assert "Enter" in keys and "merge" in keys and "commit" in keys
    # two objects of our own: the whole mask erased, then two strokes brushed far apart
    v = int(page.get_attribute("#seg-stage", "data-version"))
    page.keyboard.press("e")
    page.fill("#seg-radius", "70")
    _drag_pixels(page, [(48, 48), (49, 48)], w, h)
    _wait_version(page, v + 1)
    assert not bench.session(sid).current.mask.any()
    page.fill("#seg-radius", "2")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("b")
    for k, row in enumerate((6, 89)):
        _drag_pixels(page, [(4, row), (14, row)], w, h)
        _wait_version(page, v + k + 2)
    v += 1
    a, b = (8, 6), (8, 89)
    assert _label_at(bench, sid, *a) != _label_at(bench, sid, *b) > 0
    # the brushed box alone was redrawn on the mask canvas, and it shows the stroke
    page.wait_for_selector("#seg-mask[data-drawn='box']")
    assert _canvas_rgba(page, "#seg-mask", *b)[3] > 0
    # merge (g): pick one object, then the other: one label
    page.keyboard.press("g")
    _click_pixel(page, *a, w, h)
    page.wait_for_selector("#seg-marks g.picked")
    _click_pixel(page, *b, w, h)
    _wait_version(page, v + 3)
    assert _label_at(bench, sid, *a) == _label_at(bench, sid, *b) > 0
    expect(page.locator("#seg-count")).to_contain_text("1 committed or merged object")
    r, g, bl, _ = _canvas_rgba(page, "#seg-mask", *a)  # orange: a label of its own
    assert r == 255 and abs(g - 150) <= 3 and bl <= 3
    # commit (Enter): the clicked object gets its label, the clicks are cleared
    page.keyboard.press("c")
    c = (50, 50)
    _click_pixel(page, *c, w, h)
    expect(page.locator("#seg-marks .click.pos")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.locator("#seg-marks .click")).to_have_count(0)
    expect(page.locator("#seg-count")).to_contain_text("2 committed or merged objects")
    s = bench.session(sid)
    assert s.clicks == [] and s.steps[-1].kind == "commit"
    ka, kc = int(s.current.instances[a[1], a[0]]), int(s.current.instances[c[1], c[0]])
    assert kc > 0 and kc != ka
    # the next click builds a new object; undo (z) twice brings the committed clicks back
    _click_pixel(page, 70, 20, w, h)
    expect(page.locator("#seg-marks .click.pos")).to_have_count(1)
    assert [(k.x_px, k.y_px) for k in bench.session(sid).clicks] == [(70, 20)]
    page.keyboard.press("z")
    expect(page.locator("#seg-marks .click")).to_have_count(0)
    page.keyboard.press("z")
    expect(page.locator("#seg-marks .click.pos")).to_have_count(1)
    assert [(k.x_px, k.y_px) for k in bench.session(sid).clicks] == [c]
    # a second tab of this browser opens an image; this tab may delete that saved session
    other = _tab(context)
    open_segment(other.page, server.url, "img_000002.tif")
    gone = _sid(other.page)
    assert gone != sid
    page.click("#seg-saved summary")
    button = page.locator(f"#seg-sessions button.seg-delete-session[data-id='{gone}']")
    expect(button).to_have_count(1)
    assert page.locator(f"#seg-sessions button[data-id='{sid}']").count() == 0  # not this tab
    button.click()
    expect(page.locator(f"#seg-sessions a[href*='{gone}']")).to_have_count(0)
    assert not (bench.store.root / gone).exists()
    assert all(m["id"] != gone for m in bench.sessions())
    tab.assert_no_console_errors()
    other.assert_no_console_errors()


def test_undo_across_a_restart(webapp_data, context, tmp_path):
    cfg = ServeConfig(run=webapp_data.interactive_run, images=webapp_data.images, port=0,
                      state=tmp_path / "state")  # fmt: skip
    a = _tab(context)
    with running_server(cfg) as srv:
        open_segment(a.page, srv.url, "img_000002.tif")
        for k in range(2):
            _click_pixel(a.page, 20 + 30 * k, 40, 96, 96)
            expect(a.page.locator("#seg-marks .click")).to_have_count(k + 1)
        sid = _sid(a.page)
        link = a.page.get_attribute("#seg-session-link", "href")
        assert link.endswith(f"?session={sid}#/segment")
    with running_server(cfg) as srv:  # a new server on the same --state
        b = _tab(context)  # another tab, opened by the link
        b.page.goto(srv.url + f"?session={sid}#/segment")
        b.page.wait_for_selector("#seg-img.loaded")
        expect(b.page.locator("#seg-marks .click")).to_have_count(2)
        b.page.click("#seg-undo")
        expect(b.page.locator("#seg-marks .click")).to_have_count(1)
        assert len(srv.app.state.served.bench.session(sid).clicks) == 1
        b.page.click("#seg-saved summary")
        expect(b.page.locator("#seg-sessions li")).to_have_count(1)
        assert "img_000002.tif" in b.page.inner_text("#seg-sessions")
        b.assert_no_console_errors()
    a.assert_no_console_errors()


def test_dataset_page(server, tab, shots, webapp_data):
    page = tab.page
    open_dataset(page, server.url)
    items = page.locator(".ds-item")
    assert items.count() == 3
    expect(page.locator(".ds-item img.loaded")).to_have_count(9)
    ds = server.app.state.served.datasets.datasets["ds"]
    for i, entry in enumerate(ds.images):
        assert items.nth(i).locator("table.objects tbody tr").count() == len(entry["objects"])
    page.screenshot(path=str(shots / "dataset.png"), full_page=True)
    tab.assert_no_console_errors()


def test_corrupt_upload_shows_a_readable_error(server, tab):
    page = tab.page
    open_segment(page, server.url)
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.zeros((16, 16), np.uint8))
    cut = buf.getvalue()[:60]
    page.set_input_files("#seg-file", files=[{"name": "cut.tif", "mimeType": "image/tiff",
                                                "buffer": cut}])  # fmt: skip
    page.wait_for_selector("#error:not([hidden])")
    text = page.inner_text("#error-text")
    assert "could not read 'cut.tif'" in text and "HTTP 422" in text
    # the browser logs the refused request itself; nothing else may fail
    tab.assert_no_console_errors(allow=("status of 422",))


@pytest.mark.slow
def test_screenshots_helper(webapp_data, tmp_path):
    from webapp import screenshots

    out = screenshots(tmp_path, libraries=[webapp_data.library], run=webapp_data.run,
                      images=webapp_data.images, datasets=[webapp_data.dataset])  # fmt: skip
    for path in (out.library, out.instance, out.segment, out.dataset):
        assert path is not None and path.stat().st_size > 10_000
        assert _png(path.read_bytes()).shape[1] == 1280
