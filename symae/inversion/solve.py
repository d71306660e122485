"""Alternating positive least squares for one STF and per-trace scales and lags.

Minimises over m >= 0 on [0, T_max], a_i >= 0 and |tau_i| <= max_lag

    sum_i w_i || d_i - a_i P (g_i * m)(t - tau_i) ||^2 + lambda s ||D2 m||^2

where P is the model-sample taper followed by demeaning (what ``condition_window``
does besides a positive scale), D2 the second difference and s the mean diagonal of
the data Gram matrix (so ``smoothness`` is dimensionless). Rounds alternate

- (a, tau)-step: normalised cross-correlation of each trace with its prediction over
  integer lags within +-max_lag (and, only to diagnose clock errors, up to 3x wider), parabolic sub-sample refinement, lags re-centred on
  their median (predicted P times are right on average: the gauge fixing the STF's
  onset), closed-form a_i = max(0, <d, p> / <p, p>);
- robust weights: Huber on the per-trace relative residual (IRLS);
- m-step: normal equations H m = b assembled with one matrix product of the stacked
  design matrices, solved by NNLS on the Cholesky factor (J unknowns, J <= ~150).

Traces are rejected per round with a machine-readable reason (``negative_scale``,
``lag_at_bound``, ``poor_fit``; ``no_greens`` comes from ``greens``) and take no part
in the m-step while rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import cholesky, solve_triangular
from scipy.optimize import nnls

from symae.inversion.greens import GreensSet
from symae.inversion.settings import InversionSettings
from symae.work import count

NEGATIVE_SCALE = "negative_scale"
LAG_AT_BOUND = "lag_at_bound"
POOR_FIT = "poor_fit"


@dataclass
class Frame:
    """The model time grid: first sample time t0, step dt, nt samples, their taper."""

    t0: float
    dt: float
    nt: int
    taper: np.ndarray


@dataclass
class Solution:
    """STF samples on j*dt, j < J, and the per-trace fit."""

    m: np.ndarray  # (J,)
    scale: np.ndarray  # (n,) a_i >= 0
    lag: np.ndarray  # (n,) s, positive = data later than the model
    weight: np.ndarray  # (n,) robust weight in [0, 1] (0 where rejected)
    cc: np.ndarray  # (n,) correlation of trace and fit
    misfit: np.ndarray  # (n,) ||d - a p||^2 / ||d||^2
    reason: list[str | None]
    design: np.ndarray | None = None  # (n, nt, J) at the final lags, kept on request

    @property
    def used(self) -> np.ndarray:
        return np.array([r is None for r in self.reason])

    @property
    def objective(self) -> float:
        """Mean relative misfit over traces with a Green's function, 1 for a rejected one."""
        counted = [
            min(float(f), 1.0) if r is None else 1.0
            for f, r in zip(self.misfit, self.reason, strict=True)
            if r != "no_greens"
        ]
        return float(np.mean(counted)) if counted else 1.0


def half_duration_s(mw: float) -> float:
    """GCMT half-duration h = 1.05e-8 M0^(1/3) s, M0 = 10^(1.5 Mw + 16.1) dyne-cm."""
    return 1.05e-8 * (10.0 ** (1.5 * mw + 16.1)) ** (1.0 / 3.0)


def support_samples(mw: float, settings: InversionSettings, dt: float) -> int:
    """Number J of STF samples: T_max = max(factor x 2h, min_support) seconds."""
    t_max = max(settings.support_factor * 2.0 * half_duration_s(mw), settings.min_support_s)
    return int(np.ceil(t_max / dt)) + 1


def triangle(n: int, half_s: float, dt: float) -> np.ndarray:
    """Isosceles triangle of half-duration ``half_s`` starting at 0, unit area."""
    t = dt * np.arange(n)
    h = max(half_s, 2.0 * dt)
    tri = np.clip(1.0 - np.abs(t - h) / h, 0.0, None)
    return tri / (tri.sum() * dt)


def _condition(x: np.ndarray, frame: Frame) -> np.ndarray:
    """Taper then demean along the last (time) axis, as the preprocessing does."""
    x = x * frame.taper
    return x - x.mean(axis=-1, keepdims=True)


def predict(greens: GreensSet, m: np.ndarray, lag: np.ndarray, frame: Frame) -> np.ndarray:
    """(n, nt) conditioned predictions a_i = 1 at fractional lags ``lag``."""
    f = greens.freqs
    mf = np.fft.rfft(m, greens.nfft) * greens.dt
    phase = np.exp(2j * np.pi * f[None, :] * (frame.t0 - lag[:, None]))
    full = np.fft.irfft(greens.spectra * mf[None, :] * phase, greens.nfft)
    return _condition(full[:, : frame.nt], frame)


def lag_correlations(
    data: np.ndarray, greens: GreensSet, m: np.ndarray, k: int, frame: Frame
) -> np.ndarray:
    """(n, 2k+1) correlation of each trace with its conditioned prediction at integer lags
    -k..k samples, normalised by both norms, without forming the (n, 2k+1, nt) lagged
    predictions: with x the prediction from ``k`` samples early, w the taper and
    p_s = P(x[s : s + nt]) (taper, then demean), <d, p_s> = <d w, x_s> - sum(d) <w, x_s> / nt
    and ||p_s||^2 = <w^2, x_s^2> - <w, x_s>^2 / nt: three sliding dot products."""
    f = greens.freqs
    nt, w = frame.nt, frame.taper
    mf = np.fft.rfft(m, greens.nfft) * greens.dt
    phase = np.exp(2j * np.pi * f * (frame.t0 - k * frame.dt))  # the earliest sample
    x = np.fft.irfft(greens.spectra * (mf * phase)[None, :], greens.nfft)[:, : 2 * k + nt]
    windows = np.lib.stride_tricks.sliding_window_view(x, nt, axis=1)  # (n, 2k+1, nt)
    dw = np.einsum("nst,nt->ns", windows, data * w)
    xw = windows @ w
    x2w2 = np.lib.stride_tricks.sliding_window_view(x * x, nt, axis=1) @ (w * w)
    dot = dw - data.sum(axis=1)[:, None] * xw / nt
    pnorm = np.sqrt(np.clip(x2w2 - xw * xw / nt, 0.0, None))
    dnorm = np.linalg.norm(data, axis=1) + 1e-12
    # window s starts s samples after the earliest: lag k - s, so lags -k..k reversed
    return (dot / (dnorm[:, None] * (pnorm + 1e-12)))[:, ::-1]


def design(greens: GreensSet, lag: np.ndarray, n_support: int, frame: Frame) -> np.ndarray:
    """(n, nt, J) design matrices: column j is the conditioned response to m = delta_j."""
    f = greens.freqs
    t_first = frame.t0 - (n_support - 1) * frame.dt
    phase = np.exp(2j * np.pi * f[None, :] * (t_first - lag[:, None]))
    full = np.fft.irfft(greens.spectra * phase, greens.nfft)[:, : frame.nt + n_support - 1]
    # column j at sample t is full[t + J - 1 - j]: a reversed sliding window (a view)
    windows = np.lib.stride_tricks.sliding_window_view(full, n_support, axis=1)[:, : frame.nt, ::-1]
    a = windows * (greens.dt * frame.taper)[None, :, None]
    a -= a.mean(axis=1, keepdims=True)
    return a


def _parabolic(c: np.ndarray, best: np.ndarray) -> np.ndarray:
    """Sub-sample offset of the peak of ``c`` (n, L) around interior index ``best``."""
    n_l = c.shape[1]
    inner = (best > 0) & (best < n_l - 1)
    rows = np.arange(c.shape[0])
    lo = c[rows, np.clip(best - 1, 0, n_l - 1)]
    mid = c[rows, best]
    hi = c[rows, np.clip(best + 1, 0, n_l - 1)]
    denom = lo - 2 * mid + hi
    off = np.where(inner & (denom < 0), 0.5 * (lo - hi) / np.where(denom < 0, denom, -1.0), 0.0)
    return np.clip(off, -0.5, 0.5)


def search_lags(
    data: np.ndarray, greens: GreensSet, m: np.ndarray, frame: Frame, settings: InversionSettings
) -> tuple[np.ndarray, list[str | None]]:
    """Best lag of each trace within +-max_lag (s, not re-centred) and rejection reasons
    (``lag_at_bound``, ``negative_scale``) found by the search."""
    n = data.shape[0]
    reason: list[str | None] = list(greens.reason)
    k = int(np.floor(settings.max_lag_s / frame.dt))
    wide = int(np.floor(max(3.0 * settings.max_lag_s, 20.0) / frame.dt))
    c_all = lag_correlations(data, greens, m, wide, frame)
    c = c_all[:, wide - k : wide + k + 1]  # the lags the fit may use
    outside = np.concatenate([c_all[:, : wide - k], c_all[:, wide + k + 1 :]], axis=1)
    best = np.argmax(c, axis=1)
    pos, neg = c.max(axis=1), -c.min(axis=1)
    pos_out = outside.max(axis=1) if outside.size else np.full(n, -np.inf)
    raw = (best - k + _parabolic(c, best)) * frame.dt
    at_bound = (best == 0) | (best == 2 * k)
    for i in range(n):
        if reason[i] is not None:
            continue
        if pos_out[i] > max(pos[i], neg[i]) and pos_out[i] >= settings.min_fit_cc:
            reason[i] = LAG_AT_BOUND  # best alignment lies beyond the bound: clock error
        elif neg[i] > pos[i] and neg[i] >= settings.min_fit_cc:
            reason[i] = NEGATIVE_SCALE
        elif at_bound[i]:
            reason[i] = LAG_AT_BOUND
    return raw, reason


def common_lag(
    data: np.ndarray, greens: GreensSet, m: np.ndarray, frame: Frame, settings: InversionSettings
) -> float:
    """Median lag (s) of the usable traces behind the fitted model (negative: the data
    arrive earlier than the model can place them)."""
    raw, reason = search_lags(data, greens, m, frame, settings)
    usable = np.array([r is None for r in reason])
    return float(np.median(raw[usable])) if usable.any() else 0.0


def fit_traces(
    data: np.ndarray,
    greens: GreensSet,
    m: np.ndarray,
    frame: Frame,
    settings: InversionSettings,
    search: bool = True,
    lag: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str | None]]:
    """(a, tau)-step: lags, scales, correlations, misfits and rejection reasons.

    Counted as one ``inversion`` work row per trace (``symae.work``): a round's design
    matrices and normal equations are per trace too, so rows follow its CPU."""
    n = data.shape[0]
    count("inversion", n)
    dnorm = np.linalg.norm(data, axis=1) + 1e-12
    if search:
        raw, reason = search_lags(data, greens, m, frame, settings)
        usable = np.array([r is None for r in reason])
        shift = float(np.median(raw[usable])) if usable.any() else 0.0
        lag = np.clip(raw - shift, -settings.max_lag_s, settings.max_lag_s)
    else:
        reason = list(greens.reason)
        lag = np.zeros(n) if lag is None else lag
    pred = predict(greens, m, lag, frame)
    num = np.einsum("nt,nt->n", data, pred)
    den = np.einsum("nt,nt->n", pred, pred) + 1e-30
    scale = np.clip(num / den, 0.0, None)
    cc = num / (dnorm * np.sqrt(den))
    misfit = np.sum((data - scale[:, None] * pred) ** 2, axis=1) / dnorm**2
    for i in range(n):
        if reason[i] is None and scale[i] <= 0:
            reason[i] = NEGATIVE_SCALE
        elif reason[i] is None and cc[i] < settings.min_fit_cc:
            reason[i] = POOR_FIT
    return scale, lag, cc, misfit, reason


def huber_weights(misfit: np.ndarray, used: np.ndarray, k: float) -> np.ndarray:
    """IRLS weights of a Huber loss on each trace's relative residual norm; 0 if unused."""
    r = np.sqrt(np.clip(misfit, 0.0, None))
    w = np.zeros_like(r)
    if used.any():
        s = k * max(float(np.median(r[used])), 1e-6)
        w[used] = np.where(r[used] <= s, 1.0, s / np.maximum(r[used], 1e-12))
    return w


def second_difference(n: int) -> np.ndarray:
    """(n-2, n) second-difference operator."""
    d = np.zeros((max(n - 2, 0), n))
    for i in range(n - 2):
        d[i, i : i + 3] = (1.0, -2.0, 1.0)
    return d


def solve_normal(
    h: np.ndarray,
    b: np.ndarray,
    smoothness: float,
    prior: np.ndarray | None = None,
    prior_weight: float = 0.0,
    sparsity: float = 0.0,
) -> np.ndarray:
    """NNLS for m >= 0 minimising m'Hm - 2b'm + smoothing (+ prior pull), via Cholesky.

    ``sparsity`` adds 2 mu sum(m) with mu = sparsity x max(b) (an L1 norm, linear on
    m >= 0): it removes the low, long tails the band leaves almost unconstrained.
    """
    n = h.shape[0]
    s = max(float(np.trace(h)) / n, 1e-30)
    d2 = second_difference(n)
    hh = h + smoothness * s * (d2.T @ d2) + 1e-8 * s * np.eye(n)
    bb = b - sparsity * max(float(b.max()), 0.0)
    if prior is not None and prior_weight > 0:
        hh += prior_weight * s * np.eye(n)
        bb += prior_weight * s * prior
    r = cholesky(hh, lower=False)
    z = solve_triangular(r, bb, trans="T", lower=False)
    m, _ = nnls(r, z, maxiter=50 * n)
    return m


def normal_equations(
    a: np.ndarray, data: np.ndarray, coef: np.ndarray, rhs_coef: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """H = sum_i coef_i A_i'A_i, b = sum_i rhs_coef_i A_i'd_i over traces with coef > 0."""
    keep = coef > 0
    if not keep.any():
        j = a.shape[2]
        return np.eye(j), np.zeros(j)
    stacked = (a[keep] * np.sqrt(coef[keep])[:, None, None]).reshape(-1, a.shape[2])
    h = stacked.T @ stacked
    b = np.einsum("ntj,nt->j", a[keep], data[keep] * rhs_coef[keep, None])
    return h, b


def solve(
    data: np.ndarray,
    greens: GreensSet,
    n_support: int,
    frame: Frame,
    settings: InversionSettings,
    init: Solution | None = None,
    half_s: float = 5.0,
    keep_design: bool = False,
    rounds: int | None = None,
    start: np.ndarray | None = None,
) -> Solution:
    """Alternate the (a, tau)-step, Huber weights and the NNLS m-step; return the fit.

    The first STF is ``init``'s, else ``start`` (an earlier revision's), else the
    Mw-scaled triangle."""
    if init is not None:
        m = init.m.copy()
    elif start is not None:
        m = np.asarray(start, dtype=np.float64).copy()
    else:
        m = triangle(n_support, half_s, frame.dt)
    a_mat = None
    for _ in range(rounds or settings.n_rounds):
        scale, lag, cc, misfit, reason = fit_traces(data, greens, m, frame, settings)
        used = np.array([r is None for r in reason])
        w = huber_weights(misfit, used, settings.huber_k)
        a_mat = design(greens, lag, n_support, frame)
        h, b = normal_equations(a_mat, data, w * scale**2, w * scale)
        m_new = solve_normal(h, b, settings.smoothness, sparsity=settings.sparsity)
        if m_new.sum() > 0:
            m = m_new
    scale, lag, cc, misfit, reason = fit_traces(data, greens, m, frame, settings)
    used = np.array([r is None for r in reason])
    w = huber_weights(misfit, used, settings.huber_k)
    if keep_design:
        a_mat = design(greens, lag, n_support, frame)
    return Solution(m, scale, lag, w, cc, misfit, reason, a_mat if keep_design else None)
