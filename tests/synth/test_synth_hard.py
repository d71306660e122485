"""Hard mode: physics the inversion does not share, broken stations, catalogue errors."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from symae.synth import SynthConfig, parametric_source, synthesize_event
from symae.synth.hard import BROKEN_CODES, HardMode, rotate_moment_tensor
from symae.synth.radiation import double_couple, moment_tensor_ned
from symae.synth.run import SynthRequest

from .helpers import boxcar_source


def hard_event(seed: int, n: int = 12, **knobs):
    config = SynthConfig(
        n_stations=n, mode="hard", hard=HardMode(**knobs), depth_range_km=(10.0, 35.0)
    )
    rng = np.random.default_rng(seed)
    source = parametric_source(
        rng,
        f"h{seed}",
        config.mw_range,
        config.depth_range_km,
        config.raw_dt,
        True,
        datetime(2021, 1, 1, tzinfo=UTC),
    )
    return source, synthesize_event(rng, source, config)


def per_trace(event_data, name: str) -> np.ndarray:
    return np.concatenate([g.truth[name] for g in event_data.groups.values()])


def test_hard_event_records_its_breakage_and_catalogue_errors() -> None:
    source, ev = hard_event(1, broken_share=0.5)
    ed, attrs = ev.event_data, ev.event_data.truth_attrs
    assert attrs["mode"] == "hard" and attrs["broken_share"] == 0.5 and attrs["n_broken"] == 6
    codes = per_trace(ed, "broken")
    assert set(codes) <= set(BROKEN_CODES) and np.count_nonzero(codes) + len(ev.rejections) >= 1
    clock = per_trace(ed, "clock_error_s")
    assert np.all((clock == 0) == (codes != 2))
    assert np.all(np.abs(clock[codes == 2]) >= 10.0)
    assert np.all(np.abs(per_trace(ed, "anomaly_time_s")) <= 2.0 + 1e-9)
    amp = per_trace(ed, "anomaly_amplitude")
    assert np.all((amp >= 1 / 1.4 - 1e-9) & (amp <= 1.4 + 1e-9))
    # the given origin carries the catalogue errors; the truth stays the true source
    err = attrs["catalogue_errors"]
    assert (
        abs(err["origin_time_s"]) <= 1.5 and abs(err["depth_km"]) <= 12.0 and abs(err["mw"]) <= 0.15
    )
    assert ed.origin.depth_km == pytest.approx(source.origin.depth_km + err["depth_km"])
    assert ed.origin.magnitude == pytest.approx(source.origin.magnitude + err["mw"], abs=1e-3)
    assert (ed.origin.moment_tensor is None) == (err["mechanism"] == "withheld")
    assert np.sum(ed.truth_stf) * 1.0 == pytest.approx(source.m0, rel=1e-3)


def test_hard_mode_is_reproducible_and_knobs_act() -> None:
    _, a = hard_event(2, broken_share=0.0)
    _, b = hard_event(2, broken_share=0.0)
    assert a.event_data.truth_attrs["n_broken"] == 0
    assert not np.any(per_trace(a.event_data, "broken"))
    for ga, gb in zip(a.event_data.groups.values(), b.event_data.groups.values(), strict=True):
        assert np.array_equal(ga.traces, gb.traces)
    shares = {hard_event(3, n=20)[1].event_data.truth_attrs["broken_share"] for _ in range(1)}
    assert all(0.0 <= s <= 0.3 for s in shares)


def test_easy_mode_draws_are_untouched_by_the_hard_knobs() -> None:
    source = boxcar_source("e", 30.0)
    easy = SynthConfig(n_stations=6)
    a = synthesize_event(np.random.default_rng(4), source, easy)
    b = synthesize_event(
        np.random.default_rng(4), source, replace(easy, hard=HardMode(broken_share=0.5))
    )
    for ga, gb in zip(a.event_data.groups.values(), b.event_data.groups.values(), strict=True):
        assert np.array_equal(ga.traces, gb.traces)
    assert "mode" not in a.event_data.truth_attrs


def test_rotation_keeps_the_moment_and_turns_the_tensor() -> None:
    mt = double_couple(30.0, 60.0, 90.0, 1e20)
    rot = rotate_moment_tensor(mt, np.array([0.0, 0.0, 1.0]), 15.0)
    m0, m1 = moment_tensor_ned(mt), moment_tensor_ned(rot)
    assert np.linalg.eigvalsh(m1) == pytest.approx(np.linalg.eigvalsh(m0), abs=1e6)
    # a rotation about the vertical is a change of strike: same as strike + 15
    assert moment_tensor_ned(double_couple(45.0, 60.0, 90.0, 1e20)) == pytest.approx(m1, abs=1e6)


def test_water_layer_rings_only_for_oceanic_events() -> None:
    _, ev = hard_event(5, oceanic_share=1.0)
    assert (
        ev.event_data.truth_attrs["oceanic"]
        and 1.0 <= ev.event_data.truth_attrs["water_depth_km"] <= 6.0
    )
    _, dry = hard_event(5, oceanic_share=0.0)
    assert not dry.event_data.truth_attrs["oceanic"]


def test_request_passes_mode_and_broken_share() -> None:
    config = SynthRequest("parametric", 1, 5, 0, "x.h5", mode="hard", broken_share=0.3).config()
    assert config.mode == "hard" and config.hard.broken_share == 0.3
    with pytest.raises(ValueError, match="mode"):
        SynthConfig(mode="medium")
    with pytest.raises(ValueError, match="broken_share"):
        HardMode(broken_share=1.5)
