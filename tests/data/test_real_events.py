"""Real-data quirks on recorded events: the bundled reduced Chile 2010 event always, the
full external sets (Chile, Fiji, Sumatra) when SYMAE_EXTERNAL_DATA points at them."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import obspy
import pytest

from symae.contract import DataContract
from symae.data.preprocess import (
    PADDED,
    RESPONSE_NOT_REMOVED,
    PreprocessConfig,
    assemble_event,
    channel_preference,
    preprocess_stream,
)
from symae.data.reference import external_data_dir, recorded_event_dir
from symae.data.rejections import RejectReason
from symae.extract.records import origin_from_event_file

BUNDLED = recorded_event_dir()
CONTRACT = DataContract()
CONFIG = PreprocessConfig()


def external_event(name: str) -> Path:
    root = external_data_dir()
    if root is None:
        pytest.skip(f"full real event {name}: SYMAE_EXTERNAL_DATA is not set")
    folder = root / "real_events" / name
    if not folder.is_dir():
        pytest.skip(f"full real event {name} not present at {folder}")
    return folder


def load(folder: Path, pattern: str = "*"):
    stream = obspy.read(str(folder / "waveforms" / pattern))
    return (
        stream,
        obspy.read_inventory(str(folder / "stations.xml")),
        origin_from_event_file(folder / "event.xml"),
    )


@pytest.fixture(scope="module")
def chile():
    return load(BUNDLED)


@pytest.fixture(scope="module")
def chile_result(chile):
    stream, inventory, origin = chile
    return preprocess_stream(stream, inventory, origin, CONFIG)


def p_time(trace, origin) -> obspy.UTCDateTime:
    """Predicted P of a bundled trace: the window is centred on it (P -250 .. +250 s)."""
    return trace.stats.starttime + 250.0


# ------------------------------------------------------------------ bundled folder
def test_bundled_event_is_small_and_complete(chile):
    stream, inventory, origin = chile
    files = [f for f in BUNDLED.rglob("*") if f.is_file()]
    assert sum(f.stat().st_size for f in files) <= 5 * 2**20
    assert {"README.md", "event.xml", "stations.xml"} <= {f.name for f in files}
    assert len(stream) == 60 and len({tr.id for tr in stream}) == 60
    assert {tr.data.dtype for tr in stream} == {np.dtype("int32")}  # raw counts
    for tr in stream:
        ch = inventory.select(*tr.id.split("."))[0][0][0]
        assert ch.response is not None and ch.response.response_stages
        assert 499.0 <= tr.stats.endtime - tr.stats.starttime <= 500.1
    assert origin.depth_km == pytest.approx(118.7) and origin.magnitude == pytest.approx(6.3)


# ------------------------------------------------------------------ sampling rates
def test_mixed_sampling_rates_land_on_the_model_grid(chile, chile_result):
    stream, _, _ = chile
    traces, rejections = chile_result
    rate = {tr.id: tr.stats.sampling_rate for tr in stream}
    # every sampling rate of the event lands on the model grid (the SNR gate aside)
    lenient = replace(CONFIG, snr_min=1.0)
    for r in sorted({round(v) for v in rate.values()}):
        same = obspy.Stream([tr for tr in stream if round(tr.stats.sampling_rate) == r])
        landed, _ = preprocess_stream(same, chile[1], chile[2], lenient)
        assert landed and all(t.data.shape == (CONTRACT.nt,) for t in landed), r
    assert {round(rate[t.station_id]) for t in traces} >= {20, 40}
    assert any(rate[t.station_id] != round(rate[t.station_id]) for t in traces)  # II.SACV 19.9999
    assert all(t.data.shape == (CONTRACT.nt,) and t.data.dtype == np.float32 for t in traces)
    assert all(np.isfinite(t.data).all() for t in traces)
    assert len(traces) >= 40
    assert {r.reason for r in rejections} <= {RejectReason.LOW_SNR}
    # the same record at 40 sps and decimated to 20 sps gives the same model trace
    tr = next(
        t
        for t in stream
        if t.stats.sampling_rate == 40.0 and t.id in {x.station_id for x in traces}
    )
    half = tr.copy()
    half.data = half.data.astype(np.float64)
    half.filter("lowpass", freq=4.0, corners=8, zerophase=True)
    half.decimate(2, no_filter=True)
    a, _ = preprocess_stream(obspy.Stream([tr]), chile[1], chile[2], lenient)
    b, _ = preprocess_stream(obspy.Stream([half]), chile[1], chile[2], lenient)
    assert np.corrcoef(a[0].data, b[0].data)[0, 1] > 0.99


# ------------------------------------------------------------------ gaps
def _with_hole(tr: obspy.Trace, t0: obspy.UTCDateTime, seconds: float) -> obspy.Stream:
    first = tr.slice(tr.stats.starttime, t0)
    second = tr.slice(t0 + seconds, tr.stats.endtime)
    return obspy.Stream([first, second])


def test_gap_inside_the_needed_span_is_rejected(chile, chile_result):
    stream, inventory, origin = chile
    kept = {t.station_id for t in chile_result[0]}
    tr = next(t for t in stream if t.id in kept)
    gapped = _with_hole(tr, p_time(tr, origin) + 20.0, 10.0)
    traces, rejections = preprocess_stream(gapped, inventory, origin, CONFIG)
    assert not traces and [r.reason for r in rejections] == [RejectReason.GAP]
    assert tr.id in rejections[0].message


def test_gap_only_in_the_extra_margin_is_merged_and_kept(chile, chile_result):
    stream, inventory, origin = chile
    kept = {t.station_id: t for t in chile_result[0]}
    tr = next(t for t in stream if t.id in kept)
    # needed: P -130 .. +130 s; the record's extra margin before -130 s has a 20 s hole
    gapped = _with_hole(tr, p_time(tr, origin) - 200.0, 20.0)
    traces, rejections = preprocess_stream(gapped, inventory, origin, CONFIG)
    assert not rejections and traces[0].station_id == tr.id
    assert np.corrcoef(traces[0].data, kept[tr.id].data)[0, 1] > 0.99


# ------------------------------------------------------------------ location codes
def test_empty_and_00_location_codes_are_distinct_channels(chile, chile_result):
    stream, inventory, origin = chile
    locations = {t.station_id.split(".")[2] for t in chile_result[0]}
    assert {"", "00"} <= locations
    tr = next(t for t in stream if t.stats.location == "00").copy()
    tr.stats.location = ""  # header without the location the inventory has
    _, rejections = preprocess_stream(obspy.Stream([tr]), inventory, origin, CONFIG)
    assert rejections[0].reason is RejectReason.UNKNOWN_STATION


# ------------------------------------------------------------------ co-located channels
def _add_channel(inventory: obspy.Inventory, seed_id: str, location: str, code: str, rate: float):
    net, sta, loc, cha = seed_id.split(".")
    inv = inventory.copy()  # a new object: the channel index is per inventory object
    station = inv.select(network=net, station=sta)[0][0]
    target = next(s for n in inv for s in n if n.code == net and s.code == sta)
    ch = station.select(location=loc, channel=cha)[0].copy()
    ch.location_code, ch.code, ch.sample_rate = location, code, rate
    target.channels.append(ch)
    return inv


def test_colocated_channels_keep_one_per_site(chile, chile_result):
    stream, inventory, origin = chile
    kept = {t.station_id for t in chile_result[0]}
    tr = next(
        t
        for t in stream
        if t.id in kept and t.stats.sampling_rate == 40.0 and t.stats.location == "00"
    )
    low = tr.copy()  # a second sensor at 20 sps, location 10
    low.data = low.data.astype(np.float64)
    low.decimate(2)
    low.stats.location = "10"
    same = tr.copy()  # the same rate at location 10
    same.stats.location = "10"
    same.stats.channel = "HHZ"
    inv = _add_channel(inventory, tr.id, "10", "BHZ", 20.0)
    inv = _add_channel(inv, tr.id, "10", "HHZ", 40.0)
    traces, rejections = preprocess_stream(obspy.Stream([low, same, tr]), inv, origin, CONFIG)
    assert [t.station_id for t in traces] == [tr.id]  # 40 sps before 20, then "00" before "10"
    assert Counter(r.reason for r in rejections) == {RejectReason.DUPLICATE_CHANNEL: 2}
    assert all(tr.id in r.message for r in rejections)


def test_colocated_fallback_when_the_preferred_channel_is_refused(chile, chile_result):
    stream, inventory, origin = chile
    kept = {t.station_id for t in chile_result[0]}
    tr = next(t for t in stream if t.id in kept and t.stats.location == "00")
    other = tr.copy()
    other.stats.location = "10"
    inv = _add_channel(inventory, tr.id, "10", tr.stats.channel, tr.stats.sampling_rate)
    gapped = _with_hole(tr, p_time(tr, origin), 10.0)
    traces, rejections = preprocess_stream(gapped + obspy.Stream([other]), inv, origin, CONFIG)
    assert [t.station_id for t in traces] == [other.id]
    assert [(r.source, r.reason) for r in rejections] == [(tr.id, RejectReason.GAP)]


def test_channel_preference_rule():
    rates = {
        "N.S.10.HHZ": 100.0,
        "N.S.00.BHZ": 40.0,
        "N.S..BHZ": 40.0,
        "N.S.00.LHZ": 1.0,
        "N.S.20.HHZ": 200.0,
    }
    # above the cap (50 Hz) rates tie, then location, then channel code decide
    assert channel_preference(list(rates), rates, cap_hz=50.0) == [
        "N.S.10.HHZ",
        "N.S.20.HHZ",
        "N.S..BHZ",
        "N.S.00.BHZ",
        "N.S.00.LHZ",
    ]
    assert channel_preference(list(rates), rates, cap_hz=40.0) == [
        "N.S..BHZ",
        "N.S.00.BHZ",
        "N.S.10.HHZ",
        "N.S.20.HHZ",
        "N.S.00.LHZ",
    ]


# ------------------------------------------------------------------ no response
def test_record_without_response_rejected_unless_allowed(chile, chile_result):
    stream, inventory, origin = chile
    kept = {t.station_id: t for t in chile_result[0]}
    tr = next(t for t in stream if t.id in kept and t.stats.sampling_rate == 40.0)
    inv = inventory.copy()
    net, sta, loc, cha = tr.id.split(".")
    for n in inv:
        for s in n:
            for c in s:
                if (n.code, s.code, c.location_code, c.code) == (net, sta, loc, cha):
                    c.response = None
    _, rejections = preprocess_stream(obspy.Stream([tr]), inv, origin, CONFIG)
    assert [r.reason for r in rejections] == [RejectReason.NO_RESPONSE]
    allowed = PreprocessConfig(allow_no_response=True)
    traces, rejections = preprocess_stream(obspy.Stream([tr]), inv, origin, allowed)
    assert not rejections and traces[0].flags == (RESPONSE_NOT_REMOVED,)
    # counts instead of displacement: the same arrivals, another shape (velocity sensor)
    assert abs(np.corrcoef(traces[0].data, kept[tr.id].data)[0, 1]) > 0.2
    event = assemble_event(origin, traces, CONTRACT)
    assert event.provenance[RESPONSE_NOT_REMOVED] == [tr.id]
    assert not chile_result[0][0].flags  # records with a response carry no flag


def test_record_without_response_in_velocity_is_integrated(chile, chile_result):
    stream, inventory, origin = chile
    kept = {t.station_id: t for t in chile_result[0]}
    tr = next(t for t in stream if t.id in kept and t.stats.sampling_rate == 40.0).copy()
    tr.remove_response(inventory=inventory, output="VEL", pre_filt=(0.004, 0.01, 1.0, 2.0))
    inv = inventory.select(*tr.id.split("."))
    for n in inv:
        for s in n:
            for c in s:
                c.response = None  # processed SAC: velocity, no response
    units = {}
    for name in ("displacement", "velocity"):
        config = PreprocessConfig(allow_no_response=True, no_response_units=name, snr_min=0.0)
        traces, rejections = preprocess_stream(obspy.Stream([tr]), inv, origin, config)
        assert not rejections and traces[0].flags == (RESPONSE_NOT_REMOVED,)
        units[name] = np.corrcoef(traces[0].data, kept[tr.id].data)[0, 1]
    # integrated: close to the displacement the full response gives (the pre-filter and
    # the water level act twice at the longest periods), taken as it is: a derivative
    assert units["velocity"] > 0.8
    assert units["velocity"] > units["displacement"] + 0.5
    with pytest.raises(ValueError, match="no_response_units"):
        PreprocessConfig(no_response_units="acceleration")


# ------------------------------------------------------------------ short windows
def test_window_shorter_than_the_model_is_rejected_or_padded_when_asked(chile, chile_result):
    stream, inventory, origin = chile
    kept = {t.station_id: t for t in chile_result[0]}
    tr = next(t for t in stream if t.id in kept).copy()
    p = p_time(tr, origin)
    tr.trim(p - 40.0, p + 60.0)  # the Fiji window: shorter than P -130 .. +130 s
    _, rejections = preprocess_stream(obspy.Stream([tr]), inventory, origin, CONFIG)
    assert [r.reason for r in rejections] == [RejectReason.TOO_SHORT]
    assert "--pad-short" in rejections[0].message
    padding = PreprocessConfig(pad_short=True)
    traces, rejections = preprocess_stream(obspy.Stream([tr]), inventory, origin, padding)
    assert not rejections and traces[0].flags == (PADDED,)
    padded, full = traces[0].data.astype(np.float64), kept[tr.id].data.astype(np.float64)
    t = CONTRACT.t0 + CONTRACT.dt * np.arange(CONTRACT.nt)
    # zeros before standardising: one constant outside the record
    outside = padded[(t < -40.0) | (t > 60.0)]
    assert outside.size > 50 and np.ptp(outside) < 1e-6
    core = (t > -20.0) & (t < 40.0)  # away from the ramps and filter transients
    assert np.corrcoef(padded[core], full[core])[0, 1] > 0.95
    assert assemble_event(origin, traces, CONTRACT).provenance[PADDED] == [tr.id]
    tr.trim(p - 20.0, p + 60.0)  # not even the core around P: refused however asked
    _, rejections = preprocess_stream(obspy.Stream([tr]), inventory, origin, padding)
    assert [r.reason for r in rejections] == [RejectReason.TOO_SHORT]


# ------------------------------------------------------------------ full external sets
def test_full_chile_rates_and_sites():
    stream, inventory, origin = load(external_event("chile_2010-03-04_mw6.3"))
    traces, rejections = preprocess_stream(stream, inventory, origin, CONFIG)
    rates = {tr.id: round(tr.stats.sampling_rate) for tr in stream}
    assert {rates[t.station_id] for t in traces} == {10, 20, 40, 50}
    assert {r.reason for r in rejections} <= {RejectReason.LOW_SNR}
    assert len(traces) >= 200


def test_fiji_processed_sac_without_response():
    stream, inventory, origin = load(external_event("fiji_2011-09-15_mw7.3_deep"))
    assert "" in {tr.stats.location for tr in stream}  # "__" in the file names
    _, rejections = preprocess_stream(stream, inventory, origin, CONFIG)
    assert len(rejections) == len(stream)
    assert {r.reason for r in rejections} == {RejectReason.NO_RESPONSE}
    # allowed, the samples would be used as they are, but 100 s windows are too short
    allowed = PreprocessConfig(allow_no_response=True)
    traces, rejections = preprocess_stream(stream, inventory, origin, allowed)
    assert not traces and {r.reason for r in rejections} == {RejectReason.TOO_SHORT}
    # padded when asked: every record is used, flagged both ways
    padding = PreprocessConfig(allow_no_response=True, pad_short=True)
    traces, rejections = preprocess_stream(stream, inventory, origin, padding)
    assert len(traces) >= 150 and {r.reason for r in rejections} <= {RejectReason.LOW_SNR}
    assert all(set(t.flags) == {RESPONSE_NOT_REMOVED, PADDED} for t in traces)


def test_sumatra_pole_zero_responses_and_colocated_sensors():
    stream, inventory, origin = load(external_event("sumatra_2004-12-26_mw9.1"))
    assert {tr.stats.sampling_rate for tr in stream} <= {1.0} or all(
        abs(tr.stats.sampling_rate - 1.0) < 1e-4 for tr in stream
    )
    traces, rejections = preprocess_stream(stream, inventory, origin, CONFIG)
    sites = [".".join(t.station_id.split(".")[:2]) for t in traces]
    assert len(sites) == len(set(sites))  # one per site
    dup = [r for r in rejections if r.reason is RejectReason.DUPLICATE_CHANNEL]
    assert dup and all(".10.LHZ" in r.source for r in dup)  # "00" preferred at equal rates
    assert len(traces) >= 20
    assert all(t.data.shape == (CONTRACT.nt,) for t in traces)
