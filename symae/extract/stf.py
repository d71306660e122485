"""From traces to STFs: envelopes, per-pixel STF with band, and the event STF rule.

A pixel's STF is the mean of the Hilbert envelopes of its (virtual) traces, each
envelope scaled to peak 1 so that every trace counts the same, with the across-trace
standard deviation as a +-1 std band. Its ``envelope_std`` summarises that band: the
mean std over the samples where the mean envelope exceeds 10 % of its peak; the
reference drops pixels whose value is >= 0.25.

The **event STF** combines the pixels that pass that gate (all pixels, flagged, when
none does): each pixel STF is aligned to the reference pixel's STF by the lag of
maximum cross-correlation within +-``max_lag_s``, twice (the second time against the
first weighted mean), then averaged with weights ``n_traces * (1 - envelope_std /
gate)``. The band is the weighted spread of pixels around that mean combined with
their own bands (law of total variance).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import hilbert

SUPPORT_FRACTION = 0.1  # envelope_std is measured where the mean exceeds this share of its peak


def envelopes(traces: np.ndarray) -> np.ndarray:
    """Hilbert envelopes of demeaned traces, shape as ``traces`` (..., nt)."""
    x = np.asarray(traces, dtype=np.float64)
    x = x - x.mean(axis=-1, keepdims=True)
    return np.abs(hilbert(x, axis=-1))


@dataclass(frozen=True)
class EnvelopeStf:
    """Mean peak-normalised envelope, its across-trace std and the pixel's spread figure."""

    mean: np.ndarray  # (nt,)
    std: np.ndarray  # (nt,)
    envelope_std: float


def envelope_stf(traces: np.ndarray) -> EnvelopeStf:
    """Mean of the peak-normalised Hilbert envelopes of ``traces`` (n, nt), +-1 std."""
    traces = np.atleast_2d(np.asarray(traces, dtype=np.float64))
    if traces.shape[0] == 0:
        raise ValueError("envelope_stf needs at least one trace, got none")
    env = envelopes(traces)
    peak = env.max(axis=-1, keepdims=True)
    env = env / np.where(peak > 0, peak, 1.0)
    mean, std = env.mean(axis=0), env.std(axis=0)
    return EnvelopeStf(mean=mean, std=std, envelope_std=_support_std(mean, std))


def _support_std(mean: np.ndarray, std: np.ndarray) -> float:
    peak = float(mean.max())
    if peak <= 0:
        return float(std.mean())
    support = mean >= SUPPORT_FRACTION * peak
    return float(std[support].mean() / peak)


def shift_zero_fill(x: np.ndarray, lag: int) -> np.ndarray:
    """``x`` delayed by ``lag`` samples (advanced when negative), zeros shifted in."""
    out = np.zeros_like(x)
    if lag > 0:
        out[lag:] = x[:-lag]
    elif lag < 0:
        out[:lag] = x[-lag:]
    else:
        out[:] = x
    return out


def best_lag(x: np.ndarray, reference: np.ndarray, max_lag: int) -> int:
    """Lag (samples) by which to delay ``x`` to best match ``reference``, within +-max_lag."""
    n = len(x)
    full = np.correlate(reference, x, mode="full")  # index k <-> lag k - (n - 1)
    lags = np.arange(-(n - 1), n)
    window = np.abs(lags) <= max_lag
    return int(lags[window][np.argmax(full[window])])


def best_lags(x: np.ndarray, reference: np.ndarray, max_lag: int) -> np.ndarray:
    """``best_lag`` of every row of ``x`` (n, nt) at once: one matrix product with the
    reference at each lag within +-max_lag."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    nt = x.shape[-1]
    k = min(int(max_lag), nt - 1)
    padded = np.pad(np.asarray(reference, dtype=np.float64), k)
    shifted = np.lib.stride_tricks.sliding_window_view(padded, nt)  # row j: lag j - k
    return np.argmax(x @ shifted.T, axis=1) - k


def shift_rows(x: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """``shift_zero_fill`` of every row of ``x`` (n, nt) by its own lag."""
    x = np.atleast_2d(x)
    nt = x.shape[-1]
    src = np.arange(nt)[None, :] - np.asarray(lags, dtype=int)[:, None]
    inside = (src >= 0) & (src < nt)
    return np.where(inside, np.take_along_axis(x, np.clip(src, 0, nt - 1), axis=1), 0.0)


@dataclass(frozen=True)
class CombinedStf:
    mean: np.ndarray
    std: np.ndarray
    lags: np.ndarray  # samples each pixel STF was delayed by
    used: np.ndarray  # bool, pixels that entered the mean


def combine_pixels(
    means: np.ndarray,
    stds: np.ndarray,
    n_traces: np.ndarray,
    envelope_std: np.ndarray,
    reference: int,
    max_lag: int,
    gate: float = 0.25,
) -> CombinedStf:
    """The event STF rule (module docstring): gate, align, weight, average.

    ``means``/``stds`` are (P, nt) pixel STFs, ``reference`` the index of the reference
    pixel, ``max_lag`` in samples.
    """
    means = np.asarray(means, dtype=np.float64)
    stds = np.asarray(stds, dtype=np.float64)
    envelope_std = np.asarray(envelope_std, dtype=np.float64)
    used = envelope_std < gate
    if not used.any():
        used = np.ones_like(used)
    weights = np.asarray(n_traces, dtype=np.float64) * np.clip(1.0 - envelope_std / gate, 0.05, 1.0)
    weights = np.where(used, weights, 0.0)
    peaks = means.max(axis=1, keepdims=True)
    scale = 1.0 / np.where(peaks > 0, peaks, 1.0)
    means, stds = means * scale, stds * scale
    target = means[reference]
    lags = np.zeros(len(means), dtype=int)
    for _ in range(2):
        lags = np.array([best_lag(m, target, max_lag) for m in means])
        aligned = np.array([shift_zero_fill(m, k) for m, k in zip(means, lags, strict=True)])
        target = np.average(aligned[used], axis=0, weights=weights[used])
    aligned_std = np.array([shift_zero_fill(s, k) for s, k in zip(stds, lags, strict=True)])
    w = weights[used] / weights[used].sum()
    spread = (aligned_std[used] ** 2 + (aligned[used] - target) ** 2) * w[:, None]
    return CombinedStf(mean=target, std=np.sqrt(spread.sum(axis=0)), lags=lags, used=used)
