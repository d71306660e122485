"""Station bootstrap band, per-pixel apparent STFs, duration and centroid.

Both reuse the converged event fit: per-trace Gram matrices A_i'A_i and A_i'd_i at the
final lags, scales and robust weights (the warm start), so a bootstrap draw or a pixel
is one J x J NNLS. The bootstrap is therefore conditional on the (a, tau) of the full
solution: it measures how the STF depends on which stations were kept.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from symae.inversion.settings import InversionSettings
from symae.inversion.solve import Solution, solve_normal
from symae.work import count


class PixelSTF(NamedTuple):
    """Apparent STF of one focal-sphere pixel (same units and times as the event STF)."""

    stf: np.ndarray
    azimuth_deg: float  # circular mean of the used traces' azimuths
    takeoff_deg: float  # mean P take-off angle of the used traces
    n_traces: int


class TraceGrams(NamedTuple):
    """Per-trace normal-equation pieces at the final fit."""

    gram: np.ndarray  # (n, J, J) c_i A_i'A_i, c_i = w_i a_i^2
    rhs: np.ndarray  # (n, J) w_i a_i A_i'd_i


def trace_grams(solution: Solution, data: np.ndarray) -> TraceGrams:
    """Gram pieces of every trace (zero for unused ones)."""
    a = solution.design
    if a is None:
        raise ValueError("solution was made without keep_design=True")
    coef = solution.weight * solution.scale**2
    gram = np.matmul(a.transpose(0, 2, 1), a) * coef[:, None, None]
    rhs = np.einsum("ntj,nt->nj", a, data) * (solution.weight * solution.scale)[:, None]
    return TraceGrams(gram, rhs)


def bootstrap(grams: TraceGrams, used: np.ndarray, settings: InversionSettings) -> np.ndarray:
    """(draws, J) STFs, each from a resample with replacement of the used traces."""
    idx = np.flatnonzero(used)
    if settings.n_bootstrap < 1 or idx.size < 2:
        return np.zeros((0, grams.rhs.shape[1]))
    rng = np.random.default_rng(settings.bootstrap_seed)
    count("bootstrap", settings.n_bootstrap * idx.size)
    draws = []
    for _ in range(settings.n_bootstrap):
        counts = np.bincount(rng.integers(0, idx.size, idx.size), minlength=idx.size).astype(float)
        h = np.tensordot(counts, grams.gram[idx], axes=1)
        b = counts @ grams.rhs[idx]
        draws.append(solve_normal(h, b, settings.smoothness, sparsity=settings.sparsity))
    return np.array(draws)


def pixel_stfs(
    grams: TraceGrams,
    used: np.ndarray,
    pixel: np.ndarray,
    azimuth_deg: np.ndarray,
    takeoff_deg: np.ndarray,
    prior: np.ndarray,
    settings: InversionSettings,
) -> dict[int, tuple[np.ndarray, float, float, int]]:
    """Apparent STF per pixel with ``min_pixel_traces`` used traces, pulled toward ``prior``.

    Returns raw (solver-unit) STFs; the caller scales them like the event STF.
    """
    out = {}
    for p in np.unique(pixel):
        idx = np.flatnonzero((pixel == p) & used)
        if idx.size < settings.min_pixel_traces:
            continue
        h = grams.gram[idx].sum(axis=0)
        b = grams.rhs[idx].sum(axis=0)
        m = solve_normal(
            h,
            b,
            settings.smoothness,
            prior=prior,
            prior_weight=settings.pixel_prior_weight,
            sparsity=settings.sparsity,
        )
        az = np.radians(azimuth_deg[idx])
        mean_az = float(np.degrees(np.arctan2(np.sin(az).mean(), np.cos(az).mean())) % 360.0)
        out[int(p)] = (m, mean_az, float(np.mean(takeoff_deg[idx])), int(idx.size))
    return out


def moment_duration(stf: np.ndarray, dt: float, low: float = 0.05, high: float = 0.95) -> float:
    """Time between ``low`` and ``high`` fractions of the cumulative moment (s)."""
    x = np.clip(np.asarray(stf, dtype=np.float64), 0.0, None)
    total = x.sum()
    if total <= 0:
        return 0.0
    cum = np.cumsum(x) / total
    t = dt * np.arange(x.size)
    return float(np.interp(high, cum, t) - np.interp(low, cum, t))


def centroid(stf: np.ndarray, times: np.ndarray) -> float:
    """Moment-weighted mean time (s)."""
    x = np.clip(np.asarray(stf, dtype=np.float64), 0.0, None)
    return float((x * times).sum() / x.sum()) if x.sum() > 0 else float("nan")
