"""Sample data (File > Open Sample > mitoshape): phantom mitochondria of known classes as a
Labels layer and their meshes as Surface layers, in nm."""

from __future__ import annotations

import numpy as np

from ._reader import class_colourmap


def phantom_sample() -> list[tuple]:
    """A small phantom volume (one object of each kind, seed 0) and its meshes."""
    from shapelib import mesh_instance
    from shapelib.phantoms import phantom_volume

    vol = phantom_volume(4, voxel_size_nm=40.0, kinds=["dot", "rod", "donut", "network"], rng=0)
    scale = tuple(float(s) for s in vol.voxel_size_nm)
    kw = {"name": "phantoms", "scale": scale, "units": "nm"}
    layers: list[tuple] = [(vol.labels, kw, "labels")]
    for obj in vol.objects:
        mesh = mesh_instance(vol.labels == obj["id"], voxel_size_nm=scale)
        vertices = np.asarray(mesh.vertices)[:, ::-1]  # (x, y, z) nm -> (z, y, x)
        meta = {"class": obj["expected_class"], "kind": obj["kind"], "unit": "nm"}
        name = f"{obj['id']} {obj['expected_class']}"
        colours = class_colourmap(obj["expected_class"])
        kwargs = {"name": name, "metadata": meta, "units": "nm", "colormap": colours}
        layers.append(((vertices, np.asarray(mesh.faces)), kwargs, "surface"))
    return layers
