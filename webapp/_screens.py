"""Screenshots of the pages, from the system's headless Chromium driven by Python Playwright.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium`` (Debian's
``chromium`` package, installed by ``make setup``; ``MITOSHAPE_CHROMIUM`` names another). Used
by ``make demo`` (through `screenshots`) and by the end-to-end tests (through the page
drivers `open_library`, `open_instance`, `open_segment`, `open_dataset`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from shapelib import InputError

from ._config import ServeConfig
from ._server import running_server

__all__ = [
    "CHROMIUM_ARGS",
    "Screenshots",
    "chromium_path",
    "launch_chromium",
    "open_dataset",
    "open_instance",
    "open_library",
    "open_segment",
    "screenshots",
]

CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
)  # fmt: skip
TIMEOUT_MS = 60_000


def chromium_path() -> Path:
    """The system Chromium (``MITOSHAPE_CHROMIUM``, else ``/usr/bin/chromium``), or an error."""
    path = Path(os.environ.get("MITOSHAPE_CHROMIUM", "/usr/bin/chromium"))
    if not path.is_file():
        found = shutil.which("chromium")
        if found is None:
            raise FileNotFoundError(
                f"no Chromium at {path}; install Debian's `chromium` (make setup does), or set "
                "MITOSHAPE_CHROMIUM to the browser's path."
            )
        path = Path(found)
    return path


def launch_chromium(playwright):
    """A headless system Chromium from a started ``sync_playwright()``; close it when done."""
    return playwright.chromium.launch(
        executable_path=str(chromium_path()), args=list(CHROMIUM_ARGS), headless=True
    )


# --- page drivers: go to a page and wait until it has drawn ------------------------------


def open_library(page, url: str, *, shape_class: str | None = None) -> None:
    """The Library page, optionally filtered to one class."""
    page.goto(url + "#/library")
    page.wait_for_selector("#main[data-ready='1'] .lib-card", timeout=TIMEOUT_MS)
    if shape_class is not None:
        page.select_option("#f-class", shape_class)
        page.wait_for_selector("#lib-view tr.row", timeout=TIMEOUT_MS)


def open_instance(page, url: str, library: str, iid: int, *, views: bool = True) -> None:
    """One instance's page, after its 3D view drew (and its first microscope views came)."""
    page.goto(url + f"#/instance/{library}/{iid}")
    page.wait_for_selector("#viewer[data-triangles]", timeout=TIMEOUT_MS)
    if views:
        page.wait_for_selector("#main[data-views='1']", timeout=TIMEOUT_MS)


def open_segment(page, url: str, image: str | None = None) -> None:
    """The Segment page with `image` (from --images) opened and predicted."""
    page.goto(url + "#/segment")
    page.wait_for_selector("#main[data-ready='1']", timeout=TIMEOUT_MS)
    if image is not None:
        page.select_option("#seg-image", image)
        page.click("#seg-open")
        page.wait_for_selector("#seg-stage[data-version]", timeout=TIMEOUT_MS)
        page.wait_for_selector("#seg-img.loaded", timeout=TIMEOUT_MS)


def open_dataset(page, url: str) -> None:
    """The Dataset page, after its first pictures came."""
    page.goto(url + "#/dataset")
    page.wait_for_selector("#main[data-ready='1'] .ds-item img.loaded", timeout=TIMEOUT_MS)


@dataclass(frozen=True)
class Screenshots:
    """PNG files written by `screenshots` (None for a page that was not served)."""

    library: Path | None
    instance: Path | None
    segment: Path | None
    dataset: Path | None


def screenshots(
    out_dir: str | Path,
    *,
    libraries=(),
    run: str | Path | None = None,
    images: str | Path | None = None,
    datasets=(),
    instance: tuple[str, int] | None = None,
    image: str | None = None,
) -> Screenshots:
    """Serve the folders on a free loopback port and save a screenshot of each page.

    Parameters
    ----------
    out_dir : folder for ``webapp_library.png``, ``webapp_instance.png``,
        ``webapp_segment.png`` and ``webapp_dataset.png``
    libraries, datasets : folders to serve (as ``--library``, ``--dataset``)
    run, images : a run and a folder of images (the Segment page; both needed for it)
    instance : (library key, id) to show; default the first instance of the first library
    image : file name in `images` to segment; default the first

    Returns
    -------
    Screenshots

    Examples
    --------
    >>> screenshots("results", libraries=["results/library"], run="results/run_unet",
    ...             images="results/test_epi1/images")                     # doctest: +SKIP
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise InputError(
            "screenshots need Python Playwright (pip install playwright; the dev extra has it)."
        ) from None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg = ServeConfig(
        libraries=tuple(Path(p) for p in libraries),
        datasets=tuple(Path(p) for p in datasets),
        run=run,
        images=images,
        port=0,
        state=Path(tempfile.mkdtemp(prefix="mitoshape-shots-")),  # not the user's sessions
    )
    shots: dict[str, Path | None] = dict.fromkeys(("library", "instance", "segment", "dataset"))
    with running_server(cfg) as srv, sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            if cfg.libraries:
                open_library(page, srv.url)
                shots["library"] = _shot(page, out / "webapp_library.png")
                if instance is None:
                    lib = next(iter(srv.app.state.served.catalog.libraries.values()))
                    instance = (lib.key, int(lib.rows[0]["id"])) if lib.rows else None
                if instance is not None:
                    open_instance(page, srv.url, instance[0], int(instance[1]))
                    shots["instance"] = _shot(page, out / "webapp_instance.png")
            if cfg.run is not None and cfg.images is not None:
                names = srv.app.state.served.bench.image_names()
                if names:
                    open_segment(page, srv.url, image or names[0])
                    shots["segment"] = _shot(page, out / "webapp_segment.png")
            if cfg.datasets:
                open_dataset(page, srv.url)
                shots["dataset"] = _shot(page, out / "webapp_dataset.png")
        finally:
            browser.close()
    return Screenshots(**shots)


def _shot(page, path: Path) -> Path:
    page.screenshot(path=str(path), full_page=True)
    return path
