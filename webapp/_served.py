"""What one server holds: its config and the catalogs built from the folders named at start."""

from __future__ import annotations

from dataclasses import dataclass

from shapelib import InputError

from ._config import ServeConfig, is_loopback
from ._datasets import DatasetCatalog
from ._library import Catalog
from ._segment import Segmenter
from ._store import SessionStore, default_memory_bytes, default_state_dir
from ._views import Views
from ._workbench import Workbench

__all__ = ["Served", "open_served", "open_store"]


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
    others: dict[str, Segmenter] = {}
    if cfg.runs and segmenter is None:
        raise InputError("--run: the first --run is the default; pass it before the others.")
    for run in cfg.runs:
        seg = Segmenter.open(run, device=cfg.device)
        name, k = seg.name, 2
        while name in others or name == segmenter.name:  # two folders of one name
            name, k = f"{seg.name}-{k}", k + 1
        seg.key = name
        others[name] = seg
    bench = Workbench(
        segmenter,
        cfg.images,
        store=open_store(cfg),
        max_bytes=cfg.max_upload_bytes,
        max_pixels=cfg.max_upload_pixels,
        workers=cfg.workers,
        others=others,
    )
    return Served(
        config=cfg,
        catalog=catalog,
        views=Views(catalog, size_px=cfg.render_size_px, seed=cfg.seed),
        datasets=DatasetCatalog(cfg.datasets),
        bench=bench,
    )


def open_store(cfg: ServeConfig) -> SessionStore:
    """The sessions' folder (`--state`; with a run served, made if missing and checked
    writable) and the memory budget."""
    root = (cfg.state or default_state_dir()).expanduser()
    if cfg.run is not None:  # without a run the Segment page saves nothing
        try:
            root.mkdir(parents=True, exist_ok=True)
            probe = root / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as err:
            raise InputError(
                f"--state {root} is not a writable folder ({err.strerror or err}); pass another."
            ) from None
    budget = int(cfg.memory_gb * (1 << 30)) if cfg.memory_gb else default_memory_bytes()
    return SessionStore(root, budget_bytes=budget, max_sessions=cfg.max_sessions)


def allowed_hosts(cfg: ServeConfig) -> set[str] | None:
    """Host names a request may address: loopback names on a loopback bind; any otherwise."""
    if not is_loopback(cfg.host):
        return None
    from ._security import LOOPBACK_NAMES

    return set(LOOPBACK_NAMES) | {cfg.host.lower()}
