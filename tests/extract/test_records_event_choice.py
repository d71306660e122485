"""Choosing one event of a multi-event QuakeML file for ``symae extract``."""

from __future__ import annotations

from pathlib import Path

import pytest
from obspy import UTCDateTime
from obspy.core.event import Catalog, Event, Origin, ResourceIdentifier

from symae.extract.records import origin_from_event_file


def _event(event_id: str, hours: float) -> Event:
    origin = Origin(
        time=UTCDateTime(2020, 1, 1) + 3600 * hours, latitude=10.0, longitude=20.0, depth=30_000.0
    )
    return Event(resource_id=ResourceIdentifier(f"smi:symae/event/{event_id}"), origins=[origin])


@pytest.fixture()
def two_events(tmp_path: Path) -> Path:
    path = tmp_path / "events.xml"
    Catalog(events=[_event("first", 0), _event("second", 5)]).write(str(path), format="QUAKEML")
    return path


def test_event_id_picks_one_of_several(two_events: Path) -> None:
    origin = origin_from_event_file(two_events, "second")
    assert origin.event_id == "second"
    assert origin.time.startswith("2020-01-01T05:00:00")


def test_several_events_without_a_choice_name_them(two_events: Path) -> None:
    with pytest.raises(ValueError, match=r"found 2 \(first, second\); choose one with --event-id"):
        origin_from_event_file(two_events)


def test_unknown_event_id_lists_the_known_ones(two_events: Path) -> None:
    with pytest.raises(ValueError, match=r"no event 'third' \(events: first, second\)"):
        origin_from_event_file(two_events, "third")
