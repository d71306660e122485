"""Weights and model directories on disk: safetensors (never pickle) plus model.json."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from symae.artifacts.config import ModelConfig, TrainConfig
from symae.artifacts.store import (
    WEIGHTS,
    ArtifactError,
    ModelInfo,
    load,
    make_version,
    write_model_json,
)
from symae.contract import DataContract
from symae.data.reference import REPO_ROOT
from symae.model.symvae import SymVAE, count_parameters
from symae.version import __version__


def save_weights(model: SymVAE, path: Path) -> None:
    """Write the model's parameters as safetensors (contiguous CPU copies)."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path))


def load_weights(model: torch.nn.Module, path: Path) -> torch.nn.Module:
    """Load safetensors weights into ``model``; names and shapes must match exactly."""
    state = load_file(str(path))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(
            f"{path}: weights do not fit the model (missing {missing}, unexpected {unexpected})"
        )
    return model


def build_model(config: ModelConfig) -> torch.nn.Module:
    """The network of ``config.architecture``: ``SymVAE`` or ``PhysicsSymAE``."""
    if config.architecture == "symae-physics":
        from symae.model.physics import PhysicsSymAE

        return PhysicsSymAE(config)
    return SymVAE(config)


def load_model(spec: str | Path = "default", registry: Path | None = None) -> tuple[Any, ModelInfo]:
    """Resolve a model (path, ``name[:version]``, ``default``, ``latest``), verify, rebuild it."""
    info = load(spec, registry)
    model = build_model(info.model_config)
    load_weights(model, info.path / WEIGHTS)
    return model.eval(), info


def _code_commit() -> str | None:
    """The git commit of the code that trained the model, when run from a checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def save_model_dir(
    model: SymVAE,
    model_dir: Path,
    name: str,
    train: TrainConfig,
    contract: DataContract | None = None,
    data: dict[str, Any] | None = None,
    history: list[dict[str, Any]] | None = None,
    version: str | None = None,
    created: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> ModelInfo:
    """Write weights and a complete model.json (config, provenance, history, checksums).

    The data contract stored is the model config's; ``contract``, when given, must be the
    same one (the contract of the data the model was trained on), else ArtifactError.
    """
    if contract is not None and contract != model.config.contract:
        raise ArtifactError(
            f"{model_dir}: data contract disagrees with the model config: expected "
            f"{model.config.contract.to_dict()} (model config), got {contract.to_dict()}"
        )
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    created = created or datetime.now(UTC)
    save_weights(model, model_dir / WEIGHTS)
    meta = {
        "name": name,
        "version": version or make_version(created, model.config),
        "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "code_version": __version__,
        "code_commit": _code_commit(),
        "torch_version": torch.__version__,
        "parameters": count_parameters(model),
        "model": model.config.to_dict(with_contract=False),
        "train": train.to_dict(),
        "contract": model.config.contract.to_dict(),
        "data": data or {},
        "history": history or [],
        **(extra or {}),
    }
    return ModelInfo(model_dir, write_model_json(model_dir, meta))
