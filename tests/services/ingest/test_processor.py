"""The ingest processor's state machine on a real record, without a broker.

The real II.BFO record of the 2018 Gulf of Alaska earthquake is fed as messages; the
processor runs inside an unstarted ServiceApp (which only builds dead letters and
holds the metrics here).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from obspy import UTCDateTime, read

from services.ingest.processor import IngestProcessor
from services.ingest.records import Inventories
from services.ingest.settings import IngestSettings
from services.runtime import Incoming, ServiceApp
from services.schemas import BundleMessage, DeadLetter, OriginMessage, RawRecord
from symae.artifacts.config import ModelConfig, TrainConfig
from symae.artifacts.store import write_model_json
from symae.contract import DataContract

GOA = OriginMessage(
    event_id="goa2018",
    time=UTCDateTime("2018-01-23T09:31:40.890Z").datetime,
    latitude=56.22,
    longitude=-149.12,
    depth_km=25.0,
    magnitude=7.9,
)


@pytest.fixture(scope="module")
def records(bfo_dir: Path) -> dict[str, RawRecord]:
    xml = (bfo_dir / "II.BFO.xml").read_bytes()
    out = {}
    for path in sorted(bfo_dir.glob("*.mseed")):
        trace = read(str(path))[0]
        out[trace.stats.channel] = RawRecord.from_trace("goa2018", trace, stationxml=xml)
    return out


def make(
    clock=time.time, min_traces: int = 2, **settings: object
) -> tuple[IngestProcessor, ServiceApp]:
    config = IngestSettings(
        kafka_bootstrap_servers="127.0.0.1:1",
        min_traces=min_traces,
        min_pixels=1,
        ready_deadline_s=1e6,
        revision_interval_s=0,
        event_close_s=600,
        unknown_event_grace_s=30,
        **settings,
    )
    processor = IngestProcessor(config, Inventories(), clock=clock)
    app = ServiceApp("ingest", config, processor)
    processor.start(app)
    return processor, app


def msg(topic: str, offset: int, value: OriginMessage | RawRecord, at: float) -> Incoming:
    raw = value.model_dump_json().encode()
    return Incoming(
        topic=topic,
        partition=0,
        offset=offset,
        key=value.event_id,
        value=value,
        timestamp=at,
        raw=raw,
        full_topic=f"symae.{topic}",
    )


def reasons(outputs) -> list[str]:
    return [o.value.reason for o in outputs if isinstance(o.value, DeadLetter)]


def test_record_waits_for_its_origin_then_counts(records: dict[str, RawRecord]) -> None:
    processor, _ = make()
    now = time.time()
    assert processor.handle(msg("waveforms.raw", 5, records["BHZ"], now)) == []
    assert processor.retained() == {("waveforms.raw", 0): 5}  # held while waiting
    assert processor.handle(msg("origins", 3, GOA, now)) == []
    event = processor.events["goa2018"]
    assert list(event.traces) == ["II.BFO.00.BHZ"]
    assert processor.retained() == {("origins", 0): 3, ("waveforms.raw", 0): 5}


def test_refusals_and_duplicates(records: dict[str, RawRecord]) -> None:
    processor, app = make()
    now = time.time()
    processor.handle(msg("origins", 0, GOA, now))
    out = processor.handle(msg("waveforms.raw", 1, records["BHN"], now))
    assert reasons(out) == ["wrong_component"]
    assert out[0].value.where == "symae.waveforms.raw[0]@1"
    assert processor.handle(msg("waveforms.raw", 2, records["BHZ"], now)) == []
    assert processor.handle(msg("waveforms.raw", 3, records["BHZ"], now)) == []  # duplicate
    assert 'reason="duplicate",service="ingest"} 1.0' in app.metrics.exposition().decode()
    assert processor.events["goa2018"].n_records == 2


def test_unknown_event_after_the_grace_period(records: dict[str, RawRecord]) -> None:
    processor, _ = make()
    now = time.time()
    processor.handle(msg("waveforms.raw", 0, records["BHZ"], now))
    assert processor.tick(now + 29) == []
    out = processor.tick(now + 31)
    assert reasons(out) == ["unknown_event"] and "goa2018" in out[0].value.detail
    assert processor.pending == {} and processor.retained() == {}


def test_closing_sends_unsent_traces_then_late_records_are_refused(
    records: dict[str, RawRecord],
) -> None:
    processor, _ = make()
    now = time.time()
    processor.handle(msg("origins", 0, GOA, now))
    processor.handle(msg("waveforms.raw", 1, records["BHZ"], now))
    assert processor.tick(now + 10) == []  # one trace, two needed, deadline far away
    out = processor.tick(now + 601)  # closing
    bundles = [o.value for o in out if isinstance(o.value, BundleMessage)]
    assert [(b.event_id, b.revision, b.final) for b in bundles] == [("goa2018", 1, True)]
    assert bundles[0].pixels[0].station_id == ["II.BFO.00.BHZ"]
    assert processor.events == {} and processor.retained() == {}
    late = processor.handle(msg("waveforms.raw", 2, records["BHE"], now + 602))
    assert reasons(late) == ["late"]


def test_quiet_revision_then_a_final_one_when_the_event_closes(
    records: dict[str, RawRecord],
) -> None:
    now = time.time()
    clock = [now]
    processor, _ = make(clock=lambda: clock[0], min_traces=1, revision_quiet_s=0.5)
    processor.handle(msg("origins", 0, GOA, now))
    processor.handle(msg("waveforms.raw", 1, records["BHZ"], now))  # accepted at `now`
    assert processor.tick(now + 0.4) == []  # not quiet for 0.5 s yet
    out = processor.tick(now + 0.5)
    assert [(o.value.revision, o.value.final) for o in out] == [(1, False)]
    assert processor.tick(now + 100) == []  # nothing new
    out = processor.tick(now + 601)  # closing: the same traces again, marked final
    assert [(o.value.revision, o.value.final) for o in out] == [(1, True)]


SHORT = DataContract(cut_start=50, nt=96)


def short_model(root: Path) -> Path:
    """A model directory (model.json only, torch-free) whose contract is not the default."""
    model_dir = root / "short"
    model_dir.mkdir()
    write_model_json(
        model_dir,
        {
            "name": "short",
            "version": "v1",
            "created": "2026-01-01T00:00:00Z",
            "model": ModelConfig(SHORT, p=4, q=4).to_dict(with_contract=False),
            "train": TrainConfig().to_dict(),
            "contract": SHORT.to_dict(),
        },
    )
    return model_dir


def test_preprocessing_follows_the_served_models_contract(
    records: dict[str, RawRecord], tmp_path: Path
) -> None:
    processor, _ = make(model=str(short_model(tmp_path)))
    assert processor.config.contract == SHORT
    now = time.time()
    processor.handle(msg("origins", 0, GOA, now))
    assert processor.handle(msg("waveforms.raw", 1, records["BHZ"], now)) == []
    assert processor.events["goa2018"].traces["II.BFO.00.BHZ"].data.shape == (96,)
    out = processor.tick(now + 2e6)
    bundles = [o.value for o in out if isinstance(o.value, BundleMessage)]
    assert len(bundles) == 1 and bundles[0].data_contract() == SHORT
    assert bundles[0].to_event_data().groups  # traces fit the contract they carry


def test_default_served_model_gives_the_default_contract() -> None:
    processor, _ = make()
    assert processor.config.contract == DataContract()
