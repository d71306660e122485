"""``train``: the entry point of ``symae train`` and of the retraining, for every
architecture (``Trainer`` for the SymVAE, ``PhysicsTrainer`` for ``symae-physics``)."""

from __future__ import annotations

from pathlib import Path

from symae.artifacts.config import ModelConfig, TrainConfig
from symae.train.physics_trainer import PhysicsTrainer
from symae.train.trainer import Trainer, TrainResult


def train(
    model_config: ModelConfig,
    train_config: TrainConfig,
    data: list[str | Path],
    out_dir: str | Path,
    name: str = "symae",
    device: str = "auto",
    resume: bool = False,
    max_epochs: int | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train (or resume) a model into ``out_dir``; see ``Trainer`` (``PhysicsTrainer`` for
    the ``symae-physics`` architecture)."""
    cls = PhysicsTrainer if model_config.architecture == "symae-physics" else Trainer
    trainer = cls(model_config, train_config, data, out_dir, name, device, resume, progress)
    try:
        return trainer.run(max_epochs)
    finally:
        trainer.close()
