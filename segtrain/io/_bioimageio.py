"""The bioimage.io model package writer (spec 0.5): one zip with the weights (PyTorch state
dict and TorchScript), test tensors, a cover, documentation, citations, a licence and the
run's settings (``mitoshape_run.json``, from which `mitoshape predict` rebuilds the run).

The package is described with `bioimageio.spec` (validated as it is built) and zipped by its
`save_bioimageio_package`; the zip goes into place atomically. What goes in comes ready from
`segtrain.workflows._export` (`ModelPackage`): nothing here computes.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shapelib.io import atomic_path

from ._bioimageio_read import RUN_ATTACHMENT

__all__ = ["ModelPackage", "write_bioimageio_package"]

# Papers the exported networks stand on (by registry name): a DOI, or an address.
CITATIONS: dict[str, list[tuple[str, str]]] = {
    "unet": [("Ronneberger et al. U-Net (MICCAI 2015)", "10.1007/978-3-319-24574-4_28")],
    "attention_res_unet": [
        ("Ronneberger et al. U-Net (MICCAI 2015)", "10.1007/978-3-319-24574-4_28"),
        ("Oktay et al. Attention U-Net (MIDL 2018)", "10.48550/arXiv.1804.03999"),
    ],
    "efficientnet_unet": [
        ("Tan and Le. EfficientNet (ICML 2019)", "10.48550/arXiv.1905.11946"),
        ("Ronneberger et al. U-Net (MICCAI 2015)", "10.1007/978-3-319-24574-4_28"),
    ],
    "patch_cnn": [
        (
            "Ciresan et al. Deep neural networks segment neuronal membranes in EM (NIPS 2012)",
            "https://papers.nips.cc/paper/4741",
        )
    ],
}


@dataclass(frozen=True, eq=False)
class ModelPackage:
    """Everything a bioimage.io model package holds, ready to write.

    Attributes
    ----------
    name, description : the model's name (5..128 characters) and one paragraph
    model_name : the registry name (`segtrain.build_model`) and `model_params` its options,
        the architecture of the state dict weights
    state_dict : the network's weights; `torchscript` the traced network (torch.jit)
    test_input, test_output : (1, 1, Y, X) float32, raw image and the expected probability
    cover : (H, W, 3) uint8, the cover picture
    pixel_size_nm : (y, x) of the training images, or None
    percentiles : (low, high) of the input's scale_range
    documentation : the README (Markdown)
    run_settings : what `mitoshape predict` needs to rebuild the run from the package (its
        TrainConfig, post-processing, training pixel size, threshold), as the attachment
        ``mitoshape_run.json``
    """

    name: str
    description: str
    model_name: str
    model_params: dict
    state_dict: dict = field(repr=False)
    torchscript: object = field(repr=False)
    test_input: np.ndarray = field(repr=False)
    test_output: np.ndarray = field(repr=False)
    cover: np.ndarray = field(repr=False)
    pixel_size_nm: tuple[float, float] | None
    percentiles: tuple[float, float]
    min_side_px: int
    documentation: str
    run_settings: dict = field(default_factory=dict, repr=False)
    license: str = "BSD-3-Clause"


def _axes(p: ModelPackage, *, output: bool):
    from bioimageio.spec.model import v0_5 as m

    unit = {} if p.pixel_size_nm is None else {"unit": "nanometer"}
    scales = p.pixel_size_nm or (1.0, 1.0)
    axes: list = [m.BatchAxis()]
    channel = "foreground_probability" if output else "raw"
    axes.append(m.ChannelAxis(channel_names=[m.Identifier(channel)]))
    for ax, scale in zip(("y", "x"), scales, strict=True):
        if output:
            size = m.SizeReference(tensor_id=m.TensorId("raw"), axis_id=m.AxisId(ax))
            axes.append(m.SpaceOutputAxis(id=m.AxisId(ax), size=size, scale=scale, **unit))
        else:
            size = m.ParameterizedSize(min=p.min_side_px, step=p.min_side_px)
            axes.append(m.SpaceInputAxis(id=m.AxisId(ax), size=size, scale=scale, **unit))
    return axes


def _descr(p: ModelPackage, files: dict[str, Path]):
    import torch
    from bioimageio.spec.generic.v0_3 import Author, CiteEntry
    from bioimageio.spec.model import v0_5 as m

    version = m.Version(torch.__version__.split("+")[0])
    low, high = p.percentiles
    pre = [
        m.EnsureDtypeDescr(kwargs=m.EnsureDtypeKwargs(dtype="float32")),
        m.ScaleRangeDescr(
            kwargs=m.ScaleRangeKwargs(
                axes=[m.AxisId("y"), m.AxisId("x")],
                min_percentile=low,
                max_percentile=high,
                eps=1e-6,
            )
        ),
    ]
    inputs = [
        m.InputTensorDescr(
            id=m.TensorId("raw"),
            description="raw grey image (EM or fluorescence), any real dtype",
            axes=_axes(p, output=False),
            test_tensor=m.FileDescr(source=files["test_input"]),
            preprocessing=pre,
        )
    ]
    outputs = [
        m.OutputTensorDescr(
            id=m.TensorId("probability"),
            description="foreground (mitochondria) probability in [0, 1]",
            axes=_axes(p, output=True),
            test_tensor=m.FileDescr(source=files["test_output"]),
            data=m.IntervalOrRatioDataDescr(type="float32", range=(0.0, 1.0)),
            postprocessing=[m.SigmoidDescr()],
        )
    ]
    arch = m.ArchitectureFromLibraryDescr(
        import_from="segtrain.models",
        callable=m.Identifier("build_model"),
        kwargs={"name": p.model_name, "params": p.model_params},
    )
    weights = m.WeightsDescr(
        pytorch_state_dict=m.PytorchStateDictWeightsDescr(
            source=files["state_dict"], architecture=arch, pytorch_version=version
        ),
        torchscript=m.TorchscriptWeightsDescr(
            source=files["torchscript"], pytorch_version=version, parent="pytorch_state_dict"
        ),
    )
    cites = [
        CiteEntry(text=text, url=ref) if ref.startswith("http") else CiteEntry(text=text, doi=ref)
        for text, ref in CITATIONS.get(p.model_name, CITATIONS["unet"])
    ]
    return m.ModelDescr(
        name=p.name,
        description=p.description,
        authors=[Author(name="mitoshape")],
        cite=cites,
        license=p.license,
        documentation=m.FileDescr(source=files["documentation"]),
        covers=[m.FileDescr(source=files["cover"])],
        tags=["mitochondria", "segmentation", "electron-microscopy", "2d", "pytorch", "unet"],
        inputs=inputs,
        outputs=outputs,
        weights=weights,
        attachments=[m.FileDescr(source=files["run_settings"])],
    )


def write_bioimageio_package(path: str | Path, package: ModelPackage) -> Path:
    """Write `package` as a bioimage.io model zip at `path` (through a temporary file).

    Raises bioimageio.spec's ValidationError when the description breaks the spec.
    """
    import torch
    from bioimageio.spec import save_bioimageio_package
    from PIL import Image

    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        files = {
            "test_input": d / "test_input.npy",
            "test_output": d / "test_output.npy",
            "state_dict": d / "weights.pt",
            "torchscript": d / "weights_torchscript.pt",
            "documentation": d / "README.md",
            "cover": d / "cover.png",
            "run_settings": d / RUN_ATTACHMENT,
        }
        np.save(files["test_input"], package.test_input.astype(np.float32))
        np.save(files["test_output"], package.test_output.astype(np.float32))
        torch.save(package.state_dict, files["state_dict"])
        torch.jit.save(package.torchscript, str(files["torchscript"]))
        files["documentation"].write_text(package.documentation, encoding="utf-8")
        text = json.dumps(package.run_settings, indent=1, sort_keys=True)
        files["run_settings"].write_text(text, encoding="utf-8")
        Image.fromarray(package.cover).save(files["cover"])
        descr = _descr(package, files)
        with atomic_path(path) as out:
            save_bioimageio_package(descr, output_path=out)
    return path
