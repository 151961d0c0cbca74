"""shapelib: EM label volumes to a library of 3D mitochondria shapes.

Layers: workflows: _library, _library_labels, _summary; io: io/; the rest is compute (arrays
in, arrays and dataclasses out; never imports io). Never imports torch or open3d at import time.
"""

from ._classify import SHAPE_CLASSES, ClassThresholds, classify_shape
from ._errors import InputError, MitoshapeError
from ._extract import ExtractParams, extract_instances
from ._images import as_grey_image
from ._instance import Instance
from ._library import extract_library
from ._library_labels import write_library_labels
from ._memory import check_array_size, check_count
from ._mesh import mesh_genus, mesh_instance
from ._names import FileName, check_file_name
from ._numba_cache import use_user_cache as _use_user_cache
from ._occupancy import Occupancy, points_inside, sample_occupancy
from ._pointcloud import PointCloud, noisy_view, sample_pointcloud
from ._rotation import random_rotation, rotate_points
from ._runner import TaskRunner
from ._shape import Shape, ShapeParams, build_shape, classify_mesh, voxelize_mesh
from ._skeleton import Skeleton, skeletonize_mask
from ._summary import LibrarySummary, library_gallery, library_summary
from ._units import as_spacing_nm, xyz_to_zyx, zyx_to_xyz
from .io._instance_io import read_instance, read_shape, write_shape

_use_user_cache()  # before numba caches anything: never into the source tree

__all__ = [
    "InputError",
    "MitoshapeError",
    "FileName",
    "check_file_name",
    "check_array_size",
    "check_count",
    "as_grey_image",
    "random_rotation",
    "rotate_points",
    "ExtractParams",
    "extract_instances",
    "extract_library",
    "write_library_labels",
    "LibrarySummary",
    "library_gallery",
    "library_summary",
    "Instance",
    "TaskRunner",
    "SHAPE_CLASSES",
    "ClassThresholds",
    "classify_shape",
    "mesh_genus",
    "mesh_instance",
    "Occupancy",
    "points_inside",
    "sample_occupancy",
    "PointCloud",
    "noisy_view",
    "sample_pointcloud",
    "Shape",
    "ShapeParams",
    "build_shape",
    "classify_mesh",
    "voxelize_mesh",
    "Skeleton",
    "skeletonize_mask",
    "read_shape",
    "read_instance",
    "write_shape",
    "as_spacing_nm",
    "xyz_to_zyx",
    "zyx_to_xyz",
]


def _version() -> str:
    """The distribution's version: pyproject.toml's, as installed (the one place it is kept)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mitoshape")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


__version__ = _version()
