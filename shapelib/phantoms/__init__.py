"""Procedural mitochondria-like objects with closed-form answers, for tests, demos and benchmarks.

Each constructor returns a :class:`Phantom`: a boolean mask ``(Z, Y, X)`` plus the analytic
volume, surface area, genus and axis (skeleton) length of the continuous shape it samples, and
the class the rules of DESIGN.md step 3 should give it. :func:`phantom_volume` scatters many of
them in one label volume (one id per object) for extraction tests and benchmarks.

Geometry conventions: voxel ``(k, j, i)`` has its centre at ``(i*sx, j*sy, k*sz)`` nm (plus the
phantom's origin); a voxel is in the mask when its centre is inside the continuous shape. Shapes
are built in a local frame (x along the long axis) and may be turned by a 3x3 ``rotation`` in
the column-vector convention of :func:`shapelib.random_rotation` (``world = R @ local``).

Modules: ``_objects`` (single phantoms and their truth), ``_volume`` (many in a label volume),
``_geometry`` (sampling at voxel centres, distances, axes, closed-form truth).

Examples
--------
>>> from shapelib import phantoms
>>> p = phantoms.capsule(2000, 150, voxel_size_nm=20)
>>> p.expected_class, round(p.volume_nm3 / 1e9, 3)
('rod', 0.156)
"""

from .._rotation import random_rotation
from ._objects import Phantom, branched_tube, capsule, ellipsoid, mega, nano_tunnel, torus
from ._volume import DEFAULT_KIND_WEIGHTS, PhantomVolume, phantom_volume

__all__ = [
    "Phantom",
    "PhantomVolume",
    "DEFAULT_KIND_WEIGHTS",
    "ellipsoid",
    "capsule",
    "torus",
    "branched_tube",
    "mega",
    "nano_tunnel",
    "phantom_volume",
    "random_rotation",
]
