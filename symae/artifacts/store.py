"""Model directories, ``model.json``, checksums and the local model registry (no torch).

A model is a directory::

    MODEL_DIR/model.json            metadata; ``files`` maps every other file to its sha256
    MODEL_DIR/weights.safetensors   PyTorch weights (safetensors, never pickle)
    MODEL_DIR/<graph>.onnx          ONNX graphs added by ``symae export``
    MODEL_DIR/figures/...           training figures
    MODEL_DIR/checkpoint/...        training state for ``--resume`` (not part of the model)

``model.json`` holds the data contract once (``"contract"``); the ``"model"`` section
holds the rest of the network config. Saving and loading check that the two agree (a
``"model"`` section of an older file may still state ``nt``; without a ``"contract"``
the default contract with that ``nt`` is assumed). Loading verifies the sha256 of every
listed file and refuses a mismatch. A registry is a
directory ``<registry>/<name>/<version>/``; the registry location is ``SYMAE_MODEL_REGISTRY``
(default ``~/.local/share/symae/models``). The model shipped with the package lives in
``symae/default_model/<name>/<version>/``: the newest SymVAE there is what ``"default"``
resolves to; the physics-informed SymAE shipped beside it is found by ``shipped_model``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from symae.artifacts.config import ModelConfig, TrainConfig
from symae.contract import DataContract
from symae.data.reference import PACKAGE_DIR
from symae.errors import SymaeError

FORMAT_NAME = "symae-model"
FORMAT_VERSION = 1
MODEL_JSON = "model.json"
WEIGHTS = "weights.safetensors"
CHECKPOINT_DIR = "checkpoint"
ONNX_GRAPHS = ("coherent", "nuisance", "decoder", "reencode", "latent_step")
# the graphs of a symae-physics model (symae/export/physics_onnx.py)
PHYSICS_GRAPHS = ("coherent", "nuisance", "decoder", "stf")
DEFAULT_MODEL_DIR = PACKAGE_DIR / "default_model"


class ArtifactError(SymaeError, ValueError):
    """A model directory is missing, altered, or cannot be found in the registry."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def make_version(created: datetime, config: ModelConfig) -> str:
    """Default version string: creation time (UTC, minutes) and parameter summary."""
    return f"{created:%Y%m%dT%H%M}-{config.summary}"


def model_files(model_dir: Path) -> list[str]:
    """Relative paths of the files that make up the model (all but model.json and checkpoint/)."""
    out = []
    for path in sorted(model_dir.rglob("*")):
        rel = path.relative_to(model_dir)
        if path.is_file() and rel.parts[0] not in (MODEL_JSON, CHECKPOINT_DIR):
            out.append(rel.as_posix())
    return out


def meta_contract(meta: dict[str, Any], where: str | Path = MODEL_JSON) -> DataContract:
    """The data contract of a model.json, checked against its model config.

    Without a ``"contract"`` (files from before it was stored) the default contract with
    the config's ``nt`` is the contract. ArtifactError when the config states an ``nt`` or
    a contract other than the stored one, or when the config does not fit it.
    """
    section = meta.get("model")
    if not isinstance(section, dict):
        raise ArtifactError(f'{where}: no "model" section')
    try:
        if "contract" in meta:
            contract = DataContract.from_dict(meta["contract"])
        else:
            contract = ModelConfig(nt=section.get("nt")).contract
    except (TypeError, ValueError) as exc:
        raise ArtifactError(f"{where}: invalid data contract: {exc}") from exc
    if "nt" in section and section["nt"] != contract.nt:
        raise ArtifactError(
            f"{where}: model config disagrees with the stored data contract: "
            f"expected nt={contract.nt} (contract), got nt={section['nt']} (model)"
        )
    if "contract" in section and DataContract.from_dict(section["contract"]) != contract:
        raise ArtifactError(
            f"{where}: model config disagrees with the stored data contract: expected "
            f"{contract.to_dict()}, got {section['contract']}"
        )
    try:
        ModelConfig.from_dict({k: v for k, v in section.items() if k != "contract"}, contract)
    except (TypeError, ValueError) as exc:
        raise ArtifactError(f"{where}: model config does not fit its data contract: {exc}") from exc
    return contract


def write_model_json(model_dir: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """Write ``meta`` as model.json with fresh checksums of every model file; return it.

    The model config and the data contract are checked first (:func:`meta_contract`).
    """
    model_dir = Path(model_dir)
    meta = dict(meta)
    meta_contract(meta, model_dir / MODEL_JSON)
    meta["format"] = FORMAT_NAME
    meta["format_version"] = FORMAT_VERSION
    meta["files"] = {rel: sha256_file(model_dir / rel) for rel in model_files(model_dir)}
    names = dict.fromkeys((*ONNX_GRAPHS, *PHYSICS_GRAPHS))
    meta["onnx"] = {g: f"{g}.onnx" for g in names if f"{g}.onnx" in meta["files"]}
    tmp = model_dir / (MODEL_JSON + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2) + "\n")
    tmp.replace(model_dir / MODEL_JSON)
    return meta


@dataclass
class ModelInfo:
    """A model directory whose model.json has been read (and its files verified)."""

    path: Path
    meta: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.meta["name"])

    @property
    def version(self) -> str:
        return str(self.meta["version"])

    @property
    def created(self) -> str:
        return str(self.meta.get("created", ""))

    @property
    def model_config(self) -> ModelConfig:
        return ModelConfig.from_dict(
            {k: v for k, v in self.meta["model"].items() if k != "contract"}, self.contract
        )

    @property
    def train_config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.meta["train"])

    @property
    def contract(self) -> DataContract:
        """The stored data contract (derived from the config's ``nt`` in older files)."""
        return meta_contract(self.meta, self.path / MODEL_JSON)

    @property
    def onnx_graphs(self) -> dict[str, Path]:
        return {g: confined(self.path, f) for g, f in self.meta.get("onnx", {}).items()}

    @property
    def weights(self) -> Path:
        return self.path / WEIGHTS

    def require_onnx(self) -> dict[str, Path]:
        """The ONNX graphs, or a clear error naming the ones missing."""
        graphs = self.onnx_graphs
        physics = self.meta["model"].get("architecture") == "symae-physics"
        wanted = PHYSICS_GRAPHS if physics else ONNX_GRAPHS
        missing = [g for g in wanted if g not in graphs]
        if missing:
            raise ArtifactError(
                f"{self.path}: ONNX graphs {missing} missing; run `symae export {self.path}`"
            )
        return graphs


PIN_ENV = "SYMAE_MODEL_SHA256"


def confined(model_dir: Path, rel: str) -> Path:
    """``model_dir / rel``, refused (ArtifactError) when ``rel`` leaves the folder."""
    if not isinstance(rel, str) or not rel or Path(rel).is_absolute() or "\\" in rel:
        raise ArtifactError(f"{model_dir}: file name {rel!r} is not a relative path")
    path = model_dir / rel
    root = model_dir.resolve()
    try:
        path.resolve().relative_to(root)
    except ValueError as exc:
        raise ArtifactError(f"{model_dir}: {rel!r} points outside the model folder") from exc
    if ".." in Path(rel).parts:
        raise ArtifactError(f"{model_dir}: {rel!r} points outside the model folder")
    return path


def model_json_digest(model_dir: Path) -> str:
    """sha256 of a model directory's model.json (what ``SYMAE_MODEL_SHA256`` pins)."""
    return sha256_file(Path(model_dir) / MODEL_JSON)


def verify(model_dir: Path, meta: dict[str, Any], pinned: str | None = None) -> None:
    """Refuse a model directory whose files do not match the checksums in model.json.

    Every ONNX graph and the weights must be listed (with a checksum) in ``files``, every
    path must stay inside the folder, and with ``pinned`` (default: ``SYMAE_MODEL_SHA256``)
    model.json itself must have that sha256.
    """
    pinned = pinned if pinned is not None else os.environ.get(PIN_ENV, "").strip().lower()
    if pinned:
        actual = model_json_digest(model_dir)
        if actual != pinned:
            raise ArtifactError(
                f"{model_dir}: model.json has sha256 {actual}, but this deployment pins "
                f"{pinned} ({PIN_ENV}); refusing to load it"
            )
    files = meta.get("files", {})
    if not isinstance(files, dict):
        raise ArtifactError(f"{model_dir}: model.json 'files' is not a mapping")
    for graph, rel in meta.get("onnx", {}).items():
        confined(model_dir, rel)
        if rel not in files:
            raise ArtifactError(
                f"{model_dir}: graph {graph} ({rel!r}) has no checksum in model.json 'files'; "
                "refusing to load it unchecked"
            )
    if (model_dir / WEIGHTS).is_file() and WEIGHTS not in files:
        raise ArtifactError(f"{model_dir}: {WEIGHTS} has no checksum in model.json 'files'")
    for rel, expected in files.items():
        path = confined(model_dir, rel)
        if not path.is_file():
            raise ArtifactError(f"{path}: listed in model.json but missing")
        actual = sha256_file(path)
        if actual != expected:
            raise ArtifactError(
                f"{path}: sha256 mismatch (model.json says {expected}, file has {actual}); "
                "the model directory was altered or is corrupt, refusing to load it"
            )


def read_model_dir(model_dir: str | Path, check: bool = True) -> ModelInfo:
    """Read MODEL_DIR/model.json and (by default) verify every file's checksum."""
    model_dir = Path(model_dir)
    path = model_dir / MODEL_JSON
    if not path.is_file():
        raise ArtifactError(f"{model_dir}: not a model directory (no {MODEL_JSON})")
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path}: not valid JSON ({exc})") from exc
    if meta.get("format") != FORMAT_NAME:
        raise ArtifactError(f"{path}: format {meta.get('format')!r}, expected {FORMAT_NAME!r}")
    if int(meta.get("format_version", -1)) != FORMAT_VERSION:
        raise ArtifactError(
            f"{path}: format version {meta.get('format_version')}, this code reads {FORMAT_VERSION}"
        )
    meta_contract(meta, path)
    if check:
        verify(model_dir, meta)
    return ModelInfo(model_dir, meta)


# ---- registry -------------------------------------------------------------------------
def registry_dir() -> Path:
    """The local registry: ``SYMAE_MODEL_REGISTRY`` or ``~/.local/share/symae/models``."""
    env = os.environ.get("SYMAE_MODEL_REGISTRY")
    return Path(env) if env else Path.home() / ".local" / "share" / "symae" / "models"


def _scan(root: Path) -> list[ModelInfo]:
    found = []
    if root.is_dir():
        for path in sorted(root.glob(f"*/*/{MODEL_JSON}")):
            try:
                found.append(read_model_dir(path.parent, check=False))
            except ArtifactError:
                continue
    return sorted(found, key=lambda m: (m.name, m.created, m.version))


def list_models(registry: Path | None = None, include_default: bool = True) -> list[ModelInfo]:
    """Every model in the registry (and the shipped default), sorted by name then age."""
    models = _scan(Path(registry) if registry else registry_dir())
    if include_default:
        models += _scan(DEFAULT_MODEL_DIR)
    return models


def _newest(models: list[ModelInfo]) -> ModelInfo:
    return max(models, key=lambda m: (m.created, m.version))


def resolve(spec: str | Path, registry: Path | None = None) -> Path:
    """Find a model directory from a path, ``default``, ``latest``, ``name`` or ``name:version``."""
    path = Path(spec)
    if (path / MODEL_JSON).is_file():
        return path
    spec = str(spec)
    if spec == "default":
        return shipped_model("symvae")
    root = Path(registry) if registry else registry_dir()
    in_registry = _scan(root)
    if spec == "latest":
        if not in_registry:
            raise ArtifactError(f"registry {root} holds no models, so 'latest' names none")
        return _newest(in_registry).path
    name, _, version = spec.partition(":")
    candidates = [m for m in in_registry + _scan(DEFAULT_MODEL_DIR) if m.name == name]
    if version:
        candidates = [m for m in candidates if m.version == version]
    if not candidates:
        known = sorted({f"{m.name}:{m.version}" for m in list_models(root)})
        raise ArtifactError(f"no model {spec!r} in {root} or the shipped models; known: {known}")
    return _newest(candidates).path


def shipped_model(architecture: str) -> Path:
    """The newest model of ``architecture`` shipped in ``symae/default_model``: ``"symvae"``
    is what ``"default"`` names (the extractor's model), ``"symae-physics"`` the
    physics-informed SymAE's default (``symae.extract.physics``)."""
    shipped = [m for m in _scan(DEFAULT_MODEL_DIR) if m.model_config.architecture == architecture]
    if not shipped:
        raise ArtifactError(f"no {architecture} model shipped in {DEFAULT_MODEL_DIR}")
    return _newest(shipped).path


def load(spec: str | Path = "default", registry: Path | None = None) -> ModelInfo:
    """Resolve ``spec`` and read the model directory, verifying every checksum."""
    return read_model_dir(resolve(spec, registry))


def register(model_dir: str | Path, registry: Path | None = None, overwrite: bool = False) -> Path:
    """Copy a verified model directory (without its checkpoint) into the registry."""
    info = read_model_dir(model_dir)
    target = (Path(registry) if registry else registry_dir()) / info.name / info.version
    if target.exists():
        if not overwrite:
            raise ArtifactError(f"{target} already exists (model {info.name}:{info.version})")
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for rel in [*info.meta["files"], MODEL_JSON]:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(info.path / rel, target / rel)
    return target
