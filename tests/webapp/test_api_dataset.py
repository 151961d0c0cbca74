"""Dataset API: a simulator dataset's images, masks and instance labels with their objects."""

import json

import numpy as np
import pytest

from tests.webapp.conftest import make_client
from webapp import ServeConfig


@pytest.fixture(scope="module")
def client(webapp_data):
    with make_client(ServeConfig(datasets=[webapp_data.dataset])) as c:
        yield c


def test_listing_and_objects(client, webapp_data):
    info = json.loads((webapp_data.dataset / "dataset.json").read_text())
    (ds,) = client.get("/api/datasets").json()
    assert ds["key"] == "ds" and ds["n_images"] == info["n"] == 3
    assert ds["classes"] == info["classes"] and ds["microscope"] == "Epi1"
    assert ds["pixel_size_nm"] == info["pixel_size_nm"]
    assert ds["layers"] == ["image", "mask", "instances"]
    page = client.get("/api/datasets/ds?offset=1&limit=1").json()
    assert page["total"] == 3 and [im["name"] for im in page["images"]] == ["img_000001.tif"]
    assert page["images"][0]["objects"] == info["images"][1]["objects"]


def test_pictures(client, webapp_data):
    import imagecodecs
    import tifffile

    name = "img_000000.tif"
    inst = tifffile.imread(webapp_data.dataset / "instances" / name)
    for layer in ("image", "mask", "instances"):
        r = client.get(f"/api/datasets/ds/{layer}/{name}.png")
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        pic = imagecodecs.png_decode(r.content)
        assert pic.shape[:2] == inst.shape
    mask_pic = imagecodecs.png_decode(client.get(f"/api/datasets/ds/mask/{name}.png").content)
    assert np.array_equal(mask_pic > 0, inst > 0)
    r = client.get(f"/api/datasets/ds/instances/{name}.png")
    labels_pic = imagecodecs.png_decode(r.content)
    for k in np.unique(inst[inst > 0]):  # one colour per instance id
        colours = np.unique(labels_pic[inst == k].reshape(-1, 3), axis=0)
        assert len(colours) == 1 and colours.any()


def test_only_listed_images(client):
    assert client.get("/api/datasets/ds/image/nope.tif.png").status_code == 404
    assert client.get("/api/datasets/ds/secret/img_000000.tif.png").status_code == 404
    assert client.get("/api/datasets/nope").status_code == 404
    assert client.get("/api/datasets/ds/image/..%2Fdataset.json.png").status_code == 404


def test_not_a_dataset(tmp_path):
    from shapelib import InputError
    from webapp import create_app

    (tmp_path / "d").mkdir()
    with pytest.raises(InputError, match="images/"):
        create_app(ServeConfig(datasets=[tmp_path / "d"]))
