"""Replay: real-file folders, pacing order, and the command against the real broker."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from obspy import UTCDateTime, read_inventory
from obspy.core.event import Catalog, Event, Magnitude, Origin, ResourceIdentifier

from services.devtools.replay import ReplayEvent, directory_event, schedule
from services.schemas import BinaryArray, OriginMessage, RawRecord
from symae.data.preprocess import preprocess_trace
from symae.data.reference import REPO_ROOT
from tests.services.conftest import read_topic, unique_prefix

GOA_TIME = "2018-01-23T09:31:40.890Z"  # Gulf of Alaska Mw 7.9 (SCARDEC folder)


@pytest.fixture
def real_folder(bfo_dir: Path, tmp_path: Path) -> Path:
    """The shipped II.BFO records and StationXML plus a QuakeML of the event."""
    folder = tmp_path / "goa"
    shutil.copytree(bfo_dir, folder)
    origin = Origin(time=UTCDateTime(GOA_TIME), latitude=56.22, longitude=-149.12, depth=25000.0)
    event = Event(
        resource_id=ResourceIdentifier("smi:local/test/event/goa2018"),
        origins=[origin],
        magnitudes=[Magnitude(mag=7.9, magnitude_type="Mw")],
    )
    Catalog(events=[event]).write(str(folder / "event.xml"), format="QUAKEML")
    return folder


def test_real_folder_becomes_origin_and_records_ingest_can_use(real_folder: Path) -> None:
    event = directory_event(real_folder)
    assert event.origin.event_id == "goa2018"
    assert event.origin.magnitude == 7.9 and event.origin.depth_km == 25.0
    assert sorted(r.seed_id for r in event.records) == [
        "II.BFO.00.BHE",
        "II.BFO.00.BHN",
        "II.BFO.00.BHZ",
    ]
    # records end 10:36:40, 65 minutes after the origin time
    assert all(abs(t - 65 * 60 + 0.89) < 1 for t in event.ready_after_s)
    z = next(
        RawRecord.model_validate_json(r.model_dump_json())
        for r in event.records
        if r.seed_id.endswith("Z")
    )
    inventory = read_inventory(io.BytesIO(z.stationxml_bytes()))
    trace = preprocess_trace(z.to_trace(), inventory, event.origin.to_origin())
    assert trace.station_id == "II.BFO.00.BHZ" and 60 < trace.distance_deg < 90


def test_bundled_real_event_folder_is_read_with_its_waveforms_subfolder() -> None:
    folder = REPO_ROOT / "symae" / "reference_data" / "chile_2010-03-04"
    event = directory_event(folder)
    assert len(event.records) == 60 and event.origin.depth_km == 118.7
    assert all(r.stationxml is not None for r in event.records)


def test_folder_without_quakeml_is_refused(bfo_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "noevent"
    shutil.copytree(bfo_dir, folder, ignore=shutil.ignore_patterns("event.xml"))
    with pytest.raises(ValueError, match="expected one QuakeML event, found 0"):
        directory_event(folder)


def _event(event_id: str, ready: list[float]) -> ReplayEvent:
    origin = OriginMessage(
        event_id=event_id, time="2024-01-01T00:00:00Z", latitude=0, longitude=0, depth_km=10
    )
    samples = BinaryArray.from_numpy(np.zeros(3, np.float32))
    records = [
        RawRecord(
            event_id=event_id,
            seed_id=f"XX.S{i}.00.BHZ",
            starttime=origin.time,
            sampling_rate=1.0,
            samples=samples,
        )
        for i in range(len(ready))
    ]
    return ReplayEvent(origin, records, ready)


def test_paced_schedule_orders_by_due_time() -> None:
    a, b = _event("a", [300.0, 100.0]), _event("b", [50.0])
    plan = [
        (due, ev.origin.event_id, i) for due, ev, i in schedule([a, b], speed=10.0, interval_s=20.0)
    ]
    assert plan == [(0.0, "a", -1), (10.0, "a", 1), (20.0, "b", -1), (25.0, "b", 0), (30.0, "a", 0)]


def test_unpaced_schedule_sends_each_origin_before_its_records() -> None:
    a, b = _event("a", [300.0, 100.0]), _event("b", [50.0])
    plan = [(ev.origin.event_id, i) for _, ev, i in schedule([a, b], speed=None, interval_s=0)]
    assert plan == [("a", -1), ("a", 0), ("a", 1), ("b", -1), ("b", 0)]


@pytest.mark.kafka
def test_replay_command_publishes_synthetic_events(kafka_bootstrap: str, tmp_path: Path) -> None:
    prefix = unique_prefix()
    manifest = tmp_path / "sent.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "symae.cli",
            "replay",
            "--synthetic",
            "2",
            "--seed",
            "5",
            "--stations",
            "3",
            "--bootstrap-servers",
            kafka_bootstrap,
            "--topic-prefix",
            prefix,
            "--metrics-port",
            "0",
            "--manifest",
            str(manifest),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    sent = json.loads(manifest.read_text())
    assert sent["origins"] == 2 and sent["events"] == {"synth_s5_0000": 3, "synth_s5_0001": 3}
    origins = read_topic(kafka_bootstrap, f"{prefix}.origins", until=2)
    raw = read_topic(kafka_bootstrap, f"{prefix}.waveforms.raw", until=6)
    assert sorted(r.key for r in origins) == [b"synth_s5_0000", b"synth_s5_0001"]
    first_origin = {}
    for r in origins:
        message = OriginMessage.model_validate_json(r.value)
        assert message.truth is not None and message.truth.stf.shape == [192]
        first_origin[r.key] = r.timestamp
    for r in raw:
        record = RawRecord.model_validate_json(r.value)
        assert r.key.decode() == record.event_id
        assert r.timestamp >= first_origin[r.key]  # origin acknowledged before its records
        assert record.samples.dtype == "int32" and record.stationxml is not None
    assert len(raw) == 6
