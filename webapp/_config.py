"""What the server serves and how: the folders named at start, the address, the limits."""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ServeConfig", "is_loopback", "with_token"]

MIB = 1024 * 1024


def is_loopback(host: str) -> bool:
    """True for an address only this machine reaches (127.0.0.0/8, ::1, ``localhost``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ServeConfig(BaseModel):
    """Settings of `mitoshape serve`: every folder the app may read is one of these fields.

    Examples
    --------
    >>> cfg = ServeConfig(libraries=["results/library"], run="results/run_unet")
    >>> cfg.host, cfg.needs_token
    ('127.0.0.1', False)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    libraries: tuple[Path, ...] = Field(
        (), description="Shape libraries (ours, with library.csv, or released 3DMSL folders)."
    )
    datasets: tuple[Path, ...] = Field(
        (), description="Simulator datasets (images/, masks/, instances/, dataset.json)."
    )
    run: Path | None = Field(
        None, description="Trained run folder or shipped model for the Segment page (default)."
    )
    runs: tuple[Path, ...] = Field(
        (), description="More runs or shipped models the Segment page offers beside `run`."
    )
    images: Path | None = Field(None, description="Folder of images to segment (TIFF/PNG).")
    host: str = Field("127.0.0.1", description="Address to bind; non-loopback needs a token.")
    port: int = Field(8765, ge=0, le=65535, description="TCP port; 0 picks a free one.")
    token: str | None = Field(
        None, min_length=8, max_length=256, description="Token every API call must carry."
    )
    max_upload_bytes: int = Field(64 * MIB, ge=1024, description="Largest upload, bytes.")
    max_upload_pixels: int = Field(
        4096 * 4096, ge=64, description="Largest uploaded or opened image, pixels."
    )
    render_size_px: int = Field(128, ge=16, le=1024, description="Side of rendered views.")
    seed: int = Field(0, ge=0, description="Seed of rendered views (as `mitoshape simulate`).")
    max_sessions: int = Field(
        16, ge=1, le=1000, description="Sessions kept in memory (all are saved under --state)."
    )
    state: Path | None = Field(
        None, description="Folder of saved sessions (default: the user cache, mitoshape/sessions)."
    )
    memory_gb: float | None = Field(
        None, gt=0, description="Memory for open sessions, GB (default: a quarter of the machine)."
    )
    workers: int = Field(2, ge=1, le=64, description="Model calls run at once (worker threads).")
    device: str = Field("cpu", description="Torch device of the segmenter (cpu, cuda, auto).")

    @property
    def needs_token(self) -> bool:
        """A token is checked when one is set; one must be set for a non-loopback host."""
        return self.token is not None or not is_loopback(self.host)


def with_token(cfg: ServeConfig) -> ServeConfig:
    """`cfg` with a fresh random token when its host is not loopback and it has none."""
    if cfg.token is None and not is_loopback(cfg.host):
        return cfg.model_copy(update={"token": secrets.token_urlsafe(24)})
    return cfg
