"""The Simulate widget (Plugins > mitoshape > Simulate): a library's shape through a preset or
a microscope YAML, as an image (or z-stack) layer with its truth as Labels, in nm; rendered in
a thread worker. Loaded by napari only."""

from __future__ import annotations

from magicgui.widgets import ComboBox, Container, FileEdit, FloatSpinBox, PushButton, SpinBox

from ._simulate import read_one_shape, shape_choices, simulate_layers
from ._workers import Working

YAML = "microscope YAML ..."


class SimulateWidget(Working, Container):
    """Render the selected shape of a library through a microscope."""

    def __init__(self, napari_viewer):
        from simulator import PRESETS, VIEWS_3DMSL

        self.viewer = napari_viewer
        self.library = FileEdit(label="library", mode="d")
        self.shape = ComboBox(label="shape", choices=self._shapes)
        self.microscope = ComboBox(label="microscope", choices=[*PRESETS, YAML])
        self.config = FileEdit(label="microscope YAML", filter="*.yaml *.yml")
        self.view = ComboBox(label="view", choices=[*VIEWS_3DMSL, "random"])
        self.size = SpinBox(label="image side (px)", value=128, min=16, max=1024)
        self.z_planes = SpinBox(label="z-planes", value=1, min=1, max=64)
        self.z_step_nm = FloatSpinBox(label="z step (nm)", value=250.0, min=10.0, max=5000.0)
        self.seed = SpinBox(label="seed", value=0, min=0, max=2**31 - 1)
        self.simulate = PushButton(text="Simulate")
        super().__init__(
            widgets=[
                self.library,
                self.shape,
                self.microscope,
                self.config,
                self.view,
                self.size,
                self.z_planes,
                self.z_step_nm,
                self.seed,
                self.simulate,
            ]
        )
        self.library.changed.connect(lambda *_: self.shape.reset_choices())
        self.microscope.changed.connect(self._show_config)
        self.simulate.changed.connect(self._on_simulate)
        self._show_config()

    def _shapes(self, _=None) -> list:
        folder = self.library.value
        if not folder or not (folder / "library.csv").is_file():
            return []
        try:
            return shape_choices(folder)
        except Exception as exc:  # a broken table: said, and no shapes to pick
            self.failed(exc)
            return []

    def _show_config(self, *_) -> None:
        self.config.visible = self.microscope.value == YAML

    def acquisition(self):
        """The widget's `simulator.Acquisition` (image side, z-planes and step)."""
        from simulator import Acquisition

        return Acquisition(
            size_px=self.size.value, z_planes=self.z_planes.value, z_step_nm=self.z_step_nm.value
        )

    def _on_simulate(self, *_) -> None:
        from napari.qt.threading import thread_worker
        from napari.utils.notifications import show_info, show_warning

        if self.busy():
            show_info("mitoshape: still rendering; Simulate again when the progress bar is done.")
            return
        if self.shape.value is None:
            show_warning("mitoshape: pick a library folder and one of its shapes first.")
            return
        library, folder = self.library.value, self.shape.value
        preset = None if self.microscope.value == YAML else self.microscope.value
        config = self.config.value if preset is None else None
        view, seed, acq = self.view.value, self.seed.value, self.acquisition()

        @thread_worker(progress={"total": 0, "desc": "simulate"}, ignore_errors=True)
        def work():
            from simulator.io import microscope_from

            mic = microscope_from(preset, config=config)  # checked before the mesh is read
            return simulate_layers(
                read_one_shape(library, folder), mic, view=view, acquisition=acq, seed=seed
            )

        self.start(work(), self._show)

    def _show(self, layers) -> None:
        for data, kwargs, kind in layers:
            getattr(self.viewer, f"add_{kind}")(data, **kwargs)
