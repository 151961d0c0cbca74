"""napari plugin of mitoshape (npe2 manifest ``napari.yaml``): readers for library folders,
dataset folders and OME-Zarr stores mitoshape wrote, sample data, and the Segment widget
(`_widget.py`, the one module that imports napari) with its click model (`ClickSession`).

A face like `cli/`: it reads through `shapelib.io` and returns napari layer data; it imports
napari nowhere else (npe2 calls these functions), so it loads and tests without a Qt binding.
Install the viewer with ``pip install 'mitoshape[napari]'``.
"""

from ._clicks import ClickSession
from ._reader import get_reader, read_dataset, read_library, read_ome_zarr
from ._sample import phantom_sample
from ._segment import segment_image

__all__ = [
    "ClickSession",
    "get_reader",
    "read_dataset",
    "read_library",
    "read_ome_zarr",
    "phantom_sample",
    "segment_image",
]
