"""Training the physics-informed SymAE (``symae-physics``): events, Green's functions, groups.

Same schedule, loss (``symae.model.losses.symvae_loss``), checkpoints and exact resume
as the SymVAE trainer; what differs is the data:

- whole events are loaded (origin + per-trace geometry) and every trace's Green's
  function is computed once per event when the data are first read
  (``symae.inversion.grid.event_greens``, catalogue mechanism or the P-only
  approximation) and kept in memory with the traces;
- every trace is split once, seeded, into train and test traces;
- a batch sample is a **pixel group** (an event's focal-sphere pixel with at least
  ``min_traces`` train traces) or, with probability 1/2 or when the event has no such
  pixel, an **event group** (all the event's train traces); ``ntau`` traces are drawn
  with replacement, as in the SymVAE recipe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from symae.artifacts.config import ModelConfig, TrainConfig
from symae.artifacts.store import MODEL_JSON, sha256_file
from symae.data.dataset import Dataset
from symae.model.losses import stf_shape_misfit, symvae_loss
from symae.model.physics import PhysicsSymAE
from symae.train import distributed
from symae.train import figures as model_figures
from symae.train.batching import epoch_rng
from symae.train.checkpoints import TrainState, checkpoint_dir, load_checkpoint, read_state
from symae.train.trainer import (
    METRICS,
    TEST_STREAM,
    Trainer,
    _generator,
    _metric_sums,
    _per_trace,
    data_parallel,
    groups_per_process,
)

log = logging.getLogger(__name__)

STF_MAX_LAG_S = 10.0  # lag search of the STF shape term, as symae.evaluate.metrics.compare


@dataclass
class EventBlock:
    """One event's traces, Green's functions, pixels and train/test split."""

    event_id: str
    t_max: float  # STF support (s) from the catalogue Mw (symae.inversion.grid.support_s)
    traces: np.ndarray  # (n, nt) float32
    greens: np.ndarray  # (n, nt) float32
    pixel: np.ndarray  # (n,)
    train: np.ndarray  # indices
    test: np.ndarray
    pixel_train: list[np.ndarray]  # train indices of each pixel with >= min_traces of them
    pixel_test: list[np.ndarray]
    truth: np.ndarray | None  # (J,) the true STF on the STF head's grid (j dt after P)


def truth_on_head_grid(event, dt: float, t0: float, n_samples: int) -> np.ndarray | None:
    """The event's true STF (model time axis, first sample at ``t0`` s after P) as
    ``n_samples`` values at j dt, j >= 0 (the STF head's grid), zero beyond the window."""
    if event.truth_stf is None:
        return None
    truth = np.asarray(event.truth_stf, dtype=np.float32)
    k0 = int(round(-t0 / dt))
    out = np.zeros(n_samples, dtype=np.float32)
    part = truth[k0 : k0 + n_samples]
    out[: len(part)] = part
    return out if out.sum() > 0 else None


def load_events(
    paths: list[str], min_traces: int, test_fraction: float, seed: int, limit_s: float
) -> tuple[list[EventBlock], Dataset]:
    """Every event with at least ``2 * min_traces`` traces, with its Green's functions."""
    from symae.inversion.grid import event_greens, support_s

    ds = Dataset(paths)
    dt, t0 = ds.contract.dt, ds.contract.t0
    n_stf = int(np.floor(limit_s / dt)) + 1
    blocks = []
    for e, event_id in enumerate(ds.event_ids()):
        event = ds.event(event_id)
        if event.n_traces < 2 * min_traces:
            continue
        greens = event_greens(event, ds.contract)
        pixels = sorted(event.groups)
        traces = np.concatenate([event.groups[p].traces for p in pixels]).astype(np.float32)
        g = np.concatenate([greens[p] for p in pixels])
        pixel = np.concatenate([np.full(len(event.groups[p]), p) for p in pixels])
        rng = np.random.default_rng(np.random.SeedSequence([seed, e]))
        order = rng.permutation(len(traces))
        n_test = max(1, int(round(test_fraction * len(traces))))
        test, train = np.sort(order[:n_test]), np.sort(order[n_test:])
        pix_train, pix_test = [], []
        for p in pixels:
            tr = train[pixel[train] == p]
            te = test[pixel[test] == p]
            if len(tr) >= min_traces and len(te) >= 1:
                pix_train.append(tr)
                pix_test.append(te)
        t_max = float(support_s(event.origin.magnitude, limit_s))
        truth = truth_on_head_grid(event, dt, t0, n_stf)
        blocks.append(
            EventBlock(event_id, t_max, traces, g, pixel, train, test, pix_train, pix_test, truth)
        )
    if not blocks:
        raise ValueError(f"no event with >= {2 * min_traces} traces in {paths}")
    return blocks, ds


def draw_batch(
    blocks: list[EventBlock],
    n_groups: int,
    ntau: int,
    rng: np.random.Generator,
    part: str = "train",
) -> tuple[np.ndarray, ...]:
    """(B, ntau, nt) traces and Green's functions, (B,) supports and (B, J) true STFs
    (zeros where unknown): pixel or event groups."""
    xs, gs, ts, truths = [], [], [], []
    for e in rng.integers(0, len(blocks), size=n_groups):
        b = blocks[e]
        pixels = b.pixel_train if part == "train" else b.pixel_test
        use_pixel = len(pixels) > 0 and rng.random() < 0.5
        pool = (
            pixels[rng.integers(0, len(pixels))]
            if use_pixel
            else (b.train if part == "train" else b.test)
        )
        chosen = pool[rng.integers(0, len(pool), size=ntau)]
        xs.append(b.traces[chosen])
        gs.append(b.greens[chosen])
        ts.append(b.t_max)
        truths.append(b.truth)
    n_stf = next((len(t) for t in truths if t is not None), 1)
    truth = np.stack([np.zeros(n_stf, np.float32) if t is None else t for t in truths])
    return np.stack(xs), np.stack(gs), np.asarray(ts, dtype=np.float32), truth


class PhysicsTrainer(Trainer):
    """``Trainer`` for ``symae-physics``: event blocks with Green's functions."""

    def __init__(
        self,
        model_config: ModelConfig,
        train_config: TrainConfig,
        data: list[str | Path],
        out_dir: str | Path,
        name: str = "symae-physics",
        device: str = "auto",
        resume: bool = False,
        progress: bool = True,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.progress = progress
        self.runtime = distributed.start(device)
        data = [str(Path(p).resolve()) for p in data]
        if resume:
            self.state = read_state(self.out_dir)
            self._check_resume(model_config, train_config, data)
        else:
            if checkpoint_dir(self.out_dir).exists() or (self.out_dir / MODEL_JSON).exists():
                raise FileExistsError(
                    f"{self.out_dir} already holds a model or checkpoint; use --resume or another --out"
                )
            created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self.state = TrainState(
                name, created, model_config.to_dict(), train_config.to_dict(), data
            )
        self.tcfg = train_config
        self.groups_per_rank = groups_per_process(train_config.batch_groups, self.runtime)
        self.blocks, self.dataset = load_events(
            data,
            train_config.min_traces,
            train_config.test_fraction,
            train_config.seed,
            model_config.stf_support_s,
        )
        contract = self.dataset.contract
        self.has_truth = all(b.truth is not None for b in self.blocks)
        if train_config.stf_weight > 0 and not self.has_truth:
            raise ValueError(
                "stf_weight > 0 needs every training event's true STF (synthetic data); "
                f"{sum(b.truth is None for b in self.blocks)} events have none"
            )
        if contract.nt != model_config.nt:
            raise ValueError(
                f"data traces have nt={contract.nt}, the model config expects nt={model_config.nt}"
            )
        self.mcfg = model_config = replace(model_config, contract=contract)
        torch.manual_seed(train_config.seed)
        self.model = PhysicsSymAE(model_config)
        self.optimizer_state = None
        if resume:
            self.optimizer_state = load_checkpoint(self.out_dir, self.model)
        self.model.to(self.runtime.device)
        self.net = data_parallel(self.model, self.runtime)

    def _batch(self, rng: np.random.Generator, part: str) -> tuple[torch.Tensor, ...]:
        arrays = draw_batch(self.blocks, self.groups_per_rank, self.tcfg.ntau, rng, part)
        return tuple(torch.from_numpy(a).to(self.runtime.device) for a in arrays)

    def _loss(self, net: torch.nn.Module, batch: tuple[torch.Tensor, ...], gen: torch.Generator):
        """Loss terms of one batch and the mean STF shape misfit of its groups."""
        x, g, t, truth = batch
        out = net(x, g, t, sample=True, generator=gen)
        terms = symvae_loss(x, out, self.model.decoder_logvar, self.tcfg)
        if not self.has_truth:
            return terms, torch.full((), float("nan"), device=x.device)
        max_lag = int(round(STF_MAX_LAG_S / self.mcfg.contract.dt))
        per_group = stf_shape_misfit(out.stf, truth, max_lag)
        if self.tcfg.stf_weight > 0:
            scale = self.tcfg.stf_weight * x.shape[1] * x.shape[2]
            terms.total = terms.total + scale * per_group.sum()
        return terms, per_group.mean().detach()

    def _train_epoch(self, plan, optimizer, bar) -> dict[str, float]:
        rt, cfg = self.runtime, self.tcfg
        rng = epoch_rng(cfg.seed, plan.stage, plan.epoch_in_stage, rt.rank, 0)
        gen = _generator(rng, rt.device)
        self.net.train()
        sums = torch.zeros(len(METRICS) + 1, device=rt.device)
        misfit = torch.zeros((), device=rt.device)
        for _ in range(cfg.steps_per_epoch):
            terms, m = self._loss(self.net, self._batch(rng, "train"), gen)
            optimizer.zero_grad(set_to_none=True)
            # DDP averages gradients over processes; scaling restores the summed loss
            (terms.total * rt.world_size).backward()
            optimizer.step()
            sums += _metric_sums(terms)
            misfit += m / (cfg.steps_per_epoch * rt.world_size)
            bar.update(1)
        return {**_per_trace(distributed.all_sum(rt, sums)), "stf_misfit": self._sum(misfit)}

    def _sum(self, value: torch.Tensor) -> float:
        return float(distributed.all_sum(self.runtime, value.reshape(1))[0])

    @torch.no_grad()
    def _test_epoch(self) -> dict[str, float]:
        rt, cfg = self.runtime, self.tcfg
        rng = epoch_rng(cfg.seed, 0, 0, rt.rank, TEST_STREAM)
        gen = _generator(rng, rt.device)
        self.model.eval()
        sums = torch.zeros(len(METRICS) + 1, device=rt.device)
        misfit = torch.zeros((), device=rt.device)
        for _ in range(cfg.test_batches):
            terms, m = self._loss(self.model, self._batch(rng, "test"), gen)
            sums += _metric_sums(terms)
            misfit += m / (cfg.test_batches * rt.world_size)
        return {**_per_trace(distributed.all_sum(rt, sums)), "stf_misfit": self._sum(misfit)}

    def _data_provenance(self):
        files = []
        for i, path in enumerate(self.dataset.paths):
            files.append(
                {
                    "path": str(path),
                    "bytes": path.stat().st_size,
                    "sha256": sha256_file(path),
                    "provenance": self.dataset.provenance(i),
                }
            )
        return {
            "files": files,
            "events": len(self.blocks),
            "groups": sum(len(b.pixel_train) for b in self.blocks) + len(self.blocks),
            "train_traces": int(sum(len(b.train) for b in self.blocks)),
            "test_traces": int(sum(len(b.test) for b in self.blocks)),
            "min_traces": self.tcfg.min_traces,
            "greens": "symae.inversion.grid.event_greens (catalogue mechanism, else P-only)",
        }

    @torch.no_grad()
    def _figures(self) -> None:
        fig_dir = self.out_dir / "figures"
        model_figures.loss_history(self.state.history, fig_dir)
        b = self.blocks[0]
        idx = b.test[:12] if len(b.test) >= 3 else b.train[:12]
        x = torch.from_numpy(b.traces[idx]).unsqueeze(0)
        g = torch.from_numpy(b.greens[idx]).unsqueeze(0)
        t = torch.tensor([b.t_max])
        dev = self.runtime.device
        recon = self.model.eval()(x.to(dev), g.to(dev), t.to(dev)).recon[0].cpu().numpy()
        model_figures.reconstruction(
            b.traces[idx],
            recon,
            self.dataset.contract.time_axis(),
            fig_dir,
            f"{b.event_id}: input vs reconstruction",
        )

    def close(self) -> None:
        self.dataset.close()
        distributed.stop(self.runtime)
