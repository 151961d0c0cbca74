"""The Segment widget in a viewer (under xvfb-run): a run predicts the image layer in a thread
worker into instance Labels; on an interactive run a click changes the Labels near it and undo
takes it back; a plain run says in the notification area that it takes no clicks; a stack is
segmented slice by slice, said."""

from __future__ import annotations

import numpy as np

from tests.segtrain._tiny import disks
from tests.segtrain.test_refine import _scene

WAIT_MS = 20_000


def _widget(viewer, run):
    from napari_mitoshape._widget import SegmentWidget

    widget = SegmentWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.use_run(run)
    return widget


def _segment(qt, widget):
    widget.segment.clicked.emit()
    qt.waitUntil(lambda: not widget.busy(), timeout=WAIT_MS)


def _messages(monkeypatch):
    import napari_mitoshape._widget as w
    import napari_mitoshape._workers as k

    said: list[str] = []
    for name in ("show_info", "show_warning"):
        monkeypatch.setattr(w, name, said.append)
    monkeypatch.setattr(k, "show_error", said.append)
    return said


def test_a_click_changes_the_labels_near_it_and_undo_takes_it_back(qt, viewer, click_run):
    image, truth, dim = _scene()  # the dim object at (80, 120) is not seen without a click
    viewer.add_image(image, scale=(5.0, 5.0))
    widget = _widget(viewer, click_run)
    _segment(qt, widget)
    labels = viewer.layers["instances"]
    assert tuple(labels.scale) == (5.0, 5.0)
    before = np.asarray(labels.data).copy()
    assert before[80, 120] == 0 and before[40, 40] > 0
    clicks = viewer.layers["clicks"]
    clicks.add([80, 120])  # a positive click on the missed object
    qt.waitUntil(lambda: not widget.busy() and labels.data[80, 120] > 0, timeout=WAIT_MS)
    after = np.asarray(labels.data)
    assert after[dim].all()
    far = np.ones(image.shape, bool)
    far[50:110, 90:150] = False
    np.testing.assert_array_equal(after[far] > 0, before[far] > 0)  # nothing far from it
    # A background click on the bright object removes its centre; undo brings it back.
    widget.sign.value = "background (-)"
    clicks.add([40, 40])
    qt.waitUntil(lambda: not widget.busy() and labels.data[40, 40] == 0, timeout=WAIT_MS)
    assert list(clicks.features["positive"]) == [True, False]
    widget.undo.clicked.emit()
    assert labels.data[40, 40] > 0 and labels.data[80, 120] > 0 and len(clicks.data) == 1
    assert "suggested clicks" in viewer.layers


def test_a_plain_run_says_it_takes_no_clicks(qt, viewer, run, monkeypatch):
    said = _messages(monkeypatch)
    viewer.add_image(disks(32, 2, 0)[0])
    widget = _widget(viewer, __import__("segtrain").Run.open(run))
    _segment(qt, widget)
    before = np.asarray(viewer.layers["instances"].data).copy()
    viewer.layers["clicks"].add([10, 10])
    assert any("trained without clicks" in m for m in said)
    np.testing.assert_array_equal(viewer.layers["instances"].data, before)


def test_a_stack_with_a_2d_run_is_segmented_slice_by_slice_said(qt, viewer, run, monkeypatch):
    from segtrain import Run

    said = _messages(monkeypatch)
    r = Run.open(run)
    img = disks(32, 2, 0)[0]
    viewer.add_image(np.stack([img, img, img]), scale=(100.0, 5.0, 5.0))
    widget = _widget(viewer, r)
    _segment(qt, widget)
    prob = viewer.layers["probability"].data
    assert prob.shape == (3, 32, 32)
    np.testing.assert_allclose(prob[2], r.segment(img).probability, atol=1e-6)
    assert tuple(viewer.layers["instances"].scale) == (100.0, 5.0, 5.0)
    assert any("slice by slice" in m for m in said)


def test_a_run_folder_that_is_not_one_is_one_line_in_the_notifications(qt, viewer, tmp_path,
                                                                         monkeypatch):  # fmt: skip
    from napari_mitoshape._widget import RUN_FOLDER, SegmentWidget

    said = _messages(monkeypatch)
    viewer.add_image(np.zeros((16, 16), np.float32))
    widget = SegmentWidget(viewer)
    widget.model.value = RUN_FOLDER
    widget.run_dir.value = tmp_path
    _segment(qt, widget)
    assert len(said) == 1 and said[0].startswith("mitoshape: ") and "\n" not in said[0]
    assert "instances" not in viewer.layers


def test_the_model_list_holds_the_shipped_models_and_a_run_folder(qt, viewer):
    from napari_mitoshape._widget import RUN_FOLDER, SegmentWidget
    from segtrain import shipped_models

    widget = SegmentWidget(viewer)
    assert list(widget.model.choices) == [*shipped_models(), RUN_FOLDER]
    viewer.window.add_dock_widget(widget)
    widget.model.value = RUN_FOLDER
    assert not widget.run_dir.native.isHidden()


def test_predicting_and_clicking_run_off_the_viewers_thread(qt, viewer, click_run, monkeypatch):
    import threading

    import napari_mitoshape._widget as w
    from napari_mitoshape._clicks import ClickSession

    threads = []
    real_segment, real_click = w.segment_slices, ClickSession.click

    def segment(*args, **kw):
        threads.append(threading.current_thread())
        return (yield from real_segment(*args, **kw))

    def click(self, *args, **kw):
        threads.append(threading.current_thread())
        return real_click(self, *args, **kw)

    monkeypatch.setattr(w, "segment_slices", segment)
    monkeypatch.setattr(ClickSession, "click", click)
    image = _scene()[0]
    viewer.add_image(np.stack([image, image]))  # a stack: the click acts on its slice
    widget = _widget(viewer, click_run)
    _segment(qt, widget)
    labels = viewer.layers["instances"]
    viewer.layers["clicks"].add([1, 80, 120])
    qt.waitUntil(lambda: not widget.busy() and labels.data[1, 80, 120] > 0, timeout=WAIT_MS)
    assert labels.data[0, 80, 120] == 0  # the other slice is left as it was
    assert len(threads) == 2 and threading.main_thread() not in threads
