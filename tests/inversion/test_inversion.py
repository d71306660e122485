"""The STF inversion on noise-free traces from its own forward model, and its failure modes."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import numpy as np
import pytest

from symae.contract import DEFAULT_CONTRACT, DataContract
from symae.inversion import (
    InversionError,
    InversionSettings,
    invert_event,
    invert_traces,
    processing_band,
)
from tests.inversion.helpers import (
    make_event,
    make_geometry,
    make_origin,
    make_traces,
    mt_angle_deg,
    stf_from_origin,
    true_stf,
)

FAST = InversionSettings(n_bootstrap=10)


@pytest.fixture(scope="module")
def geometry():
    return make_geometry(60)


@pytest.fixture(scope="module")
def traces(geometry):
    return make_traces(geometry, true_stf())


@pytest.fixture(scope="module")
def result(traces, geometry):
    return invert_traces(traces, geometry, make_origin(), FAST)


def test_recovers_known_stf(result):
    truth = true_stf()
    n = truth.size
    est = stf_from_origin(result, n) / result.stf.sum()
    assert np.corrcoef(est, truth)[0, 1] > 0.99
    assert np.linalg.norm(est - truth) / np.linalg.norm(truth) < 0.15
    assert result.n_used == len(result.traces)
    assert result.mechanism_source == "catalogue" and result.depth_source == "catalogue"


def test_output_is_positive_and_moment_scaled(result):
    assert np.all(result.stf >= 0) and np.all(result.band_low >= 0)
    assert all(np.all(p.stf >= 0) for p in result.pixel_stfs.values())
    m0 = 10 ** (1.5 * 7.0 + 9.1)
    assert np.sum(result.stf) * 1.0 == pytest.approx(m0, rel=1e-6)
    assert np.all(result.band_low <= result.band_high + 1e-9 * m0)
    assert 10.0 < result.duration_s < 25.0
    json.dumps(result.to_dict())


def test_missing_mechanism_finds_usable_solution(traces, geometry):
    settings = InversionSettings(
        n_bootstrap=0,
        depth_search_km=5.0,
        strike_step_deg=45.0,
        dip_step_deg=30.0,
        rake_step_deg=45.0,
    )
    res = invert_traces(traces, geometry, make_origin(moment_tensor=None), settings)
    assert res.mechanism_source == "estimated"
    assert res.depth_source in ("catalogue", "estimated")
    assert {"strike", "dip", "rake"} <= set(res.mechanism)
    truth = true_stf()
    n = truth.size
    assert np.corrcoef(stf_from_origin(res, n), truth)[0, 1] > 0.9
    assert res.n_used > 0.8 * len(res.traces)


def test_withheld_mechanism_is_recovered_off_the_grid():
    """Default search grid, a mechanism between its nodes: STF, double couple and depth."""
    from symae.synth.radiation import double_couple

    truth_mt = double_couple(37.0, 52.0, 71.0, 4.0e19)
    geometry = make_geometry(120, seed=5)
    traces = make_traces(geometry, true_stf(), seed=5, moment_tensor=truth_mt)
    res = invert_traces(
        traces, geometry, make_origin(moment_tensor=None), InversionSettings(n_bootstrap=0)
    )
    assert res.mechanism_source == "estimated"
    truth = true_stf()
    n = truth.size
    assert np.corrcoef(stf_from_origin(res, n), truth)[0, 1] > 0.98
    # a double couple and its auxiliary plane are the same tensor: no ambiguity here
    assert mt_angle_deg({k: res.mechanism[k] for k in truth_mt}, truth_mt) < 15.0
    assert abs(res.depth_km - 35.0) <= 5.0
    assert res.n_used >= 0.95 * len(res.traces)


def test_broken_traces_are_rejected_or_downweighted(traces, geometry):
    bad = traces.copy()
    polarity = geometry.polarity.copy()
    polarity[0] *= -1  # metadata says the wrong sign: reversed trace after the undo
    bad[1] = np.roll(bad[1], 15)  # 15 s clock error
    bad[1, :15] = 0.0
    bad[2, 120] += 40.0  # glitch
    geo = replace(geometry, polarity=polarity)
    res = invert_traces(bad, geo, make_origin(), FAST)
    fits = res.traces
    assert fits[0].reason == "negative_scale" and not fits[0].used
    assert fits[1].reason == "lag_at_bound" and not fits[1].used
    assert fits[2].reason == "poor_fit" or fits[2].weight < 0.5
    assert all(f.used for f in fits[3:])
    assert {f.station_id for f in res.rejected} >= {fits[0].station_id, fits[1].station_id}
    truth = true_stf()
    n = truth.size
    assert np.corrcoef(stf_from_origin(res, n), truth)[0, 1] > 0.98


def test_record_without_greens_function_is_rejected(traces, geometry):
    dist = geometry.distance_deg.copy()
    dist[3] = 120.0  # beyond the P table
    res = invert_traces(traces, replace(geometry, distance_deg=dist), make_origin(), FAST)
    assert res.traces[3].reason == "no_greens" and res.traces[3].weight == 0.0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"depth_km": None}, "origin.depth_km"),
        ({"depth_km": float("nan")}, "origin.depth_km"),
        ({"magnitude": None}, "origin.magnitude"),
        ({"moment_tensor": {"Mrr": 1.0, "Mtt": -1.0}}, "origin.moment_tensor"),
    ],
)
def test_bad_origin_raises_one_line(traces, geometry, changes, field):
    with pytest.raises(InversionError) as err:
        invert_traces(traces, geometry, make_origin(**changes), FAST)
    message = str(err.value)
    assert field in message and "\n" not in message


def test_processing_band_reads_the_contract_highpass():
    freqs = np.array([0.0, 0.015, 0.1, 0.3])
    band = processing_band(DEFAULT_CONTRACT, freqs)
    assert band[0] == 0.0
    assert abs(band[1]) == pytest.approx(1 / np.sqrt(2), rel=1e-3)  # Butterworth corner
    assert abs(band[2]) == pytest.approx(1.0, abs=0.01)

    @dataclass(frozen=True)
    class Owning(DataContract):
        highpass_hz: float = 0.03

    assert abs(processing_band(Owning(), freqs)[1]) < 0.1


def test_200_trace_event_runs():
    event = make_event(200)
    res = invert_event(event, InversionSettings(n_bootstrap=20))
    assert len(res.traces) == 200 and res.n_used >= 195
    assert res.pixel_stfs and all(p.n_traces >= 3 for p in res.pixel_stfs.values())
    same = invert_event(
        event,
        InversionSettings(n_bootstrap=0),
        traces_override=2.0
        * np.concatenate([event.groups[p].traces for p in sorted(event.groups)]),
    )
    assert np.allclose(same.stf, res.stf, rtol=1e-6, atol=1e-9 * res.stf.max())


def test_late_catalogue_time_moves_the_onset(traces, geometry):
    """Records 4 s earlier than the catalogue time predicts (a centroid time, say): the
    STF starts before the origin instead of piling up on its first sample."""
    early = np.roll(traces, -4, axis=1)
    early[:, -4:] = 0.0
    res = invert_traces(early, geometry, make_origin(), FAST)
    assert res.onset_shift_s >= 4.0 and res.times[0] <= -4.0
    truth = true_stf()
    moved = np.interp(np.arange(-10.0, truth.size), res.times + 4.0, res.stf, left=0, right=0)
    assert np.corrcoef(moved[10:], truth)[0, 1] > 0.97
    assert res.n_used >= 0.95 * len(res.traces)
    fixed = invert_traces(early, geometry, make_origin(), replace(FAST, onset_shift=False))
    assert fixed.onset_shift_s == 0.0 and fixed.times[0] == 0.0
    assert np.corrcoef(stf_from_origin(fixed, truth.size), np.roll(truth, -4))[0, 1] < 0.97


def test_early_records_do_not_derail_the_mechanism_search():
    """Records 5 s early and no mechanism given: the envelope lead moves the onset before
    the search, which then finds the double couple and the STF."""
    from symae.synth.radiation import double_couple

    truth_mt = double_couple(37.0, 52.0, 71.0, 4.0e19)
    geometry = make_geometry(80, seed=7)
    traces = make_traces(geometry, true_stf(), seed=7, moment_tensor=truth_mt)
    early = np.roll(traces, -5, axis=1)
    early[:, -5:] = 0.0
    res = invert_traces(
        early, geometry, make_origin(moment_tensor=None), InversionSettings(n_bootstrap=0)
    )
    assert res.onset_shift_s >= 4.0  # the envelope of a 20 s source reads a little late
    assert mt_angle_deg({k: res.mechanism[k] for k in truth_mt}, truth_mt) < 20.0
    truth = true_stf()
    moved = np.interp(np.arange(truth.size) - 5.0, res.times, res.stf, left=0, right=0)
    assert np.corrcoef(moved, truth)[0, 1] > 0.95


def test_source_longer_than_the_window_is_cut_and_said(traces, geometry):
    """Mw 9 asks for a ~300 s support; the window ends 99 s after P: cut there, flagged."""
    res = invert_traces(traces, geometry, make_origin(magnitude=9.0), FAST)
    assert res.window_limited and res.to_dict()["window_limited"] is True
    assert res.times[-1] <= DEFAULT_CONTRACT.t0 + (DEFAULT_CONTRACT.nt - 1) * DEFAULT_CONTRACT.dt
    assert not invert_traces(traces, geometry, make_origin(), FAST).window_limited
