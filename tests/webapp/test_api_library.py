"""Library API: the table of every served library, one instance, its mesh as GLB, its views."""

import json
import struct
import time

import numpy as np
import pytest

from shapelib.io import read_library_table, read_mesh
from tests.webapp.conftest import make_client
from webapp import ServeConfig
from webapp._views import PRESET_NAMES, VIEW_NAMES


@pytest.fixture(scope="module")
def client(webapp_data):
    with make_client(ServeConfig(libraries=[webapp_data.library], seed=3)) as c:
        yield c


def test_listing_is_library_csv(client, webapp_data):
    j = client.get("/api/library").json()
    table = read_library_table(webapp_data.library)
    assert [lib["key"] for lib in j["libraries"]] == ["lib"]
    assert j["libraries"][0]["kind"] == "mitoshape" and j["n_pending"] == 0
    assert len(j["rows"]) == len(table) == j["libraries"][0]["n_instances"]
    assert [r["id"] for r in j["rows"]] == table["id"].tolist()
    assert [r["class"] for r in j["rows"]] == table["class"].tolist()
    np.testing.assert_allclose([r["mesh_volume_um3"] for r in j["rows"]], table["mesh_volume_um3"])
    assert all(r["library"] == "lib" for r in j["rows"])
    assert set(table.columns) <= set(j["rows"][0])


def test_detail(client, webapp_data):
    d = client.get("/api/library/lib/1").json()
    meta = json.loads((webapp_data.library / "000001" / "meta.json").read_text())
    assert d["shape_class"] == meta["class"]
    assert d["measurements"]["mesh_volume_um3"] == pytest.approx(
        meta["measurements"]["mesh_volume_um3"]
    )
    assert d["skeleton"]["skeleton_length_um"] == pytest.approx(
        meta["measurements"]["skeleton_length_um"]
    )
    assert {"raw_mesh.off", "meta.json", "pointcloud.ply", "occupancies.npz"} <= {
        f["path"] for f in d["files"]
    }
    assert [p["preset"] for p in d["images"]] == list(PRESET_NAMES)
    assert all(p["source"] == "simulator" and p["views"] == list(VIEW_NAMES) for p in d["images"])


def _glb_positions(data: bytes) -> np.ndarray:
    magic, version, length = struct.unpack("<4sII", data[:12])
    assert magic == b"glTF" and version == 2 and length == len(data)
    jlen, jtype = struct.unpack("<II", data[12:20])
    assert jtype == 0x4E4F534A
    doc = json.loads(data[20 : 20 + jlen])
    blen, btype = struct.unpack("<II", data[20 + jlen : 28 + jlen])
    assert btype == 0x004E4942
    binary = data[28 + jlen : 28 + jlen + blen]
    prim = doc["meshes"][0]["primitives"][0]
    acc = doc["accessors"][prim["attributes"]["POSITION"]]
    view = doc["bufferViews"][acc["bufferView"]]
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    assert "NORMAL" in prim["attributes"] and "indices" in prim
    return np.frombuffer(binary, np.float32, acc["count"] * 3, start).reshape(-1, 3)


def test_mesh_is_binary_glb_in_nm(client, webapp_data):
    r = client.get("/api/library/lib/1/mesh.glb")
    assert r.status_code == 200 and r.headers["content-type"] == "model/gltf-binary"
    pos = _glb_positions(r.content)
    mesh = read_mesh(webapp_data.library / "000001")
    assert pos.shape == mesh.vertices.shape
    np.testing.assert_allclose(pos, mesh.vertices, rtol=1e-6, atol=1e-3)


def test_views_render_on_request_as_simulate_does(client, webapp_data, tmp_path):
    """A rendered view is the image `mitoshape simulate --seed S --views V` writes."""
    from shapelib.io import read_tiff
    from simulator import EPI1, Acquisition, write_simulations
    from simulator.io import read_shapes
    from webapp._png import grey_png

    t0 = time.perf_counter()
    r = client.get("/api/library/lib/2/views/Epi1/x90.png")
    first = time.perf_counter() - t0
    assert r.status_code == 200 and r.content[:8] == b"\x89PNG\r\n\x1a\n"
    t0 = time.perf_counter()
    again = client.get("/api/library/lib/2/views/Epi1/x90.png")
    assert again.content == r.content and time.perf_counter() - t0 < max(first / 2, 0.2)
    d = client.get("/api/library/lib/2").json()
    assert "x90" in next(p for p in d["images"] if p["preset"] == "Epi1")["rendered"]

    shapes = [s for s in read_shapes(webapp_data.library) if s.id == 2]
    out = write_simulations(shapes, [EPI1], tmp_path / "sim", views=["x90"],
                            acquisition=Acquisition(size_px=128), seed=3, workers=1)  # fmt: skip
    written = read_tiff(out / "2" / "Epi1_imgs" / "0_2_x90.tif").data
    assert grey_png(written) == r.content


def test_released_library_side_by_side(shared_data, webapp_data):
    """Ours and a released 3DMSL folder together: the released ones are measured in the
    background (classes as `mitoshape classify` gives) and their own images are served."""
    released = shared_data / "3dmsl_samples"
    cfg = ServeConfig(libraries=[webapp_data.library, released])
    with make_client(cfg) as c:
        j = c.get("/api/library").json()
        assert [lib["kind"] for lib in j["libraries"]] == ["mitoshape", "3dmsl"]
        rel = [r for r in j["rows"] if r["library"] == "3dmsl_samples"]
        assert sorted(r["id"] for r in rel) == [1, 920]
        deadline = time.monotonic() + 60
        while j["n_pending"] and time.monotonic() < deadline:
            time.sleep(0.5)
            j = c.get("/api/library").json()
        classes = {r["id"]: r["class"] for r in j["rows"] if r["library"] == "3dmsl_samples"}
        assert classes[920] == "donut"  # genus 1, as PROVENANCE.md says
        assert classes[1] not in ("measuring", "unreadable")
        d = c.get("/api/library/3dmsl_samples/920").json()
        assert all(p["source"] == "library" for p in d["images"])
        assert d["skeleton"]["n_loops"] >= 1
        r = c.get("/api/library/3dmsl_samples/920/views/Conf1/x90.png")
        assert r.status_code == 200 and r.content[:4] == b"\x89PNG"
        assert c.get("/api/library/3dmsl_samples/920/views/Conf1/r001.png").status_code == 404
        r = c.get("/api/library/3dmsl_samples/920/files/Epi1_imgs/0_920_0.tif")
        assert r.status_code == 200
        assert r.content == (released / "920" / "Epi1_imgs" / "0_920_0.tif").read_bytes()


def test_not_a_library(tmp_path):
    from shapelib import InputError
    from webapp import create_app

    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no library.csv"):
        create_app(ServeConfig(libraries=[tmp_path / "empty"]))
    with pytest.raises(FileNotFoundError, match="--library"):
        create_app(ServeConfig(libraries=[tmp_path / "missing"]))


def test_preset_and_view_names_are_the_simulators():
    import simulator

    assert PRESET_NAMES == tuple(simulator.PRESETS)
    assert VIEW_NAMES == tuple(simulator.VIEWS_3DMSL)
