"""Bounds on incoming messages and the ingest's stream clock (no broker)."""

from __future__ import annotations

import base64
import time
import tracemalloc
import zlib

import numpy as np
import pytest
from pydantic import ValidationError

from services.schemas import BinaryArray, OriginMessage, RawRecord, inflate
from symae.data.events import scalar_moment
from tests.services.ingest.test_processor import GOA, make, msg, reasons
from tests.services.ingest.test_processor import records as _records_fixture

records = _records_fixture  # the module fixture of the processor tests

ORIGIN = dict(
    event_id="e1", time="2024-01-01T00:00:00Z", latitude=1.0, longitude=2.0, depth_km=10.0
)


def test_out_of_range_optional_fields_are_dropped_required_ones_refused() -> None:
    o = OriginMessage.model_validate({**ORIGIN, "magnitude": 1e6})
    assert o.magnitude is None
    assert OriginMessage.model_validate({**ORIGIN, "magnitude": 7.5}).magnitude == 7.5
    o = OriginMessage.model_validate({**ORIGIN, "moment_tensor": {"Mrr": 1e300, "Mtt": 1.0}})
    assert o.moment_tensor is None
    for bad in ({"latitude": 91}, {"longitude": -200}, {"depth_km": 1e4}):
        with pytest.raises(ValidationError):
            OriginMessage.model_validate({**ORIGIN, **bad})
    with pytest.raises(ValidationError):
        OriginMessage.model_validate_json(
            '{"event_id":"e","time":"2024-01-01T00:00:00Z","latitude":NaN,'
            '"longitude":0,"depth_km":1}'
        )


def test_sampling_rate_and_npts_are_bounded() -> None:
    samples = BinaryArray.from_numpy(np.zeros(10, np.int32))
    base = dict(
        event_id="e", seed_id="XX.ABC..BHZ", starttime="2024-01-01T00:00:00Z", samples=samples
    )
    for rate in (0, -1, 1e9):
        with pytest.raises(ValidationError):
            RawRecord.model_validate({**base, "sampling_rate": rate})
    with pytest.raises(ValidationError):
        BinaryArray(dtype="int32", shape=[1 << 40], data="")


def test_magnitude_1e6_does_not_overflow_the_moment() -> None:
    assert scalar_moment(1e6) is None and scalar_moment(-1e6) is None
    assert scalar_moment(8.0) == pytest.approx(10**21.1)


def test_zlib_bomb_is_not_inflated_in_full() -> None:
    bomb = zlib.compress(b"\0" * (200 * 1024 * 1024), 9)  # ~200 kB -> 200 MB
    assert len(bomb) < 250_000
    arr = BinaryArray(
        dtype="int32", shape=[1000], compression="zlib", data=base64.b64encode(bomb).decode()
    )
    tracemalloc.start()
    with pytest.raises(ValueError, match="inflates past"):
        arr.to_numpy()
    record = RawRecord(
        event_id="e",
        seed_id="XX.ABC..BHZ",
        starttime="2024-01-01T00:00:00Z",
        sampling_rate=20,
        samples=BinaryArray.from_numpy(np.zeros(4, np.int32)),
        stationxml=base64.b64encode(bomb).decode(),
    )
    with pytest.raises(ValueError, match="inflates past"):
        record.stationxml_bytes(1 << 20)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20 * 1024 * 1024, peak
    assert inflate(zlib.compress(b"abc"), 3) == b"abc"


def test_a_back_dated_origin_is_not_closed_at_once(records) -> None:
    processor, _ = make()
    now = time.time()
    processor.handle(msg("origins", 0, GOA, now - 7200))  # stamped 2 h in the past
    processor.handle(msg("waveforms.raw", 1, records["BHZ"], now - 7200))
    assert processor.tick(now) == [] and "goa2018" in processor.events  # close is 600 s
    out = processor.tick(now + 601)
    assert "goa2018" not in processor.events and out  # closed, its trace sent


def test_back_dated_records_read_before_their_origin_are_kept(records) -> None:
    """Records stamped 2 h ago, read live before their origin on a partition whose stream
    time has caught up with the wall clock, are not taken for re-reads of a closed event:
    they wait for the origin and end in its bundle (none skipped)."""
    processor, _ = make(min_traces=1)
    now = time.time()
    stamp = now - 7200
    processor.handle(msg("waveforms.raw", 1, records["BHZ"], stamp))
    processor.tick(now)  # no backlog: the partition's stream time is now
    assert processor.handle(msg("waveforms.raw", 2, records["BHE"], stamp)) == []  # waits
    attached = processor.handle(msg("origins", 3, GOA, stamp))
    # the vertical record is the event's trace, the horizontal one a dead letter: both seen
    assert [o.value.reason.value for o in attached] == ["wrong_component"]
    (bundle,) = processor.tick(now + 1)
    assert bundle.value.n_traces == 1


def test_an_event_due_to_close_waits_while_its_records_still_come(records) -> None:
    """An event closes once its close time has passed and none of its records came for
    close_quiet_s of wall time, with every record in its final bundle."""
    wall = [time.time()]
    processor, _ = make(clock=lambda: wall[0], close_quiet_s=5.0)
    processor.handle(msg("origins", 0, GOA, wall[0]))
    wall[0] += 600  # the close time, and a record still comes
    processor.handle(msg("waveforms.raw", 1, records["BHZ"], wall[0]))
    assert not any(o.value.final for o in processor.tick(wall[0] + 1))
    assert "goa2018" in processor.events
    (final,) = [o for o in processor.tick(wall[0] + 5) if o.value.final]
    assert final.value.provenance["ingest"]["records"] == 1
    assert "goa2018" not in processor.events


def test_a_future_timestamp_cannot_keep_an_event_open(records) -> None:
    processor, _ = make(clock_skew_s=60)
    now = time.time()
    processor.handle(msg("origins", 0, GOA, now + 10 * 365 * 86400))  # a year-ahead clock
    processor.tick(now)
    assert "goa2018" in processor.events
    processor.tick(now + 600 + 61)
    assert "goa2018" not in processor.events and processor.retained() == {}


def test_records_on_two_partitions_are_both_retained(records) -> None:
    from dataclasses import replace

    processor, _ = make()
    now = time.time()
    processor.handle(msg("origins", 0, GOA, now))
    processor.handle(replace(msg("waveforms.raw", 7, records["BHZ"], now), partition=0))
    processor.handle(replace(msg("waveforms.raw", 3, records["BHE"], now), partition=1))
    held = processor.retained()
    assert held[("waveforms.raw", 0)] == 7 and held[("waveforms.raw", 1)] == 3


def test_records_waiting_for_an_origin_are_capped(records) -> None:
    size = len(records["BHZ"].model_dump_json())
    processor, _ = make(max_pending_bytes_per_event=size + 10)
    now = time.time()
    assert processor.handle(msg("waveforms.raw", 0, records["BHZ"], now)) == []
    out = processor.handle(msg("waveforms.raw", 1, records["BHE"], now))
    assert reasons(out) == ["over_capacity"]
