"""Contact sheet of images beside their masks."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import contact_sheet


def test_contact_sheet_shape_and_colours():
    imgs = [np.random.default_rng(0).integers(0, 500, (32, 32)).astype(np.uint16) for _ in range(3)]
    masks = [np.zeros((32, 32), np.uint8) for _ in range(3)]
    masks[1][8:16, 8:16] = 2
    sheet = contact_sheet(imgs, masks, tile_px=40, columns=2, gap_px=2)
    assert sheet.dtype == np.uint8 and sheet.shape == (2 * 42 + 2, 2 * (80 + 4) + 2, 3)
    assert sheet[:, :, 0].max() == 255
    with pytest.raises(ValueError, match="as many masks"):
        contact_sheet(imgs, masks[:2])
