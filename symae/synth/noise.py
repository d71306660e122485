"""Coloured seismic noise and its scaling to a requested signal-to-noise ratio.

SNR is defined exactly as preprocessing measures it (``symae.data.preprocess``): the
standard deviation of the displacement in the signal window (``signal_window``, default
-5..60 s around the predicted P) over that in the pre-P noise window (``noise_window``,
default -90..-10 s), after the anti-alias low-pass, on the model time grid. The
generator low-passes the clean record and the noise the same way, samples them on the
model grid, and solves for the noise scale that makes the ratio of the *sum* equal the
target (a quadratic in the scale). The band (pre-filter taper, the squared magnitude
of the anti-alias Butterworth and the contract's causal high-pass) is applied in the
frequency domain. Preprocessing's own
detrending and tapering make its figure differ slightly, so the generator measures the
final record with ``preprocess.process`` and refines the scale when it is more than 2 %
off (``SNR_TOLERANCE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from obspy.signal.invsim import cosine_sac_taper
from scipy.signal import butter, sosfreqz

from symae.data.preprocess import PreprocessConfig
from symae.data.rejections import Rejected, RejectReason
from symae.data.response import highpass_response

SNR_TOLERANCE = 0.02  # relative, between requested and measured SNR


@dataclass(frozen=True)
class NoiseShape:
    """Displacement noise amplitude spectrum: a power law plus a microseism peak."""

    slope: float  # amplitude ~ f^-slope above the corner
    microseism_weight: float
    microseism_hz: float
    corner_hz: float = 0.01  # flat below, so the record has no runaway drift

    @classmethod
    def draw(cls, rng: np.random.Generator) -> NoiseShape:
        return cls(
            slope=float(rng.uniform(0.5, 1.5)),
            microseism_weight=float(rng.uniform(0.0, 3.0)),
            microseism_hz=float(rng.uniform(0.12, 0.25)),
        )

    def amplitude(self, freqs: np.ndarray) -> np.ndarray:
        f = np.maximum(np.asarray(freqs, dtype=np.float64), self.corner_hz)
        power_law = (f / 0.1) ** (-self.slope)
        peak = self.microseism_weight * np.exp(-0.5 * (np.log(f / self.microseism_hz) / 0.3) ** 2)
        return power_law + peak


def coloured_noise(
    rng: np.random.Generator,
    shape: NoiseShape,
    npts: int,
    dt: float,
    band: np.ndarray | None = None,
) -> np.ndarray:
    """Unit-variance noise with spectrum ``shape``; ``band`` multiplies the spectrum."""
    spectrum = rng.standard_normal(npts // 2 + 1) + 1j * rng.standard_normal(npts // 2 + 1)
    spectrum *= shape.amplitude(np.fft.rfftfreq(npts, dt))
    spectrum[0] = 0.0
    if band is not None:
        spectrum *= band
    x = np.fft.irfft(spectrum, npts)
    return x / np.std(x)


@lru_cache(maxsize=16)
def _band_power(
    nfft: int, dt: float, corner: float | None, pre_filt: tuple[float, float, float, float] | None
) -> np.ndarray:
    freqs = np.fft.rfftfreq(nfft, dt)
    power = np.ones(freqs.size)
    if corner is not None:
        sos = butter(8, corner, btype="lowpass", fs=1.0 / dt, output="sos")
        power *= np.abs(sosfreqz(sos, worN=freqs, fs=1.0 / dt)[1]) ** 2
    if pre_filt is not None:
        power *= cosine_sac_taper(freqs, flimit=pre_filt)
    return power


def band_limited(
    spectrum: np.ndarray, nfft: int, dt: float, npts: int, config: PreprocessConfig
) -> np.ndarray:
    """First ``npts`` samples of the record with rfft ``spectrum`` (length ``nfft``) in the
    band preprocessing keeps: pre-filter taper, zero-phase anti-alias low-pass and the
    contract's causal high-pass."""
    corner = config.antialias * config.contract.sampling_rate
    power = _band_power(nfft, dt, corner if corner < 0.5 / dt else None, config.pre_filt)
    band = spectrum * power
    if config.contract.highpass_hz:
        band = band * highpass_response(np.fft.rfftfreq(nfft, dt), config.contract.highpass_hz)
    return np.fft.irfft(band, nfft)[:npts]


def noise_scale(
    signal: tuple[np.ndarray, np.ndarray], noise: tuple[np.ndarray, np.ndarray], snr: float
) -> tuple[float, float]:
    """Scale ``a`` with std(s_sig + a n_sig) / std(s_noise + a n_noise) = ``snr``.

    ``signal`` and ``noise`` are (signal-window samples, noise-window samples) of the
    clean record and of the unscaled noise. A clean record already has a finite ratio
    (band-limiting spreads a little signal before P); a target above 90 % of it is
    lowered to that. Returns the scale and the target actually used.
    """
    if snr <= 1.0:
        raise ValueError(f"SNR must be > 1 (signal window includes the noise), got {snr}")
    (s1, s2), (n1, n2) = signal, noise
    s1, s2, n1, n2 = (v - v.mean() for v in (s1, s2, n1, n2))
    clean_ratio = np.sqrt(np.mean(s1 * s1) / max(np.mean(s2 * s2), 1e-300))
    snr = min(snr, 0.9 * clean_ratio)
    t2 = snr * snr
    qa = np.mean(n1 * n1) - t2 * np.mean(n2 * n2)
    qb = 2.0 * (np.mean(s1 * n1) - t2 * np.mean(s2 * n2))
    qc = np.mean(s1 * s1) - t2 * np.mean(s2 * s2)
    roots = np.roots([qa, qb, qc])
    real = roots[np.isreal(roots)].real
    positive = real[real > 0]
    if positive.size == 0:
        # the clean record has nearly as much energy before P as after it: preprocessing
        # would refuse it whatever the noise, so the station is dropped like a real one
        raise Rejected(RejectReason.LOW_SNR, f"no noise level gives SNR {snr:g} for this record")
    return float(positive.min()), float(snr)


def scale_for_snr(
    clean_spectrum: np.ndarray,
    noise: np.ndarray,
    nfft: int,
    dt: float,
    p_offset: float,
    snr: float,
    config: PreprocessConfig,
) -> tuple[float, float]:
    """Noise scale giving ``clean + scale * noise`` the SNR that preprocessing will measure,
    and the target used (``noise_scale``).

    ``clean_spectrum`` is the rfft (length ``nfft``) of the clean record, ``noise`` the
    unscaled noise record; both sampled every ``dt`` s with the predicted P ``p_offset``
    seconds after their first sample. Both are band-limited as preprocessing does and
    read on the model grid inside its signal and noise windows. The result is a close
    first guess; the generator then checks it against ``preprocess.process`` itself.
    """
    c = config.contract
    npts = noise.size
    t = c.window_start + c.dt * np.arange(c.window_length)
    sig_t = t[(t >= config.signal_window[0]) & (t <= config.signal_window[1])]
    noi_t = t[(t >= config.noise_window[0]) & (t <= config.noise_window[1])]
    grid = dt * np.arange(npts)

    def windows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.interp(p_offset + sig_t, grid, x), np.interp(p_offset + noi_t, grid, x)

    clean = band_limited(clean_spectrum, nfft, dt, npts, config)
    quiet = band_limited(np.fft.rfft(noise, nfft), nfft, dt, npts, config)
    return noise_scale(windows(clean), windows(quiet), snr)
