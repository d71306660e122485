"""The shipped iasp91 P/pP/sP table against exact TauP, and its use by both lookups."""

from __future__ import annotations

import numpy as np
import pytest

from symae.data.arrivals import ArrivalTable, taup_model
from symae.data.taup_grid import phase_grid, table_path
from symae.synth.paths import PhaseTable

PHASES = ("P", "pP", "sP")


def random_points(n: int, seed: int) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    depths = np.concatenate([rng.uniform(0.0, 60.0, n // 2), rng.uniform(0.0, 700.0, n - n // 2)])
    return list(zip(depths, rng.uniform(25.0, 95.0, n), strict=True))


def exact(depth: float, distance: float) -> dict[str, object]:
    arrivals = taup_model("iasp91").get_travel_times(depth, distance, list(PHASES))
    out = {}
    for phase in PHASES:
        found = [a for a in arrivals if a.name == phase]
        if found:
            out[phase] = min(found, key=lambda a: a.time)
    return out


def test_table_is_shipped_small_and_covers_the_teleseismic_window():
    path = table_path("iasp91")
    assert path.is_file() and path.stat().st_size < 2_000_000
    grid = phase_grid("iasp91")
    assert grid is not None and grid.depths[0] == 0.0 and grid.depths[-1] == 700.0
    assert grid.distances[0] == 25.0 and grid.distances[-1] == 95.0
    assert phase_grid("ak135") is None  # no table: callers use live TauP


def test_interpolated_phases_match_exact_taup():
    table = PhaseTable("iasp91")
    assert table._grid is not None
    for depth, dist in random_points(30, seed=3):
        got = table.lookup(depth, np.array([dist]))
        ref = exact(depth, dist)
        for phase in PHASES:
            if phase not in ref:
                continue
            assert got.time[phase][0] == pytest.approx(ref[phase].time, abs=0.05), (
                phase,
                depth,
                dist,
            )
        assert got.takeoff_deg["P"][0] == pytest.approx(ref["P"].takeoff_angle, abs=0.05), (
            depth,
            dist,
        )
        # the depth phases' delays are what the Green's functions use
        for phase in ("pP", "sP"):
            if phase in ref:
                delay = got.time[phase][0] - got.time["P"][0]
                assert delay == pytest.approx(ref[phase].time - ref["P"].time, abs=0.05)


def test_arrival_table_reads_the_grid_and_matches_exact():
    table = ArrivalTable("iasp91", "P", 0.5)
    assert table._grid is not None
    for depth, dist in random_points(20, seed=4):
        got, ref = table(depth, dist), table.exact(depth, dist)
        assert got.time == pytest.approx(ref.time, abs=0.05)
        assert got.takeoff_deg == pytest.approx(ref.takeoff_deg, abs=0.05)
    assert not table._nodes  # no TauP node was computed


def test_other_models_and_outside_the_grid_use_live_taup():
    live = PhaseTable("iasp91", use_grid=False)
    grid = PhaseTable("iasp91")
    a = grid.lookup(33.0, np.array([40.0, 80.0]))
    b = live.lookup(33.0, np.array([40.0, 80.0]))
    assert np.allclose(a.time["P"], b.time["P"], atol=0.05)
    far = ArrivalTable("iasp91", "P", 0.5)
    assert far(33.0, 120.0) is None  # outside the grid: live TauP, core shadow
    assert ArrivalTable("ak135", "P", 0.5)._grid is None
