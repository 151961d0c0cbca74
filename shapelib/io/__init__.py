"""Reading and writing: label volumes, instance folders (ours and released 3DMSL), libraries,
configs, TIFFs and figures.

The only modules of shapelib that touch the disk. io imports compute modules that never import
io (``_labels``, ``_shape`` and below), never a workflow (``_library``, ``_summary``).
"""

from .._labels import check_label_volume
from ._atomic import DiskFullError, atomic_path, atomic_write
from ._config import read_config, to_plain, write_config
from ._figure import save_figure
from ._image_read import read_grey, read_scaled_image
from ._instance_io import (
    MESH_FILE,
    RELEASED_VOXEL_SIZE_NM,
    is_complete,
    read_instance,
    read_mesh,
    read_meta,
    read_shape,
    write_shape,
)
from ._library import read_library_table
from ._ngff import (
    NGFF_VERSIONS,
    OUTPUT_FORMATS,
    check_output_store,
    ngff_version,
    output_format,
    store_stem,
    write_label_store,
    write_ome_zarr,
)
from ._outputs import (
    MANIFEST_FILE,
    OutputExistsError,
    OutputFolder,
    check_output_files,
    check_output_folder,
    claim_output_file,
    claim_output_files,
    open_output_folder,
    read_manifest,
)
from ._scene import SCENE_SUFFIXES, write_library_scene
from ._tiff import TIFF_SUFFIXES, TiffImage, read_tiff, write_tiff
from ._volume import Volume, read_volume
from ._volume_lazy import LazyVolume, open_volume
from ._volume_write import write_volume

__all__: list[str] = [
    "MESH_FILE",
    "RELEASED_VOXEL_SIZE_NM",
    "DiskFullError",
    "atomic_path",
    "atomic_write",
    "read_config",
    "write_config",
    "to_plain",
    "MANIFEST_FILE",
    "OutputExistsError",
    "OutputFolder",
    "check_output_files",
    "check_output_folder",
    "claim_output_file",
    "claim_output_files",
    "open_output_folder",
    "read_manifest",
    "TIFF_SUFFIXES",
    "TiffImage",
    "read_tiff",
    "write_tiff",
    "read_grey",
    "read_scaled_image",
    "Volume",
    "is_complete",
    "read_shape",
    "read_instance",
    "read_mesh",
    "read_meta",
    "write_shape",
    "check_label_volume",
    "read_volume",
    "open_volume",
    "LazyVolume",
    "write_volume",
    "NGFF_VERSIONS",
    "OUTPUT_FORMATS",
    "ngff_version",
    "check_output_store",
    "store_stem",
    "write_label_store",
    "output_format",
    "write_ome_zarr",
    "SCENE_SUFFIXES",
    "write_library_scene",
    "read_library_table",
    "save_figure",
]
