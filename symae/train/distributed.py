"""Data parallel training with torchrun: process group set-up and device choice.

``torchrun --nproc-per-node N -m symae.cli train ...`` sets RANK, WORLD_SIZE and
LOCAL_RANK; the trainer then runs one process per GPU (NCCL) or per CPU worker (gloo)
and wraps the model in DistributedDataParallel. Without those variables it runs alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Runtime:
    """Where this process runs: its device, rank and the number of processes."""

    device: torch.device
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def choose_device(requested: str, local_rank: int = 0) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` fails clearly without a GPU."""
    if requested not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda; got {requested!r}")
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but torch sees no CUDA device")
    if requested == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", local_rank % torch.cuda.device_count())


def start(requested_device: str = "auto") -> Runtime:
    """Join the torchrun process group when launched by torchrun, else run alone."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = choose_device(requested_device, local_rank)
    if world_size > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Runtime(device, rank, world_size, local_rank)


def stop(runtime: Runtime) -> None:
    if runtime.distributed and dist.is_initialized():
        dist.destroy_process_group()


def barrier(runtime: Runtime) -> None:
    if runtime.distributed:
        dist.barrier()


def all_sum(runtime: Runtime, values: torch.Tensor) -> torch.Tensor:
    """Sum a tensor over all processes (identity when alone)."""
    if runtime.distributed:
        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values
