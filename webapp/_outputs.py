"""What a tab hands out, read off the session's lock: the instance labels of its current state
and their objects table (`ObjectTable`, kept up to date where the state changed), the labels
TIFF, the table as CSV, and a ZIP of every image the tab worked on (`webapp._exports`)."""

from __future__ import annotations

from fastapi import HTTPException

from ._exports import folder_zip, labels_tiff, stem
from ._objects import ObjectTable
from ._store import Session

__all__ = ["Outputs"]


class Outputs:
    """The outputs of `webapp._workbench.Workbench` (which gives `_snapshot` and `store`)."""

    def _pixel_size(self, s: Session) -> float:
        if s.pixel_size_nm is None:
            raise HTTPException(
                422, f"{s.name!r} carries no pixel size; enter it (nm) to measure the objects"
            )
        return s.pixel_size_nm

    def labelled(self, sid: str, *, measure: bool, stoppable: bool = False):
        """(session, instance labels, objects table or None) of the current mask, computed
        where the mask changed since the last call (`ObjectTable`), off the session's lock.
        `stoppable`: the table is None when the mask changed while it was measured."""
        from segtrain import QuantifyParams

        s, p = self._snapshot(sid)
        params = QuantifyParams(pixel_size_nm=self._pixel_size(s)) if measure else None
        table = s.objects
        with table.lock:
            table.update(p.mask, p.instances)
            if params is None:
                return s, table.labels, None
            rows = table.table(params, stop=lambda: stoppable and s.current is not p)
            return s, table.labels, rows

    def objects(self, sid: str):
        """Per-object morphology of the current mask (segtrain's quantify), a DataFrame whose
        `label` is the object's value in `mask_tiff`."""
        return self.labelled(sid, measure=True)[2]

    def objects_table(self, sid: str) -> tuple[list[str], list[dict]] | None:
        """(columns, JSON-ready rows) of `objects` (inf and NaN become None); None when a
        newer change came while it was measured (the page asks again after that one)."""
        import json

        table = self.labelled(sid, measure=True, stoppable=True)[2]
        if table is None:
            return None
        return list(table.columns), json.loads(table.to_json(orient="records"))

    def mask_tiff(self, sid: str) -> tuple[str, bytes]:
        """(file name, bytes) of the current objects as an instance-label TIFF (uint16 while
        the labels fit, 0 background), keeping the pixel size; labels as in `objects`."""
        s, labels, _ = self.labelled(sid, measure=False)
        return labels_tiff(s.name, labels, s.pixel_size_nm)

    def objects_csv(self, sid: str) -> tuple[str, str]:
        s, _, table = self.labelled(sid, measure=True)
        return f"{stem(s.name)}_objects.csv", table.to_csv(index=False)

    def folder_zip(self, sid: str) -> tuple[str, bytes]:
        """(file name, bytes): a ZIP of the labels of every image this tab worked on (the
        current one and those kept) and one table of their objects."""
        from segtrain import QuantifyParams

        s, labels, _ = self.labelled(sid, measure=False)
        current = self.objects(sid) if s.pixel_size_nm is not None else None
        items = [(s.name, labels, current, s.pixel_size_nm)]
        for kept in self.store.shelved_sessions(s.id):
            table = ObjectTable()
            table.update(kept.current.mask, kept.current.instances)
            px = kept.pixel_size_nm
            rows = table.table(QuantifyParams(pixel_size_nm=px)) if px is not None else None
            items.append((kept.name, table.labels, rows, px))
        return f"{stem(s.name)}_and_others_labels.zip", folder_zip(items)
