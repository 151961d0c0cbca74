"""The Library part of the plugin: the class table's filters, and the widget showing the
selected rows' shapes in 3D as Surface layers in nm (phantom library)."""

from __future__ import annotations

import numpy as np

from napari_mitoshape._library import LibraryFilter, library_rows

WAIT_MS = 20_000


def test_the_filters_keep_the_rows_asked_for(phantom_library):
    from shapelib.io import read_library_table

    table = read_library_table(phantom_library)
    every = library_rows(table)
    assert len(every) == len(table) >= 3
    assert list(every.columns[:3]) == ["folder", "class", "mesh_volume_um3"]
    one = sorted(set(table["class"]))[0]
    only = library_rows(table, LibraryFilter(classes=[one.upper()]))
    assert set(only["class"]) == {one} and len(only) == (table["class"] == one).sum()
    cut = float(np.median(table["mesh_volume_um3"]))
    big = library_rows(table, LibraryFilter(min_volume_um3=cut))
    assert len(big) == (table["mesh_volume_um3"] >= cut).sum() < len(table)
    if "touches_border" in table.columns:
        inside = library_rows(table, LibraryFilter(border=False))
        assert len(inside) == (~table["touches_border"].astype(bool)).sum()


def test_selected_rows_show_their_meshes_in_3d(qt, viewer, phantom_library):
    from napari_mitoshape._library_widget import LibraryWidget
    from shapelib.io import read_library_table, read_mesh

    widget = LibraryWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.library.value = phantom_library
    n = len(read_library_table(phantom_library))
    assert widget.table.shape[0] == n and widget.rows_label.value == f"{n} of {n} shapes"
    widget.select_rows([0, 2])
    qt.waitUntil(lambda: not widget.busy() and len(viewer.layers) == 2, timeout=WAIT_MS)
    folders = widget.selected_folders()
    assert [layer.metadata["folder"] for layer in viewer.layers] == folders
    assert all(type(layer).__name__ == "Surface" for layer in viewer.layers)
    assert viewer.dims.ndisplay == 3
    mesh = read_mesh(phantom_library / folders[0])
    np.testing.assert_allclose(viewer.layers[0].data[0], np.asarray(mesh.vertices)[:, ::-1])
    # Another selection replaces them; a class filter shortens the table.
    widget.select_rows([1])
    qt.waitUntil(lambda: not widget.busy() and len(viewer.layers) == 1, timeout=WAIT_MS)
    assert viewer.layers[0].metadata["folder"] == widget.selected_folders()[0]
    first = widget.classes.choices[0]
    widget.classes.value = [first]
    assert set(widget.table.to_dataframe()["class"]) == {first}
