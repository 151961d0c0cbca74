"""The bytes of an instance folder's files, written exactly as 3DMSL's are (see
`shapelib.io._instance_io` for the formats): ``pointcloud.ply`` rows of ``%.6f``, the OFF mesh as
trimesh exports it, and the uncompressed ``occupancies.npz``. Text goes through one compiled
pass (`shapelib.io._numtext`) where the values allow it.
"""

from __future__ import annotations

import numpy as np

from .._occupancy import Occupancy
from ._numtext import fixed_rows, int_rows

__all__ = ["fixed6_rows", "npz_bytes", "off_bytes", "ply_bytes"]


def ply_bytes(points: np.ndarray, normals: np.ndarray) -> bytes:
    n = len(points)
    header = (
        "ply\nformat ascii 1.0\n"
        f"element vertex {n}\n"
        "property float x\nproperty float y\nproperty float z\n"
        "property float nx\nproperty float ny\nproperty float nz\n"
        "end_header\n"
    )
    table = np.hstack([points, normals]).astype(np.float64)
    return header.encode("ascii") + fixed6_rows(table)


def off_bytes(mesh) -> bytes:
    """``raw_mesh.off``: the bytes of ``trimesh.exchange.off.export_off`` (vertices
    ``{:.10f}``, faces ``3 a b c``), written by one compiled pass when the vertices allow it."""
    import trimesh

    v = np.asarray(mesh.vertices, dtype=np.float64)
    f = np.asarray(mesh.faces, dtype=np.int64)
    text = fixed_rows(v, 10, sign_of_zero=True) if len(v) and len(f) else None
    if text is None:
        return trimesh.exchange.off.export_off(mesh).encode()
    faces = np.column_stack([np.full(len(f), 3, np.int64), f])
    return f"OFF\n{len(v)} {len(f)} 0\n".encode() + text + int_rows(faces)


def fixed6_rows(table: np.ndarray) -> bytes:
    """Rows of ``%.6f`` numbers joined by spaces, one row per line.

    Values round half-to-even at the 6th decimal, and a negative value that rounds to zero
    is written without its sign (the format of every pointcloud.ply written so far).
    float32 values (the point clouds) go through one compiled pass
    (:func:`shapelib.io._numtext.fixed_rows`), others through numpy; |values| >= 10 (never in
    unit-cube data) fall back to Python formatting.
    """
    n, k = table.shape
    if n == 0:
        return b""
    if not np.all(np.isfinite(table)) or np.abs(table).max() >= 9.9999995:
        row = " ".join(["%.6f"] * k) + "\n"
        return ((row * n) % tuple(table.ravel().tolist())).encode("ascii")
    fast = fixed_rows(table, 6, sign_of_zero=False)
    if fast is not None:
        return fast
    q = np.rint(np.abs(table) * 1e6).astype(np.int32)
    chars = np.zeros((n, k, 10), np.uint8)  # sign, digit, '.', 6 decimals, separator
    chars[:, :, 0] = np.where((table < 0) & (q > 0), ord("-"), 0)  # 0 = dropped below
    chars[:, :, 1] = ord("0") + q // 1_000_000
    chars[:, :, 2] = ord(".")
    frac = q % 1_000_000
    for i in range(6):
        chars[:, :, 3 + i] = ord("0") + (frac // 10 ** (5 - i)) % 10
    chars[:, :, 9] = ord(" ")
    chars[:, -1, 9] = ord("\n")
    flat = chars.ravel()
    return flat[flat != 0].tobytes()


def npz_bytes(occ: Occupancy) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(
        buf,
        points=np.asarray(occ.points, dtype=np.float16),
        occupancies=np.packbits(np.asarray(occ.occupancies, dtype=bool)),
        loc=np.asarray(occ.loc, dtype=np.float64).reshape(3),
        scale=np.float64(occ.scale),
    )
    return buf.getvalue()
