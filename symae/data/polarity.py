"""Event-level polarity correction.

P waves leave the source with the sign of the radiation pattern, so records of one
event on opposite sides of a nodal plane are mirror images. Following the reference
data preparation, a trace is flipped when its strongest cross-correlation (largest
absolute value over all lags) with the event's mean trace is negative.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft


def polarity_signs(traces: np.ndarray) -> np.ndarray:
    """+1 (keep) or -1 (flip) per trace of an (n, nt) event stack, int8 (n,)."""
    x = np.asarray(traces, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected an (n, nt) stack, got shape {x.shape}")
    mean = x.mean(axis=0)
    signs = np.ones(x.shape[0], dtype=np.int8)
    if x.shape[0] < 2 or not np.any(mean):
        return signs
    nfft = next_fast_len(2 * x.shape[1], real=True)
    xc = irfft(rfft(x, nfft, axis=1) * np.conj(rfft(mean, nfft)), nfft, axis=1)  # (n, nfft)
    strongest = xc[np.arange(x.shape[0]), np.argmax(np.abs(xc), axis=1)]
    signs[strongest < 0] = -1
    return signs
