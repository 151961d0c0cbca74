"""An instance seen through each microscope preset: the library's own images, or rendered.

Released 3DMSL folders ship ``Conf1_imgs/``, ``Conf2_imgs/`` and ``Epi1_imgs/``; those files are
shown as they are. Otherwise a view is rendered on request by `simulator.simulate_shape` with
the random stream `mitoshape simulate` uses (``SeedSequence([seed, id, name_key(preset)])``),
so a picture here is the image ``mitoshape simulate LIB --preset P --views V --seed S`` writes;
renders are cached.
"""

from __future__ import annotations

import threading

from fastapi import HTTPException

from ._cache import BytesCache
from ._library import Catalog
from ._paths import inside

__all__ = ["PRESET_NAMES", "VIEW_NAMES", "Views"]

PRESET_NAMES = ("Conf1", "Conf2", "Epi1")  # simulator.PRESETS, checked in the tests
VIEW_NAMES = ("0", "x90", "x180", "y90", "y180", "z90")  # simulator.VIEWS_3DMSL


def _view_of(stem: str) -> str:
    """``N_0_920_x90`` -> ``x90`` (the 3DMSL file names end in the view)."""
    return stem.rsplit("_", 1)[-1]


class Views:
    """Images of library instances per preset and view, as PNG bytes."""

    def __init__(self, catalog: Catalog, *, size_px: int = 128, seed: int = 0):
        self.catalog = catalog
        self.size_px = size_px
        self.seed = seed
        self.cache = BytesCache(64 * 1024 * 1024)
        self._render_lock = threading.Semaphore(1)  # one render at a time: CPU stays bounded

    def _library_files(self, key: str, iid: int, preset: str) -> dict:
        folder = self.catalog.folder(key, iid) / f"{preset}_imgs"
        if not folder.is_dir():
            return {}
        from shapelib.io import TIFF_SUFFIXES

        files = [p for p in sorted(folder.iterdir()) if p.suffix.lower() in TIFF_SUFFIXES]
        return {_view_of(p.stem): p for p in files}

    def available(self, key: str, iid: int) -> list[dict]:
        """Per preset: where its images come from and which views there are."""
        out = []
        for preset in PRESET_NAMES:
            files = self._library_files(key, iid, preset)
            if files:
                out.append({"preset": preset, "source": "library", "views": list(files)})
            else:
                rendered = [v for v in VIEW_NAMES if (key, iid, preset, v) in self.cache]
                out.append({"preset": preset, "source": "simulator", "views": list(VIEW_NAMES),
                            "rendered": rendered})  # fmt: skip
        return out

    def png(self, key: str, iid: int, preset: str, view: str) -> bytes:
        """The view as a display PNG (library file, else a cached render)."""
        if preset not in PRESET_NAMES:
            raise HTTPException(404, f"no preset {preset!r}; presets: {', '.join(PRESET_NAMES)}")
        files = self._library_files(key, iid, preset)
        if files:
            if view not in files:
                raise HTTPException(404, f"no {preset} view {view!r}; views: {', '.join(files)}")
            root = self.catalog.library(key).path
            path = inside(root, files[view].relative_to(root).as_posix())
            return self.cache.get(("file", str(path)), lambda: _tiff_png(path))
        if view not in VIEW_NAMES:
            raise HTTPException(404, f"no view {view!r}; views: {', '.join(VIEW_NAMES)}")
        make = lambda: self._render(key, iid, preset, view)  # noqa: E731
        return self.cache.get((key, iid, preset, view), make)

    def _render(self, key: str, iid: int, preset: str, view: str) -> bytes:
        import numpy as np

        from simulator import Acquisition, get_preset, name_key, simulate_shape

        from ._png import grey_png

        mesh = self.catalog.mesh(key, iid)
        mic = get_preset(preset)
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, iid, name_key(mic.name)]))
        with self._render_lock:
            views = simulate_shape(
                mesh, mic, views=[view], acquisition=Acquisition(size_px=self.size_px), rng=rng
            )
        return grey_png(views[view].image)


def _tiff_png(path) -> bytes:
    from shapelib.io import read_tiff

    from ._png import grey_png

    return grey_png(read_tiff(path).data)
