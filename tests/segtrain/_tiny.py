"""Tiny synthetic image/mask pairs (bright disks on noise) for fast segtrain tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def disks(size: int = 64, n: int = 3, rng=0) -> tuple[np.ndarray, np.ndarray]:
    """An image (uint16) with `n` bright disks on noise, and its instance labels (uint16)."""
    rng = np.random.default_rng(rng)
    yy, xx = np.mgrid[:size, :size]
    labels = np.zeros((size, size), np.uint16)
    for k in range(n):
        r = rng.uniform(size / 12, size / 7)
        cy, cx = rng.uniform(r + 1, size - r - 1, 2)
        labels[((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r) & (labels == 0)] = k + 1
    image = 100 + 400 * (labels > 0) + rng.normal(0, 40, (size, size))
    return np.clip(image, 0, 65535).astype(np.uint16), labels


def write_pairs(root: Path, n: int = 4, size: int = 64, *, rng=0, mask_style="01") -> Path:
    """Write ``root/images/NAME.tif`` and ``root/masks/NAME.tif`` (0/1, 0/255 or ids)."""
    import tifffile

    rng = np.random.default_rng(rng)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img, lab = disks(size, 3, rng)
        if mask_style == "01":
            m = (lab > 0).astype(np.uint8)
        elif mask_style == "255":
            m = (lab > 0).astype(np.uint8) * 255
        else:
            m = lab
        tifffile.imwrite(root / "images" / f"im{i:02d}.tif", img)
        tifffile.imwrite(root / "masks" / f"im{i:02d}.tif", m)
    return root


def train_tiny_run(root, *, n: int = 2, size: int = 32, **config):
    """A plain run trained for 2 steps on ``n`` tiny pairs in ``root`` (depth 1, width 2;
    ``config`` overrides TrainConfig fields): the run the predict, workflow, export and napari
    tests open. Returns what `segtrain.train` does."""
    from segtrain import DataSource, TrainConfig, train

    data = write_pairs(root / "d", n=n, size=size)
    fields = {"model_params": {"depth": 1, "width": 2}, "patch_px": 32, "batch_size": 2,
              "max_steps": 2, "val_every": 2, "val_patches": 2, "amp": False}  # fmt: skip
    cfg = TrainConfig(
        train=[DataSource(path=str(data))], run_dir=str(root / "run"), **(fields | config)
    )
    return train(cfg)
