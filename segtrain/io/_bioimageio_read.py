"""Read a bioimage.io model package (a ``.zip``, or an unpacked folder with ``rdf.yaml`` or
``bioimageio.yaml``) without downloading or running anything: its description (plain YAML),
and its files, each checked against the ``sha256`` the description gives before it is used.

Weights load safely or not at all: a state dict with ``torch.load(weights_only=True)``;
TorchScript is code (it runs what its author wrote), so only trusted packages should be run,
and its bytes must match the package's hash. What a package means (ours or foreign, which
axes, which preprocessing) is read by `segtrain.workflows._package`; nothing here computes.
"""

from __future__ import annotations

import hashlib
import io as _bytes_io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from shapelib import InputError

__all__ = ["ModelFiles", "is_model_package", "read_model_package"]

RDF_NAMES = ("rdf.yaml", "bioimageio.yaml")
RUN_ATTACHMENT = "mitoshape_run.json"  # what `export_bioimageio` adds: the run's settings


def _zip_rdf(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError):
        return None
    found = [n for n in names if n in RDF_NAMES or n.endswith(".bioimageio.yaml")]
    return sorted(found)[0] if found else None


def _dir_rdf(path: Path) -> str | None:
    found = [p.name for p in path.iterdir() if p.name in RDF_NAMES]
    found += [p.name for p in path.glob("*.bioimageio.yaml")]
    return sorted(found)[0] if found else None


def is_model_package(path: str | Path) -> bool:
    """True for a bioimage.io package: a zip holding ``rdf.yaml``/``bioimageio.yaml``, or a
    folder holding one."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".zip":
        return _zip_rdf(path) is not None
    return path.is_dir() and _dir_rdf(path) is not None


@dataclass(frozen=True, eq=False)
class ModelFiles:
    """A package's description (`rdf`, the YAML as a dict) and its files' bytes by name (only
    files the description lists with a hash, every one checked)."""

    path: Path
    rdf: dict
    files: dict[str, bytes] = field(repr=False)

    def read(self, source: str) -> bytes:
        """The checked bytes of a file the description names (an InputError otherwise)."""
        if source not in self.files:
            raise InputError(
                f"{self.path}: {source!r} is not a local file of the package with a sha256 in "
                "its description; mitoshape runs only files whose hash it can check."
            )
        return self.files[source]

    def state_dict(self, source: str) -> dict:
        """A PyTorch state dict, loaded with ``weights_only=True`` (a pickle is refused)."""
        import pickle

        import torch

        try:
            data = torch.load(
                _bytes_io.BytesIO(self.read(source)), map_location="cpu", weights_only=True
            )
        except pickle.UnpicklingError:
            raise InputError(
                f"{self.path}: {source} holds Python objects beyond weights (a pickle that "
                "loading would run); refused."
            ) from None
        except Exception as err:  # torch raises many types for a foreign file
            raise InputError(
                f"{self.path}: {source} is not a readable state dict ({err})."
            ) from None
        if not isinstance(data, dict):
            raise InputError(
                f"{self.path}: {source} is not a state dict (a {type(data).__name__})."
            )
        return data

    def torchscript(self, source: str):
        """A TorchScript module on CPU (code from the package: run trusted packages only)."""
        import torch

        try:
            return torch.jit.load(_bytes_io.BytesIO(self.read(source)), map_location="cpu")
        except Exception as err:  # torch raises many types for a foreign file
            why = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise InputError(
                f"{self.path}: {source} is not loadable TorchScript ({why})."
            ) from None

    def json(self, source: str) -> dict:
        try:
            return json.loads(self.read(source).decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as err:
            raise InputError(f"{self.path}: {source} is not valid JSON ({err}).") from None


def _hashed(node, out: dict[str, str]) -> None:
    """Every ``{source: ..., sha256: ...}`` of the description (0.5: ``source``; 0.4 may say
    ``source`` too), recursively."""
    if isinstance(node, dict):
        src, digest = node.get("source"), node.get("sha256")
        if isinstance(src, str) and isinstance(digest, str):
            out[src] = digest.lower()
        for v in node.values():
            _hashed(v, out)
    elif isinstance(node, list):
        for v in node:
            _hashed(v, out)


def _is_remote(source: str) -> bool:
    return "://" in source


def read_model_package(path: str | Path) -> ModelFiles:
    """Read a package's description and the files it lists with a hash, each hash checked.

    A file listed with a hash but missing, or whose bytes do not match, is a one-line
    InputError; remote sources (URLs) are never fetched (their files stay unreadable).
    """
    import yaml

    path = Path(path)
    if not is_model_package(path):
        raise InputError(
            f"{path} is not a bioimage.io model package (a .zip or a folder with rdf.yaml or "
            "bioimageio.yaml)."
        )
    zipped = path.is_file()
    archive = zipfile.ZipFile(path) if zipped else None
    try:

        def raw(name: str) -> bytes | None:
            if zipped:
                try:
                    return archive.read(name)
                except KeyError:
                    return None
            # Files are read only inside the package folder, by resolved path.
            target = (path / name).resolve()
            if path.resolve() not in target.parents or not target.is_file():
                return None
            return target.read_bytes()

        rdf_name = _zip_rdf(path) if zipped else _dir_rdf(path)
        try:
            rdf = yaml.safe_load(raw(rdf_name) or b"")
        except yaml.YAMLError as err:
            raise InputError(f"{path}: {rdf_name} is not valid YAML ({err}).") from None
        if not isinstance(rdf, dict) or rdf.get("type", "model") != "model":
            raise InputError(f"{path}: {rdf_name} does not describe a model.")
        hashes: dict[str, str] = {}
        _hashed(rdf, hashes)
        files = {}
        for source, digest in hashes.items():
            if _is_remote(source):
                continue
            data = raw(source)
            if data is None:
                raise InputError(f"{path}: {rdf_name} lists {source}, which the package lacks.")
            if hashlib.sha256(data).hexdigest() != digest:
                raise InputError(
                    f"{path}: {source} does not match its sha256 in {rdf_name}; the package "
                    "was changed or damaged. Refused."
                )
            files[source] = data
    finally:
        if archive is not None:
            archive.close()
    return ModelFiles(path, rdf, files)
