"""``get_coherent_information``: virtual seismograms of an event from a frozen SymAE.

The method doc's recipe, on the exported ONNX graphs (no torch):

1. Coherent posterior of every group of the event (one padded, masked call); the
   largest group's is the reference Q_ref.
2. Every trace j: decode [mu_ref ; n_j], demean, re-encode alone (no shift),
   B_j = KL(Q_ref || Q_j): the trace's informativeness (low = informative).
3. The N traces of lowest B_j give N starting nuisance codes.
4. Plain gradient descent on those codes with the exported step graph, minimising
   J = KL / J1 + alpha * L1(standardised virtual traces) / J2 (J1, J2 the starting values).
5. Every group b: decode [mu_c(b) ; each optimised code], demean, and delay by the mean
   learned shift of the group's traces: the (N, nt) virtual gather of that pixel, back
   in the data frame (time after the predicted P), as the reconstructions are.

Several events go through the encoders and decoders together (``coherent_information_many``);
only the descent loop runs per event, since each event has its own reference. A preview of
a growing event may start the descent from an earlier revision's optimised codes with fewer
steps (``WarmStart``); a from-scratch extraction never does. An extraction of the same
traces as such a preview whose descent began at the method's start may carry that descent
on (``Continuation``): the remaining steps give the codes and histories of an
uninterrupted descent, step for step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


class ModelGraphs(Protocol):
    """The five graphs of a model directory as numpy functions (``symae.extract.runtime.OnnxModel``)."""

    def coherent(self, traces: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, ...]:
        """(G, n, nt), (G, n) -> mu (G, p), logvar (G, p), shift (G, n)."""

    def nuisance(self, traces: np.ndarray) -> tuple[np.ndarray, ...]:
        """(T, nt) -> mu (T, q), log_sigma (T, q), shift (T,)."""

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """(T, p + q) -> (T, nt), aligned frame."""

    def reencode(self, traces: np.ndarray) -> tuple[np.ndarray, ...]:
        """(T, nt) -> mu (T, p), logvar (T, p), each trace a group of one."""

    def latent_step(
        self,
        codes: np.ndarray,
        ref_mu: np.ndarray,
        ref_logvar: np.ndarray,
        j1: float,
        j2: float,
        alpha: float,
        lr: float,
    ) -> tuple[np.ndarray, float, float, float]:
        """One gradient step: -> codes_out (N, q), objective, kl, l1 (at the input codes)."""


@dataclass(frozen=True)
class LatentSettings:
    """Settings of the latent optimisation (the method's defaults).

    The one source of these defaults: ``symae extract``, ``symae evaluate``, ``symae bench
    extract`` and the services take theirs from here (``symae.cli.options``).
    """

    n_codes: int = 10
    steps: int = 100
    lr: float = 0.1
    alpha: float = 0.1

    def __post_init__(self) -> None:
        if self.n_codes < 1:
            raise ValueError(f"n_codes must be >= 1, got {self.n_codes}")
        if self.steps < 0:
            raise ValueError(f"steps must be >= 0, got {self.steps}")
        if not np.isfinite(self.lr) or self.lr < 0:
            raise ValueError(f"lr must be a finite number >= 0, got {self.lr}")
        if not np.isfinite(self.alpha) or self.alpha < 0:
            raise ValueError(f"alpha must be a finite number >= 0, got {self.alpha}")


@dataclass(frozen=True)
class WarmStart:
    """Run the descent of one event ``steps`` steps from ``codes`` (N, q), or from the
    method's start when ``codes`` has another shape (e.g. empty: nothing to start from)."""

    codes: np.ndarray
    steps: int


@dataclass(frozen=True)
class Continuation:
    """A descent of one event to carry on rather than restart: its codes (N, q) after its
    first ``len(objective) - 1`` steps from the method's start, and its J, KL and L1 so far
    (``CoherentInformation``'s, the last entries at those codes). Only for the same
    traces: the start, the reference and the normalisation J1, J2 (the first KL and L1)
    are those of the descent being continued."""

    codes: np.ndarray
    objective: np.ndarray
    kl: np.ndarray
    l1: np.ndarray

    @classmethod
    def of(cls, info: CoherentInformation) -> Continuation:
        return cls(info.codes, info.objective, info.kl, info.l1)

    @property
    def steps_done(self) -> int:
        return len(self.objective) - 1


@dataclass
class CoherentInformation:
    """Everything the extraction learnt about one event, in group order."""

    group_sizes: list[int]  # traces per group, the traces are the groups' concatenation
    reference: int  # index of the reference (largest) group
    group_mu: np.ndarray  # (G, p)
    group_logvar: np.ndarray  # (G, p)
    shifts: np.ndarray  # (T,) shift s of every trace (advance of s * nt / 2 samples)
    scores: np.ndarray  # (T,) B_j
    selected: np.ndarray  # (N,) indices of the traces whose codes started the descent
    codes: np.ndarray  # (N, q) optimised nuisance codes
    objective: np.ndarray  # (steps + 1,) J, normalised (starts at 1 + alpha)
    kl: np.ndarray  # (steps + 1,) raw KL term
    l1: np.ndarray  # (steps + 1,) raw L1 term
    virtual: np.ndarray  # (G, N, nt) virtual gathers, data frame, demeaned
    reconstruction: np.ndarray  # (T, nt) autoencoder reconstruction in the traces' frame

    def group_slices(self) -> list[slice]:
        edges = np.concatenate([[0], np.cumsum(self.group_sizes)])
        return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def kl_diagonal(
    mu0: np.ndarray, logvar0: np.ndarray, mu1: np.ndarray, logvar1: np.ndarray
) -> np.ndarray:
    """KL(N(mu0, e^logvar0) || N(mu1, e^logvar1)) summed over the last axis."""
    return 0.5 * np.sum(
        logvar1 - logvar0 + (np.exp(logvar0) + (mu0 - mu1) ** 2) / np.exp(logvar1) - 1.0, axis=-1
    )


def fourier_advance(x: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Advance traces (T, nt) circularly by ``s * nt / 2`` samples, as the model's shift module."""
    nt = x.shape[-1]
    k = np.arange(nt // 2 + 1)
    ramp = np.exp(1j * np.pi * np.asarray(s, dtype=np.float64)[..., None] * k)
    return np.fft.irfft(np.fft.rfft(x, axis=-1) * ramp, n=nt, axis=-1)


def _demean(x: np.ndarray) -> np.ndarray:
    return x - x.mean(axis=-1, keepdims=True)


def _pad_groups(groups: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    nmax = max(len(g) for g in groups)
    nt = groups[0].shape[-1]
    traces = np.zeros((len(groups), nmax, nt), dtype=np.float32)
    mask = np.zeros((len(groups), nmax), dtype=np.float32)
    for i, g in enumerate(groups):
        traces[i, : len(g)] = g
        mask[i, : len(g)] = 1.0
    return traces, mask


def _descend(
    graphs: ModelGraphs,
    start: np.ndarray,
    ref_mu: np.ndarray,
    ref_logvar: np.ndarray,
    s: LatentSettings,
    steps: int | None = None,
    done: Continuation | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run the exported step ``steps`` (default ``s.steps``) times, or carry ``done`` on
    to ``s.steps`` in all; returns codes and the J, KL, L1 histories."""
    codes = start.astype(np.float32)
    history: list[tuple[float, float, float]] = []  # (J, KL, L1) per step
    if done is None:
        _, _, kl0, l10 = graphs.latent_step(codes, ref_mu, ref_logvar, 1.0, 1.0, s.alpha, 0.0)
        remaining = s.steps if steps is None else steps
    else:
        # J1, J2 are the first KL and L1 of the descent carried on (the step graph
        # reports them at its input codes, the start, as the first call above does)
        kl0, l10 = float(done.kl[0]), float(done.l1[0])
        history = [
            (float(j), float(kl), float(l1))
            for j, kl, l1 in zip(done.objective[:-1], done.kl[:-1], done.l1[:-1], strict=True)
        ]
        remaining = s.steps - done.steps_done
    j1 = kl0 if kl0 > 0 else 1.0
    j2 = l10 if l10 > 0 else 1.0
    for _ in range(remaining):
        codes, j, kl, l1 = graphs.latent_step(codes, ref_mu, ref_logvar, j1, j2, s.alpha, s.lr)
        history.append((j, kl, l1))
    # the step graph reports J at its input codes: one more evaluation gives the final value
    _, j, kl, l1 = graphs.latent_step(codes, ref_mu, ref_logvar, j1, j2, s.alpha, 0.0)
    history.append((j, kl, l1))
    objective, kl_hist, l1_hist = np.array(history, dtype=np.float64).T
    return codes, objective, kl_hist, l1_hist


def coherent_information_many(
    graphs: ModelGraphs,
    events: Sequence[Sequence[np.ndarray]],
    settings: LatentSettings,
    warm: Sequence[WarmStart | Continuation | None] | None = None,
) -> list[CoherentInformation]:
    """``get_coherent_information`` for several events, batching every encoder/decoder call.

    ``events`` holds, per event, its groups as (n_b, nt) float32 arrays; ``warm``, per
    event, None (the method's start), a :class:`WarmStart` with as many codes, or a
    :class:`Continuation` of a descent on the same traces (as many codes, at most
    ``settings.steps`` steps done; else the method's start).
    """
    if not events:
        return []
    warm = list(warm) if warm is not None else [None] * len(events)
    if len(warm) != len(events):
        raise ValueError(f"{len(warm)} warm starts for {len(events)} events")
    for e, groups in enumerate(events):
        if not groups or any(len(g) == 0 for g in groups):
            raise ValueError(f"event #{e} has an empty group or no group")
    all_groups = [np.asarray(g, dtype=np.float32) for groups in events for g in groups]
    n_groups = [len(groups) for groups in events]
    padded, mask = _pad_groups(all_groups)
    g_mu, g_logvar, g_shift = graphs.coherent(padded, mask)
    traces = np.concatenate(all_groups)  # (T_all, nt)
    n_mu, _, _ = graphs.nuisance(traces)
    shifts = np.concatenate([g_shift[i, : len(g)] for i, g in enumerate(all_groups)])
    sizes = [len(g) for g in all_groups]
    group_of_trace = np.repeat(np.arange(len(all_groups)), sizes)
    event_of_group = np.repeat(np.arange(len(events)), n_groups)
    reference = np.array(
        [
            first + int(np.argmax(sizes[first : first + n]))
            for first, n in zip(np.cumsum([0, *n_groups[:-1]]), n_groups, strict=True)
        ]
    )

    # reconstruction of every trace by its own group's code, put back in its own frame
    recon = graphs.decode(np.concatenate([g_mu[group_of_trace], n_mu], axis=1))
    recon = fourier_advance(recon, -shifts)

    # informativeness: decode with the reference code, re-encode alone, KL to the reference
    ref_of_trace = reference[event_of_group[group_of_trace]]
    probe = _demean(graphs.decode(np.concatenate([g_mu[ref_of_trace], n_mu], axis=1)))
    r_mu, r_logvar = graphs.reencode(probe.astype(np.float32))[:2]
    scores = kl_diagonal(g_mu[ref_of_trace], g_logvar[ref_of_trace], r_mu, r_logvar)

    results: list[CoherentInformation] = []
    optimised: list[np.ndarray] = []
    trace_start = 0
    group_start = 0
    for e, n in enumerate(n_groups):
        n_traces = sum(sizes[group_start : group_start + n])
        ev = slice(trace_start, trace_start + n_traces)
        ref = reference[e]
        order = np.argsort(scores[ev], kind="stable")[: settings.n_codes]
        start, steps, done = n_mu[ev][order], None, None
        w = warm[e]
        if isinstance(w, Continuation):
            if w.codes.shape == start.shape and w.steps_done <= settings.steps:
                start, done = w.codes, w
        elif w is not None:
            steps = w.steps
            if w.codes.shape == start.shape:  # else: no codes to start from
                start = w.codes
        codes, objective, kl, l1 = _descend(
            graphs, start, g_mu[ref], g_logvar[ref], settings, steps, done
        )
        optimised.append(codes)
        results.append(
            CoherentInformation(
                group_sizes=sizes[group_start : group_start + n],
                reference=int(ref - group_start),
                group_mu=g_mu[group_start : group_start + n],
                group_logvar=g_logvar[group_start : group_start + n],
                shifts=shifts[ev],
                scores=scores[ev],
                selected=order,
                codes=codes,
                objective=objective,
                kl=kl,
                l1=l1,
                virtual=np.empty(0),
                reconstruction=recon[ev],
            )
        )
        trace_start += n_traces
        group_start += n

    # virtual gathers of every group of every event in one decoder call
    rows = [
        np.concatenate(
            [
                np.repeat(g_mu[g][None], len(optimised[event_of_group[g]]), 0),
                optimised[event_of_group[g]],
            ],
            axis=1,
        )
        for g in range(len(all_groups))
    ]
    virtual = _demean(graphs.decode(np.concatenate(rows).astype(np.float32)))
    counts = np.cumsum([0, *[len(r) for r in rows]])
    group_shift = np.bincount(group_of_trace, weights=shifts) / np.asarray(sizes)
    virtual = fourier_advance(virtual, -np.repeat(group_shift, np.diff(counts)))
    group_start = 0
    for e, n in enumerate(n_groups):
        gathers = [virtual[counts[g] : counts[g + 1]] for g in range(group_start, group_start + n)]
        results[e].virtual = np.stack(gathers)
        group_start += n
    return results


def get_coherent_information(
    graphs: ModelGraphs, groups: Sequence[np.ndarray], settings: LatentSettings | None = None
) -> CoherentInformation:
    """One event's coherent information (module docstring); ``groups`` are (n_b, nt) arrays."""
    return coherent_information_many(graphs, [groups], settings or LatentSettings())[0]
