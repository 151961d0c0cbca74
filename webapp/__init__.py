"""webapp: `mitoshape serve`, a browser face over the libraries (a face like `cli/`).

Pages: **Library** (class counts, filters, the table, thumbnails, one instance in 3D with its
measurements, files and microscope views), **Dataset** (a simulator dataset's images, masks,
instance labels and objects) and **Segment** (a trained run on an image: mask, uncertainty,
suggested clicks, clicks, morphology, exports).

Layers: handlers (``_routes_*``: parse, call, return; no numerics) over the catalogs
(``_library``, ``_views``, ``_datasets``), the Segment state (``_workbench``, ``_upload``) and
the model adapter (``_segment``, the one module that calls a segmentation model); ``_security``
guards every request and ``_paths`` is the one gate from a URL to the disk. Static files are in
``static/`` (no CDN, no network at run time).

Examples
--------
>>> from webapp import ServeConfig, running_server
>>> cfg = ServeConfig(libraries=["results/library"], run="results/run_unet", port=0)
>>> with running_server(cfg) as srv:                                  # doctest: +SKIP
...     print(srv.url)
"""

from ._app import create_app
from ._config import ServeConfig, is_loopback, with_token
from ._screens import Screenshots, launch_chromium, screenshots
from ._server import Bound, bind, running_server, serve

__all__ = [
    "Bound",
    "Screenshots",
    "ServeConfig",
    "bind",
    "create_app",
    "is_loopback",
    "launch_chromium",
    "running_server",
    "screenshots",
    "serve",
    "with_token",
]
