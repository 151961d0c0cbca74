"""The one TIFF reader and writer of the project: arrays with their pixel (voxel) size.

Written files are ImageJ hyperstacks (Fiji, napari and tifffile read the scale back): the pixel
size in the resolution tags, ``unit`` um and, for stacks, ``spacing`` (the z step). Reading
understands ImageJ metadata, OME ``PhysicalSize*`` and plain resolution tags in inch/cm.
"""

from __future__ import annotations

import logging
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._errors import InputError
from .._memory import check_array_size
from .._units import length_unit_nm
from ._atomic import atomic_path

__all__ = ["TiffImage", "read_tiff", "write_tiff", "TIFF_SUFFIXES"]

log = logging.getLogger(__name__)

TIFF_SUFFIXES = (".tif", ".tiff")


@dataclass(frozen=True)
class TiffImage:
    """An array read from a TIFF with the scale its metadata gives.

    Attributes
    ----------
    data : ndarray, as stored (2D image, 3D stack, ...)
    pixel_size_nm : (y, x) floats in nm, or None when the file does not say
    z_step_nm : float in nm, or None when the file does not say
    """

    data: np.ndarray
    pixel_size_nm: tuple[float, float] | None = None
    z_step_nm: float | None = None

    @property
    def voxel_size_nm(self) -> tuple[float, float, float] | None:
        """``(z, y, x)`` nm; the x size stands in for a missing z step (with a warning)."""
        if self.pixel_size_nm is None:
            return None
        y, x = self.pixel_size_nm
        if self.z_step_nm is None:
            log.warning("TIFF metadata gives no z spacing; using the x size for z.")
            return (x, y, x)
        return (self.z_step_nm, y, x)


def _ome_scale(tif) -> tuple[tuple[float, float] | None, float | None] | None:
    try:
        root = ET.fromstring(tif.ome_metadata)
        pix = next(el for el in root.iter() if el.tag.endswith("Pixels"))
    except (ET.ParseError, StopIteration):
        log.warning("could not parse the OME metadata of the TIFF; ignoring it.")
        return None
    sizes = {}
    for ax in ("Z", "Y", "X"):
        val = pix.get(f"PhysicalSize{ax}")
        scale = length_unit_nm(pix.get(f"PhysicalSize{ax}Unit", "µm"))
        try:
            sizes[ax] = float(val) * scale if (val is not None and scale) else None
        except ValueError:
            sizes[ax] = None
    if sizes["Y"] is None or sizes["X"] is None:
        return None
    return (sizes["Y"], sizes["X"]), sizes["Z"]


def _check_complete(tif) -> None:
    """Refuse an ImageJ file holding fewer images than its header announces (a cut copy
    read as its first page only, then refused as "must be 3D; got 2D")."""
    meta = tif.imagej_metadata if tif.is_imagej else None
    announced = int((meta or {}).get("images", 0) or 0)
    if announced <= len(tif.pages):
        return
    # ImageJ writes one IFD only for files over 4 GB: then the data follow the first page
    page = tif.pages[0]
    offsets = getattr(page, "dataoffsets", None) or (0,)
    need = int(offsets[0]) + announced * int(page.size) * np.dtype(page.dtype).itemsize
    if tif.filehandle.size < need:
        raise InputError(
            f"TIFF {tif.filename} is cut short: its ImageJ header announces {announced} "
            f"images, the file holds {len(tif.pages)}; copy it again."
        )


def _tiff_scale(tif) -> tuple[tuple[float, float] | None, float | None]:
    """``((y, x) nm or None, z nm or None)`` from OME or ImageJ + resolution tags."""
    _check_complete(tif)  # every reader asks for the scale right after opening
    if tif.is_ome and tif.ome_metadata:
        found = _ome_scale(tif)
        if found is not None:
            return found
    tags = tif.pages[0].tags
    ij = tif.imagej_metadata or {}
    xres, yres = tags.get("XResolution"), tags.get("YResolution")
    resunit = tags.get("ResolutionUnit")
    resunit = int(resunit.value) if resunit is not None else 1
    unit_scale = {2: 2.54e7, 3: 1e7}.get(resunit)  # inch, centimetre in nm
    if unit_scale is None:
        unit_scale = length_unit_nm(ij.get("unit"))
    z_nm = None
    if "spacing" in ij:
        z_unit = length_unit_nm(ij.get("unit")) or unit_scale
        try:
            # 12 significant digits undo the float error of um -> nm (0.06377 um -> 63.77 nm).
            z_nm = float(f"{float(ij['spacing']) * z_unit:.12g}") if z_unit else None
        except (TypeError, ValueError):
            z_nm = None
    if xres is None or yres is None or unit_scale is None:
        return None, z_nm
    try:
        (xn, xd), (yn, yd) = xres.value, yres.value
    except (TypeError, ValueError):
        return None, z_nm
    if not (xn > 0 and xd > 0 and yn > 0 and yd > 0) or (xn == xd and yn == yd and resunit == 1):
        return None, z_nm  # tifffile's default of 1 pixel per unit: no scale was written
    # Size = unit / (pixels per unit) = unit * den / num, kept exact for rational tags.
    return (unit_scale * yd / yn, unit_scale * xd / xn), z_nm


def read_tiff(path: str | Path) -> TiffImage:
    """Read a TIFF and the pixel size and z step its metadata gives (nm).

    Raises
    ------
    FileNotFoundError
        When the file is missing.
    InputError
        When it is not a readable TIFF (truncated, empty, another format).
    """
    import tifffile

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"TIFF file {path} does not exist.")
    try:
        with tifffile.TiffFile(path) as tif:
            # priced from the header before reading: a file of a few kB may claim 100000^2 pixels
            series = tif.series[0]
            check_array_size(series.shape, series.dtype, what=f"the image in TIFF {path}",
                             hint="Is the file complete? Crop or tile it.")  # fmt: skip
            data = tif.asarray()
            pixel, z = _tiff_scale(tif)
    except InputError:
        raise
    except Exception as err:  # tifffile and imagecodecs raise many types for a bad file
        raise InputError(
            f"could not read TIFF {path} ({type(err).__name__}: {err}); is the file complete "
            "and really a TIFF?"
        ) from None
    pixel, z = _valid_scale(path, pixel, z)
    return TiffImage(data=data, pixel_size_nm=pixel, z_step_nm=z)


def _valid_scale(path, pixel, z):
    """``(pixel, z)``, or ``(None, None)`` with a warning when a size is not finite and > 0."""
    for v in (*(pixel or ()), z):
        if v is not None and not (math.isfinite(v) and v > 0):
            log.warning("TIFF %s gives a scale of %r nm; ignoring it.", path, v)
            return None, None
    return pixel, z


def _imagej_dtype(arr: np.ndarray) -> np.ndarray:
    """The array in a type ImageJ stores (uint8, uint16, float32), exactly, or an error."""
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8)
    if arr.dtype in (np.uint8, np.uint16, np.float32):
        return arr
    if arr.dtype.kind == "f":
        return arr.astype(np.float32)
    if arr.dtype.kind in "iu":
        lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
        if lo >= 0 and hi <= np.iinfo(np.uint16).max:
            return arr.astype(np.uint16)
        if -(2**24) <= lo and hi <= 2**24:
            return arr.astype(np.float32)  # exact for |v| <= 2^24
        raise InputError(
            f"integer values {lo}..{hi} do not fit an ImageJ TIFF (uint16, or float32 exactly "
            "up to 2^24); relabel them (fastremap.renumber) or save as .npy/.h5."
        )
    raise InputError(f"cannot store a {arr.dtype} array in a TIFF; pass numbers.")


def _per_um(size_nm: float) -> tuple[int, int]:
    """Pixels per um as the rational the TIFF tag stores, exact for decimal sizes (30 nm ->
    100/3), so the size reads back as written."""
    from fractions import Fraction

    f = (Fraction(1000) / Fraction(repr(float(size_nm)))).limit_denominator(2**31 - 1)
    while f.numerator >= 2**32:
        f = f.limit_denominator(max(1, f.denominator // 2))
    return (f.numerator, f.denominator)


def write_tiff(
    path: str | Path,
    data: np.ndarray,
    *,
    pixel_size_nm: float | tuple[float, float] | None,
    z_step_nm: float | None = None,
    compression: str | None = "zlib",
) -> Path:
    """Write an array as an ImageJ TIFF that keeps its scale, atomically.

    Parameters
    ----------
    path : str or Path
        ``.tif``/``.tiff`` file; parent folders are created. A failure leaves an existing file
        as it was.
    data : (Y, X) or (Z, Y, X) ndarray
        bool and integers become uint8/uint16 (float32 when ids exceed 65535, exactly up to
        2^24); float64 becomes float32.
    pixel_size_nm : float or (y, x) floats, or None
        The pixel size in nm. ``None`` writes no scale (say so only when none is known).
    z_step_nm : float, optional
        Plane spacing of a stack in nm.

    Returns
    -------
    path : Path
    """
    import tifffile

    path = Path(path)
    if path.suffix.lower() not in TIFF_SUFFIXES:
        raise InputError(f"a TIFF file name must end in .tif or .tiff; got {path.name!r}.")
    arr = _imagej_dtype(np.asarray(data))
    if arr.ndim not in (2, 3):
        raise InputError(f"write_tiff takes a 2D or 3D array; got shape {arr.shape}.")
    meta: dict = {"axes": "ZYX" if arr.ndim == 3 else "YX"}
    kw: dict = {}
    if pixel_size_nm is not None:
        y_nm, x_nm = np.broadcast_to(np.asarray(pixel_size_nm, dtype=float), (2,))
        if not all(math.isfinite(v) and v > 0 for v in (y_nm, x_nm)):
            raise InputError(f"pixel_size_nm must be finite and > 0; got {pixel_size_nm!r}.")
        kw["resolution"] = (_per_um(x_nm), _per_um(y_nm))
        meta["unit"] = "um"
    if z_step_nm is not None:
        if not (math.isfinite(z_step_nm) and z_step_nm > 0):
            raise InputError(f"z_step_nm must be finite and > 0; got {z_step_nm!r}.")
        meta["spacing"] = z_step_nm / 1000.0
        meta.setdefault("unit", "um")
    with atomic_path(path) as tmp:
        tifffile.imwrite(tmp, arr, imagej=True, metadata=meta, compression=compression, **kw)
    return path
