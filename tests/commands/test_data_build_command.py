"""``symae data build`` end to end on a small crafted set of real and broken files."""

from __future__ import annotations

import csv

import numpy as np
import obspy
import pytest
from obspy.core.event import Catalog, Event, Magnitude, Origin, ResourceIdentifier

from symae.cli import main
from symae.data.dataset import Dataset

P_TIME = obspy.UTCDateTime("2018-01-23T09:43:13.9")


@pytest.fixture
def crafted(tmp_path, bfo_stream, bfo_inventory, gulf_origin):
    """Waveform folder, StationXML and a two-event QuakeML; returns their paths."""
    wave = tmp_path / "waveforms"
    wave.mkdir()
    z = bfo_stream.select(component="Z")[0]
    ten = z.slice(P_TIME - 300, P_TIME + 300).copy()
    ten.write(str(wave / "good.mseed"), format="MSEED")
    twin = ten.copy()
    twin.stats.station = "BFW"
    twin.write(str(wave / "twin.sac"), format="SAC")
    bfo_stream.select(component="N")[0].slice(P_TIME - 300, P_TIME + 300).write(
        str(wave / "north.mseed"), format="MSEED"
    )
    (wave / "junk.mseed").write_bytes(b"this is not a seismogram" * 40)
    stranger = ten.copy()
    stranger.stats.station = "ZZZ"
    stranger.write(str(wave / "stranger.mseed"), format="MSEED")
    gap = obspy.Stream(
        [ten.slice(P_TIME - 300, P_TIME), ten.slice(P_TIME + 30, P_TIME + 300)]
    ).copy()
    for tr in gap:
        tr.stats.station = "BFX"
    gap.write(str(wave / "gap.mseed"), format="MSEED")
    flat = ten.copy()
    flat.stats.station = "BFY"
    flat.data = np.zeros_like(flat.data)
    flat.write(str(wave / "flat.mseed"), format="MSEED")
    z.slice(P_TIME + 2400, P_TIME + 3000).write(str(wave / "late.mseed"), format="MSEED")

    inventory = bfo_inventory.copy()
    for code in ("BFW", "BFX", "BFY"):
        station = inventory[0][0].copy()
        station.code = code
        inventory[0].stations.append(station)
    inv_path = tmp_path / "stations.xml"
    inventory.write(str(inv_path), format="STATIONXML")

    catalog = Catalog()
    for name, time in (("gulf2018", gulf_origin.time), ("nothing", "2018-01-24T12:00:00Z")):
        ev = Event(resource_id=ResourceIdentifier(f"smi:symae/event/{name}"))
        ev.origins.append(
            Origin(
                time=obspy.UTCDateTime(time),
                latitude=gulf_origin.latitude,
                longitude=gulf_origin.longitude,
                depth=gulf_origin.depth_km * 1e3,
            )
        )
        ev.magnitudes.append(Magnitude(mag=7.9, magnitude_type="Mw"))
        catalog.append(ev)
    events = tmp_path / "events.xml"
    catalog.write(str(events), format="QUAKEML")
    return wave, inv_path, events


def test_build_end_to_end(tmp_path, crafted, capsys):
    wave, inv_path, events = crafted
    out, rej = tmp_path / "set.h5", tmp_path / "rejections.csv"
    args = [
        "data",
        "build",
        "--waveforms",
        str(wave),
        "--inventory",
        str(inv_path),
        "--events",
        str(events),
        "--out",
        str(out),
        "--rejections",
        str(rej),
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    with open(rej) as f:
        rows = list(csv.DictReader(f))
    reasons = sorted((r["source"].rsplit("/", 1)[-1], r["reason"]) for r in rows)
    assert reasons == [
        ("II.BFO.00.BHN", "wrong_component"),
        ("II.BFO.00.BHZ", "too_short"),  # late.mseed: covers no event's P window
        ("II.BFX.00.BHZ", "gap"),
        ("II.BFY.00.BHZ", "flat"),
        ("II.ZZZ.00.BHZ", "unknown_station"),
        ("junk.mseed", "unreadable"),
    ]
    assert "unreadable       1" in printed and "events written: 1, skipped: 1" in printed
    assert "nothing: no trace accepted" in printed
    with Dataset(out) as ds:
        assert ds.event_ids() == ["gulf2018"]
        event = ds.event("gulf2018")
        [group] = event.groups.values()
        assert sorted(group.station_id) == ["II.BFO.00.BHZ", "II.BFW.00.BHZ"]
        assert np.corrcoef(group.traces)[0, 1] > 0.9999  # same record through mseed and SAC
        assert event.provenance["rejections"]["gap"] == 1
        assert event.provenance["preprocess"]["contract"]["nt"] == 192
        assert ds.provenance()["sources"]["events"] == str(events)
        assert event.origin.magnitude == pytest.approx(7.9)

    # again: the event is already there and is skipped, nothing is rewritten
    assert main(args) == 0
    assert "gulf2018: already in" in capsys.readouterr().out


def test_build_reports_bad_inputs(tmp_path, crafted, capsys):
    wave, inv_path, events = crafted
    junk = tmp_path / "junk.xml"
    junk.write_text("<nope/>")
    base = ["data", "build", "--waveforms", str(wave), "--out", str(tmp_path / "x.h5")]
    assert main(base + ["--inventory", str(junk), "--events", str(events)]) == 2
    assert "cannot read inventory" in capsys.readouterr().err
    assert main(base + ["--inventory", str(inv_path), "--events", str(junk)]) == 2
    assert "cannot read events" in capsys.readouterr().err
    # every record rejected: the build says so and fails
    assert (
        main(base + ["--inventory", str(inv_path), "--events", str(events), "--snr-min", "1e6"])
        == 1
    )
    assert "no trace passed preprocessing" in capsys.readouterr().err


def test_records_are_matched_to_events_by_time(tmp_path, bfo_stream, bfo_inventory, gulf_origin):
    """Two events 23 minutes apart: each gets only the file that covers its own P window."""
    z = bfo_stream.select(component="Z")[0]
    wave = tmp_path / "w"
    wave.mkdir()
    second_p = P_TIME + 23 * 60
    z.slice(P_TIME - 300, P_TIME + 300).write(str(wave / "first.mseed"), format="MSEED")
    z.slice(second_p - 300, second_p + 300).write(str(wave / "second.mseed"), format="MSEED")
    inv_path = tmp_path / "bfo.xml"
    bfo_inventory.write(str(inv_path), format="STATIONXML")
    catalog = Catalog()
    for name, shift in (("first", 0), ("second", 23 * 60)):
        ev = Event(resource_id=ResourceIdentifier(f"smi:symae/event/{name}"))
        ev.origins.append(
            Origin(
                time=obspy.UTCDateTime(gulf_origin.time) + shift,
                latitude=gulf_origin.latitude,
                longitude=gulf_origin.longitude,
                depth=gulf_origin.depth_km * 1e3,
            )
        )
        catalog.append(ev)
    events = tmp_path / "two.xml"
    catalog.write(str(events), format="QUAKEML")
    out = tmp_path / "two.h5"
    main(
        [
            "data",
            "build",
            "--waveforms",
            str(wave),
            "--inventory",
            str(inv_path),
            "--events",
            str(events),
            "--out",
            str(out),
            "--snr-min",
            "0",
        ]
    )
    with Dataset(out) as ds:
        assert ds.event_ids() == ["first", "second"]
        for name in ("first", "second"):
            event = ds.event(name)
            assert [p.rsplit("/", 1)[-1] for p in event.provenance["files"]] == [f"{name}.mseed"]
            [group] = event.groups.values()
            assert group.fields["p_time"][0] == pytest.approx(
                (P_TIME if name == "first" else second_p).timestamp, abs=1.0
            )
