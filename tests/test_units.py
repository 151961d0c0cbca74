import math

import numpy as np
import pytest

from shapelib import as_spacing_nm, zyx_to_xyz


def test_scalar_becomes_isotropic():
    assert as_spacing_nm(8) == (8.0, 8.0, 8.0)


def test_string_and_sequence():
    assert as_spacing_nm("30,5,5") == (30.0, 5.0, 5.0)
    assert as_spacing_nm([30, 5, 5]) == (30.0, 5.0, 5.0)


@pytest.mark.parametrize("bad", [0, -1, math.nan, math.inf, [1, 2], "a,b", None])
def test_bad_values_say_what_is_expected(bad):
    with pytest.raises(ValueError, match="voxel_size_nm"):
        as_spacing_nm(bad)


def test_axis_flip_is_its_own_inverse():
    p = np.arange(12.0).reshape(4, 3)
    assert np.array_equal(zyx_to_xyz(zyx_to_xyz(p)), p)
    assert np.array_equal(zyx_to_xyz(p)[0], [2.0, 1.0, 0.0])
