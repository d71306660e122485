"""Envelope STFs, the event-STF rule and the baselines on traces built from a known STF."""

from __future__ import annotations

import numpy as np

from symae.evaluate.metrics import Series, compare
from symae.extract.baselines import (
    align_by_stack,
    aligned_stack,
    all_baselines,
    deconvolved_stack,
    reference_pulse_spectrum,
)
from symae.extract.stf import best_lag, combine_pixels, envelope_stf, shift_zero_fill

NT, DT, T0 = 192, 1.0, -92.0
TIMES = T0 + DT * np.arange(NT)


def two_episode_stf() -> np.ndarray:
    return np.exp(-0.5 * ((TIMES - 5.0) / 3.0) ** 2) + 0.6 * np.exp(
        -0.5 * ((TIMES - 22.0) / 3.0) ** 2
    )


def attenuate(x: np.ndarray) -> np.ndarray:
    f = np.fft.rfftfreq(2 * NT, DT)
    return np.fft.irfft(np.fft.rfft(x, 2 * NT) * reference_pulse_spectrum(f), 2 * NT)[:NT]


def traces_from(
    stf: np.ndarray, n: int, max_delay: int, noise: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Attenuated copies of ``stf`` with random delays and white noise; returns (traces, delays)."""
    rng = np.random.default_rng(seed)
    delays = rng.integers(-max_delay, max_delay + 1, size=n)
    clean = np.array([attenuate(shift_zero_fill(stf, int(d))) for d in delays])
    return clean + noise * rng.standard_normal(clean.shape), delays


def test_envelope_of_identical_traces_has_no_spread() -> None:
    x = np.tile(np.sin(2 * np.pi * TIMES / 10.0) * np.exp(-0.5 * (TIMES / 8.0) ** 2), (5, 1))
    e = envelope_stf(x)
    assert e.mean.max() == 1.0
    assert e.envelope_std < 1e-9


def test_best_lag_recovers_a_delay() -> None:
    x = two_episode_stf()
    assert best_lag(shift_zero_fill(x, 7), x, 10) == -7
    assert best_lag(shift_zero_fill(x, -4), x, 10) == 4


def test_alignment_undoes_random_delays() -> None:
    traces, delays = traces_from(two_episode_stf(), 30, 6, 0.02, seed=1)
    _, lags = align_by_stack(traces, DT)
    relative = lags + delays  # constant when every trace is put back in one frame
    assert np.ptp(relative) <= 1


def test_aligned_stack_beats_plain_mean_envelope_on_jittered_traces() -> None:
    truth = Series(two_episode_stf(), T0, DT)
    traces, _ = traces_from(two_episode_stf(), 40, 8, 0.05, seed=2)
    results = all_baselines(traces, DT)
    cc = {name: compare(Series(r.mean, T0, DT), truth).cc for name, r in results.items()}
    assert cc["aligned_stack"] > cc["mean_envelope"]
    assert compare(Series(aligned_stack(traces, DT).mean, T0, DT), truth).cc > 0.85


def test_deconvolution_recovers_the_source_of_aligned_traces() -> None:
    stf = two_episode_stf()
    traces, _ = traces_from(stf, 20, 0, 0.01, seed=3)
    m = compare(Series(deconvolved_stack(traces, DT).mean, T0, DT), Series(stf, T0, DT))
    assert m.cc > 0.95
    assert m.episodes_est == m.episodes_true == 2


def test_event_rule_aligns_pixels_and_drops_incoherent_ones() -> None:
    stf = two_episode_stf()
    means = np.array([stf, shift_zero_fill(stf, 4), shift_zero_fill(stf, -3), np.ones(NT)])
    stds = np.full_like(means, 0.05)
    combined = combine_pixels(
        means,
        stds,
        n_traces=np.array([40, 20, 20, 60]),
        envelope_std=np.array([0.05, 0.1, 0.1, 0.4]),
        reference=0,
        max_lag=10,
    )
    assert list(combined.used) == [True, True, True, False]
    assert list(combined.lags[:3]) == [0, -4, 3]
    assert np.allclose(combined.mean[20:160], stf[20:160] / stf.max(), atol=1e-6)
    assert np.all(combined.std[20:160] >= 0.05 / stf.max() - 1e-9)


def test_vectorised_lags_and_shifts_match_the_per_trace_ones() -> None:
    from symae.extract.stf import best_lag, best_lags, shift_rows, shift_zero_fill

    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 192))
    reference = np.roll(x[0], 7) + 0.1 * rng.standard_normal(192)
    lags = best_lags(x, reference, 20)
    assert lags[0] == 7
    assert lags.tolist() == [best_lag(t, reference, 20) for t in x]
    shifts = rng.integers(-30, 30, len(x))
    expected = np.array([shift_zero_fill(t, k) for t, k in zip(x, shifts, strict=True)])
    assert np.array_equal(shift_rows(x, shifts), expected)
