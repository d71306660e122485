"""TauP arrival table, event files -> origins, and their ids."""

from __future__ import annotations

import numpy as np
import obspy
import pytest
from obspy.core.event import Catalog, Event, Origin, ResourceIdentifier

from symae.data.arrivals import ArrivalTable
from symae.data.events import event_id_of, read_origins

from .conftest import EVENT_DIR


def test_interpolated_arrivals_match_exact_ones():
    table = ArrivalTable("iasp91", "P", 0.5)
    rng = np.random.default_rng(1)
    for depth, dist in zip(rng.uniform(0, 650, 8), rng.uniform(30, 90, 8), strict=True):
        exact, grid = table.exact(depth, dist), table(depth, dist)
        assert grid.time == pytest.approx(exact.time, abs=0.005)
        assert grid.takeoff_deg == pytest.approx(exact.takeoff_deg, abs=0.05)


def test_arrival_physics():
    table = ArrivalTable("iasp91", "P", 0.5)
    near, far = table(33.0, 30.0), table(33.0, 90.0)
    assert near.time < far.time and near.takeoff_deg > far.takeoff_deg
    assert table(33.0, 120.0) is None  # core shadow: no direct P
    with pytest.raises(ValueError, match="unknown TauP model"):
        ArrivalTable("no_such_model")


def test_cmtsolution_gives_the_hypocentre(scardec_root):
    [origin] = read_origins(scardec_root / EVENT_DIR / "CMTSOLUTION")
    assert origin.event_id == "C201801230931A"
    assert origin.time.startswith("2018-01-23T09:31:40.9")  # hypocentre, not the centroid
    assert origin.depth_km == pytest.approx(14.1)
    assert origin.moment_tensor["Mtp"] == pytest.approx(7.91e20)  # dyne cm -> N m


def test_quakeml_with_several_events_round_trips(tmp_path):
    catalog = Catalog()
    for i, t in enumerate(["2020-01-02T00:00:00", "2020-01-01T00:00:00"]):
        ev = Event(resource_id=ResourceIdentifier(f"smi:symae/event/syn_{i:03d}"))
        ev.origins.append(Origin(time=obspy.UTCDateTime(t), latitude=i, longitude=10.0, depth=5e4))
        catalog.append(ev)
    path = tmp_path / "events.xml"
    catalog.write(str(path), format="QUAKEML")
    origins = read_origins(path)
    assert [o.event_id for o in origins] == ["syn_001", "syn_000"]  # time order
    assert origins[0].depth_km == pytest.approx(50.0)


def test_event_ids():
    ev = Event(
        resource_id=ResourceIdentifier("smi:service.iris.edu/fdsnws/event/1/query?eventid=123")
    )
    assert event_id_of(ev) == "123"
    ev = Event(resource_id=ResourceIdentifier("quakeml:us.anss.org/event/us 1000/x"))
    assert event_id_of(ev) == "x"
    ev = Event(resource_id=ResourceIdentifier("quakeml:us.anss.org/event/us 1000"))
    assert event_id_of(ev) == "us_1000"


def test_unreadable_event_file(tmp_path):
    path = tmp_path / "junk.xml"
    path.write_text("not an event file")
    with pytest.raises(ValueError, match="cannot read events"):
        read_origins(path)
