"""How much later than predicted the P waves arrive, before any mechanism is known.

Catalogue origin times are often centroid times (GCMT), a half-duration or more after
the rupture began, and hypocentral times carry errors of seconds. If the records arrive
earlier than the catalogue time predicts, an STF confined to start at the origin cannot
fit them: it piles up on its first sample and the mechanism search goes astray (Chile
2010-03-04: records 3.5 s early, a one-sample STF).

The lag is measured without radiation signs, so it can come first: the envelope of
each trace is cross-correlated with the envelope of a P-only impulse response (direct P
through t* and the processing band, no depth phases, no source duration) over lags within
+-``max_lag_s``, on the part of the window around direct P (from 20 s before it to 5 s
after the end of the STF support, so late depth phases weigh little); the median best
lag over traces is the answer. Depth phases close to P can only bias it late, which
leaves the origin alone; so can a source longer than the impulse. An envelope of the
Mw-scaled triangle instead read short real sources as early and cost skill on the
validation set.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import hilbert

from symae.contract import DataContract
from symae.inversion.band import window_taper
from symae.inversion.greens import p_only_greens
from symae.inversion.settings import InversionSettings
from symae.inversion.solve import half_duration_s


def envelope(x: np.ndarray) -> np.ndarray:
    """Amplitude envelope along the last axis."""
    return np.abs(hilbert(x, axis=-1))


def onset_lag(
    data: np.ndarray, mw: float, contract: DataContract, settings: InversionSettings
) -> float:
    """Median lag (s) of the traces' P envelopes behind the predicted one (negative: early)."""
    half = half_duration_s(mw)
    green = p_only_greens(1, contract, settings)[0]  # a short pulse: a longer source can
    model = green * window_taper(contract)  # only pull the best lag late
    env_m = envelope(model - model.mean())
    env_d = envelope(np.asarray(data, dtype=np.float64))
    t = contract.t0 + contract.dt * np.arange(contract.nt)
    end = max(settings.support_factor * 2.0 * half, settings.min_support_s) + 5.0
    inside = (t >= -20.0) & (t <= end)
    k = int(np.floor(settings.max_lag_s / contract.dt))
    lags = np.arange(-k, k + 1)
    scores = np.empty((env_d.shape[0], lags.size))
    for j, lag in enumerate(lags):
        shifted = np.roll(env_m, lag)  # the model delayed by `lag` samples
        if lag > 0:
            shifted[:lag] = 0.0
        elif lag < 0:
            shifted[lag:] = 0.0
        w = shifted * inside
        scores[:, j] = (
            env_d @ w / (np.linalg.norm(env_d * inside, axis=1) * np.linalg.norm(w) + 1e-30)
        )
    best = np.argmax(scores, axis=1)
    return float(np.median(lags[best]) * contract.dt)
