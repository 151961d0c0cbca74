"""`mitoshape predict` with a bioimage.io package: ours predicts as its run; a foreign one runs
its TorchScript weights with its declared preprocessing; what cannot run is refused in one
line and nothing is written."""

from __future__ import annotations

import hashlib
import zipfile

import numpy as np
import pytest
import tifffile
import yaml

from tests.segtrain._tiny import disks

pytest.importorskip("bioimageio.spec", reason="bioimageio.spec is not installed")


@pytest.fixture(scope="module")
def run(export_run):
    return export_run


@pytest.fixture(scope="module")
def package(run, tmp_path_factory):
    from segtrain import Run, export_bioimageio

    out = tmp_path_factory.mktemp("zip") / "model.zip"
    return export_bioimageio(Run.open(run), out)


def _image(tmp_path, size=100, seed=5):
    img = disks(size, 4, seed)[0]
    tifffile.imwrite(tmp_path / "t.tif", img)
    return img


def test_our_package_predicts_as_its_run(tmp_path, run, package, invoke):
    _image(tmp_path)
    tiles = ["--tile-px", 64, "--overlap-px", 16, "--tta", "flips"]
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(package) as z:
        z.extractall(unpacked)
    got = {}
    for name, source in (("run", run), ("zip", package), ("folder", unpacked)):
        r = invoke("predict", source, tmp_path / "t.tif", "-o", tmp_path / name, *tiles)
        assert r.exit_code == 0, r.stderr
        got[name] = tifffile.imread(tmp_path / name / "probabilities/t.tif")
    # The tiny run's answer varies little (std ~2e-4, 3 steps), so the bar is float rounding,
    # far below its spread (the promise is 1e-4): the same network, settings and tiles.
    assert got["run"].std() > 1e-5
    for name in ("zip", "folder"):
        assert float(np.abs(got[name] - got["run"]).max()) < 1e-6, name


def _foreign(root, *, axes="byxc", pre=None, post=("sigmoid",), weights="torchscript"):
    """A package not written by mitoshape: a 1x1 convolution (2 x - 1) as TorchScript, taking
    its input in `axes` order (spec 0.5 description)."""
    import torch

    class Net(torch.nn.Module):
        def __init__(self, perm_in: list[int], perm_out: list[int], squash: bool):
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 2, 1)
            self.perm_in, self.perm_out, self.squash = perm_in, perm_out, squash

        def forward(self, x):
            y = self.conv(x.permute(self.perm_in))
            y = torch.sigmoid(y) if self.squash else y
            return y.permute(self.perm_out)

    order = "bcyx"
    net = Net([axes.index(a) for a in order], [order.index(a) for a in axes], not post)
    with torch.no_grad():
        net.conv.weight[:] = torch.tensor([2.0, -5.0]).reshape(2, 1, 1, 1)
        net.conv.bias[:] = torch.tensor([-1.0, 3.0])
    root.mkdir(parents=True)
    torch.jit.save(torch.jit.script(net), str(root / "net.pt"))
    kinds = {"b": {"type": "batch"}, "c": {"type": "channel", "channel_names": ["raw"]}}
    space = {"size": {"min": 16, "step": 8}, "type": "space", "unit": "nanometer", "scale": 5.0}
    rdf = {
        "type": "model",
        "format_version": "0.5.3",
        "name": "foreign",
        "inputs": [
            {
                "id": "input",
                "axes": [kinds.get(a) or {"id": a, **space} for a in axes],
                "preprocessing": pre if pre is not None else [],
            }
        ],
        "outputs": [
            {
                "id": "out",
                "axes": [kinds.get(a) or {"id": a, "type": "space"} for a in axes],
                "postprocessing": [{"id": p} for p in post],
            }
        ],
        "weights": {weights: {"source": "net.pt", "sha256": _sha(root / "net.pt")}},
    }
    (root / "rdf.yaml").write_text(yaml.safe_dump(rdf))
    return root


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("post", [("sigmoid",), ()])
def test_a_foreign_package_runs_its_torchscript_with_its_preprocessing(tmp_path, invoke, post):
    img = _image(tmp_path).astype(np.float64)
    pre = [
        {"id": "zero_mean_unit_variance", "kwargs": {"axes": ["y", "x"], "eps": 1e-6}},
        {"id": "scale_linear", "kwargs": {"gain": 0.5, "offset": 0.25}},
    ]
    pkg = _foreign(tmp_path / "foreign", pre=pre, post=post)
    r = invoke(
        "predict",
        pkg,
        tmp_path / "t.tif",
        "-o",
        tmp_path / "out",
        "--tile-px",
        36,
        "--overlap-px",
        8,
    )
    assert r.exit_code == 0, r.stderr
    got = tifffile.imread(tmp_path / "out/probabilities/t.tif")
    x = (img - img.mean()) / (img.std() + 1e-6) * 0.5 + 0.25
    want = 1 / (1 + np.exp(-(2 * x - 1)))  # the first output channel
    assert got.shape == img.shape
    assert float(np.abs(got - want).max()) < 1e-4
    mask = tifffile.imread(tmp_path / "out/masks/t.tif")
    assert np.array_equal(mask, (want >= 0.5).astype(np.uint8))


def test_a_spec_0_4_package_is_read_too(tmp_path, invoke):
    """Spec 0.4 says axes as letters, sizes as min/step lists and steps by `name`."""
    img = _image(tmp_path).astype(np.float64)
    pkg = _foreign(tmp_path / "foreign", axes="bcyx")
    rdf = yaml.safe_load((pkg / "rdf.yaml").read_text())
    rdf["format_version"] = "0.4.10"
    rdf["inputs"] = [
        {
            "name": "input",
            "axes": "bcyx",
            "shape": {"min": [1, 1, 16, 16], "step": [0, 0, 8, 8]},
            "preprocessing": [
                {"name": "scale_range", "kwargs": {"min_percentile": 2, "max_percentile": 98}}
            ],
        }
    ]
    rdf["outputs"] = [{"name": "out", "axes": "bcyx", "postprocessing": [{"name": "sigmoid"}]}]
    (pkg / "rdf.yaml").write_text(yaml.safe_dump(rdf))
    r = invoke("predict", pkg, tmp_path / "t.tif", "-o", tmp_path / "out")
    assert r.exit_code == 0, r.stderr
    got = tifffile.imread(tmp_path / "out/probabilities/t.tif")
    lo, hi = np.percentile(img, [2, 98])
    want = 1 / (1 + np.exp(-(2 * (img - lo) / (hi - lo + 1e-6) - 1)))
    assert float(np.abs(got - want).max()) < 1e-4


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"weights": "onnx"}, "no TorchScript weights (it has: onnx)"),
        ({"axes": "z"}, "axes 'byzxc'"),
        ({"pre": [{"id": "scale_mean_variance"}]}, "'scale_mean_variance' is not one"),
    ],
)
def test_what_a_foreign_package_cannot_run_is_refused(tmp_path, invoke, change, message):
    _image(tmp_path)
    if change.get("axes") == "z":  # the 1x1 net cannot be 3D: describe it so, not run it
        pkg = _foreign(tmp_path / "foreign")
        rdf = yaml.safe_load((pkg / "rdf.yaml").read_text())
        rdf["inputs"][0]["axes"].insert(2, {"id": "z", "type": "space", "size": 8})
        (pkg / "rdf.yaml").write_text(yaml.safe_dump(rdf))
    else:
        pkg = _foreign(tmp_path / "foreign", **change)
    r = invoke("predict", pkg, tmp_path / "t.tif", "-o", tmp_path / "out")
    assert r.exit_code == 2 and message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_changed_package_file_is_refused_before_loading(tmp_path, invoke):
    _image(tmp_path)
    pkg = _foreign(tmp_path / "foreign")
    (pkg / "net.pt").write_bytes((pkg / "net.pt").read_bytes() + b"\0")
    r = invoke("predict", pkg, tmp_path / "t.tif", "-o", tmp_path / "out")
    assert r.exit_code == 2 and "does not match its sha256" in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()
