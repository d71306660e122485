"""Per-trace Green's functions of teleseismic P on the model time grid.

For station i the response to a unit impulse of moment rate at the origin time is

    g_i(t) = [ A_P delta(t) + A_pP delta(t - d_pP) + A_sP delta(t - d_sP) ] * Q * B

with t in seconds after the predicted P arrival (the model time axis), ``d_X`` the TauP
delays of the depth phases after P for the event depth and the station distance
(``symae.synth.paths.phase_table``), ``A_X`` the signed radiation and free-surface
amplitudes of the moment tensor (``symae.synth.phases.phase_amplitudes``), ``Q`` the
causal t* operator with a fixed nominal t* (``InversionSettings.t_star_s``) and ``B``
the processing band (``symae.inversion.band.processing_band``). Everything is kept as
a spectrum on an ``nfft``-point rFFT grid so that fractional lags are phase factors.

Radiation is linear in the six moment-tensor components, so ``basis_spectra`` returns
one spectrum per component; the mechanism search combines them without recomputing.
A record whose P cannot be computed (distance outside the TauP table, no P) gets the
reason ``no_greens`` and is never used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from symae.contract import DataContract
from symae.inversion.band import processing_band
from symae.inversion.settings import InversionError, InversionSettings
from symae.synth.paths import PHASES, attenuation_spectrum, phase_table
from symae.synth.phases import phase_amplitudes
from symae.synth.radiation import MT_KEYS, scalar_moment
from symae.work import count

NO_GREENS = "no_greens"


@dataclass(frozen=True)
class TraceGeometry:
    """Per-trace metadata the inversion needs, aligned with the rows of the traces."""

    station_id: list[str]
    distance_deg: np.ndarray
    azimuth_deg: np.ndarray
    takeoff_deg: np.ndarray
    polarity: np.ndarray  # +1 / -1: the event-level flip applied to the stored trace
    pixel: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.station_id)
        for name in ("distance_deg", "azimuth_deg", "takeoff_deg", "polarity", "pixel"):
            if len(getattr(self, name)) != n:
                raise InversionError(
                    f"geometry.{name} has {len(getattr(self, name))} values for {n} traces"
                )

    def __len__(self) -> int:
        return len(self.station_id)


@dataclass
class GreensSet:
    """Green's spectra of a set of traces for one depth (and mechanism, or a basis).

    ``spectra`` is (n, nf) for a given mechanism or (n, 6, nf) for the moment-tensor
    basis (components in ``MT_KEYS`` order); time zero is the predicted P arrival.
    """

    spectra: np.ndarray
    freqs: np.ndarray
    nfft: int
    dt: float
    depth_km: float
    reason: list[str | None] = field(default_factory=list)  # None where usable

    @property
    def valid(self) -> np.ndarray:
        return np.array([r is None for r in self.reason])


def check_moment_tensor(mt: dict[str, float] | None) -> dict[str, float] | None:
    """The moment tensor as six floats, None when absent; raises on a partial one."""
    if mt is None:
        return None
    missing = [k for k in MT_KEYS if mt.get(k) is None or not np.isfinite(float(mt[k]))]
    if missing:
        raise InversionError(
            f"origin.moment_tensor is partly specified: missing or non-finite {missing}"
        )
    out = {k: float(mt[k]) for k in MT_KEYS}
    if scalar_moment(out) == 0:
        raise InversionError("origin.moment_tensor is all zeros")
    return out


def basis_tensors() -> list[dict[str, float]]:
    """The six unit moment tensors, one per GCMT component, in ``MT_KEYS`` order."""
    return [{k: float(k == key) for k in MT_KEYS} for key in MT_KEYS]


def _path_spectra(
    geometry: TraceGeometry, depth_km: float, contract: DataContract, settings: InversionSettings
) -> tuple[np.ndarray, dict[str, np.ndarray], object, list[str | None], np.ndarray]:
    """Frequencies, delay factors of P/pP/sP, arrivals, reasons, path spectrum Q*B."""
    if not 0.0 <= depth_km <= 800.0:
        raise InversionError(f"origin.depth_km must be in [0, 800] km, got {depth_km}")
    table = phase_table(contract.taup_model)
    lo, hi = table.distances[0], table.distances[-1]
    dist = np.asarray(geometry.distance_deg, dtype=np.float64)
    inside = np.isfinite(dist) & (dist >= lo) & (dist <= hi)
    arrivals = table.lookup(depth_km, np.where(inside, dist, lo))
    reason: list[str | None] = [
        None if ok and np.isfinite(tp) else NO_GREENS
        for ok, tp in zip(inside, arrivals.time["P"], strict=True)
    ]
    freqs = np.fft.rfftfreq(settings.nfft, contract.dt)
    path = attenuation_spectrum(freqs, settings.t_star_s) * processing_band(contract, freqs)
    delays = {}
    for ph in PHASES:
        d = np.nan_to_num(arrivals.time[ph] - arrivals.time["P"], nan=0.0)
        delays[ph] = np.exp(-2j * np.pi * freqs[None, :] * d[:, None])
    return freqs, delays, arrivals, reason, path


def _amplitudes(mt: dict[str, float], arrivals, geometry: TraceGeometry) -> dict[str, np.ndarray]:
    return phase_amplitudes(mt, arrivals, np.asarray(geometry.azimuth_deg, dtype=np.float64))


def greens_spectra(
    geometry: TraceGeometry,
    depth_km: float,
    moment_tensor: dict[str, float],
    contract: DataContract,
    settings: InversionSettings,
) -> GreensSet:
    """(n, nf) Green's spectra for a known moment tensor, each scaled to peak phase 1."""
    count("greens", len(geometry))
    freqs, delays, arrivals, reason, path = _path_spectra(geometry, depth_km, contract, settings)
    amps = _amplitudes(moment_tensor, arrivals, geometry)
    peak = np.max(np.abs(np.stack([amps[ph] for ph in PHASES])), axis=0)
    peak = np.where(peak > 0, peak, 1.0)
    spec = sum(amps[ph][:, None] / peak[:, None] * delays[ph] for ph in PHASES) * path[None, :]
    spec[[r is not None for r in reason]] = 0.0
    return GreensSet(spec, freqs, settings.nfft, contract.dt, depth_km, reason)


def basis_spectra(
    geometry: TraceGeometry, depth_km: float, contract: DataContract, settings: InversionSettings
) -> GreensSet:
    """(n, 6, nf) Green's spectra of the six unit moment-tensor components.

    Linear in the moment tensor: the spectrum of M is sum_k M_k * spectra[:, k].
    """
    count("greens", len(geometry))
    freqs, delays, arrivals, reason, path = _path_spectra(geometry, depth_km, contract, settings)
    comps = []
    for unit in basis_tensors():
        amps = _amplitudes(unit, arrivals, geometry)
        m0 = scalar_moment(unit)  # phase_amplitudes divides by it; undo to stay linear
        comps.append(sum(m0 * amps[ph][:, None] * delays[ph] for ph in PHASES) * path[None, :])
    spec = np.stack(comps, axis=1)
    spec[[r is not None for r in reason]] = 0.0
    return GreensSet(spec, freqs, settings.nfft, contract.dt, depth_km, reason)


def combine(basis: GreensSet, mt_vector: np.ndarray) -> GreensSet:
    """Green's spectra of the moment tensor ``mt_vector`` (6,) from a basis set."""
    spec = np.einsum("k,nkf->nf", np.asarray(mt_vector, dtype=np.float64), basis.spectra)
    return GreensSet(spec, basis.freqs, basis.nfft, basis.dt, basis.depth_km, list(basis.reason))


def spectra_on_grid(spectra: np.ndarray, nfft: int, contract: DataContract) -> np.ndarray:
    """(n, nf) spectra with time zero at P -> (n, nt) samples at t0 + k dt."""
    freqs = np.fft.rfftfreq(nfft, contract.dt)
    phase = np.exp(2j * np.pi * freqs * contract.t0)
    return np.fft.irfft(spectra * phase[None, :], nfft)[:, : contract.nt]


def p_only_greens(n: int, contract: DataContract, settings: InversionSettings) -> np.ndarray:
    """(n, nt) depth-phase-free P-only Green's functions: a unit P through t* and the band."""
    freqs = np.fft.rfftfreq(settings.nfft, contract.dt)
    path = attenuation_spectrum(freqs, settings.t_star_s) * processing_band(contract, freqs)
    one = spectra_on_grid(path[None, :], settings.nfft, contract)
    return np.repeat(one, n, axis=0)
