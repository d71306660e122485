"""What the processing does to a record, as a linear operator the inversion can apply.

``processing_band`` is the ONE place the inversion reads the frequency band from: the
causal high-pass every record passes through (the data contract's ``highpass_hz``, the
response of ``symae.data.response.highpass_response``), times the preprocessing's
zero-phase filters
(cosine pre-filter taper and the anti-alias low-pass of ``symae.data.response``).
``window_taper`` is the product of the two Tukey tapers of ``condition_window``;
standardisation is a positive scale (absorbed by the per-trace amplitude) plus
demeaning, which the design matrices apply explicitly.
"""

from __future__ import annotations

import numpy as np
from obspy.signal.invsim import cosine_sac_taper
from scipy.signal.windows import tukey

from symae.contract import DataContract
from symae.data.preprocess import PreprocessConfig
from symae.data.response import HIGHPASS_ORDER, LOWPASS_ORDER, highpass_response


def highpass_of(contract: DataContract) -> tuple[float, int]:
    """(corner Hz, order) of the causal high-pass every record has been through."""
    return float(contract.highpass_hz), HIGHPASS_ORDER


def processing_band(
    contract: DataContract, freqs: np.ndarray, preprocess: PreprocessConfig | None = None
) -> np.ndarray:
    """Complex response B(f) of everything the data went through, at ``freqs`` (Hz).

    Causal high-pass (phase included: it adds the negative lobe after every pulse),
    the pre-filter cosine taper and the zero-phase order-8 anti-alias low-pass at
    ``antialias x sampling_rate``, as ``symae.data.preprocess.process`` applies them.
    """
    pre = preprocess or PreprocessConfig(contract=contract)
    f = np.asarray(freqs, dtype=np.float64)
    corner, _ = highpass_of(contract)
    out = highpass_response(f, corner)
    if pre.pre_filt is not None:
        out *= cosine_sac_taper(f, flimit=pre.pre_filt)
    lowpass = pre.antialias * contract.sampling_rate
    out *= 1.0 / (1.0 + (f / lowpass) ** (2 * LOWPASS_ORDER))
    out[f == 0] = 0.0 if corner > 0 else out[f == 0]
    return out


def window_taper(contract: DataContract, alpha: float = 0.1) -> np.ndarray:
    """Taper (nt,) the model samples carry: window Tukey, cut, then Tukey again."""
    full = tukey(contract.window_length, alpha)
    return full[contract.cut_start : contract.cut_start + contract.nt] * tukey(contract.nt, alpha)
