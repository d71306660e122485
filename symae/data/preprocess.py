"""ObsPy records -> model traces: the real-data path of symae.

One record (an ObsPy ``Trace`` in counts, plus the ``Inventory`` that describes its
channel and the event ``Origin``) becomes one ``PreprocessedTrace``:

1. vertical component only; channel looked up in the inventory at the record time;
2. epicentral distance (within the contract's window) and azimuth; predicted P arrival
   and take-off angle from TauP (``symae.data.arrivals``);
3. the record must cover the window (-100 s .. +100 s around P by default) plus a margin
   without gaps; up to ``max_margin_s`` more on each side is used when present;
4. response removed to displacement (pre-filter and water level configurable), or
   passed through for a unit displacement response, with a zero-phase anti-alias
   low-pass and the contract's causal high-pass (``DataContract.highpass_hz``, the
   data band) in the same frequency-domain step (``symae.data.response``);
5. band-limited (Lanczos) resampling onto the model grid, which starts exactly at
   P + ``window_start``;
6. SNR: RMS of the P window over RMS of the pre-P noise, both demeaned;
7. Tukey taper, cut ``nt`` samples from ``cut_start``, taper again, standardise.

Real-data rules (``preprocess_stream``):

- sampling rates: any rate is resampled onto the model grid (20, 40, 50 sps BH, 1 sps LH);
- a record shorter than the window plus ``min_margin_s`` on either side is rejected as
  ``too_short`` unless ``pad_short`` (below);
- holes: segments of a channel are merged; a hole inside the needed span rejects the
  channel as ``gap``, one only in the optional extra margin shortens the span used;
- location codes are part of the SEED id and must match the inventory exactly
  (``""`` and ``"00"`` are different channels);
- co-located channels (same ``NET.STA``, another location or band code) keep one per
  site: candidates are tried in ``channel_preference`` order (highest sampling rate up
  to ``duplicate_rate_cap_hz``, then location, then channel code, lexicographically) and
  the first one accepted is kept; the others are rejected as ``duplicate_channel``;
- a channel without a usable response (none, no units, sensitivity only) is rejected
  as ``no_response`` unless ``allow_no_response`` is set: then its samples are taken in
  the units at hand (pre-filter and low-pass still applied; amplitudes only relative,
  which standardising ignores; ``no_response_units="velocity"`` integrates them to
  displacement first) and the trace carries the flag ``response_not_removed``;
- a record shorter than the window is padded with zeros instead, flagged ``padded``,
  when ``pad_short`` is set and it covers ``min_cover`` around P (the SNR then uses
  the covered samples only).

Nothing here reads files: ``preprocess_trace`` works on one in-memory trace (the
streaming ingest calls it), ``preprocess_stream`` merges the segments of each channel
first. ``assemble_event`` applies the event-level polarity correction and groups the
traces by focal-sphere pixel. Refused records raise or return ``Rejected`` reasons.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from typing import Any

import numpy as np
from obspy import Stream, Trace, UTCDateTime
from obspy.core.inventory import Inventory
from obspy.geodetics import gps2dist_azimuth, locations2degrees
from obspy.signal.interpolation import lanczos_interpolation
from scipy.signal.windows import tukey

from symae.contract import DataContract
from symae.data.arrivals import arrival_table
from symae.data.dataset import EventData, TraceGroup
from symae.data.events import Origin
from symae.data.focal import pixel_of, pixels_of
from symae.data.merge import as_overlap, merge_channel
from symae.data.polarity import polarity_signs
from symae.data.rejections import Rejected, Rejection, RejectReason
from symae.data.response import PASS_THROUGH, classify, to_displacement
from symae.data.stations import ChannelInfo, channel_at

NO_RESPONSE_UNITS = ("displacement", "velocity")
STANDARDISE_EPS = 1e-5  # added to the standard deviation, as the reference does
LANCZOS_A = 20  # half-width of the Lanczos kernel in input samples


@dataclass(frozen=True)
class PreprocessConfig:
    """Every knob of the real-data path; saved as provenance with each built event."""

    contract: DataContract = field(default_factory=DataContract)
    # cosine taper corners (Hz) applied in the frequency domain with the deconvolution
    pre_filt: tuple[float, float, float, float] | None = (0.004, 0.01, 1.0, 2.0)
    water_level: float | None = 60.0  # dB, as in ObsPy's remove_response
    snr_min: float = 2.0  # RMS amplitude ratio, P window over pre-P noise
    noise_window: tuple[float, float] = (-90.0, -10.0)  # s relative to predicted P
    signal_window: tuple[float, float] = (-5.0, 60.0)  # s relative to predicted P
    min_margin_s: float = 30.0  # record needed beyond each end of the window
    max_margin_s: float = 200.0  # record used beyond each end of the window, at most
    antialias: float = 0.4  # low-pass corner as a fraction of the model sampling rate
    tukey_alpha: float = 0.1
    taup_grid_step_deg: float = 0.5  # 0: exact TauP call per trace
    # take channels without a usable response in the units at hand (flagged), else reject
    allow_no_response: bool = False
    # what those units are: "displacement" (used as they are) or "velocity" (integrated)
    no_response_units: str = "displacement"
    # co-located channels: prefer the highest sampling rate up to this cap (Hz)
    duplicate_rate_cap_hz: float = 50.0
    # records shorter than the window: pad with zeros (flag ``padded``) when they cover at
    # least ``min_cover`` s around P without gaps; else reject them as ``too_short``
    pad_short: bool = False
    min_cover: tuple[float, float] = (-30.0, 50.0)
    pad_taper_s: float = 5.0  # cosine ramp at the padded ends of the covered part

    def __post_init__(self) -> None:
        c = self.contract
        for name in ("noise_window", "signal_window", "min_cover"):
            lo, hi = getattr(self, name)
            if not c.window_start <= lo < hi <= c.window_end:
                raise ValueError(
                    f"{name} {(lo, hi)} must be increasing and inside the window "
                    f"[{c.window_start}, {c.window_end}] s"
                )
        if self.pre_filt is not None and list(self.pre_filt) != sorted(self.pre_filt):
            raise ValueError(f"pre_filt corners must increase, got {self.pre_filt}")
        if not 0 <= self.min_margin_s <= self.max_margin_s:
            raise ValueError(
                f"need 0 <= min_margin_s <= max_margin_s, got {self.min_margin_s}, "
                f"{self.max_margin_s}"
            )
        if self.no_response_units not in NO_RESPONSE_UNITS:
            raise ValueError(
                f"no_response_units must be one of {NO_RESPONSE_UNITS}, got {self.no_response_units!r}"
            )
        if not 0 < self.antialias < 0.5:
            raise ValueError(f"antialias must be in (0, 0.5), got {self.antialias}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreprocessConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if isinstance(values.get("contract"), dict):
            values["contract"] = DataContract.from_dict(values["contract"])
        for name in ("pre_filt", "noise_window", "signal_window", "min_cover"):
            if values.get(name) is not None:
                values[name] = tuple(values[name])
        return cls(**values)


@dataclass
class PreprocessedTrace:
    """One model trace and where it comes from."""

    station_id: str  # SEED id NET.STA.LOC.CHA
    data: np.ndarray  # (nt,) float32, standardised displacement
    station_lat: float
    station_lon: float
    distance_deg: float
    azimuth_deg: float  # source to station, clockwise from north
    takeoff_deg: float  # P take-off angle from the downward vertical
    p_time: float  # predicted P arrival, POSIX seconds (UTC)
    snr: float
    pixel: int  # HEALPix RING pixel of (take-off angle, azimuth)
    flags: tuple[str, ...] = ()  # e.g. RESPONSE_NOT_REMOVED


RESPONSE_NOT_REMOVED = "response_not_removed"
PADDED = "padded"  # the record covered only part of the window; zeros fill the rest


@dataclass(frozen=True)
class Geometry:
    """Source-receiver geometry and the predicted P arrival of one channel."""

    channel: ChannelInfo
    distance_deg: float
    azimuth_deg: float
    takeoff_deg: float
    p_time: UTCDateTime


@lru_cache(maxsize=4096)
def _origin_time(iso: str) -> UTCDateTime:
    return UTCDateTime(iso)


def predict(
    seed_id: str, time: UTCDateTime, inventory: Inventory, origin: Origin, config: PreprocessConfig
) -> Geometry:
    """Channel, distance, azimuth, take-off angle and P time; raises ``Rejected``."""
    c = config.contract
    channel = channel_at(inventory, seed_id, time)
    dist = locations2degrees(origin.latitude, origin.longitude, channel.latitude, channel.longitude)
    if not c.min_distance_deg <= dist <= c.max_distance_deg:
        raise Rejected(
            RejectReason.DISTANCE,
            f"{seed_id} at {dist:.2f} deg, expected {c.min_distance_deg}-{c.max_distance_deg} deg",
        )
    azimuth = gps2dist_azimuth(
        origin.latitude, origin.longitude, channel.latitude, channel.longitude
    )[1]
    table = arrival_table(c.taup_model, c.phase, config.taup_grid_step_deg)
    arrival = table(origin.depth_km, dist)
    if arrival is None:
        raise Rejected(
            RejectReason.NO_ARRIVAL,
            f"{c.taup_model} has no {c.phase} at {dist:.2f} deg from {origin.depth_km} km depth",
        )
    return Geometry(
        channel=channel,
        distance_deg=float(dist),
        azimuth_deg=float(azimuth),
        takeoff_deg=arrival.takeoff_deg,
        p_time=_origin_time(origin.time) + arrival.time,
    )


def check_component(seed_id: str, contract: DataContract) -> None:
    """Raise ``Rejected`` unless the channel code ends with the contract's component."""
    channel = seed_id.rsplit(".", 1)[-1]
    if not channel.endswith(contract.component):
        raise Rejected(
            RejectReason.WRONG_COMPONENT,
            f"{seed_id}: component {channel[-1:]!r}, expected {contract.component!r}",
        )


def condition_window(window: np.ndarray, contract: DataContract, alpha: float = 0.1) -> np.ndarray:
    """Full window -> model trace: taper, cut ``nt`` samples, taper, standardise.

    ``window`` holds ``contract.window_length`` samples starting at P + window_start.
    The trace is scaled to unit peak before standardising so the +1e-5 guard on the
    standard deviation does not depend on the physical units. Raises ``Rejected``
    (flat) when nothing is left.
    """
    x = np.asarray(window, dtype=np.float64)
    if x.shape != (contract.window_length,):
        raise ValueError(f"expected a window of {contract.window_length} samples, got {x.shape}")
    x = x * tukey(x.size, alpha)
    x = x[contract.cut_start : contract.cut_start + contract.nt] * tukey(contract.nt, alpha)
    peak = np.max(np.abs(x))
    if not peak > 0:
        raise Rejected(RejectReason.FLAT, "window is zero after tapering")
    x = x / peak
    return ((x - x.mean()) / (x.std() + STANDARDISE_EPS)).astype(np.float32)


def _rms_ratio(
    window: np.ndarray, config: PreprocessConfig, covered: tuple[int, int] | None = None
) -> float:
    """RMS of the P window over RMS of the pre-P noise, on the ``covered`` samples only."""
    c = config.contract
    t = c.window_start + c.dt * np.arange(window.size)
    k = np.arange(window.size)
    real = np.ones(window.size, bool) if covered is None else (k >= covered[0]) & (k < covered[1])
    noise = window[(t >= config.noise_window[0]) & (t <= config.noise_window[1]) & real]
    signal = window[(t >= config.signal_window[0]) & (t <= config.signal_window[1]) & real]
    noise_rms = float(np.std(noise))
    return float(np.std(signal)) / noise_rms if noise_rms > 0 else math.inf


def _span(trace: Trace, geom: Geometry, config: PreprocessConfig) -> tuple[int, int, bool]:
    """Sample range [i0, i1) of ``trace`` to process and whether the window must be padded;
    checks coverage and gaps."""
    c = config.contract
    sr, start = trace.stats.sampling_rate, trace.stats.starttime
    need0 = geom.p_time + c.window_start - config.min_margin_s
    need1 = geom.p_time + c.window_end + config.min_margin_s
    tol = 0.5 / sr
    if start > need0 + tol or trace.stats.endtime < need1 - tol:
        core0, core1 = (geom.p_time + x for x in config.min_cover)
        if config.pad_short and start <= core0 + tol and trace.stats.endtime >= core1 - tol:
            n = trace.stats.npts
            i0, i1 = _check_gaps(trace, 0, n, 0, n)
            return i0, i1, True
        hint = "" if config.pad_short else "; pad_short (symae extract --pad-short) pads it"
        raise Rejected(
            RejectReason.TOO_SHORT,
            f"{trace.id} covers {start}..{trace.stats.endtime}, needs {need0}..{need1} "
            f"(P {geom.p_time} {c.window_start:+g}/{c.window_end:+g} s, margin "
            f"{config.min_margin_s:g} s){hint}",
        )
    r0 = max(0, math.floor((need0 - start) * sr + 1e-6))
    r1 = min(trace.stats.npts, math.ceil((need1 - start) * sr - 1e-6) + 1)
    i0 = max(0, math.floor((need0 - config.max_margin_s + config.min_margin_s - start) * sr))
    i1 = min(
        trace.stats.npts,
        math.ceil((need1 + config.max_margin_s - config.min_margin_s - start) * sr) + 1,
    )
    i0, i1 = _check_gaps(trace, r0, r1, i0, i1)
    return i0, i1, False


def _check_gaps(trace: Trace, r0: int, r1: int, i0: int, i1: int) -> tuple[int, int]:
    """Reject a hole inside the needed samples [r0, r1); shrink the optional margins
    [i0, r0) and [r1, i1) to the samples next to it that have none."""
    mask = np.ma.getmaskarray(trace.data) if np.ma.isMaskedArray(trace.data) else None
    if mask is not None and mask.any():
        sr, start = trace.stats.sampling_rate, trace.stats.starttime
        bad = np.flatnonzero(mask[r0:r1])
        if bad.size:
            raise Rejected(
                RejectReason.GAP,
                f"{trace.id} misses {bad.size} samples from {start + (r0 + bad[0]) / sr} "
                f"inside the needed span",
            )
        before = np.flatnonzero(mask[i0:r0])
        after = np.flatnonzero(mask[r1:i1])
        i0 = i0 + before[-1] + 1 if before.size else i0
        i1 = r1 + after[0] if after.size else i1
    return i0, i1


def _covered(first: float, n: int, sr: float, c: DataContract) -> tuple[int, int]:
    """Window samples [k0, k1) a record of ``n`` samples from ``first`` s (after the window
    start) fills, a Lanczos kernel's half-width inside each of its ends."""
    edge = LANCZOS_A / sr
    k0 = max(0, math.ceil((first + edge) / c.dt))
    k1 = min(c.window_length, math.floor((first + (n - 1) / sr - edge) / c.dt) + 1)
    return k0, max(k0, k1)


def _padded_window(
    disp: np.ndarray, first: float, sr: float, covered: tuple[int, int], config: PreprocessConfig
) -> np.ndarray:
    """The window with the record resampled onto its covered samples, cosine ramps of
    ``pad_taper_s`` at the padded ends, zeros elsewhere."""
    c = config.contract
    k0, k1 = covered
    window = np.zeros(c.window_length)
    part = lanczos_interpolation(
        np.ascontiguousarray(disp), first, 1.0 / sr, k0 * c.dt, c.dt, k1 - k0, a=LANCZOS_A
    )
    ramp = min(int(round(config.pad_taper_s / c.dt)), (k1 - k0) // 2)
    if ramp > 0:
        rise = 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)
        if k0 > 0:
            part[:ramp] *= rise
        if k1 < c.window_length:
            part[-ramp:] *= rise[::-1]
    window[k0:k1] = part
    return window


def process(trace: Trace, geom: Geometry, config: PreprocessConfig) -> PreprocessedTrace:
    """Turn one gap-free channel record into a model trace; raises ``Rejected``."""
    c = config.contract
    sr = trace.stats.sampling_rate
    seed_id = trace.id
    response = geom.channel.response
    flags: tuple[str, ...] = ()
    try:  # metadata first: a channel without a response is refused before its samples
        kind = classify(response, seed_id)
    except Rejected as err:
        if not (config.allow_no_response and err.reason is RejectReason.NO_RESPONSE):
            raise
        kind, flags = PASS_THROUGH, (RESPONSE_NOT_REMOVED,)
    i0, i1, padded = _span(trace, geom, config)
    raw = np.asarray(np.ma.getdata(trace.data)[i0:i1], dtype=np.float64)
    if not np.all(np.isfinite(raw)):
        raise Rejected(
            RejectReason.NAN, f"{trace.id} has {np.sum(~np.isfinite(raw))} non-finite samples"
        )
    if np.ptp(raw) == 0:
        raise Rejected(RejectReason.FLAT, f"{trace.id} is constant ({raw[0]!r}) around P")
    corner = config.antialias * c.sampling_rate
    try:
        disp = to_displacement(
            raw,
            1.0 / sr,
            None if kind == PASS_THROUGH else response,
            config.pre_filt,
            config.water_level,
            lowpass_hz=corner if corner < 0.5 * sr else None,
            highpass_hz=c.highpass_hz or None,
            integrate=RESPONSE_NOT_REMOVED in flags and config.no_response_units == "velocity",
            response_key=geom.channel.response_key,
        )
    except Rejected as err:
        if err.message.startswith(seed_id):
            raise
        raise Rejected(err.reason, f"{seed_id}: {err.message}") from None
    if not np.all(np.isfinite(disp)):
        raise Rejected(RejectReason.NAN, f"{seed_id}: response removal produced non-finite samples")
    window_t0 = geom.p_time + c.window_start
    first = float((trace.stats.starttime + i0 / sr) - window_t0)  # s, relative to window start
    covered = None
    if padded:
        covered = _covered(first, disp.size, sr, c)
        window = _padded_window(disp, first, sr, covered, config)
        flags += (PADDED,)
    else:
        window = lanczos_interpolation(
            np.ascontiguousarray(disp), first, 1.0 / sr, 0.0, c.dt, c.window_length, a=LANCZOS_A
        )
    if np.std(window) == 0:
        raise Rejected(RejectReason.FLAT, f"{seed_id}: displacement window has no variance")
    snr = _rms_ratio(window, config, covered)
    if snr < config.snr_min:
        raise Rejected(
            RejectReason.LOW_SNR, f"{seed_id}: SNR {snr:.2f} below threshold {config.snr_min:g}"
        )
    return PreprocessedTrace(
        station_id=seed_id,
        data=condition_window(window, c, config.tukey_alpha),
        station_lat=geom.channel.latitude,
        station_lon=geom.channel.longitude,
        distance_deg=geom.distance_deg,
        azimuth_deg=geom.azimuth_deg,
        takeoff_deg=geom.takeoff_deg,
        p_time=float(geom.p_time.timestamp),
        snr=snr,
        pixel=pixel_of(geom.takeoff_deg, geom.azimuth_deg, c.nside),
        flags=flags,
    )


def preprocess_trace(
    trace: Trace, inventory: Inventory, origin: Origin, config: PreprocessConfig | None = None
) -> PreprocessedTrace:
    """One in-memory record -> one model trace; raises ``Rejected`` with a reason.

    Pure: no file or network access, the inputs are not modified. A masked trace
    (ObsPy's representation of a merged record with holes) is rejected as ``gap`` when
    a hole falls inside the needed span.
    """
    config = config or PreprocessConfig()
    check_component(trace.id, config.contract)
    geom = predict(trace.id, trace.stats.starttime, inventory, origin, config)
    return process(trace, geom, config)


def channel_preference(seed_ids: list[str], rates: dict[str, float], cap_hz: float) -> list[str]:
    """Co-located channels of one site, best first.

    Highest sampling rate up to ``cap_hz`` first (rates above the cap count as the cap),
    then location code and channel code in lexicographic order (``""`` before ``"00"``
    before ``"10"``; ``BHZ`` before ``HHZ`` at equal capped rates).
    """

    def key(seed_id: str) -> tuple[float, str, str]:
        _, _, loc, cha = seed_id.split(".")
        return (-min(rates[seed_id], cap_hz), loc, cha)

    return sorted(seed_ids, key=key)


def _process_channel(
    seed_id: str,
    traces: list[Trace],
    inventory: Inventory,
    origin: Origin,
    config: PreprocessConfig,
) -> PreprocessedTrace:
    start = min(t.stats.starttime for t in traces)
    geom = predict(seed_id, start, inventory, origin, config)
    trace, overlaps = merge_channel(traces)
    try:
        return process(trace, geom, config)
    except Rejected as err:
        if err.reason is RejectReason.GAP and overlaps:
            raise as_overlap(err, overlaps, trace) from None
        raise


def preprocess_stream(
    stream: Stream, inventory: Inventory, origin: Origin, config: PreprocessConfig | None = None
) -> tuple[list[PreprocessedTrace], list[Rejection]]:
    """Every channel of ``stream`` (segments merged per SEED id) -> traces and rejections.

    At most one trace per site (``NET.STA``): the channels of a site are tried in
    ``channel_preference`` order and the first accepted is kept; the rest are rejected
    as ``duplicate_channel`` (those tried and refused keep their own reason).
    """
    config = config or PreprocessConfig()
    by_id: dict[str, list[Trace]] = defaultdict(list)
    for tr in stream:
        by_id[tr.id].append(tr)
    accepted: list[PreprocessedTrace] = []
    rejections: list[Rejection] = []
    by_site: dict[str, list[str]] = defaultdict(list)
    for seed_id in by_id:
        try:
            check_component(seed_id, config.contract)
        except Rejected as err:  # other components are not candidates for a site
            rejections.append(Rejection.from_error(seed_id, err))
            continue
        by_site[".".join(seed_id.split(".")[:2])].append(seed_id)
    for site, seed_ids in by_site.items():
        if len(seed_ids) > 1:
            rates = {i: max(t.stats.sampling_rate for t in by_id[i]) for i in seed_ids}
            seed_ids = channel_preference(seed_ids, rates, config.duplicate_rate_cap_hz)
        kept: str | None = None
        for seed_id in seed_ids:
            if kept is not None:
                rejections.append(
                    Rejection(
                        seed_id,
                        RejectReason.DUPLICATE_CHANNEL,
                        f"{seed_id}: {kept} of the same site {site} kept (preferred: highest "
                        f"sampling rate up to {config.duplicate_rate_cap_hz:g} Hz, then location, channel)",
                    )
                )
                continue
            try:
                accepted.append(
                    _process_channel(seed_id, by_id[seed_id], inventory, origin, config)
                )
                kept = seed_id
            except Rejected as err:
                rejections.append(Rejection.from_error(seed_id, err))
    return accepted, rejections


def assemble_event(
    origin: Origin,
    traces: list[PreprocessedTrace],
    contract: DataContract,
    provenance: dict[str, Any] | None = None,
) -> EventData:
    """Polarity-correct an event's traces and group them by focal-sphere pixel."""
    if not traces:
        raise ValueError(f"event {origin.event_id!r}: no traces to assemble")
    stack = np.stack([t.data for t in traces]).astype(np.float32)  # (n, nt)
    contract.check_traces(stack)
    pixels = pixels_of(
        np.array([t.takeoff_deg for t in traces]),
        np.array([t.azimuth_deg for t in traces]),
        contract.nside,
    )
    for t, p in zip(traces, pixels, strict=True):
        if t.pixel != p:
            raise ValueError(
                f"{t.station_id}: pixel {t.pixel} but nside {contract.nside} gives {p} for "
                f"take-off {t.takeoff_deg:.2f}, azimuth {t.azimuth_deg:.2f}"
            )
    signs = polarity_signs(stack)
    stack *= signs[:, None]
    groups: dict[int, TraceGroup] = {}
    for pixel in np.unique(pixels):
        idx = np.flatnonzero(pixels == pixel)
        members = [traces[i] for i in idx]
        groups[int(pixel)] = TraceGroup(
            event_id=origin.event_id,
            pixel=int(pixel),
            traces=stack[idx],
            station_id=[t.station_id for t in members],
            fields={
                "station_lat": np.array([t.station_lat for t in members]),
                "station_lon": np.array([t.station_lon for t in members]),
                "distance_deg": np.array([t.distance_deg for t in members]),
                "azimuth_deg": np.array([t.azimuth_deg for t in members]),
                "takeoff_deg": np.array([t.takeoff_deg for t in members]),
                "p_time": np.array([t.p_time for t in members]),
                "snr": np.array([t.snr for t in members], dtype=np.float32),
                "polarity": signs[idx],
            },
        )
    provenance = dict(provenance or {})
    for flag in (RESPONSE_NOT_REMOVED, PADDED):
        flagged = sorted(t.station_id for t in traces if flag in t.flags)
        if flagged:
            provenance[flag] = flagged
    return EventData(origin=origin, groups=groups, provenance=provenance)
