"""Per-epoch checkpoints in MODEL_DIR/checkpoint/ so ``--resume`` continues exactly.

A checkpoint holds the weights (safetensors), the Adam state (a tensor-only state dict,
read back with ``weights_only=True``, never unpickling objects) and ``state.json``: the
next epoch to run, the loss history, the configs and the creation time of the run.
Batches and noise are seeded per epoch, so weights + optimiser + epoch index are the
whole state; ``state.json`` is written last, so a checkpoint without it is incomplete.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from symae.artifacts.store import CHECKPOINT_DIR
from symae.model.symvae import SymVAE
from symae.model.weights import load_weights, save_weights

STATE = "state.json"
WEIGHTS = "weights.safetensors"
OPTIMIZER = "optimizer.pt"


@dataclass
class TrainState:
    """What a resumed run needs besides the tensors."""

    name: str
    created: str  # ISO time of the first run: keeps the version string on resume
    model: dict[str, Any]
    train: dict[str, Any]
    data: list[str]
    next_epoch: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


def checkpoint_dir(model_dir: Path) -> Path:
    return Path(model_dir) / CHECKPOINT_DIR


def save_checkpoint(
    model_dir: Path, model: SymVAE, optimizer: torch.optim.Optimizer, state: TrainState
) -> None:
    """Write weights, optimiser state, then state.json (atomically, last)."""
    ckpt = checkpoint_dir(model_dir)
    ckpt.mkdir(parents=True, exist_ok=True)
    save_weights(model, ckpt / WEIGHTS)
    torch.save(optimizer.state_dict(), ckpt / OPTIMIZER)
    tmp = ckpt / (STATE + ".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=1))
    tmp.replace(ckpt / STATE)


def read_state(model_dir: Path) -> TrainState:
    """The state of the last finished epoch, or a clear error when there is none."""
    path = checkpoint_dir(model_dir) / STATE
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint to resume from in {checkpoint_dir(model_dir)}")
    return TrainState(**json.loads(path.read_text()))


def load_checkpoint(model_dir: Path, model: SymVAE) -> dict[str, Any]:
    """Load the checkpoint weights into ``model``; return the optimiser state dict."""
    ckpt = checkpoint_dir(model_dir)
    load_weights(model, ckpt / WEIGHTS)
    return torch.load(ckpt / OPTIMIZER, map_location="cpu", weights_only=True)
