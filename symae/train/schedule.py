"""The multi-stage schedule: stages of epochs, each with a fresh Adam and x decay per epoch."""

from __future__ import annotations

from dataclasses import dataclass

from symae.artifacts.config import TrainConfig


@dataclass(frozen=True)
class EpochPlan:
    """One epoch: its stage, its index within the stage and overall, and its learning rate."""

    stage: int
    epoch_in_stage: int
    epoch: int  # overall index, 0-based
    lr: float

    @property
    def starts_stage(self) -> bool:
        return self.epoch_in_stage == 0


def plan_epochs(config: TrainConfig) -> list[EpochPlan]:
    """Every epoch of the training, in order: lr = stage lr * decay ** epoch_in_stage."""
    plans, overall = [], 0
    for s, stage in enumerate(config.stages):
        for e in range(stage.epochs):
            plans.append(EpochPlan(s, e, overall, stage.lr * config.lr_decay**e))
            overall += 1
    return plans
