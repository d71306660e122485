"""Every rejection reason, each produced by a crafted bad input built from real ObsPy objects."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import obspy
import pytest

from symae.contract import DataContract
from symae.data.preprocess import PreprocessConfig, preprocess_stream, preprocess_trace
from symae.data.rejections import Rejected, RejectReason, count_reasons

CONFIG = PreprocessConfig()
P_TIME = obspy.UTCDateTime("2018-01-23T09:43:13.9")  # predicted P at II.BFO, iasp91


@pytest.fixture
def z10(bfo_z):
    """A ten-minute vertical record around P."""
    return bfo_z.trim(P_TIME - 300, P_TIME + 300)


def reason_of(trace, inventory, origin, config=CONFIG) -> Rejected:
    with pytest.raises(Rejected) as info:
        preprocess_trace(trace, inventory, origin, config)
    return info.value


def channel(inventory):
    return inventory.select(channel="BHZ")[0][0][0]


def test_good_record_is_accepted(z10, bfo_inventory, gulf_origin):
    assert preprocess_trace(z10, bfo_inventory, gulf_origin).station_id == "II.BFO.00.BHZ"


def test_wrong_component(bfo_stream, bfo_inventory, gulf_origin):
    err = reason_of(bfo_stream.select(component="N")[0], bfo_inventory, gulf_origin)
    assert err.reason is RejectReason.WRONG_COMPONENT and "'N'" in err.message


def test_unknown_station(z10, bfo_inventory, gulf_origin):
    z10.stats.network = "XX"
    err = reason_of(z10, bfo_inventory, gulf_origin)
    assert err.reason is RejectReason.UNKNOWN_STATION and "XX.BFO.00.BHZ" in err.message


def test_unknown_station_outside_channel_epoch(z10, bfo_inventory, gulf_origin):
    channel(bfo_inventory).end_date = obspy.UTCDateTime("2010-01-01")
    assert reason_of(z10, bfo_inventory, gulf_origin).reason is RejectReason.UNKNOWN_STATION


def test_no_response(z10, bfo_inventory, gulf_origin):
    channel(bfo_inventory).response = None
    assert reason_of(z10, bfo_inventory, gulf_origin).reason is RejectReason.NO_RESPONSE


def test_sensitivity_only_response_is_no_response(z10, bfo_inventory, gulf_origin):
    channel(bfo_inventory).response.response_stages = []
    assert reason_of(z10, bfo_inventory, gulf_origin).reason is RejectReason.NO_RESPONSE


def test_bad_units(z10, bfo_inventory, gulf_origin):
    response = channel(bfo_inventory).response
    response.response_stages[0].input_units = "PA"  # a pressure sensor
    response.instrument_sensitivity.input_units = "PA"
    err = reason_of(z10, bfo_inventory, gulf_origin)
    assert err.reason is RejectReason.BAD_UNITS and "'PA'" in err.message


def test_nan(z10, bfo_inventory, gulf_origin):
    z10.data = z10.data.astype(np.float64)
    z10.data[3000] = np.nan  # 150 s into the record: inside the window
    assert reason_of(z10, bfo_inventory, gulf_origin).reason is RejectReason.NAN


def test_flat(z10, bfo_inventory, gulf_origin):
    z10.data = np.full_like(z10.data, 1234)
    err = reason_of(z10, bfo_inventory, gulf_origin)
    assert err.reason is RejectReason.FLAT and "1234" in err.message


def test_too_short(z10, bfo_inventory, gulf_origin):
    z10.trim(P_TIME - 300, P_TIME + 90)  # ends before the window does
    err = reason_of(z10, bfo_inventory, gulf_origin)
    assert err.reason is RejectReason.TOO_SHORT and "needs" in err.message


def test_distance(z10, bfo_inventory, gulf_origin):
    near = replace(gulf_origin, latitude=40.0, longitude=10.0)  # about 8 degrees from BFO
    err = reason_of(z10, bfo_inventory, near)
    assert err.reason is RejectReason.DISTANCE and "30.0-90.0" in err.message


def test_no_arrival(z10, bfo_inventory, gulf_origin):
    """Beyond the core shadow (about 100 degrees) TauP has no direct P."""
    far = replace(gulf_origin, latitude=-30.0, longitude=-150.0)
    wide = replace(CONFIG, contract=DataContract(max_distance_deg=180.0))
    err = reason_of(z10, bfo_inventory, far, wide)
    assert err.reason is RejectReason.NO_ARRIVAL and "iasp91" in err.message


def test_low_snr(bfo_z, bfo_inventory, gulf_origin):
    """An origin eight minutes early puts the whole window in pre-event noise."""
    early = replace(gulf_origin, time=str(obspy.UTCDateTime(gulf_origin.time) - 480))
    err = reason_of(bfo_z, bfo_inventory, early)
    assert err.reason is RejectReason.LOW_SNR and "below threshold 2" in err.message


def test_masked_trace_is_a_gap(z10, bfo_inventory, gulf_origin):
    merged = obspy.Stream([z10.slice(P_TIME - 300, P_TIME), z10.slice(P_TIME + 20, P_TIME + 300)])
    merged.merge(method=0)
    assert np.ma.isMaskedArray(merged[0].data)
    assert reason_of(merged[0], bfo_inventory, gulf_origin).reason is RejectReason.GAP


def test_gap_outside_the_needed_span_is_tolerated(z10, bfo_inventory, gulf_origin):
    """A hole 250 s before P lies in the optional margin: the record is used up to it."""
    parts = obspy.Stream(
        [z10.slice(P_TIME - 300, P_TIME - 250), z10.slice(P_TIME - 240, P_TIME + 300)]
    )
    accepted, rejected = preprocess_stream(parts, bfo_inventory, gulf_origin)
    assert rejected == [] and len(accepted) == 1


def test_gap_and_overlap_in_streams(z10, bfo_inventory, gulf_origin):
    gap = obspy.Stream([z10.slice(P_TIME - 300, P_TIME), z10.slice(P_TIME + 20, P_TIME + 300)])
    second = z10.slice(P_TIME - 20, P_TIME + 300).copy()
    second.data = second.data + 5000  # conflicting samples where the segments overlap
    overlap = obspy.Stream([z10.slice(P_TIME - 300, P_TIME), second])
    duplicate = obspy.Stream(
        [z10.slice(P_TIME - 300, P_TIME), z10.slice(P_TIME - 20, P_TIME + 300)]
    )
    for stream, reason in ((gap, RejectReason.GAP), (overlap, RejectReason.OVERLAP)):
        accepted, rejected = preprocess_stream(stream, bfo_inventory, gulf_origin)
        assert accepted == [] and [r.reason for r in rejected] == [reason]
    accepted, rejected = preprocess_stream(duplicate, bfo_inventory, gulf_origin)
    assert rejected == [] and len(accepted) == 1  # identical overlapping samples merge


def test_counts_cover_every_reason(bfo_stream, bfo_inventory, gulf_origin):
    _, rejected = preprocess_stream(bfo_stream, bfo_inventory, gulf_origin)
    counts = count_reasons(rejected)
    assert list(counts) == [r.value for r in RejectReason]
    assert counts["wrong_component"] == 2 and sum(counts.values()) == 2


def test_response_evalresp_cannot_evaluate_is_no_response(z10, bfo_inventory, gulf_origin):
    channel(bfo_inventory).response.response_stages[1].input_units = "PA"  # stages disagree
    err = reason_of(z10, bfo_inventory, gulf_origin)
    assert err.reason is RejectReason.NO_RESPONSE
    assert err.message.startswith("II.BFO.00.BHZ: evaluating the response failed")


def test_segments_of_different_dtypes_merge(z10, bfo_inventory, gulf_origin):
    first = z10.slice(P_TIME - 300, P_TIME).copy()
    second = z10.slice(P_TIME - 20, P_TIME + 300).copy()
    second.data = second.data.astype(np.float32)  # same samples, another dtype
    accepted, rejected = preprocess_stream(
        obspy.Stream([first, second]), bfo_inventory, gulf_origin
    )
    assert rejected == [] and len(accepted) == 1
