"""The Library widget (Plugins > mitoshape > Library): a library's class table with filters
(classes, least volume, border); selecting rows shows those shapes' meshes in 3D as Surface
layers in nm (read in a thread worker). Loaded by napari only."""

from __future__ import annotations

from magicgui.widgets import CheckBox, Container, FileEdit, FloatSpinBox, Label, Select, Table

from ._library import LibraryFilter, library_rows
from ._workers import Working

MARK = "mitoshape library"  # in the metadata of the Surface layers this widget added


class LibraryWidget(Working, Container):
    """Browse a library's table; the selected rows' shapes in 3D."""

    def __init__(self, napari_viewer):
        self.viewer = napari_viewer
        self.library = FileEdit(label="library", mode="d")
        self.classes = Select(label="classes", choices=[], allow_multiple=True)
        self.min_volume = FloatSpinBox(label="least volume (µm³)", value=0.0, min=0.0, step=0.01)
        self.border = CheckBox(label="shapes touching the border", value=True)
        self.rows_label = Label(value="")
        self.table = Table()
        super().__init__(
            widgets=[
                self.library,
                self.classes,
                self.min_volume,
                self.border,
                self.rows_label,
                self.table,
            ]
        )
        self._all = None  # the library's whole table
        self._rows = None  # the rows shown
        self._pending = False  # the selection changed while meshes were read
        self.table.read_only = True
        view = self.table.native
        view.setSelectionBehavior(view.SelectRows)
        view.itemSelectionChanged.connect(self._on_select)
        self.library.changed.connect(self._on_library)
        for w in (self.classes, self.min_volume, self.border):
            w.changed.connect(self._show_rows)

    def reset_choices(self, *_) -> None:
        """Nothing to reset: napari calls this as layers come and go, and the class list is
        the library's (resetting it would empty the table, and the selection, for a moment)."""

    def _on_library(self, *_) -> None:
        from shapelib.io import read_library_table

        folder = self.library.value
        if not folder or not (folder / "library.csv").is_file():
            return
        try:
            self._all = read_library_table(folder)
        except Exception as exc:  # an edited or cut table: said, nothing shown
            self.failed(exc)
            return
        classes = (
            sorted(set(self._all["class"].dropna().astype(str))) if "class" in self._all else []
        )
        self.classes.choices = classes
        self.classes.value = classes
        self._show_rows()

    def _show_rows(self, *_) -> None:
        if self._all is None:
            return
        keep = LibraryFilter(
            classes=tuple(self.classes.value),
            min_volume_um3=float(self.min_volume.value),
            border=bool(self.border.value),
        )
        rows = library_rows(self._all if keep.classes else self._all.iloc[:0], keep)
        if self._rows is not None and rows.equals(self._rows):
            return  # the same rows (napari resets the choices as layers come and go)
        self._rows = rows
        self.table.value = rows.set_index("folder")  # row headers: the delegate reads 000001 as 1
        self.rows_label.value = f"{len(self._rows)} of {len(self._all)} shapes"

    def select_rows(self, rows) -> None:
        """Select these row numbers of the table (as a click would)."""
        from qtpy.QtCore import QItemSelection, QItemSelectionModel

        view = self.table.native
        chosen = QItemSelection()
        for r in rows:
            index = view.model().index(int(r), 0)
            chosen.select(index, index)
        flag = QItemSelectionModel.SelectionFlag
        flags = flag.ClearAndSelect | flag.Rows
        view.selectionModel().select(chosen, flags)

    def selected_folders(self) -> list[str]:
        """The shape folders of the selected rows, in the table's order."""
        rows = sorted({i.row() for i in self.table.native.selectionModel().selectedRows()})
        return [str(self._rows["folder"].iloc[r]) for r in rows] if self._rows is not None else []

    def _on_select(self) -> None:
        from napari.qt.threading import thread_worker

        from ._reader import read_library

        if self.busy():  # read again when this one is done: the newest selection wins
            self._pending = True
            return
        self._pending = False
        folders, library = self.selected_folders(), self.library.value

        @thread_worker(progress={"total": 0, "desc": "meshes"}, ignore_errors=True)
        def work():
            return read_library(library, folders=folders)

        self.start(work(), self._show)

    def _show(self, layers) -> None:
        for layer in [x for x in self.viewer.layers if x.metadata.get(MARK)]:
            self.viewer.layers.remove(layer)
        for data, kwargs, kind in layers:
            kwargs = {**kwargs, "metadata": {**kwargs["metadata"], MARK: True}}
            getattr(self.viewer, f"add_{kind}")(data, **kwargs)
        if layers:
            self.viewer.dims.ndisplay = 3
            self.viewer.reset_view()
        if self._pending:
            self._on_select()
