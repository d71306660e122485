"""The three-stage SymVAE trainer (method doc, "Loss and training").

Per epoch: ``steps_per_epoch`` Adam steps on batches of groups (ntau traces each, drawn
with replacement), the learning rate of the stage times ``lr_decay ** epoch``, a test
loss on held-out traces, a history record, and a checkpoint. Each stage starts a fresh
Adam. Batches and noise are seeded from (seed, stage, epoch, rank), so a run resumed
from a checkpoint continues exactly as if it had never stopped. Under torchrun every
process draws its share of the batch and DistributedDataParallel sums the gradients.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from symae.artifacts.config import ModelConfig, TrainConfig
from symae.artifacts.store import MODEL_JSON, ModelInfo, sha256_file
from symae.model.losses import LossTerms, symvae_loss
from symae.model.symvae import SymVAE
from symae.model.weights import save_model_dir
from symae.train import distributed
from symae.train import figures as model_figures
from symae.train.batching import BatchSampler, GroupStore, epoch_rng, split_groups
from symae.train.checkpoints import (
    TrainState,
    checkpoint_dir,
    load_checkpoint,
    read_state,
    save_checkpoint,
)
from symae.train.schedule import EpochPlan, plan_epochs

log = logging.getLogger(__name__)
METRICS = ("loss", "neg_elbo", "nll", "kl", "kl_nuisance", "kl_coherent", "shift_norm", "mse")
TEST_STREAM = 1_000_003  # seed stream of the fixed test batches


@dataclass
class TrainResult:
    """What a ``train`` call did: the model directory, and whether training finished."""

    model_dir: Path
    completed: bool
    epochs_run: int
    info: ModelInfo | None = None


def _metric_sums(terms: LossTerms) -> torch.Tensor:
    """Summed terms of one batch, in METRICS order, plus the trace count."""
    n = terms.n_traces
    kl = terms.kl_nuisance + terms.kl_coherent
    return torch.stack(
        [
            terms.total,
            terms.neg_elbo,
            terms.nll,
            kl,
            terms.kl_nuisance,
            terms.kl_coherent,
            terms.shift_norm,
            terms.mse * n,
            torch.tensor(float(n), device=terms.total.device),
        ]
    ).detach()


def groups_per_process(batch_groups: int, runtime: distributed.Runtime) -> int:
    """Each process's share of a batch's groups (the batch must divide evenly)."""
    world = runtime.world_size
    if batch_groups % world:
        raise ValueError(f"batch_groups={batch_groups} not divisible by {world} processes")
    return batch_groups // world


def data_parallel(model: torch.nn.Module, runtime: distributed.Runtime) -> torch.nn.Module:
    """``model`` wrapped in DistributedDataParallel under torchrun, else itself."""
    if not runtime.distributed:
        return model
    ids = [runtime.device.index] if runtime.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def _per_trace(sums: torch.Tensor) -> dict[str, float]:
    n = float(sums[-1])
    return {name: float(v) / n for name, v in zip(METRICS, sums[:-1].tolist(), strict=True)}


def _generator(rng: np.random.Generator, device: torch.device) -> torch.Generator:
    gen = torch.Generator(device=device)
    gen.manual_seed(int(rng.integers(0, 2**62)))
    return gen


class Trainer:
    """One training run writing into ``out_dir``; ``run()`` trains and writes the artifact."""

    def __init__(
        self,
        model_config: ModelConfig,
        train_config: TrainConfig,
        data: list[str | Path],
        out_dir: str | Path,
        name: str = "symae",
        device: str = "auto",
        resume: bool = False,
        progress: bool = True,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.progress = progress
        self.runtime = distributed.start(device)
        paths = [str(Path(p).resolve()) for p in data]
        if resume:
            self.state = read_state(self.out_dir)
            self._check_resume(model_config, train_config, paths)
        else:
            if checkpoint_dir(self.out_dir).exists() or (self.out_dir / MODEL_JSON).exists():
                raise FileExistsError(
                    f"{self.out_dir} already holds a model or checkpoint; use --resume or another --out"
                )
            created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self.state = TrainState(
                name, created, model_config.to_dict(), train_config.to_dict(), paths
            )
        self.mcfg, self.tcfg = model_config, train_config
        self.groups_per_rank = groups_per_process(self.tcfg.batch_groups, self.runtime)

        self.store = GroupStore(paths, train_config.max_cached_traces)
        if self.store.contract.nt != model_config.nt:
            raise ValueError(
                f"data traces have nt={self.store.contract.nt}, the model config expects nt={model_config.nt}"
            )
        # the model is made for the data's contract (sampling, window, tiling), not only its nt
        model_config = replace(model_config, contract=self.store.contract)
        self.mcfg = model_config
        refs = self.store.index(train_config.min_traces)
        if not refs:
            raise ValueError(f"no group with >= {train_config.min_traces} traces in {paths}")
        self.splits = split_groups(refs, train_config.test_fraction, train_config.seed)
        self.sampler = BatchSampler(self.store, self.splits, train_config.ntau)

        torch.manual_seed(train_config.seed)
        self.model = SymVAE(model_config)
        self.optimizer_state: dict[str, Any] | None = None
        if resume:
            self.optimizer_state = load_checkpoint(self.out_dir, self.model)
        self.model.to(self.runtime.device)
        self.net = data_parallel(self.model, self.runtime)

    def _check_resume(self, mcfg: ModelConfig, tcfg: TrainConfig, data: list[str]) -> None:
        # a checkpoint from before the config held its contract states only nt
        if ModelConfig.from_dict(self.state.model) != mcfg or self.state.train != tcfg.to_dict():
            raise ValueError(
                f"--resume with a different config than the checkpoint in {self.out_dir} "
                f"(checkpoint model={self.state.model}, train={self.state.train})"
            )
        if [str(Path(p).resolve()) for p in self.state.data] != data:
            raise ValueError(
                f"--resume with data {data}, the checkpoint was trained on {self.state.data}"
            )

    # ---- one epoch ------------------------------------------------------------------
    def _train_epoch(
        self, plan: EpochPlan, optimizer: torch.optim.Optimizer, bar: tqdm
    ) -> dict[str, float]:
        rt, cfg = self.runtime, self.tcfg
        rng = epoch_rng(cfg.seed, plan.stage, plan.epoch_in_stage, rt.rank, 0)
        gen = _generator(rng, rt.device)
        self.net.train()
        sums = torch.zeros(len(METRICS) + 1, device=rt.device)
        for _ in range(cfg.steps_per_epoch):
            x = torch.from_numpy(self.sampler.batch(self.groups_per_rank, rng)).to(rt.device)
            out = self.net(x, sample=True, generator=gen)
            terms = symvae_loss(x, out, self.model.decoder_logvar, cfg)
            optimizer.zero_grad(set_to_none=True)
            # DDP averages gradients over processes; scaling restores the summed loss
            (terms.total * rt.world_size).backward()
            optimizer.step()
            sums += _metric_sums(terms)
            bar.update(1)
        return _per_trace(distributed.all_sum(rt, sums))

    @torch.no_grad()
    def _test_epoch(self) -> dict[str, float]:
        rt, cfg = self.runtime, self.tcfg
        rng = epoch_rng(cfg.seed, 0, 0, rt.rank, TEST_STREAM)
        gen = _generator(rng, rt.device)
        self.model.eval()
        sums = torch.zeros(len(METRICS) + 1, device=rt.device)
        for _ in range(cfg.test_batches):
            x = torch.from_numpy(self.sampler.batch(self.groups_per_rank, rng, "test")).to(
                rt.device
            )
            out = self.model(x, sample=True, generator=gen)
            sums += _metric_sums(symvae_loss(x, out, self.model.decoder_logvar, cfg))
        return _per_trace(distributed.all_sum(rt, sums))

    # ---- the run ----------------------------------------------------------------------
    def run(self, max_epochs: int | None = None) -> TrainResult:
        """Train from the current state; stop after ``max_epochs`` (checkpoint kept) or finish."""
        rt, cfg = self.runtime, self.tcfg
        plans = plan_epochs(cfg)[self.state.next_epoch :]
        if max_epochs is not None:
            plans = plans[:max_epochs]
        optimizer: torch.optim.Optimizer | None = None
        bar = tqdm(
            total=len(plans) * cfg.steps_per_epoch,
            disable=not (self.progress and rt.is_main),
            unit="step",
            dynamic_ncols=True,
        )
        try:
            for plan in plans:
                if optimizer is None or plan.starts_stage:
                    optimizer = torch.optim.Adam(self.model.parameters(), lr=plan.lr)
                    if self.optimizer_state is not None and not plan.starts_stage:
                        optimizer.load_state_dict(self.optimizer_state)
                    self.optimizer_state = None
                for group in optimizer.param_groups:
                    group["lr"] = plan.lr
                bar.set_description(
                    f"stage {plan.stage + 1}/{len(cfg.stages)} epoch {plan.epoch + 1}/{cfg.total_epochs}"
                )
                start = time.perf_counter()
                train = self._train_epoch(plan, optimizer, bar)
                test = self._test_epoch()
                record = {
                    "epoch": plan.epoch,
                    "stage": plan.stage,
                    "epoch_in_stage": plan.epoch_in_stage,
                    "lr": plan.lr,
                    "seconds": round(time.perf_counter() - start, 3),
                    "train": train,
                    "test": test,
                }
                self.state.history.append(record)
                self.state.next_epoch = plan.epoch + 1
                bar.set_postfix(train=f"{train['neg_elbo']:.4g}", test=f"{test['neg_elbo']:.4g}")
                log.debug("epoch %d: %s", plan.epoch, record)
                if rt.is_main:
                    save_checkpoint(self.out_dir, self.model, optimizer, self.state)
                distributed.barrier(rt)
        finally:
            bar.close()
        completed = self.state.next_epoch == cfg.total_epochs
        info = self._write_artifact() if completed and rt.is_main else None
        distributed.barrier(rt)
        return TrainResult(self.out_dir, completed, len(plans), info)

    # ---- the artifact -----------------------------------------------------------------
    def _data_provenance(self) -> dict[str, Any]:
        files = []
        for i, path in enumerate(self.store.dataset.paths):
            files.append(
                {
                    "path": str(path),
                    "bytes": path.stat().st_size,
                    "sha256": sha256_file(path),
                    "provenance": self.store.dataset.provenance(i),
                }
            )
        return {
            "files": files,
            "groups": len(self.splits),
            "events": len({s.ref.event_id for s in self.splits}),
            "train_traces": int(sum(len(s.train) for s in self.splits)),
            "test_traces": int(sum(len(s.test) for s in self.splits)),
            "min_traces": self.tcfg.min_traces,
        }

    @torch.no_grad()
    def _figures(self) -> None:
        fig_dir = self.out_dir / "figures"
        model = self.model.eval()
        model_figures.loss_history(self.state.history, fig_dir)
        first = self.splits[0]
        traces = self.store.traces(first.ref)[:12]
        x = torch.from_numpy(traces).unsqueeze(0).to(self.runtime.device)
        recon = model(x).recon[0].cpu().numpy()
        time_axis = self.store.contract.time_axis()
        title = f"{first.ref.event_id} pixel {first.ref.pixel}: input vs reconstruction"
        model_figures.reconstruction(traces, recon, time_axis, fig_dir, title)
        shifts = []
        for split in self.splits[:200]:
            g = torch.from_numpy(self.store.traces(split.ref)).to(self.runtime.device)
            shifts.append(model.shift_net(g).cpu().numpy() * self.mcfg.nt / 2)
        model_figures.shift_histogram(np.concatenate(shifts), fig_dir)

    def _write_artifact(self) -> ModelInfo:
        self._figures()
        created = datetime.strptime(self.state.created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        extra = {
            "training": {
                "device": str(self.runtime.device),
                "processes": self.runtime.world_size,
                "epochs": self.state.next_epoch,
                "steps": self.state.next_epoch * self.tcfg.steps_per_epoch,
                "seconds": round(sum(h["seconds"] for h in self.state.history), 1),
            }
        }
        info = save_model_dir(
            self.model.cpu(),
            self.out_dir,
            self.state.name,
            self.tcfg,
            self.mcfg.contract,
            data=self._data_provenance(),
            history=self.state.history,
            created=created,
            extra=extra,
        )
        self.model.to(self.runtime.device)
        log.info("wrote model %s:%s to %s", info.name, info.version, self.out_dir)
        return info

    def close(self) -> None:
        self.store.close()
        distributed.stop(self.runtime)
