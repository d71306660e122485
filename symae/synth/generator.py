"""The synthetic teleseismic generator: one source -> raw records, model traces and truth.

For every station the vertical P displacement is built in the frequency domain on the
raw (20 Hz) grid::

    u(f) = K * S_k(f) * exp(-2 pi i f (t_P + e)) * [A_P + A_pP e^{-2 pi i f d_pP}
           + A_sP e^{-2 pi i f d_sP}] * R(f) * Q(f)

``S_k`` is the moment-rate function stretched by the station's directivity factor
``k`` (area kept), ``t_P`` the predicted P arrival, ``e`` the arrival-time error (the
nuisance the model's shift module must undo), ``d_pP``, ``d_sP`` the TauP depth-phase
delays, ``A_*`` the radiation-pattern amplitudes with their signs (free-surface
reflection included for pP and sP, ``symae.synth.phases``), ``R`` the
receiver-side echoes and coda and ``Q`` the t* attenuation (``symae.synth.paths``).
``K = 2 / (4 pi rho alpha^3 r)`` (free-surface doubling, 1/r spreading along the great
circle) only sets the physical scale. The ground motion is not band-limited here:
preprocessing applies the data band (``DataContract.highpass_hz``, a causal 4-pole
Butterworth high-pass) to synthetic and real records alike. Coloured noise (flat below
0.01 Hz) is added at the requested SNR (``symae.synth.noise``).

Outputs (``SyntheticEvent``): the raw records as an ObsPy ``Stream`` of velocity counts
with a broadband ``Inventory`` and a QuakeML-ready ``Event``, and ``event_data``: the
same displacement records passed through ``symae.data.preprocess`` exactly as real
records are (window, anti-alias, resample, taper, cut, standardise, SNR, polarity
correction, HEALPix pixel), plus the ground truth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
from obspy import Stream, Trace, UTCDateTime
from obspy.core.event import Event
from obspy.core.inventory import Inventory
from obspy.geodetics import gps2dist_azimuth, locations2degrees
from scipy.fft import next_fast_len
from scipy.signal.windows import tukey

from symae.data.dataset import EventData
from symae.data.events import Origin
from symae.data.preprocess import (
    Geometry,
    PreprocessConfig,
    PreprocessedTrace,
    assemble_event,
    process,
)
from symae.data.rejections import Rejected, Rejection
from symae.data.response import unit_displacement_response
from symae.data.stations import ChannelInfo
from symae.synth.config import SynthConfig
from symae.synth.hard import HardEvent, break_record, draw_hard_event
from symae.synth.instrument import displacement_to_counts, inventory_for
from symae.synth.noise import SNR_TOLERANCE, NoiseShape, coloured_noise, scale_for_snr
from symae.synth.paths import (
    EARTH_RADIUS_KM,
    PhaseArrivals,
    ReceiverSide,
    attenuation_spectrum,
    phase_table,
)
from symae.synth.phases import phase_amplitudes
from symae.synth.quakeml import obspy_event
from symae.synth.source import Source
from symae.synth.stations import station_network
from symae.version import __version__

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


@dataclass(frozen=True)
class EventGeometry:
    """Stations of one event and what the source sends each of them."""

    stations: list[_Station]
    distance: np.ndarray  # degrees
    azimuth: np.ndarray  # degrees
    arrivals: PhaseArrivals
    amps: dict[str, np.ndarray]  # signed radiation amplitudes of P, pP, sP per station
    stretch: np.ndarray  # directivity factor per station


@dataclass(frozen=True)
class RecordGrid:
    """The raw-record sampling and the frequency grid the ground motion is built on."""

    dt: float
    npts: int
    nfft: int
    freqs: np.ndarray
    band_npts: np.ndarray | None  # multiplies the noise spectrum (None: no band)
    band: np.ndarray | None  # multiplies the ground-motion spectrum (None: no band)
    edge_taper: np.ndarray
    scale: np.ndarray  # physical amplitude factor per station


@dataclass(frozen=True)
class PathDraw:
    """The random path and record properties of one station."""

    time_error_s: float
    t_star_s: float
    receiver: ReceiverSide
    noise_shape: NoiseShape
    snr: float
    noise: np.ndarray  # unit-variance coloured noise, raw grid


def draw_geometry(rng: np.random.Generator, source: Source, config: SynthConfig) -> EventGeometry:
    """Draw the event's stations (the first use of ``rng``) and trace the rays to them."""
    stations = _stations(rng, source, config)
    if not stations:
        raise ValueError(
            f"{source.origin.event_id}: no station of the network lies in the distance window"
        )
    distance = np.array([s.distance_deg for s in stations])
    azimuth = np.array([s.azimuth_deg for s in stations])
    arrivals = phase_table(config.preprocess.contract.taup_model).lookup(
        source.origin.depth_km, distance
    )
    amps = phase_amplitudes(
        source.origin.moment_tensor or {},
        arrivals,
        azimuth,
        config.surface_alpha_km_s,
        config.surface_beta_km_s,
    )
    stretch = (
        source.directivity.stretch(azimuth, arrivals.takeoff_deg["P"])
        if source.directivity
        else np.ones(len(stations))
    )
    return EventGeometry(stations, distance, azimuth, arrivals, amps, stretch)


def record_grid(source: Source, geometry: EventGeometry, config: SynthConfig) -> RecordGrid:
    """FFT length long enough for the longest stretched STF, band, tapers and 1/r scale."""
    dt, npts = config.raw_dt, config.raw_npts
    longest = source.moment_rate.size * float(geometry.stretch.max()) * dt
    nfft = next_fast_len(npts + int((longest + 120.0) / dt), real=True)
    freqs = np.fft.rfftfreq(nfft, dt)
    # records fade in and out over their first and last 15 s, so that the instrument
    # sees no step at the record ends (a step rings for minutes in a broadband sensor)
    edge_taper = tukey(npts, 2 * 15.0 / config.record_length_s)
    alpha_m = geometry.arrivals.alpha_km_s * 1e3
    scale = 2.0 / (
        4
        * np.pi
        * config.rho_source
        * alpha_m**3
        * np.radians(geometry.distance)
        * EARTH_RADIUS_KM
        * 1e3
    )
    # no band here: preprocessing applies the contract's high-pass to every record
    return RecordGrid(dt, npts, nfft, freqs, None, None, edge_taper, scale)


def draw_path(rng: np.random.Generator, config: SynthConfig, grid: RecordGrid) -> PathDraw:
    """One station's draws, in the generator's fixed order (seeds stay reproducible)."""
    t_err = float(
        np.clip(
            rng.normal(0.0, config.time_error_s),
            -2.5 * config.time_error_s,
            2.5 * config.time_error_s,
        )
    )
    t_star = float(rng.uniform(*config.t_star_range))
    receiver = ReceiverSide.draw(rng)
    shape = NoiseShape.draw(rng)
    snr = float(np.exp(rng.uniform(*np.log(config.snr_range))))
    noise = coloured_noise(rng, shape, grid.npts, grid.dt, grid.band_npts)
    return PathDraw(t_err, t_star, receiver, shape, snr, noise)


def depth_phases(geometry: EventGeometry, i: int, freqs: np.ndarray) -> np.ndarray:
    """A_P + A_pP e^{-2 pi i f d_pP} + A_sP e^{-2 pi i f d_sP} of station ``i``."""
    amps, arrivals = geometry.amps, geometry.arrivals
    return amps["P"][i] + sum(
        amps[ph][i]
        * np.exp(-2j * np.pi * freqs * np.nan_to_num(arrivals.time[ph][i] - arrivals.time["P"][i]))
        for ph in ("pP", "sP")
    )


def ground_motion_spectrum(
    source: Source,
    geometry: EventGeometry,
    grid: RecordGrid,
    i: int,
    path: PathDraw,
    p_offset: float,
    phases: np.ndarray | None = None,
) -> np.ndarray:
    """rfft (length ``grid.nfft``) of station ``i``'s vertical P displacement (module docstring).

    ``phases`` replaces the source-side operator (``depth_phases``) when given.
    """
    freqs = grid.freqs
    t_start, stf_k = source.stretched(float(geometry.stretch[i]))
    if phases is None:
        phases = depth_phases(geometry, i, freqs)
    spectrum = (
        grid.scale[i]
        * np.fft.rfft(stf_k, grid.nfft)
        * np.exp(-2j * np.pi * freqs * (p_offset + path.time_error_s + t_start))
        * phases
        * path.receiver.spectrum(freqs, grid.dt, grid.nfft)
        * attenuation_spectrum(freqs, path.t_star_s)
    )
    if grid.band is not None:
        spectrum = grid.band * spectrum
    return spectrum


@dataclass
class Recorded:
    """One station's record at its target SNR: model trace and raw displacement."""

    model_trace: PreprocessedTrace
    displacement: np.ndarray
    snr_target: float


def record_at_snr(
    spectrum: np.ndarray,
    noise: np.ndarray,
    grid: RecordGrid,
    p_offset: float,
    snr: float,
    header: dict,
    geom: Geometry,
    pre: PreprocessConfig,
) -> Recorded:
    """Clean record plus coloured noise scaled so that preprocessing measures ``snr``.

    Raises ``Rejected`` when preprocessing refuses the record.
    """
    clean = np.fft.irfft(spectrum, grid.nfft)[: grid.npts] * grid.edge_taper
    noise = noise * grid.edge_taper
    first_guess, snr_used = scale_for_snr(spectrum, noise, grid.nfft, grid.dt, p_offset, snr, pre)
    noise_level, model_trace = _fit_noise_level(
        lambda a: process(Trace(data=clean + a * noise, header=header), geom, pre),
        first_guess,
        snr_used,
    )
    return Recorded(model_trace, clean + noise_level * noise, snr_used)


def station_truth(
    geometry: EventGeometry, i: int, path: PathDraw, recorded: Recorded
) -> dict[str, float]:
    """The per-trace truth fields of station ``i`` (``TraceGroup.truth``)."""
    amps, arrivals, receiver = geometry.amps, geometry.arrivals, path.receiver
    return {
        "time_error_s": path.time_error_s,
        "t_star_s": path.t_star_s,
        "snr_target": recorded.snr_target,
        "snr_requested": path.snr,
        "amp_p": float(amps["P"][i]),
        "amp_pp": float(amps["pP"][i]),
        "amp_sp": float(amps["sP"][i]),
        "delay_pp_s": float(arrivals.time["pP"][i] - arrivals.time["P"][i]),
        "delay_sp_s": float(arrivals.time["sP"][i] - arrivals.time["P"][i]),
        "directivity_stretch": float(geometry.stretch[i]),
        "echo_delay_s": float(receiver.echo_delays[0]),
        "echo_amplitude": float(receiver.echo_amplitudes[0]),
        "coda_amplitude": receiver.coda_amplitude,
        "coda_decay_s": receiver.coda_decay_s,
        "noise_slope": path.noise_shape.slope,
    }


def true_source_attrs(source: Source) -> dict[str, object]:
    """``EventData.truth_attrs`` of the true source."""
    attrs: dict[str, object] = {
        "units": "N m / s",
        "time_reference": "seconds after the origin = seconds after the predicted P",
        "source_kind": source.kind,
        "m0": source.m0,
        "mw": source.mw,
        "details": _jsonable(source.details),
    }
    if source.directivity is not None:
        attrs["directivity"] = {
            "azimuth_deg": source.directivity.azimuth_deg,
            "mach": source.directivity.mach,
        }
    return attrs


def assemble_synthetic(
    source: Source,
    origin: Origin,
    traces: list[PreprocessedTrace],
    truth: dict[str, dict[str, float]],
    rejections: list[Rejection],
    config: SynthConfig,
) -> EventData:
    """Group the traces by pixel under ``origin`` and attach the truth."""
    contract = config.preprocess.contract
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
    names = next(iter(truth.values())).keys()
    for group in event_data.groups.values():
        group.truth = {n: np.array([truth[s][n] for s in group.station_id]) for n in names}
    event_data.truth_stf = source.averaged(contract.time_axis()).astype(np.float32)
    event_data.truth_attrs = true_source_attrs(source)
    return event_data


def _header(st: _Station, start: UTCDateTime, config: SynthConfig) -> dict:
    return {
        "network": st.network,
        "station": st.station,
        "location": LOCATION,
        "channel": CHANNEL,
        "sampling_rate": config.raw_sampling_rate,
        "starttime": start,
    }


def synthesize_event(
    rng: np.random.Generator, source: Source, config: SynthConfig | None = None
) -> SyntheticEvent:
    """Raw records, model traces and truth for ``source``; all randomness from ``rng``."""
    config = config or SynthConfig()
    pre = config.preprocess
    if abs(source.dt - config.raw_dt) > 1e-12:
        raise ValueError(
            f"source sampled every {source.dt} s, the generator needs {config.raw_dt} s"
        )
    origin_time = UTCDateTime(source.origin.time)
    geometry = draw_geometry(rng, source, config)
    grid = record_grid(source, geometry, config)
    response = unit_displacement_response()
    hard = _draw_hard(rng, source, geometry, grid, config) if config.mode == "hard" else None
    given = hard.catalogue if hard else source.origin  # what the method is told
    predicted = _predicted_arrivals(given, geometry, config) if hard else geometry.arrivals
    given_time = UTCDateTime(given.time)
    path_config = replace(config, snr_range=config.hard.snr_range) if hard else config

    stream = Stream()
    traces: list[PreprocessedTrace] = []
    rejections: list[Rejection] = []
    truth: dict[str, dict[str, float]] = {}
    for i, st in enumerate(geometry.stations):
        path = draw_path(rng, path_config, grid)
        p_time = origin_time + float(geometry.arrivals.time["P"][i])
        start = UTCDateTime(round((p_time.timestamp - config.record_lead_s) / grid.dt) * grid.dt)
        p_offset = float(p_time - start)
        if hard:
            spectrum = hard_spectrum(source, geometry, grid, i, path, p_offset, hard, config)
        else:
            spectrum = ground_motion_spectrum(source, geometry, grid, i, path, p_offset)
        header = _header(st, start, config)
        p_predicted = given_time + float(predicted.time["P"][i])
        geom = Geometry(
            channel=ChannelInfo(st.seed_id, st.latitude, st.longitude, response),
            distance_deg=st.distance_deg,
            azimuth_deg=st.azimuth_deg,
            takeoff_deg=float(predicted.takeoff_deg["P"][i]),
            p_time=p_predicted,
        )
        clock = 0.0
        try:
            recorded = record_at_snr(
                spectrum, path.noise, grid, float(p_predicted - start), path.snr, header, geom, pre
            )
            if hard and hard.broken[i]:
                recorded, clock = _broken(
                    recorded, hard, int(hard.broken[i]), p_offset, header, geom, grid, pre
                )
                header = {**header, "starttime": start + clock}
        except Rejected as err:
            rejections.append(Rejection.from_error(st.seed_id, err))
            continue
        traces.append(recorded.model_trace)
        counts = displacement_to_counts(
            np.fft.rfft(recorded.displacement, grid.nfft), grid.nfft, grid.dt, grid.npts
        )
        stream.append(Trace(data=counts, header=header))
        truth[st.seed_id] = station_truth(geometry, i, path, recorded)
        if hard:
            assert hard.time_shift is not None and hard.amplitude is not None  # set above
            truth[st.seed_id].update(
                broken=int(hard.broken[i]),
                clock_error_s=clock,
                anomaly_time_s=float(hard.time_shift[i]),
                anomaly_amplitude=float(hard.amplitude[i]),
            )

    event_data = assemble_synthetic(source, given, traces, truth, rejections, config)
    if hard:
        event_data.truth_attrs.update(hard.attrs())
        event_data.truth_attrs["time_reference"] = (
            "seconds after the true origin = seconds after the P predicted from the true origin"
        )
    return SyntheticEvent(
        source=source,
        event_data=event_data,
        stream=stream,
        inventory=_inventory(geometry.stations, config),
        event=obspy_event(replace(source, origin=given)),
        rejections=rejections,
    )


def _draw_hard(
    rng: np.random.Generator,
    source: Source,
    geometry: EventGeometry,
    grid: RecordGrid,
    config: SynthConfig,
) -> HardEvent:
    """Hard mode's event-level draws, from a child of ``rng`` taken after the stations."""
    c = config.preprocess.contract
    window = (c.min_distance_deg, c.max_distance_deg)
    hard = draw_hard_event(
        np.random.default_rng(int(rng.integers(2**63))),
        source.origin,
        len(geometry.stations),
        config.hard,
        window,
        grid.dt,
    )
    hard.time_shift, hard.amplitude = hard.path_anomaly(geometry.azimuth, geometry.distance, window)
    return hard


def _predicted_arrivals(
    given: Origin, geometry: EventGeometry, config: SynthConfig
) -> PhaseArrivals:
    """Arrivals predicted from the catalogue origin (what preprocessing would compute)."""
    return phase_table(config.preprocess.contract.taup_model).lookup(
        given.depth_km, geometry.distance
    )


def hard_spectrum(
    source: Source,
    geometry: EventGeometry,
    grid: RecordGrid,
    i: int,
    path: PathDraw,
    p_offset: float,
    hard: HardEvent,
    config: SynthConfig,
) -> np.ndarray:
    """Station ``i``'s ground motion with hard mode's physics (``symae.synth.hard``)."""
    assert hard.time_shift is not None and hard.amplitude is not None  # drawn per station first
    freqs = grid.freqs
    direct = geometry.amps["P"][i]
    depth = depth_phases(geometry, i, freqs) - direct
    ray_p = float(geometry.arrivals.ray_param_s_per_km[i])
    phases = direct + depth * hard.water_spectrum(freqs, ray_p)
    spectrum = ground_motion_spectrum(source, geometry, grid, i, path, p_offset, phases=phases)
    return (
        spectrum
        * hard.amplitude[i]
        * np.exp(-2j * np.pi * freqs * hard.time_shift[i])
        * (1.0 + hard.coda_spectrum(float(geometry.azimuth[i]), grid.nfft))
    )


def _broken(
    recorded: Recorded,
    hard: HardEvent,
    code: int,
    p_offset: float,
    header: dict,
    geom: Geometry,
    grid: RecordGrid,
    pre: PreprocessConfig,
) -> tuple[Recorded, float]:
    """Break an intact record (noise level already fitted) and preprocess it again."""
    assert hard.rng is not None  # hard mode continues its own draws here
    x, clock = break_record(
        hard.rng, code, recorded.displacement, int(round(p_offset / grid.dt)), grid.dt, hard.knobs
    )
    trace = Trace(data=x, header={**header, "starttime": header["starttime"] + clock})
    return Recorded(process(trace, geom, pre), x, recorded.snr_target), clock


def _inventory(stations: list[_Station], config: SynthConfig) -> Inventory:
    return inventory_for(
        [s.network for s in stations],
        [s.station for s in stations],
        [s.latitude for s in stations],
        [s.longitude for s in stations],
        config.raw_sampling_rate,
        CHANNEL,
        LOCATION,
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
