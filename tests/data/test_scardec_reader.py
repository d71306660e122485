"""SCARDEC and CMTSOLUTION readers on the real shared files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from symae.data.scardec import ScardecError, list_events, read_cmtsolution, read_stf


@pytest.fixture(scope="module")
def events(scardec_root: Path):
    return list_events(scardec_root)


def test_all_118_events_in_date_order(events) -> None:
    assert len(events) == 118
    times = [e.stf.time for e in events]
    assert times == sorted(times)
    assert len({e.event_id for e in events}) == 118
    assert events[0].event_id == "scardec_19930115_110605"


def test_limit_takes_the_first_events(scardec_root: Path, events) -> None:
    first = list_events(scardec_root, limit=5)
    assert [e.event_id for e in first] == [e.event_id for e in events[:5]]
    with pytest.raises(ScardecError, match="limit"):
        list_events(scardec_root, limit=0)


def test_stf_integral_matches_header_moment(events) -> None:
    # the header M0 is SCARDEC's catalogue moment; the optimal STF integrates to it within
    # a few percent for most events (median), and never far off
    ratios = np.array([e.stf.integral / e.stf.m0 for e in events])
    assert abs(np.median(ratios) - 1.0) < 0.03
    assert np.all(np.abs(ratios - 1.0) < 0.25)
    mw_from_m0 = 2.0 / 3.0 * (np.log10([e.stf.m0 for e in events]) - 9.1)
    assert np.allclose(mw_from_m0, [e.stf.mw for e in events], atol=0.02)


def test_cmt_moment_tensor_in_newton_metres(events) -> None:
    # Global CMT and SCARDEC moments of the same events agree within a factor of 3
    ratios = np.array([e.cmt.m0 / e.stf.m0 for e in events])
    assert np.all((ratios > 1 / 3) & (ratios < 3))
    assert abs(np.log10(np.median(ratios))) < 0.1


def test_origin_is_the_hypocentre(events) -> None:
    tohoku = next(e for e in events if e.event_id == "scardec_20110311_054624")
    origin = tohoku.origin()
    assert origin.time.startswith("2011-03-11T05:46:2")
    assert origin.latitude == pytest.approx(38.32)
    assert origin.longitude == pytest.approx(142.37)
    assert origin.depth_km == pytest.approx(24.4)
    assert origin.magnitude > 8.9
    assert set(origin.moment_tensor) == {"Mrr", "Mtt", "Mpp", "Mrt", "Mrp", "Mtp"}


def test_malformed_files_raise_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "fctoptsource_x"
    bad.write_text("1993 01 15 11 06 05.0 43.3\n103. 3e20 7.5 1 2 3 4 5 6\n0 0\n1 1\n")
    with pytest.raises(ScardecError, match="origin line needs 8 numbers"):
        read_stf(bad)
    cmt = tmp_path / "CMTSOLUTION"
    cmt.write_text(" PDE 1993  1 15 11  6  5.00  43.4  143.26 100.0 0.0 7.1 X\nevent name: A\n")
    with pytest.raises(ScardecError, match="missing fields"):
        read_cmtsolution(cmt)
