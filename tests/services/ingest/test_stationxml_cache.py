"""Ingest parses each StationXML content once (bounded), and the cached path is exact."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import obspy
import pytest

from services.ingest.records import Inventories, decode_record
from services.runtime import PoisonMessage
from services.schemas import RawRecord
from symae.data.events import Origin
from symae.data.preprocess import PreprocessConfig, preprocess_trace
from symae.data.response import FILTERS

ORIGIN = Origin("gulf", "2018-01-23T09:31:40.9Z", 56.046, -149.073, 14.1, 7.9)


def document(bfo_dir: Path, created: str, station: str = "BFO") -> bytes:
    inventory = obspy.read_inventory(str(bfo_dir / "II.BFO.xml")).select(channel="BHZ")
    inventory.created = obspy.UTCDateTime(created)
    inventory[0][0].code = station
    buf = io.BytesIO()
    inventory.write(buf, format="STATIONXML")
    return buf.getvalue()


@pytest.fixture(scope="module")
def trace(bfo_dir: Path) -> obspy.Trace:
    z = obspy.read(str(bfo_dir / "*BHZ*.mseed"))[0]
    p = obspy.UTCDateTime("2018-01-23T09:43:14")
    return z.slice(p - 300, p + 300)


def test_same_content_is_parsed_once_whatever_its_packing_or_creation_time(bfo_dir, trace) -> None:
    inventories = Inventories()
    records = [
        RawRecord.from_trace("e", trace, stationxml=document(bfo_dir, "2020-01-01")),
        RawRecord.from_trace("e", trace, stationxml=document(bfo_dir, "2024-05-05")),
        RawRecord.from_trace("e", trace, stationxml=document(bfo_dir, "2020-01-01"), compress=True),
    ]
    assert records[0].stationxml != records[1].stationxml != records[2].stationxml
    parsed = [inventories.for_record(r) for r in records]
    assert inventories.parsed == 1 and parsed[0] is parsed[1] is parsed[2]
    other = RawRecord.from_trace("e", trace, stationxml=document(bfo_dir, "2020-01-01", "BFX"))
    assert inventories.for_record(other) is not parsed[0] and inventories.parsed == 2


def test_the_parsed_documents_are_a_bounded_lru(bfo_dir, trace) -> None:
    inventories = Inventories(cache_size=2)
    docs = {s: document(bfo_dir, "2020-01-01", s) for s in ("S1", "S2", "S3")}
    for station in ("S1", "S2", "S1", "S3", "S1", "S2"):  # S2 evicted by S3
        inventories.for_record(RawRecord.from_trace("e", trace, stationxml=docs[station]))
    assert inventories.parsed == 4


def test_records_of_a_new_event_reuse_parse_and_response_and_match_the_uncached_path(
    bfo_dir, trace
) -> None:
    """Event 1 and event 2 carry the channel in documents fetched at different times."""
    FILTERS.clear()
    inventories = Inventories()
    config = PreprocessConfig()
    out = []
    for event, created in (("e1", "2020-01-01"), ("e2", "2020-02-02")):
        record = RawRecord.from_trace(event, trace, stationxml=document(bfo_dir, created))
        inventory = inventories.for_record(record)
        out.append(preprocess_trace(decode_record(record, 10**6), inventory, ORIGIN, config))
    assert inventories.parsed == 1 and (FILTERS.hits, FILTERS.misses) == (1, 1)
    # the uncached path: a fresh parse, an empty response cache
    FILTERS.clear()
    fresh = obspy.read_inventory(io.BytesIO(document(bfo_dir, "2021-03-03")), format="STATIONXML")
    uncached = preprocess_trace(trace.copy(), fresh, ORIGIN, config)
    assert FILTERS.misses == 1
    for got in out:
        np.testing.assert_array_equal(got.data, uncached.data)
        assert (got.p_time, got.snr, got.pixel) == (uncached.p_time, uncached.snr, uncached.pixel)


def test_a_stationxml_that_does_not_inflate_is_undecodable(trace) -> None:
    record = RawRecord.from_trace("e", trace).model_copy(update={"stationxml": "bm90IHpsaWI="})
    with pytest.raises(PoisonMessage) as err:
        Inventories().for_record(record)
    assert err.value.reason.value == "undecodable"
