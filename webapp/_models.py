"""Request and response bodies of the JSON API (pydantic), one model per body."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ClickIn",
    "ClickOut",
    "DatasetImages",
    "DatasetInfo",
    "Info",
    "InstanceDetail",
    "LibraryInfo",
    "LibraryListing",
    "OpenImage",
    "PaintIn",
    "PixelSize",
    "PresetImages",
    "SegmentState",
    "SegmentStatus",
    "SessionEntry",
    "Sessions",
    "Suggestion",
    "Table",
]

Scalar = str | int | float | bool | None


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- requests --------------------------------------------------------------------------------


class ClickIn(_In):
    x_px: int = Field(ge=0, le=1_000_000, description="Pixel column of the click.")
    y_px: int = Field(ge=0, le=1_000_000, description="Pixel row of the click.")
    positive: bool = Field(True, description="True: object here; False: background here.")


class OpenImage(_In):
    name: str = Field(min_length=1, max_length=128, description="File name in --images.")
    run: str | None = Field(None, max_length=200, description="A served run (default: --run).")


class PixelSize(_In):
    pixel_size_nm: float = Field(gt=0, le=1e6, description="Pixel side in nm.")


# --- responses -------------------------------------------------------------------------------


class LibraryInfo(_Out):
    key: str
    name: str
    kind: Literal["mitoshape", "3dmsl"]
    n_instances: int
    columns: list[str]


class DatasetInfo(_Out):
    key: str
    name: str
    n_images: int
    classes: list[str] = []
    pixel_size_nm: float | None = None
    microscope: str | None = None
    layers: list[str]


class Info(_Out):
    version: str
    libraries: list[LibraryInfo]
    datasets: list[DatasetInfo]
    segment: bool = Field(description="A run is served (the Segment page works).")
    token_required: bool
    max_upload_bytes: int
    max_upload_pixels: int


class LibraryListing(_Out):
    libraries: list[LibraryInfo]
    rows: list[dict[str, Scalar]] = Field(
        description="One per instance: `library` and the library.csv columns."
    )
    n_pending: int = Field(description="Released instances still being measured.")


class PresetImages(_Out):
    preset: str
    source: Literal["library", "simulator"]
    views: list[str]
    rendered: list[str] = []


class FileEntry(_Out):
    path: str
    bytes: int


class InstanceDetail(_Out):
    library: str
    id: int
    shape_class: str | None
    row: dict[str, Scalar]
    measurements: dict[str, Scalar | list]
    skeleton: dict[str, Scalar]
    files: list[FileEntry]
    images: list[PresetImages]
    render_seed: int
    render_size_px: int


class DatasetImages(_Out):
    key: str
    total: int
    offset: int
    images: list[dict]


class ClickOut(_Out):
    x_px: int
    y_px: int
    positive: bool


class Suggestion(_Out):
    x_px: int
    y_px: int
    score: float = Field(description="The uncertainty at the point, on the map's scale.")


class SegmentStatus(_Out):
    available: bool
    run: str | None
    runs: list[str] = []
    images: list[str]
    uses_clicks: bool
    uncertainty_label: str
    note: str


class SegmentState(_Out):
    image: str | None = None
    run: str | None = None
    width_px: int | None = None
    height_px: int | None = None
    pixel_size_nm: float | None = None
    clicks: list[ClickOut] = []
    suggestions: list[Suggestion] = []
    version: int = 0
    opened: int = 0
    uses_clicks: bool = False
    uncertainty_label: str = ""
    uncertainty_max: float = 0.0
    uncertainty_vmax: float = Field(0.5, description="The map's fixed top (bright).")
    changed_from: int | None = Field(
        None, description="The version the last change started from (`changed_box` applies)."
    )
    changed_box: list[int] | None = Field(
        None, description="(row0, row1, col0, col1) the last change touched; None: all."
    )
    committed: int = Field(0, description="Objects with a label of their own (committed).")
    foreground_fraction: float = 0.0
    seconds: float = 0.0
    note: str = ""
    session: str | None = Field(None, description="The tab's session id (`?session=` reopens it).")
    edits: int = Field(0, description="Edits by hand (strokes, deleted objects) in the history.")
    queued: int = Field(0, description="Model tasks of all tabs queued or running.")
    shelved: list[str] = Field([], description="Other images of this tab with work kept.")


class PaintIn(_In):
    points: list[tuple[int, int]] = Field(
        min_length=1, max_length=2000, description="Stroke points, (x_px, y_px)."
    )
    radius_px: int = Field(4, ge=0, le=256, description="Brush radius, pixels.")
    on: bool = Field(True, description="True: brush (object); False: eraser (background).")


class MergeIn(_In):
    a: ClickIn = Field(description="A point on the first object (positive is ignored).")
    b: ClickIn = Field(description="A point on the second object.")


class SessionEntry(_Out):
    id: str
    owned: bool = Field(False, description="Opened by this browser (it may delete it).")
    name: str | None = None
    clicks: int = 0
    steps: int = 0
    updated: float = 0.0
    shape: list[int] | None = None


class Sessions(_Out):
    sessions: list[SessionEntry]


class Table(_Out):
    columns: list[str]
    rows: list[dict[str, Scalar]]
    pixel_size_nm: float | None = None
    superseded: bool = Field(False, description="A newer change came while measuring.")
