"""The Simulate part of the plugin: a library shape's layers are `render_view`'s image and
mask with the same seed, scaled in nm (2D and z-stack); the widget adds them to a viewer."""

from __future__ import annotations

import numpy as np
import pytest

from napari_mitoshape._simulate import read_one_shape, shape_choices, simulate_layers
from tests.simulator._shapes import capsule, sphere, write_library

WAIT_MS = 30_000


@pytest.fixture
def library(tmp_path):
    return write_library(
        tmp_path / "lib", {1: (capsule(800.0, 200.0), "rod"), 2: (sphere(300), "dot")}
    )


def test_the_layers_are_render_view_with_the_same_seed_in_nm(library):
    from simulator import EPI1, Acquisition, render_view

    assert shape_choices(library) == [("000001 rod", "000001"), ("000002 dot", "000002")]
    shape = read_one_shape(library, "000001")
    acq = Acquisition(size_px=32)
    (img, ik, it), (mask, mk, mt) = simulate_layers(shape, EPI1, view="x90", acquisition=acq,
                                                    seed=7)  # fmt: skip
    want = render_view(shape.mesh, EPI1, rotation="x90", acquisition=acq, rng=7)
    assert (it, mt) == ("image", "labels")
    np.testing.assert_array_equal(img, want.image)
    np.testing.assert_array_equal(mask, want.mask)
    px = EPI1.optics.pixel_size_nm
    assert ik["scale"] == mk["scale"] == (px, px) and ik["units"] == "nm"
    assert ik["metadata"]["class"] == "rod"
    other = simulate_layers(shape, EPI1, view="x90", acquisition=acq, seed=8)[0][0]
    assert not np.array_equal(other, img)  # the seed matters


def test_a_z_stack_is_scaled_by_its_step(library):
    from simulator import CONF1, Acquisition

    acq = Acquisition(size_px=32, z_planes=3, z_step_nm=200.0)
    (img, ik, _), (mask, _, _) = simulate_layers(read_one_shape(library, "000002"), CONF1,
                                                 acquisition=acq, seed=0)  # fmt: skip
    assert img.shape == mask.shape == (3, 32, 32)
    px = CONF1.optics.pixel_size_nm
    assert ik["scale"] == (200.0, px, px)


def test_the_widget_adds_the_image_and_its_truth(qt, viewer, library):
    from napari_mitoshape._simulate_widget import SimulateWidget
    from simulator import CONF2, Acquisition, render_view

    widget = SimulateWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.library.value = library
    assert [c for c in widget.shape.choices] == ["000001", "000002"]
    widget.shape.value = "000002"
    widget.microscope.value = "Conf2"
    widget.size.value = 32
    widget.seed.value = 3
    widget.simulate.clicked.emit()
    qt.waitUntil(lambda: not widget.busy() and len(viewer.layers) == 2, timeout=WAIT_MS)
    image, truth = viewer.layers
    assert (type(image).__name__, type(truth).__name__) == ("Image", "Labels")
    mesh = read_one_shape(library, "000002").mesh
    want = render_view(mesh, CONF2, acquisition=Acquisition(size_px=32), rng=3)
    np.testing.assert_array_equal(image.data, want.image)
    np.testing.assert_array_equal(truth.data, want.mask)
    assert tuple(image.scale) == (CONF2.optics.pixel_size_nm,) * 2


def test_a_bad_microscope_yaml_is_one_line_and_no_layer(qt, viewer, library, tmp_path,
                                                        monkeypatch):  # fmt: skip
    import napari_mitoshape._workers as k
    from napari_mitoshape._simulate_widget import YAML, SimulateWidget

    said: list[str] = []
    monkeypatch.setattr(k, "show_error", said.append)
    bad = tmp_path / "scope.yaml"
    bad.write_text("optics: {NA: 9}\n")
    widget = SimulateWidget(viewer)
    widget.library.value = library
    widget.microscope.value = YAML
    widget.config.value = bad
    widget.simulate.clicked.emit()
    qt.waitUntil(lambda: not widget.busy(), timeout=WAIT_MS)
    assert len(said) == 1 and said[0].startswith("mitoshape: ") and len(viewer.layers) == 0
    assert "\n" not in said[0].strip(), said[0]
