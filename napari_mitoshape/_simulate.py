"""A library shape through a microscope as napari layer data: the camera image (or z-stack)
and its truth as Labels, scaled in nm (`simulator.render_view`, as `mitoshape simulate` renders
each view). No viewer: the Simulate widget (`_simulate_widget.py`) calls these."""

from __future__ import annotations

from pathlib import Path

__all__ = ["read_one_shape", "shape_choices", "simulate_layers"]


def shape_choices(library: str | Path) -> list[tuple[str, str]]:
    """("folder class", folder) of each shape of a library folder, in its table's order."""
    from shapelib.io import read_library_table

    rows = read_library_table(library).to_dict("records")
    return [(f"{r['folder']} {r.get('class', '')}".strip(), str(r["folder"])) for r in rows]


def read_one_shape(library: str | Path, folder: str):
    """The `simulator.SceneShape` of one shape folder of a library (mesh in nm, its class)."""
    from simulator.io import read_shapes

    return read_shapes(Path(library) / folder)[0]


def simulate_layers(shape, microscope, *, view: str = "0", acquisition=None, seed=0) -> list:
    """Render `shape` (a `SceneShape`) through `microscope` in `view`.

    Returns
    -------
    [(image, kwargs, "image"), (mask, kwargs, "labels")]: ``render_view``'s camera image and
    target mask with the same `seed`, scaled in nm (pixel size; the z step for a z-stack)
    """
    from simulator import Acquisition, render_view

    acq = acquisition or Acquisition()
    rendered = render_view(shape.mesh, microscope, rotation=view, acquisition=acq, rng=seed)
    px = float(microscope.optics.pixel_size_nm)
    scale = (px, px) if rendered.image.ndim == 2 else (float(acq.z_step_nm), px, px)
    name = f"{shape.id} {shape.shape_class} {microscope.name} {view}".strip()
    meta = {"class": shape.shape_class, "microscope": microscope.name, "view": view, "seed": seed}
    kw = {"scale": scale, "units": "nm", "metadata": meta}
    return [
        (rendered.image, {"name": name, **kw}, "image"),
        (rendered.mask, {"name": f"{name} truth ({acq.mask})", **kw}, "labels"),
    ]
