"""What one server holds: its config and the catalogs built from the folders named at start."""

from __future__ import annotations

from dataclasses import dataclass

from ._config import ServeConfig, is_loopback
from ._datasets import DatasetCatalog
from ._library import Catalog
from ._segment import Segmenter
from ._views import Views
from ._workbench import Workbench

__all__ = ["Served", "open_served"]


@dataclass(frozen=True, eq=False)
class Served:
    config: ServeConfig
    catalog: Catalog
    views: Views
    datasets: DatasetCatalog
    bench: Workbench

    @property
    def segmenter(self) -> Segmenter | None:
        return self.bench.segmenter


def open_served(cfg: ServeConfig) -> Served:
    """Check every folder of `cfg` and open it; errors name the option to fix."""
    catalog = Catalog(cfg.libraries)
    segmenter = Segmenter.open(cfg.run, device=cfg.device) if cfg.run is not None else None
    bench = Workbench(
        segmenter,
        cfg.images,
        max_sessions=cfg.max_sessions,
        max_bytes=cfg.max_upload_bytes,
        max_pixels=cfg.max_upload_pixels,
    )
    return Served(
        config=cfg,
        catalog=catalog,
        views=Views(catalog, size_px=cfg.render_size_px, seed=cfg.seed),
        datasets=DatasetCatalog(cfg.datasets),
        bench=bench,
    )


def allowed_hosts(cfg: ServeConfig) -> set[str] | None:
    """Host names a request may address: loopback names on a loopback bind; any otherwise."""
    if not is_loopback(cfg.host):
        return None
    from ._security import LOOPBACK_NAMES

    return set(LOOPBACK_NAMES) | {cfg.host.lower()}
