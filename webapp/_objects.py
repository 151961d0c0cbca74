"""A tab's objects: instance labels of its mask and their morphology, kept up to date where the
mask changed.

The labels are the connected components of the mask (4-connected, as `segtrain.quantify_mask`
counts them), where objects given a label of their own by hand (the tab's ``instances``:
committed or merged, `webapp._tools`) are one object each, joined or apart, and never joined to
their neighbours. After a click only the objects that touch the changed box (grown by a pixel)
lose their labels; the components there get new numbers and are measured again
(`segtrain.quantify_mask` on their crop); every other object keeps its number and its row.
The exported label TIFF and the objects table come from the same `ObjectTable`, so the
table's ``label`` is the pixel value of its object in the TIFF. Each row also has the
library's class of its object (``shape_class``, `webapp._classes`) beside segtrain's 2D
``class``.
"""

from __future__ import annotations

import threading

import numpy as np

from ._classes import library_class

__all__ = ["ObjectTable"]

_U16 = 65535
CHUNK = 256  # objects measured between two looks for a newer change


def _grow(box, by: int, shape) -> tuple[int, int, int, int]:
    y0, y1, x0, x1 = box
    return max(0, y0 - by), min(shape[0], y1 + by), max(0, x0 - by), min(shape[1], x1 + by)


def _changed_box(a: np.ndarray, b: np.ndarray):
    ch = a != b
    rows, cols = np.flatnonzero(ch.any(1)), np.flatnonzero(ch.any(0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


class ObjectTable:
    """Labels and rows of one tab's mask; `update` then `labels` / `table` (thread-safe)."""

    def __init__(self, connectivity: int = 4):
        self.connectivity = connectivity
        self.lock = threading.Lock()
        self.mask: np.ndarray | None = None
        self.instances: np.ndarray | None = None
        self.code: np.ndarray | None = None  # what the labels follow (`_components`)
        self.labels: np.ndarray | None = None  # int32, 0 = background
        self.boxes: dict[int, tuple[int, int, int, int]] = {}
        self.rows: dict[int, dict] = {}
        self.params = None
        self.next = 1

    # --- labels ------------------------------------------------------------------------------

    def _components(self, code: np.ndarray) -> np.ndarray:
        """Labels 1..n of a code (0 background, 1 foreground, 2 + k instance k): connected
        regions of one value, all parts of one instance under one label."""
        from skimage.measure import label

        comp = label(code, background=0, connectivity=1 if self.connectivity == 4 else 2)
        comp = comp.astype(np.int32)
        inst = code > 1
        if inst.any():  # the parts of an instance become its first part's label
            parts, first = np.unique(comp[inst], return_index=True)
            owner = code[inst][first]
            keep = {}
            lut = np.arange(int(comp.max()) + 1, dtype=np.int32)
            for part, k in zip(parts.tolist(), owner.tolist(), strict=True):
                lut[part] = keep.setdefault(k, part)
            _, lut = np.unique(lut, return_inverse=True)  # 1..n again, 0 stays 0
            comp = lut.astype(np.int32)[comp]
        return comp

    @staticmethod
    def _boxes(lab: np.ndarray, offset=(0, 0)) -> dict[int, tuple[int, int, int, int]]:
        from scipy.ndimage import find_objects

        oy, ox = offset
        return {
            i + 1: (s[0].start + oy, s[0].stop + oy, s[1].start + ox, s[1].stop + ox)
            for i, s in enumerate(find_objects(lab))
            if s is not None
        }

    def _relabel_all(self, code: np.ndarray) -> None:
        self.labels = self._components(code)
        self.boxes = self._boxes(self.labels)
        self.rows, self.next = {}, int(self.labels.max()) + 1

    def update(self, mask: np.ndarray, instances: np.ndarray | None = None) -> None:
        """Follow `mask` and its `instances` (call with the lock held): relabel only where
        they changed."""
        if self.mask is mask and self.instances is instances:
            return
        fg = np.asarray(mask) > 0
        code = fg.astype(np.int32)  # 1: foreground; 2 + k: instance k
        if instances is not None and instances.any():
            inst = np.asarray(instances, np.int32)
            code = np.where(fg & (inst > 0), inst + 2, code)
        if self.code is None or self.labels is None or code.shape != self.code.shape:
            self._relabel_all(code)
        else:
            box = _changed_box(self.code, code)
            if box is not None:
                self._relabel_part(code, box)
        self.mask, self.instances, self.code = mask, instances, code

    def _relabel_part(self, mask: np.ndarray, box) -> None:
        assert self.labels is not None
        shape = mask.shape
        near = _grow(box, 1, shape)
        y0, y1, x0, x1 = near
        touched = [int(t) for t in np.unique(self.labels[y0:y1, x0:x1]) if t > 0]
        # The region holds the changed box and every touched object whole; the new objects
        # there are the components that reach into the grown box (they cannot reach further).
        ry0, ry1, rx0, rx1 = near
        for t in touched:
            b = self.boxes[t]
            ry0, ry1, rx0, rx1 = min(ry0, b[0]), max(ry1, b[1]), min(rx0, b[2]), max(rx1, b[3])
        labels = self.labels.copy()  # copy on write: an export may hold the old one
        sub = labels[ry0:ry1, rx0:rx1]
        sub[np.isin(sub, touched)] = 0
        for t in touched:
            self.boxes.pop(t, None)
            self.rows.pop(t, None)
        comp = self._components(mask[ry0:ry1, rx0:rx1])
        ids = np.unique(comp[y0 - ry0 : y1 - ry0, x0 - rx0 : x1 - rx0])
        ids = ids[ids > 0]
        if self.next + ids.size > _U16:  # numbers used up: number everything again
            self._relabel_all(mask)
            return
        new = np.zeros(int(comp.max()) + 1, np.int32)
        new[ids] = np.arange(self.next, self.next + ids.size, dtype=np.int32)
        self.next += int(ids.size)
        mapped = new[comp]
        sub[mapped > 0] = mapped[mapped > 0]
        for i, b in self._boxes(comp, (ry0, rx0)).items():
            if new[i] > 0:
                self.boxes[int(new[i])] = b
        self.labels = labels

    # --- rows --------------------------------------------------------------------------------

    def _measure(self, ids: list[int], params) -> None:
        from segtrain import quantify_mask

        assert self.labels is not None
        if not ids:
            return
        bs = [self.boxes[i] for i in ids]
        y0, y1 = min(b[0] for b in bs), max(b[1] for b in bs)
        x0, x1 = min(b[2] for b in bs), max(b[3] for b in bs)
        crop = self.labels[y0:y1, x0:x1]
        if len(ids) < len(self.boxes):
            crop = np.where(np.isin(crop, ids), crop, 0)
        # A border of background. `quantify_mask` reads labels (not components) from 3 values:
        # one object gets a one-pixel stand-in in a corner (its row dropped), so an object of
        # several parts (merged, committed) stays one row under its own label.
        lab = np.pad(crop, 1)
        dummy = int(lab.max()) + 1
        if len(ids) == 1:
            lab[0, 0] = dummy
        t = quantify_mask(lab, params=params)
        t = t[t["label"] != dummy].reset_index(drop=True)
        t["centroid_y_px"] += y0 - 1
        t["centroid_x_px"] += x0 - 1
        for r in t.to_dict("records"):
            i = int(r["label"])
            b = _grow(self.boxes[i], 1, self.labels.shape)
            r["shape_class"] = library_class(
                np.pad(self.labels[b[0] : b[1], b[2] : b[3]] == i, 1), params.pixel_size_nm
            )
            self.rows[i] = r

    def table(self, params, *, stop=None):
        """The objects table of the labels (pandas, by label); measures what is new, `CHUNK`
        objects at a time (in raster order, so each chunk is a band of the image). None when
        `stop()` turned True between two chunks (a newer change came): the rows measured so
        far are kept, and labels that the change did not touch keep theirs."""
        import pandas as pd

        from segtrain import quantify_mask

        if params != self.params:
            self.rows, self.params = {}, params
        todo = sorted(i for i in self.boxes if i not in self.rows)
        for k in range(0, len(todo), CHUNK):
            if k and stop is not None and stop():
                return None
            self._measure(todo[k : k + CHUNK], params)
        columns = [*quantify_mask(np.zeros((3, 3), np.uint8), params=params).columns]
        columns.append("shape_class")
        rows = [self.rows[i] for i in sorted(self.rows)]
        return pd.DataFrame(rows, columns=columns)

    @property
    def nbytes(self) -> int:
        return 0 if self.labels is None else int(self.labels.nbytes) + 200 * len(self.rows)
