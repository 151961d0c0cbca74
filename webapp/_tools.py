"""Corrections by hand on a tab's state, each one step of its history (undo takes it back):
brush and eraser strokes, delete an object, merge two objects into one label, and commit the
object the clicks built (micro-sam's "commit": the object gets a label of its own, the clicks
are cleared, and the next clicks build a new object).

Objects are those of the tab's `ObjectTable` (the labels of the export and of the objects
table); merged and committed objects live in the state's instance layer
(`Prediction.instances`), so they stay one label each whatever clicks come later.
"""

from __future__ import annotations

from fastapi import HTTPException

from ._edits import committed, disks, inside_image, merged
from ._segment import Prediction
from ._store import Session

__all__ = ["Corrections"]


class Corrections:
    """The correction tools of `webapp._workbench.Workbench` (which gives `_change`,
    `_need_image` and `_push`)."""

    def _labels_at(self, s: Session, current: Prediction, points) -> list[int]:
        """The object labels under (x, y) `points` (422 outside the image or on background)."""
        with s.objects.lock:
            s.objects.update(current.mask, current.instances)
            labels = s.objects.labels
        out = []
        for x, y in points:
            if not inside_image(y, x, current.mask.shape):
                raise HTTPException(422, f"({x}, {y}) is outside the image")
            k = int(labels[y, x])
            if k == 0:
                raise HTTPException(422, f"no object at ({x}, {y})")
            out.append(k)
        return out

    def paint(self, sid: str, points: list[tuple[int, int]], radius_px: int, on: bool) -> Session:
        """Brush (`on`) or erase disks of `radius_px` at (x, y) `points` on the mask; the
        probability follows (1 or 0 there), so a later click starts from the edit."""

        def go(s: Session) -> None:
            current = self._need_image(s)
            hit = disks(current.mask.shape, points, radius_px)
            mask, prob = current.mask.copy(), current.probability.copy()
            mask[hit], prob[hit] = int(on), float(on)
            self._push(s, current.but(probability=prob, mask=mask), "paint")

        return self._change(sid, go)

    def delete_object(self, sid: str, x_px: int, y_px: int) -> Session:
        """Remove the object under (x, y) from the mask (probability 0 there): one step."""

        def go(s: Session) -> None:
            current = self._need_image(s)
            (k,) = self._labels_at(s, current, [(x_px, y_px)])
            hit = s.objects.labels == k
            mask, prob = current.mask.copy(), current.probability.copy()
            inst = current.instances.copy()
            mask[hit], prob[hit], inst[hit] = 0, 0.0, 0
            self._push(s, current.but(probability=prob, mask=mask, instances=inst), "delete")

        return self._change(sid, go)

    def merge_objects(self, sid: str, a: tuple[int, int], b: tuple[int, int]) -> Session:
        """The objects under (x, y) points `a` and `b` become one label (touching or not):
        one step; the mask is unchanged."""

        def go(s: Session) -> None:
            current = self._need_image(s)
            ka, kb = self._labels_at(s, current, [a, b])
            if ka == kb:
                raise HTTPException(422, f"{a} and {b} are on the same object; pick two")
            inst = merged(s.objects.labels, current.instances, ka, kb)
            self._push(s, current.but(instances=inst), "merge")

        return self._change(sid, go)

    def commit_object(self, sid: str) -> Session:
        """The object the clicks since the last commit built (the objects under its positive
        clicks) gets a label of its own; the clicks are cleared (they no longer go into the
        network) and the next ones build a new object. One step: undo brings the clicks back."""

        def go(s: Session) -> None:
            current = self._need_image(s)
            pos = [(c.x_px, c.y_px) for c in s.clicks if c.positive]
            if not pos:
                raise HTTPException(422, "nothing to commit: click on an object first (+)")
            with s.objects.lock:
                s.objects.update(current.mask, current.instances)
                labels = s.objects.labels
            ids = {int(labels[y, x]) for x, y in pos} - {0}
            if not ids:
                raise HTTPException(422, "nothing to commit: the clicks left no object")
            try:
                inst = committed(labels, current.instances, ids)
            except ValueError as err:
                raise HTTPException(422, str(err)) from None
            # A step even when the layer did not change (its clicks are cleared all the same).
            self._push(s, current.but(instances=inst), "commit")

        return self._change(sid, go)
