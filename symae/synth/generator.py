"""The synthetic teleseismic generator: one source -> raw records, model traces and truth.

For every station the vertical P displacement is built in the frequency domain on the
raw (20 Hz) grid::

    u(f) = K * B(f) * S_k(f) * exp(-2 pi i f (t_P + e)) * [A_P + A_pP e^{-2 pi i f d_pP}
           + A_sP e^{-2 pi i f d_sP}] * R(f) * Q(f)

``S_k`` is the moment-rate function stretched by the station's directivity factor
``k`` (area kept), ``t_P`` the predicted P arrival, ``e`` the arrival-time error (the
nuisance the model's shift module must undo), ``d_pP``, ``d_sP`` the TauP depth-phase
delays, ``A_*`` the radiation-pattern amplitudes with their signs (free-surface
reflection included for pP and sP, ``symae.synth.phases``), ``R`` the
receiver-side echoes and coda and ``Q`` the t* attenuation (``symae.synth.paths``).
``K = 2 / (4 pi rho alpha^3 r)`` (free-surface doubling, 1/r spreading along the great
circle) only sets the physical scale. ``B`` is a causal 4-pole Butterworth high-pass
(about 67 s by default): the band a deconvolved broadband record keeps, applied causally so
that no energy leaks before P (the zero-phase pre-filter of the real-data path then
acts only where ``B`` has already removed the motion). Coloured
noise is added at the requested SNR (``symae.synth.noise``).

Outputs (``SyntheticEvent``): the raw records as an ObsPy ``Stream`` of velocity counts
with a broadband ``Inventory`` and a QuakeML-ready ``Event``, and ``event_data``: the
same displacement records passed through ``symae.data.preprocess`` exactly as real
records are (window, anti-alias, resample, taper, cut, standardise, SNR, polarity
correction, HEALPix pixel), plus the ground truth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from obspy import Stream, Trace, UTCDateTime
from obspy.core.event import Event
from obspy.core.inventory import Inventory
from obspy.geodetics import gps2dist_azimuth, locations2degrees
from scipy.fft import next_fast_len
from scipy.signal.windows import tukey

from symae import __version__
from symae.data.dataset import EventData
from symae.data.preprocess import (
    Geometry,
    PreprocessedTrace,
    assemble_event,
    process,
)
from symae.data.rejections import Rejected, Rejection
from symae.data.response import unit_displacement_response
from symae.data.stations import ChannelInfo
from symae.synth.config import SynthConfig
from symae.synth.instrument import displacement_to_counts, inventory_for
from symae.synth.noise import SNR_TOLERANCE, NoiseShape, coloured_noise, scale_for_snr
from symae.synth.paths import (
    EARTH_RADIUS_KM,
    ReceiverSide,
    attenuation_spectrum,
    highpass_spectrum,
    phase_table,
)
from symae.synth.phases import phase_amplitudes
from symae.synth.quakeml import obspy_event
from symae.synth.source import Source
from symae.synth.stations import station_network

CHANNEL = "BHZ"
LOCATION = "00"


@dataclass
class SyntheticEvent:
    """Everything the generator makes for one source.

    ``event_data``: model traces per pixel with truth (``truth_stf`` on
    ``DataContract.time_axis()``, i.e. seconds after the predicted P, which for the STF
    is seconds after the origin; per-trace path parameters in ``TraceGroup.truth``).
    ``stream``: one ten-minute 20 Hz BHZ record per station in velocity counts (int32).
    ``inventory``: those channels with a broadband response. ``event``: the ObsPy event
    (origin, Mw, moment tensor) to write as QuakeML. ``rejections``: stations the
    preprocessing refused (normally none).
    """

    source: Source
    event_data: EventData
    stream: Stream
    inventory: Inventory
    event: Event
    rejections: list[Rejection]


@dataclass(frozen=True)
class _Station:
    seed_id: str
    network: str
    station: str
    latitude: float
    longitude: float
    distance_deg: float
    azimuth_deg: float


def _stations(rng: np.random.Generator, source: Source, config: SynthConfig) -> list[_Station]:
    c = config.preprocess.contract
    net = station_network(config.network_seed, config.network_size)
    o = source.origin
    # a hair inside the window so preprocessing's own distance agrees on every station
    window = (c.min_distance_deg + 0.05, c.max_distance_deg - 0.05)
    chosen = net.select(rng, o.latitude, o.longitude, config.n_stations, window)
    out = []
    for i in chosen:
        lat, lon = float(net.latitude[i]), float(net.longitude[i])
        code, sta = str(net.network[i]), str(net.station[i])
        out.append(
            _Station(
                seed_id=f"{code}.{sta}.{LOCATION}.{CHANNEL}",
                network=code,
                station=sta,
                latitude=lat,
                longitude=lon,
                distance_deg=float(locations2degrees(o.latitude, o.longitude, lat, lon)),
                azimuth_deg=float(gps2dist_azimuth(o.latitude, o.longitude, lat, lon)[1]),
            )
        )
    return out


def _fit_noise_level(
    measure: Callable[[float], PreprocessedTrace], guess: float, target: float
) -> tuple[float, PreprocessedTrace]:
    """Noise scale whose record preprocessing measures at ``target`` SNR (within tolerance).

    ``measure(a)`` preprocesses the record with noise scale ``a``. Starting from the
    frequency-domain ``guess``, secant steps on log(scale) vs log(SNR) (at most four;
    the guess is usually within the tolerance already).
    """
    a, out = guess, measure(guess)
    points = [(np.log(a), np.log(out.snr))]
    for _ in range(4):
        if abs(out.snr / target - 1.0) <= SNR_TOLERANCE:
            break
        if len(points) == 1:
            a = a * out.snr / target  # SNR roughly inversely proportional to the noise
        else:
            (x0, y0), (x1, y1) = points[-2:]
            slope = (y1 - y0) / (x1 - x0) if x1 != x0 else -1.0
            a = float(np.exp(x1 + (np.log(target) - y1) / (slope if slope < 0 else -1.0)))
        out = measure(a)
        points.append((np.log(a), np.log(out.snr)))
    return a, out


def synthesize_event(
    rng: np.random.Generator, source: Source, config: SynthConfig | None = None
) -> SyntheticEvent:
    """Raw records, model traces and truth for ``source``; all randomness from ``rng``."""
    config = config or SynthConfig()
    pre, contract = config.preprocess, config.preprocess.contract
    if abs(source.dt - config.raw_dt) > 1e-12:
        raise ValueError(f"source sampled every {source.dt} s, the generator needs {config.raw_dt} s")
    origin = source.origin
    origin_time = UTCDateTime(origin.time)
    stations = _stations(rng, source, config)
    if not stations:
        raise ValueError(f"{origin.event_id}: no station of the network lies in the distance window")
    distance = np.array([s.distance_deg for s in stations])
    azimuth = np.array([s.azimuth_deg for s in stations])
    arrivals = phase_table(contract.taup_model).lookup(origin.depth_km, distance)
    amps = phase_amplitudes(
        origin.moment_tensor or {}, arrivals, azimuth, config.surface_alpha_km_s, config.surface_beta_km_s
    )
    stretch = (
        source.directivity.stretch(azimuth, arrivals.takeoff_deg["P"])
        if source.directivity
        else np.ones(len(stations))
    )

    dt, npts = config.raw_dt, config.raw_npts
    longest = source.moment_rate.size * float(stretch.max()) * dt
    nfft = next_fast_len(npts + int((longest + 120.0) / dt), real=True)
    freqs = np.fft.rfftfreq(nfft, dt)
    band = highpass_spectrum(freqs, config.highpass_hz)
    band_npts = highpass_spectrum(np.fft.rfftfreq(npts, dt), config.highpass_hz)
    # records fade in and out over their first and last 15 s, so that the instrument
    # sees no step at the record ends (a step rings for minutes in a broadband sensor)
    edge_taper = tukey(npts, 2 * 15.0 / config.record_length_s)
    alpha_m = arrivals.alpha_km_s * 1e3
    scale = 2.0 / (4 * np.pi * config.rho_source * alpha_m**3 * np.radians(distance) * EARTH_RADIUS_KM * 1e3)

    stream = Stream()
    traces: list[PreprocessedTrace] = []
    rejections: list[Rejection] = []
    truth: dict[str, dict[str, float]] = {}
    response = unit_displacement_response()
    for i, st in enumerate(stations):
        t_err = float(np.clip(rng.normal(0.0, config.time_error_s), -2.5 * config.time_error_s, 2.5 * config.time_error_s))
        t_star = float(rng.uniform(*config.t_star_range))
        receiver = ReceiverSide.draw(rng)
        shape = NoiseShape.draw(rng)
        snr = float(np.exp(rng.uniform(*np.log(config.snr_range))))
        noise = coloured_noise(rng, shape, npts, dt, band_npts)

        p_time = origin_time + float(arrivals.time["P"][i])
        start = UTCDateTime(round((p_time.timestamp - config.record_lead_s) / dt) * dt)
        p_offset = float(p_time - start)
        t_start, stf_k = source.stretched(float(stretch[i]))
        phases = amps["P"][i] + sum(
            amps[ph][i] * np.exp(-2j * np.pi * freqs * np.nan_to_num(arrivals.time[ph][i] - arrivals.time["P"][i]))
            for ph in ("pP", "sP")
        )
        spectrum = (
            scale[i]
            * band
            * np.fft.rfft(stf_k, nfft)
            * np.exp(-2j * np.pi * freqs * (p_offset + t_err + t_start))
            * phases
            * receiver.spectrum(freqs, dt, nfft)
            * attenuation_spectrum(freqs, t_star)
        )
        clean = np.fft.irfft(spectrum, nfft)[:npts] * edge_taper
        noise = noise * edge_taper
        header = {
            "network": st.network, "station": st.station, "location": LOCATION, "channel": CHANNEL,
            "sampling_rate": config.raw_sampling_rate, "starttime": start,
        }
        geom = Geometry(
            channel=ChannelInfo(st.seed_id, st.latitude, st.longitude, response),
            distance_deg=st.distance_deg,
            azimuth_deg=st.azimuth_deg,
            takeoff_deg=float(arrivals.takeoff_deg["P"][i]),
            p_time=p_time,
        )
        try:
            first_guess, snr_used = scale_for_snr(spectrum, noise, nfft, dt, p_offset, snr, pre)
            noise_level, model_trace = _fit_noise_level(
                lambda a: process(Trace(data=clean + a * noise, header=header), geom, pre),  # noqa: B023
                first_guess,
                snr_used,
            )
        except Rejected as err:
            rejections.append(Rejection.from_error(st.seed_id, err))
            continue
        traces.append(model_trace)
        displacement = clean + noise_level * noise
        counts = displacement_to_counts(np.fft.rfft(displacement, nfft), nfft, dt, npts)
        stream.append(Trace(data=counts, header=header))
        truth[st.seed_id] = {
            "time_error_s": t_err,
            "t_star_s": t_star,
            "snr_target": snr_used,
            "snr_requested": snr,
            "amp_p": float(amps["P"][i]),
            "amp_pp": float(amps["pP"][i]),
            "amp_sp": float(amps["sP"][i]),
            "delay_pp_s": float(arrivals.time["pP"][i] - arrivals.time["P"][i]),
            "delay_sp_s": float(arrivals.time["sP"][i] - arrivals.time["P"][i]),
            "directivity_stretch": float(stretch[i]),
            "echo_delay_s": float(receiver.echo_delays[0]),
            "echo_amplitude": float(receiver.echo_amplitudes[0]),
            "coda_amplitude": receiver.coda_amplitude,
            "coda_decay_s": receiver.coda_decay_s,
            "noise_slope": shape.slope,
        }
    if not traces:
        raise ValueError(f"{origin.event_id}: preprocessing refused every synthetic record")

    provenance = {
        "generator": "symae.synth",
        "code_version": __version__,
        "source_kind": source.kind,
        "synth_config": _jsonable(config.to_dict()),
        "rejections": {r.source: r.reason.value for r in rejections},
    }
    event_data = assemble_event(origin, traces, contract, provenance)
    for group in event_data.groups.values():
        names = next(iter(truth.values())).keys()
        group.truth = {n: np.array([truth[s][n] for s in group.station_id]) for n in names}
    event_data.truth_stf = source.averaged(contract.time_axis()).astype(np.float32)
    event_data.truth_attrs = {
        "units": "N m / s",
        "time_reference": "seconds after the origin = seconds after the predicted P",
        "source_kind": source.kind,
        "m0": source.m0,
        "mw": source.mw,
        "details": _jsonable(source.details),
    }
    if source.directivity is not None:
        event_data.truth_attrs["directivity"] = {
            "azimuth_deg": source.directivity.azimuth_deg,
            "mach": source.directivity.mach,
        }
    inventory = inventory_for(
        [s.network for s in stations], [s.station for s in stations],
        [s.latitude for s in stations], [s.longitude for s in stations], config.raw_sampling_rate,
        CHANNEL, LOCATION,
    )
    return SyntheticEvent(
        source=source,
        event_data=event_data,
        stream=stream,
        inventory=inventory,
        event=obspy_event(source),
        rejections=rejections,
    )


def _jsonable(value: object) -> object:
    """Tuples to lists, numpy scalars to Python, datetimes to ISO strings, recursively."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, datetime):
        return value.isoformat()
    return value
