"""shapelib: EM label volumes to a library of 3D mitochondria shapes.

Never imports torch or open3d at import time.
"""

from ._instance import Instance
from ._units import as_spacing_nm, xyz_to_zyx, zyx_to_xyz

__all__ = ["Instance", "as_spacing_nm", "xyz_to_zyx", "zyx_to_xyz"]
__version__ = "0.1.0"
