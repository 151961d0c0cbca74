"""Dataset routes: the served datasets, a page of their images with objects, the pictures."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import Response

from ._models import DatasetImages, DatasetInfo
from ._served import Served

__all__ = ["dataset_router", "dataset_infos"]


def dataset_infos(served: Served) -> list[DatasetInfo]:
    out = []
    for k, ds in served.datasets.datasets.items():
        out.append(
            DatasetInfo(
                key=k,
                name=ds.name,
                n_images=len(ds.images),
                classes=[str(c) for c in ds.info.get("classes") or []],
                pixel_size_nm=ds.info.get("pixel_size_nm"),
                microscope=ds.info.get("microscope"),
                layers=[layer for layer, folder in ds.folders.items() if folder is not None],
            )
        )
    return out


def dataset_router(served: Served) -> APIRouter:
    r = APIRouter(prefix="/api/datasets")
    datasets = served.datasets

    @r.get("", response_model=list[DatasetInfo])
    def listing() -> list[DatasetInfo]:
        return dataset_infos(served)

    @r.get("/{key}", response_model=DatasetImages)
    def images(
        key: str, offset: int = Query(0, ge=0), limit: int = Query(12, ge=1, le=100)
    ) -> DatasetImages:
        ds = datasets.dataset(key)
        return DatasetImages(
            key=key, total=len(ds.images), offset=offset, images=ds.images[offset : offset + limit]
        )

    @r.get("/{key}/{layer}/{name}.png")
    def picture(key: str, layer: str, name: str) -> Response:
        return Response(datasets.png(key, layer, name), media_type="image/png")

    return r
