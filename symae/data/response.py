"""Instrument response removal to ground displacement (metres), with a cached inverse.

The deconvolution filter of a channel depends only on its response, the sampling
interval, the FFT length, the pre-filter and the water level. Evaluating the response
(evalresp) is about 80 % of the cost of ObsPy's ``Trace.remove_response``, so the
filter is kept in a small cache keyed by those inputs: a streaming service that sees
the same stations again pays for it once.

Pass-through: a channel whose response has input units ``M`` (metres), an overall
sensitivity of exactly 1 and no frequency-dependent stage (no poles, zeros or FIR
coefficients) is taken to be displacement already; its samples are used as they are.
``unit_displacement_response()`` builds such a response.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
from obspy.core.inventory import InstrumentSensitivity, Response
from obspy.core.inventory.response import (
    CoefficientsTypeResponseStage,
    FIRResponseStage,
    PolesZerosResponseStage,
    PolynomialResponseStage,
)
from obspy.signal.invsim import cosine_sac_taper, invert_spectrum
from scipy.fft import irfft, next_fast_len, rfft
from scipy.signal.windows import tukey

from symae.data.rejections import Rejected, RejectReason

# response input units (upper case) that a displacement can be derived from
PHYSICAL_UNITS = {"M", "M/S", "M/S**2", "M/S/S", "M/S2", "NM", "NM/S", "NM/S**2"}
PASS_THROUGH = "pass_through"
DECONVOLVE = "deconvolve"


def unit_displacement_response() -> Response:
    """A response saying 'these samples are displacement in metres already'."""
    return Response(
        instrument_sensitivity=InstrumentSensitivity(
            value=1.0, frequency=1.0, input_units="M", output_units="M"
        ),
        response_stages=[],
    )


def input_units(response: Response) -> str | None:
    """Input units of the first stage (or of the overall sensitivity), upper case."""
    if response.response_stages and response.response_stages[0].input_units:
        return response.response_stages[0].input_units.upper()
    sens = response.instrument_sensitivity
    return sens.input_units.upper() if sens is not None and sens.input_units else None


def _frequency_dependent(response: Response) -> bool:
    """True when any stage changes with frequency (poles, zeros, filter coefficients)."""
    for stage in response.response_stages:
        if isinstance(stage, PolesZerosResponseStage):
            if stage.poles or stage.zeros:
                return True
        elif isinstance(stage, CoefficientsTypeResponseStage):
            if len(stage.numerator) > 1 or stage.denominator:
                return True
        elif isinstance(stage, FIRResponseStage):
            if len(stage.coefficients) > 1:
                return True
        elif isinstance(stage, PolynomialResponseStage):
            return True
    return False


def classify(response: Response | None, seed_id: str) -> str:
    """``PASS_THROUGH`` or ``DECONVOLVE``; raises ``Rejected`` for unusable responses."""
    if response is None:
        raise Rejected(RejectReason.NO_RESPONSE, f"{seed_id} has no response in the inventory")
    units = input_units(response)
    if units is None:
        raise Rejected(RejectReason.NO_RESPONSE, f"{seed_id} response declares no input units")
    if units not in PHYSICAL_UNITS:
        raise Rejected(
            RejectReason.BAD_UNITS,
            f"{seed_id} response input units {units!r}, expected one of {sorted(PHYSICAL_UNITS)}",
        )
    sens = response.instrument_sensitivity
    if units == "M" and not _frequency_dependent(response):
        gain = sens.value if sens is not None and sens.value is not None else None
        if gain == 1.0:
            return PASS_THROUGH
    if not response.response_stages:
        raise Rejected(
            RejectReason.NO_RESPONSE,
            f"{seed_id} response has no stages (sensitivity only) and is not a unit "
            f"displacement response",
        )
    return DECONVOLVE


class _FilterCache:
    """Deconvolution filters keyed by response identity and processing parameters."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._items: OrderedDict[tuple, tuple[Response, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, response: Response, dt: float, nfft: int, pre_filt, water_level) -> np.ndarray:
        key = (id(response), round(dt, 12), nfft, pre_filt, water_level)
        with self._lock:
            item = self._items.get(key)
            if item is not None and item[0] is response:
                self._items.move_to_end(key)
                return item[1]
        filt = _inverse_filter(response, dt, nfft, pre_filt, water_level)
        with self._lock:
            self._items[key] = (response, filt)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return filt

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


FILTERS = _FilterCache()


def _inverse_filter(
    response: Response,
    dt: float,
    nfft: int,
    pre_filt: tuple[float, float, float, float] | None,
    water_level: float | None,
) -> np.ndarray:
    spec, freqs = response.get_evalresp_response(
        t_samp=dt, nfft=nfft, output="DISP", hide_sensitivity_mismatch_warning=True
    )
    spec = np.asarray(spec, dtype=np.complex128).copy()
    if water_level is None:
        with np.errstate(divide="ignore", invalid="ignore"):
            spec = np.where(spec != 0, 1.0 / spec, 0.0)
    else:
        invert_spectrum(spec, water_level)
    if pre_filt is not None:
        spec *= cosine_sac_taper(freqs, flimit=pre_filt)
    spec[~np.isfinite(spec)] = 0.0
    return spec


def fft_length(npts: int) -> int:
    """Even FFT length >= 2 npts (zero padding against wrap-around), fast for scipy."""
    n = next_fast_len(2 * npts, real=True)
    while n % 2:
        n = next_fast_len(n + 1, real=True)
    return n


def to_displacement(
    data: np.ndarray,
    dt: float,
    response: Response,
    pre_filt: tuple[float, float, float, float] | None,
    water_level: float | None,
    taper_fraction: float = 0.05,
) -> np.ndarray:
    """Deconvolve ``data`` (counts) to displacement in metres, float64.

    The record is demeaned, linearly detrended and cosine-tapered
    (``taper_fraction`` at each end) before the frequency-domain division.
    """
    x = np.asarray(data, dtype=np.float64)
    n = x.size
    t = np.arange(n, dtype=np.float64)
    x = x - np.polyval(np.polyfit(t, x, 1), t)
    x *= tukey(n, 2 * taper_fraction)
    nfft = fft_length(n)
    filt = FILTERS.get(response, dt, nfft, pre_filt, water_level)
    return irfft(rfft(x, nfft) * filt, nfft)[:n]
