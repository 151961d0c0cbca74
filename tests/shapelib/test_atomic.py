"""Atomic writes (`shapelib.io.atomic_path`): a failure keeps the earlier file, a full disk is
one `DiskFullError` naming the file."""

from __future__ import annotations

import errno

import pytest

from shapelib import MitoshapeError
from shapelib.io import DiskFullError, atomic_path, atomic_write


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EFBIG])
def test_a_full_disk_keeps_the_earlier_file_and_says_so(tmp_path, code):
    target = atomic_write(tmp_path / "best.pt", b"earlier")
    with pytest.raises(DiskFullError) as info, atomic_path(target) as tmp:
        tmp.write_bytes(b"half a fi")  # written in part, then the disk is full
        raise OSError(code, "No space left on device")
    err = info.value
    assert isinstance(err, OSError) and isinstance(err, MitoshapeError) and err.errno == code
    assert str(target) in str(err) and "earlier version is unchanged" in str(err)
    assert "\n" not in str(err)
    assert target.read_bytes() == b"earlier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt"]  # no temporary left


def test_a_full_disk_on_a_new_file_writes_nothing(tmp_path):
    with pytest.raises(DiskFullError, match="nothing was written there"):
        with atomic_path(tmp_path / "new.csv") as tmp:
            tmp.write_bytes(b"x")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_other_os_errors_pass_unchanged(tmp_path):
    with pytest.raises(PermissionError) as info, atomic_path(tmp_path / "a.txt"):
        raise PermissionError(errno.EACCES, "Permission denied")
    assert not isinstance(info.value, DiskFullError)
    assert list(tmp_path.iterdir()) == []
