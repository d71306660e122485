"""Instrument response removal to ground displacement (metres), with a cached inverse.

The deconvolution filter of a channel depends only on its response, the sampling
interval, the FFT length, the pre-filter and the water level. Evaluating the response
(evalresp) is about 80 % of the cost of ObsPy's ``Trace.remove_response``, so the
filter is kept in a bounded (LRU) cache keyed by those inputs: a streaming service that
sees the same stations again pays for it once. The response part of the key is
the caller's :func:`response_identity` when it has one (``symae.data.stations`` computes it once
per channel epoch: SEED id, epoch and a digest of the response's content), so a channel
described again by a new StationXML document with the same response still hits;
without one, the response object's identity.

Pass-through: a channel whose response has input units ``M`` (metres), an overall
sensitivity of exactly 1 and no frequency-dependent stage (no poles, zeros or FIR
coefficients) is taken to be displacement already; its samples are used as they are.
``unit_displacement_response()`` builds such a response.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
from collections import OrderedDict
from collections.abc import Hashable
from functools import lru_cache
from typing import Any

import numpy as np
from obspy.core.inventory import InstrumentSensitivity, Response
from obspy.core.inventory.response import (
    CoefficientsTypeResponseStage,
    FIRResponseStage,
    PolesZerosResponseStage,
    PolynomialResponseStage,
)
from obspy.signal.invsim import cosine_sac_taper
from scipy.fft import irfft, next_fast_len, rfft, rfftfreq
from scipy.signal import butter, freqs_zpk
from scipy.signal.windows import tukey

from symae.data.rejections import Rejected, RejectReason

# response input units (upper case) that a displacement can be derived from
PHYSICAL_UNITS = {"M", "M/S", "M/S**2", "M/S/S", "M/S2", "NM", "NM/S", "NM/S**2"}
PASS_THROUGH = "pass_through"
DECONVOLVE = "deconvolve"
HIGHPASS_ORDER = 4  # Butterworth order of the contract's causal high-pass
LOWPASS_ORDER = 8  # Butterworth order of the anti-alias low-pass (applied forward and back)
COARSE_POINTS = 512  # response samples above the pre-filter, for its peak


def highpass_response(
    freqs: np.ndarray, corner_hz: float, order: int = HIGHPASS_ORDER
) -> np.ndarray:
    """Complex response of the causal analog Butterworth high-pass at ``freqs`` (Hz).

    The data band of ``DataContract.highpass_hz``; ``corner_hz`` 0 gives ones.
    """
    f = np.asarray(freqs, dtype=np.float64)
    if corner_hz <= 0:
        return np.ones(f.shape, dtype=np.complex128)
    z, p, k = butter(order, 2 * np.pi * corner_hz, btype="highpass", analog=True, output="zpk")
    return freqs_zpk(z, p, k, worN=2 * np.pi * f)[1]


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


def response_identity(
    seed_id: str, start: float, end: float, response: Response | None
) -> Hashable:
    """The content identity of one channel epoch's response: SEED id, epoch (POSIX s)
    and a SHA-1 of the pickled response (equal for equal StationXML content, whichever
    document or parse it came from; a corrected response gives another key)."""
    digest = None if response is None else hashlib.sha1(pickle.dumps(response, 4)).hexdigest()
    return ("channel", seed_id, start, end, digest)


class _FilterCache:
    """Frequency-domain filters keyed by response and processing parameters (LRU).

    Filters are stored up to their last non-zero frequency (the pre-filter's upper
    corner): about 40 kB each for ten-minute 20 Hz records, 160 MB for the default size
    (4096: a network's stations, as ingest keeps their parsed StationXML).
    The response is keyed by its :func:`response_identity` when given, else by the object's
    identity (the object is then kept with its filter, so its id cannot be reused).
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._items: OrderedDict[tuple[object, ...], tuple[Response | None, np.ndarray]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(
        self,
        response: Response | None,
        dt: float,
        nfft: int,
        *params: Any,
        key: Hashable | None = None,
    ) -> np.ndarray:
        held = response if key is None else None
        full = (("object", id(response)) if key is None else key, round(dt, 12), nfft, *params)
        with self._lock:
            item = self._items.get(full)
            if item is not None and item[0] is held:
                self._items.move_to_end(full)
                self.hits += 1
                return item[1]
            self.misses += 1
        filt = _frequency_filter(response, dt, nfft, *params)
        with self._lock:
            self._items[full] = (held, filt)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return filt

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0


FILTERS = _FilterCache()


def _invert(spec: np.ndarray, peak: float, water_level: float | None) -> np.ndarray:
    """1 / spec, with magnitudes raised to ``peak * 10**(-water_level / 20)`` first."""
    spec = spec.copy()
    if water_level is not None:
        floor = peak * 10.0 ** (-water_level / 20.0)
        low = np.abs(spec) < floor
        spec[low] = floor * np.exp(1j * np.angle(spec[low]))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(spec != 0, 1.0 / spec, 0.0)


def _inverse_response(
    response: Response,
    freqs: np.ndarray,
    pre_filt: tuple[float, float, float, float] | None,
    water_level: float | None,
) -> np.ndarray:
    """Water-levelled inverse of the displacement response on the rFFT grid ``freqs``.

    Above the last pre-filter corner the result is multiplied by zero, so the response
    is evaluated on the full grid only below it (a fifth of the grid for 20 Hz data and
    the default 2 Hz corner) and on a coarse grid above it, to find the response peak
    the water level is relative to (as in ObsPy, the peak up to Nyquist).
    """
    if pre_filt is None or pre_filt[3] >= freqs[-1]:
        band = np.ones(freqs.size, dtype=bool)
        coarse = np.empty(0)
    else:
        band = freqs < pre_filt[3]
        coarse = np.linspace(pre_filt[3], freqs[-1], COARSE_POINTS)
    try:
        values = response.get_evalresp_response_for_frequencies(
            np.concatenate([freqs[band], coarse]),
            output="DISP",
            hide_sensitivity_mismatch_warning=True,
        )
    except Exception as exc:  # evalresp raises several types for malformed responses
        raise Rejected(RejectReason.NO_RESPONSE, f"evaluating the response failed: {exc}") from exc
    inverse = np.zeros(freqs.size, dtype=np.complex128)
    inverse[band] = _invert(
        np.asarray(values[: band.sum()], dtype=np.complex128),
        float(np.max(np.abs(values))),
        water_level,
    )
    return inverse


def _frequency_filter(
    response: Response | None,
    dt: float,
    nfft: int,
    pre_filt: tuple[float, float, float, float] | None,
    water_level: float | None,
    lowpass_hz: float | None,
    highpass_hz: float | None = None,
) -> np.ndarray:
    """Inverse response (or 1 for pass-through) x pre-filter taper x zero-phase low-pass
    x causal high-pass (``highpass_response``), on the rFFT grid of ``nfft`` up to its
    last non-zero value.

    The low-pass is the squared magnitude of an order-8 Butterworth, the response of
    running that filter forward and backward, so it shifts nothing.
    """
    freqs = rfftfreq(nfft, dt)
    if response is None:
        filt = np.ones(freqs.size, dtype=np.complex128)
    else:
        filt = _inverse_response(response, freqs, pre_filt, water_level)
    if pre_filt is not None:
        filt *= cosine_sac_taper(freqs, flimit=pre_filt)
    if lowpass_hz is not None:
        filt *= 1.0 / (1.0 + (freqs / lowpass_hz) ** (2 * LOWPASS_ORDER))
    if highpass_hz:
        filt *= highpass_response(freqs, highpass_hz)
    filt[~np.isfinite(filt)] = 0.0
    nonzero = np.flatnonzero(filt)
    return filt[: nonzero[-1] + 1 if nonzero.size else 1]  # zeros above are implied


def fft_length(npts: int) -> int:
    """Even FFT length >= 2 npts (zero padding against wrap-around), fast for scipy."""
    n = next_fast_len(2 * npts, real=True)
    while n % 2:
        n = next_fast_len(n + 1, real=True)
    return n


@lru_cache(maxsize=64)
def _taper(n: int, fraction: float) -> np.ndarray:
    return tukey(n, 2 * fraction)


def detrend_taper(data: np.ndarray, taper_fraction: float = 0.05) -> np.ndarray:
    """Remove the least-squares line and cosine-taper ``taper_fraction`` at each end."""
    x = np.asarray(data, dtype=np.float64)
    t = np.arange(x.size, dtype=np.float64) - 0.5 * (x.size - 1)
    slope = float(np.sum(t * x) / np.sum(t * t)) if x.size > 1 else 0.0  # no BLAS threads
    return (x - x.mean() - slope * t) * _taper(x.size, taper_fraction)


def to_displacement(
    data: np.ndarray,
    dt: float,
    response: Response | None,
    pre_filt: tuple[float, float, float, float] | None,
    water_level: float | None,
    lowpass_hz: float | None = None,
    taper_fraction: float = 0.05,
    highpass_hz: float | None = None,
    integrate: bool = False,
    response_key: Hashable | None = None,
) -> np.ndarray:
    """Deconvolve ``data`` (counts) to displacement in metres, float64.

    ``response`` None passes the samples through (already displacement, or velocity with
    ``integrate``: divided by i 2 pi f in the same step); the pre-filter
    band, the optional zero-phase low-pass and the optional causal high-pass (the
    contract's ``highpass_hz``) apply either way, so both kinds of record end in the
    same band. The record is detrended and tapered (``detrend_taper``) first.
    ``response_key`` (:func:`response_identity`) names the response in the filter cache.
    """
    x = detrend_taper(data, taper_fraction)
    nfft = fft_length(x.size)
    key = None if response is None else response_key
    filt = FILTERS.get(response, dt, nfft, pre_filt, water_level, lowpass_hz, highpass_hz, key=key)
    spec = rfft(x, nfft)
    spec[: filt.size] *= filt
    spec[filt.size :] = 0.0
    if integrate:  # the band-pass has already removed f = 0 and the lowest frequencies
        f = np.fft.rfftfreq(nfft, dt)
        spec[1:] /= 2j * np.pi * f[1:]
        spec[0] = 0.0
    return irfft(spec, nfft)[: x.size]
