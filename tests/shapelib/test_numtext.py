"""The compiled number writers give the bytes Python (and trimesh) give."""

from __future__ import annotations

import numpy as np
import pytest

from shapelib.io._instance_bytes import fixed6_rows, off_bytes
from shapelib.io._numtext import fixed_rows, int_rows


def _python_rows(table, decimals):
    return "".join(
        " ".join(f"{v:.{decimals}f}" for v in row) + "\n" for row in table.tolist()
    ).encode()


@pytest.mark.parametrize("decimals", [1, 6, 10])
def test_fixed_rows_are_pythons_digits_for_float32_values(decimals):
    rng = np.random.default_rng(decimals)
    vals = np.concatenate(
        [rng.normal(0, s, 3000) for s in (1e-9, 1e-4, 0.3, 7, 3e3, 1e5)]
        + [
            np.array(
                [0.0, 0.5, -0.5, 0.25, -0.25, 2.5, 0.125, 1 / 3, 1e-12, -1e-12, 0.4999995, -0.0]
            )
        ]  # fmt: skip
    ).astype(np.float32)
    table = vals.astype(np.float64).reshape(-1, 3)
    expected = _python_rows(table, decimals)
    assert fixed_rows(table, decimals, sign_of_zero=True) == expected
    # without the sign of zero: only values that round to zero lose their '-'
    text = fixed_rows(table, decimals, sign_of_zero=False).decode()
    assert text.replace("-", "") == expected.decode().replace("-", "")
    assert f"-0.{'0' * decimals}" not in text


def test_fixed_rows_leave_what_they_cannot_write_exactly_to_python():
    assert fixed_rows(np.array([[0.1]]), 10, sign_of_zero=True) is None  # not a float32 value
    assert fixed_rows(np.array([[np.nan, 1.0]]), 6, sign_of_zero=True) is None
    assert fixed_rows(np.array([[2.0**40]]), 10, sign_of_zero=True) is None  # 1e10 x too big
    assert fixed_rows(np.zeros((0, 3)), 6, sign_of_zero=True) == b""


def test_int_rows():
    a = np.array([[3, 0, 17, -5], [3, 12345678901, 2, 9]])
    assert int_rows(a) == b"3 0 17 -5\n3 12345678901 2 9\n"


def test_off_bytes_equal_trimesh_export():
    import trimesh

    from shapelib import mesh_instance
    from shapelib.phantoms import torus

    p = torus(voxel_size_nm=(40, 9.7, 13.1))
    for offset in ((0, 0, 0), (-3, 250, -1)):
        mesh = mesh_instance(p.mask, voxel_size_nm=(40, 9.7, 13.1), offset_vox=offset)
        assert off_bytes(mesh) == trimesh.exchange.off.export_off(mesh).encode()
    odd = trimesh.Trimesh([[0.1, 0.2, 0.3], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]], process=False)
    assert off_bytes(odd) == trimesh.exchange.off.export_off(odd).encode()  # Python's path


def test_ply_rows_keep_the_format_written_so_far():
    rng = np.random.default_rng(0)
    table = rng.uniform(-0.5, 0.5, (2000, 6)).astype(np.float32)
    table[0] = [0.0, -0.0, -4e-7, 5e-7, -5e-7, 0.4999994]
    table = table.astype(np.float64)  # float32 values, as point clouds hold
    text = fixed6_rows(table)
    assert text.splitlines()[0] == b"0.000000 0.000000 0.000000 0.000000 0.000000 0.499999"
    assert text == _python_rows(table, 6).replace(b"-0.000000", b"0.000000")
