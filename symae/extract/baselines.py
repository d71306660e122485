"""The simple STF estimates seismologists already use, with the same output as SymAE.

Every baseline takes an event's raw traces (n, nt), on the model time axis, and
returns an ``EnvelopeStf``-like mean and +-1 std band:

- ``mean_envelope``: mean displacement envelope of the raw traces (the reference's
  baseline): the SymAE per-pixel recipe applied to the recorded traces themselves.
- ``aligned_stack``: traces iteratively aligned by cross-correlation with their stack
  (lags within +-``max_lag_s``), then the envelope of the stack; the band is the std of
  the aligned traces' peak-normalised envelopes.
- ``deconvolved_stack``: the aligned stack deconvolved by a teleseismic P reference
  pulse (a zero-phase attenuated impulse, t* = 1 s) with a spectral water level, low-passed, and
  kept where positive, with the sign that makes its largest excursion positive; the
  band comes from deconvolving each aligned trace the same way.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from symae.extract.stf import EnvelopeStf, best_lags, envelope_stf, envelopes, shift_rows
from symae.work import count

BASELINE_NAMES = ("mean_envelope", "aligned_stack", "deconvolved_stack")


def mean_envelope(traces: np.ndarray, dt: float) -> EnvelopeStf:
    """Mean peak-normalised Hilbert envelope of the raw traces."""
    return envelope_stf(traces)


def _standardise(traces: np.ndarray) -> np.ndarray:
    x = np.asarray(traces, dtype=np.float64)
    x = x - x.mean(axis=-1, keepdims=True)
    return x / (x.std(axis=-1, keepdims=True) + 1e-12)


def align_by_stack(
    traces: np.ndarray, dt: float, max_lag_s: float = 10.0, iterations: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """Iteratively align standardised traces to their stack; returns (aligned, lags).

    Vectorised over traces (``best_lags``, ``shift_rows``); each pass is counted as one
    ``baselines`` work row per trace (``symae.work``)."""
    x = _standardise(np.atleast_2d(traces))
    max_lag = int(round(max_lag_s / dt))
    lags = np.zeros(len(x), dtype=int)
    aligned = x
    for _ in range(iterations):
        count("baselines", len(x))
        stack = aligned.mean(axis=0)
        new = best_lags(x, stack, max_lag)
        aligned = shift_rows(x, new)
        if np.array_equal(new, lags):
            break
        lags = new
    return aligned, lags


def aligned_stack(traces: np.ndarray, dt: float, max_lag_s: float = 10.0) -> EnvelopeStf:
    """Envelope of the cross-correlation-aligned stack, band from the aligned traces."""
    aligned, _ = align_by_stack(traces, dt, max_lag_s)
    stack_env = envelopes(aligned.mean(axis=0))
    spread = envelope_stf(aligned)
    peak = stack_env.max() if stack_env.max() > 0 else 1.0
    mean = stack_env / peak
    return EnvelopeStf(mean=mean, std=spread.std, envelope_std=spread.envelope_std)


def reference_pulse_spectrum(f: np.ndarray, t_star: float = 1.0) -> np.ndarray:
    """Spectrum of a zero-phase attenuated impulse, exp(-pi f t*), at frequencies ``f`` (Hz)."""
    return np.exp(-np.pi * np.abs(f) * t_star)


def water_level_deconvolve(
    traces: np.ndarray,
    dt: float,
    t_star: float = 1.0,
    water_level: float = 0.01,
    f_max: float = 0.2,
) -> np.ndarray:
    """Divide by the reference pulse spectrum with a water level, Gaussian low-pass at ``f_max`` Hz.

    Zero-padded to twice the length so the division does not wrap the end onto the start.
    """
    nt = traces.shape[-1]
    nfft = 2 * nt
    f = np.fft.rfftfreq(nfft, dt)
    p = reference_pulse_spectrum(f, t_star)
    power = p**2
    inverse = p / np.maximum(power, water_level * power.max())
    gauss = np.exp(-0.5 * (f / f_max) ** 2)
    spectrum = np.fft.rfft(traces, nfft, axis=-1) * inverse * gauss
    return np.fft.irfft(spectrum, nfft, axis=-1)[..., :nt]


def deconvolved_stack(traces: np.ndarray, dt: float, max_lag_s: float = 10.0) -> EnvelopeStf:
    """Water-level deconvolution of the aligned stack by a t* = 1 s reference pulse."""
    aligned, _ = align_by_stack(traces, dt, max_lag_s)
    stack = water_level_deconvolve(aligned.mean(axis=0), dt)
    sign = 1.0 if stack.max() >= -stack.min() else -1.0
    stf = np.clip(sign * stack, 0.0, None)
    each = np.clip(sign * water_level_deconvolve(aligned, dt), 0.0, None)
    peaks = each.max(axis=-1, keepdims=True)
    each = each / np.where(peaks > 0, peaks, 1.0)
    peak = stf.max() if stf.max() > 0 else 1.0
    mean, std = stf / peak, each.std(axis=0)
    spread = envelope_stf(aligned).envelope_std
    return EnvelopeStf(mean=mean, std=std, envelope_std=spread)


BASELINES: dict[str, Callable[[np.ndarray, float], EnvelopeStf]] = {
    "mean_envelope": mean_envelope,
    "aligned_stack": aligned_stack,
    "deconvolved_stack": deconvolved_stack,
}


def all_baselines(traces: np.ndarray, dt: float) -> dict[str, EnvelopeStf]:
    """Every baseline on the same traces (n, nt)."""
    return {name: fn(traces, dt) for name, fn in BASELINES.items()}
