"""Metrics of an estimated STF against a true one (conventions in docs/evaluation.md).

Both series are first put on the truth's time grid (linear interpolation, zero
outside) and *prepared* the same way: the 5th percentile is subtracted as a noise
floor (an envelope never reaches zero), negatives are clipped and the result is
scaled to peak 1. Then:

- ``cc``: normalised cross-correlation sum(a b) / (|a| |b|) (no demeaning, as is usual
  for non-negative STFs) at the best lag within +-``max_lag_s``; ``lag_s`` is the delay
  applied to the estimate.
- ``duration``: time holding 5-95 % of the moment (cumulative integral); the relative
  error is (estimate - truth) / truth.
- ``centroid``: moment-weighted mean time; the error (s) is taken without any lag,
  because the extraction's time frame is part of what is judged.
- ``episodes``: peaks of the prepared STF smoothed by a Gaussian of 2 s std, with height
  >= 0.2, prominence >= 0.15 and at least 5 s apart.
- ``l2``: |a - b| / |b| at the best-CC lag.

Against the reference guess (docs/stf-inversion.md section 4), on *unit-area* series
(prepared as above, then divided by their integral):

- ``skill``: 1 - L2(estimate - truth) / L2(triangle - truth), each at its own best lag
  within +-``max_lag_s``. The triangle (``reference_triangle``) is isosceles with the
  GCMT half-duration of the catalogue Mw the method is given,
  ``h = 1.05e-8 * M0^(1/3)`` s with ``M0 = 10^(1.5 Mw + 16.1)`` dyne-cm, starting at
  P. 1 is perfect, 0 is no better than the guess, negative is worse. NaN when no Mw is
  given.
- ``pearson``: demeaned (Pearson) correlation at the best lag within +-``max_lag_s``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

from symae.extract.stf import shift_zero_fill

FLOOR_PERCENTILE = 5.0
EPISODE_SMOOTH_S = 2.0
EPISODE_HEIGHT = 0.2
EPISODE_PROMINENCE = 0.15
EPISODE_SEPARATION_S = 5.0


@dataclass(frozen=True)
class Series:
    """A sampled STF: ``values`` at times ``t0 + dt * k`` (s)."""

    values: np.ndarray
    t0: float
    dt: float

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float64)
        if values.ndim != 1 or len(values) < 2:
            raise ValueError(
                f"an STF series needs a 1-D array of >= 2 samples, got shape {values.shape}"
            )
        if not np.all(np.isfinite(values)):
            raise ValueError("STF series contains NaN or inf")
        if self.dt <= 0:
            raise ValueError(f"dt must be > 0, got {self.dt}")
        object.__setattr__(self, "values", values)

    def times(self) -> np.ndarray:
        return self.t0 + self.dt * np.arange(len(self.values))


@dataclass(frozen=True)
class StfMetrics:
    cc: float
    lag_s: float
    duration_true_s: float
    duration_est_s: float
    duration_rel_error: float
    centroid_true_s: float
    centroid_est_s: float
    centroid_error_s: float
    episodes_true: int
    episodes_est: int
    l2: float
    skill: float = float("nan")
    pearson: float = float("nan")

    @property
    def episode_error(self) -> int:
        return self.episodes_est - self.episodes_true

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def prepare(values: np.ndarray) -> np.ndarray:
    """Remove the noise floor, clip negatives, scale to peak 1 (zeros stay zeros)."""
    x = np.asarray(values, dtype=np.float64)
    x = np.clip(x - np.percentile(x, FLOOR_PERCENTILE), 0.0, None)
    peak = x.max()
    return x / peak if peak > 0 else x


def on_grid(series: Series, times: np.ndarray) -> np.ndarray:
    """``series`` linearly interpolated at ``times``, zero outside its span."""
    return np.interp(times, series.times(), series.values, left=0.0, right=0.0)


def common_grid(estimate: Series, truth: Series) -> np.ndarray:
    """The truth's time grid, extended to cover ``estimate`` where it starts earlier or
    ends later (an STF may begin before a catalogue origin time that is a centroid time)."""
    dt = truth.dt
    first = min(0, int(np.floor((estimate.t0 - truth.t0) / dt)))
    est_end = estimate.t0 + estimate.dt * (len(estimate.values) - 1)
    last = max(len(truth.values) - 1, int(np.ceil((est_end - truth.t0) / dt)))
    return truth.t0 + dt * np.arange(first, last + 1)


def duration(x: np.ndarray, dt: float, low: float = 0.05, high: float = 0.95) -> float:
    """Time between ``low`` and ``high`` fractions of the cumulative moment (s)."""
    cum = np.cumsum(x)
    if cum[-1] <= 0:
        return 0.0
    cum = cum / cum[-1]
    k = np.arange(len(x), dtype=np.float64)
    t_low = np.interp(low, cum, k)
    t_high = np.interp(high, cum, k)
    return float((t_high - t_low) * dt)


def centroid(x: np.ndarray, times: np.ndarray) -> float:
    total = x.sum()
    return float((x * times).sum() / total) if total > 0 else float("nan")


def count_episodes(x: np.ndarray, dt: float) -> int:
    """Number of rupture episodes: separated peaks of the smoothed, peak-1 STF."""
    smooth = gaussian_filter1d(np.asarray(x, dtype=np.float64), EPISODE_SMOOTH_S / dt)
    peak = smooth.max()
    if peak <= 0:
        return 0
    peaks, _ = find_peaks(
        smooth / peak,
        height=EPISODE_HEIGHT,
        prominence=EPISODE_PROMINENCE,
        distance=max(1, int(round(EPISODE_SEPARATION_S / dt))),
    )
    return len(peaks)


def best_cc(a: np.ndarray, b: np.ndarray, max_lag: int) -> tuple[float, int]:
    """Max over lags |k| <= max_lag of the normalised CC of ``a`` delayed by k with ``b``."""
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 0.0, 0
    n = len(a)
    full = np.correlate(b, a, mode="full")
    lags = np.arange(-(n - 1), n)
    window = np.abs(lags) <= max_lag
    k = int(np.argmax(full[window]))
    return float(full[window][k] / (na * nb)), int(lags[window][k])


def m0_dyne_cm(mw: float) -> float:
    """Seismic moment in dyne-cm from Mw (M0 = 10^(1.5 Mw + 16.1))."""
    return float(10.0 ** (1.5 * mw + 16.1))


def half_duration(mw: float) -> float:
    """GCMT half-duration (s): 1.05e-8 * M0^(1/3), M0 in dyne-cm."""
    return float(1.05e-8 * m0_dyne_cm(mw) ** (1.0 / 3.0))


def reference_triangle(mw: float, times: np.ndarray) -> np.ndarray:
    """Isosceles triangle of half-duration ``half_duration(mw)`` starting at t = 0 (P), peak 1."""
    h = half_duration(mw)
    t = np.asarray(times, dtype=np.float64)
    return np.clip(1.0 - np.abs(t - h) / h, 0.0, None)


def unit_area(x: np.ndarray, dt: float) -> np.ndarray:
    """Prepared (``prepare``) and divided by its integral; zeros stay zeros."""
    p = prepare(x)
    area = p.sum() * dt
    return p / area if area > 0 else p


def best_lag_l2(a: np.ndarray, b: np.ndarray, max_lag: int) -> float:
    """Min over lags |k| <= max_lag of |a delayed by k - b| (zero fill)."""
    return float(
        min(np.linalg.norm(shift_zero_fill(a, k) - b) for k in range(-max_lag, max_lag + 1))
    )


def best_pearson(a: np.ndarray, b: np.ndarray, max_lag: int) -> float:
    """Max over lags |k| <= max_lag of the demeaned correlation of ``a`` delayed by k with ``b``."""
    best = -1.0
    bd = b - b.mean()
    nb = np.linalg.norm(bd)
    for k in range(-max_lag, max_lag + 1):
        ad = shift_zero_fill(a, k)
        ad = ad - ad.mean()
        na = np.linalg.norm(ad)
        if na > 0 and nb > 0:
            best = max(best, float(ad @ bd / (na * nb)))
    return best if best > -1.0 else 0.0


def skill(
    estimate: np.ndarray, truth: np.ndarray, reference: np.ndarray, dt: float, max_lag: int
) -> float:
    """1 - L2(estimate - truth) / L2(reference - truth), unit-area series, each at its best lag."""
    a, b, r = (unit_area(x, dt) for x in (estimate, truth, reference))
    ref = best_lag_l2(r, b, max_lag)
    return 1.0 - best_lag_l2(a, b, max_lag) / ref if ref > 0 else float("nan")


def compare(
    estimate: Series, truth: Series, max_lag_s: float = 10.0, mw: float | None = None
) -> StfMetrics:
    """All metrics of ``estimate`` against ``truth`` (module docstring); ``mw``: the
    catalogue magnitude the method was given, for the reference triangle of ``skill``."""
    dt = truth.dt
    times = common_grid(estimate, truth)
    raw = on_grid(estimate, times)
    true_values = on_grid(truth, times)
    b = prepare(true_values)
    a = prepare(raw)
    max_lag = int(round(max_lag_s / dt))
    cc, lag = best_cc(a, b, max_lag)
    sk = float("nan")
    if mw is not None and np.isfinite(mw):
        sk = skill(raw, true_values, reference_triangle(mw, times), dt, max_lag)
    nb = np.linalg.norm(b)
    l2 = float(np.linalg.norm(shift_zero_fill(a, lag) - b) / nb) if nb > 0 else float("nan")
    d_true, d_est = duration(b, dt), duration(a, dt)
    c_true, c_est = centroid(b, times), centroid(a, times)
    return StfMetrics(
        cc=cc,
        lag_s=lag * dt,
        duration_true_s=d_true,
        duration_est_s=d_est,
        duration_rel_error=(d_est - d_true) / d_true if d_true > 0 else float("nan"),
        centroid_true_s=c_true,
        centroid_est_s=c_est,
        centroid_error_s=c_est - c_true,
        episodes_true=count_episodes(b, dt),
        episodes_est=count_episodes(a, dt),
        l2=l2,
        skill=sk,
        pearson=best_pearson(a, b, max_lag),
    )
