"""Event-level polarity correction and grouping by focal-sphere pixel."""

from __future__ import annotations

import numpy as np
import pytest

from symae.contract import DataContract
from symae.data.events import Origin
from symae.data.focal import pixel_of
from symae.data.polarity import polarity_signs
from symae.data.preprocess import PreprocessedTrace, assemble_event

CONTRACT = DataContract()
ORIGIN = Origin("ev1", "2020-01-01T00:00:00Z", 10.0, 20.0, 100.0, 7.0)


def pulse(shift: int, width: float = 4.0) -> np.ndarray:
    t = np.arange(CONTRACT.nt)
    return np.exp(-0.5 * ((t - 96 - shift) / width) ** 2)


def test_flipped_traces_are_found_even_when_shifted():
    rng = np.random.default_rng(0)
    truth = np.array([1, 1, -1, 1, -1, 1, 1, -1], dtype=np.int8)
    stack = np.stack([s * pulse(int(rng.integers(-8, 9))) for s in truth])
    stack += 0.05 * rng.standard_normal(stack.shape)
    assert np.array_equal(polarity_signs(stack), truth)


def test_polarity_rejects_bad_shape():
    with pytest.raises(ValueError, match="shape"):
        polarity_signs(np.zeros(10))


def make_trace(i: int, sign: float, takeoff: float, azimuth: float) -> PreprocessedTrace:
    return PreprocessedTrace(
        station_id=f"XX.S{i:02d}..BHZ",
        data=(sign * pulse(i % 5)).astype(np.float32),
        station_lat=40.0 + i,
        station_lon=-100.0 + i,
        distance_deg=50.0 + i,
        azimuth_deg=azimuth,
        takeoff_deg=takeoff,
        p_time=1.6e9 + i,
        snr=10.0 + i,
        pixel=pixel_of(takeoff, azimuth, CONTRACT.nside),
    )


def test_assemble_groups_by_pixel_and_records_flips():
    geometry = [(20.0, 10.0), (20.5, 11.0), (20.2, 9.0), (25.0, 200.0), (24.0, 201.0)]
    signs = [1, -1, 1, 1, -1]
    traces = [make_trace(i, s, *g) for i, (s, g) in enumerate(zip(signs, geometry, strict=True))]
    event = assemble_event(ORIGIN, traces, CONTRACT, provenance={"source": "test"})
    assert (
        event.event_id == "ev1" and event.n_traces == 5 and event.provenance == {"source": "test"}
    )
    expected = {t.pixel for t in traces}
    assert set(event.groups) == expected and len(expected) == 2
    for group in event.groups.values():
        assert set(group.fields) == {
            "station_lat",
            "station_lon",
            "distance_deg",
            "azimuth_deg",
            "takeoff_deg",
            "p_time",
            "snr",
            "polarity",
        }
        for k, sid in enumerate(group.station_id):
            i = int(sid[4:6])
            assert group.fields["polarity"][k] == signs[i]
            # after correction every trace has the majority polarity (a positive pulse)
            assert group.traces[k].max() > abs(group.traces[k].min())
            assert group.fields["snr"][k] == pytest.approx(10.0 + i)


def test_assemble_refuses_a_pixel_from_another_nside():
    trace = make_trace(0, 1, 60.0, 100.0)
    trace.pixel = pixel_of(60.0, 100.0, 8)
    with pytest.raises(ValueError, match="nside 4"):
        assemble_event(ORIGIN, [trace], CONTRACT)


def test_assemble_refuses_no_traces_and_bad_lengths():
    with pytest.raises(ValueError, match="no traces"):
        assemble_event(ORIGIN, [], CONTRACT)
    trace = make_trace(0, 1, 60.0, 100.0)
    trace.data = trace.data[:100]
    with pytest.raises(ValueError, match="192"):
        assemble_event(ORIGIN, [trace], CONTRACT)
