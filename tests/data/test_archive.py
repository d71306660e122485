"""The archive store: day shards in the data-set format, re-delivery skipped, retention."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from symae.data.archive import (
    ArchiveError,
    ArchiveStore,
    archived_events,
    list_shards,
    local_root,
)
from symae.data.dataset import Dataset
from tests.services.conftest import random_bundle


class Clock:
    def __init__(self, when: datetime) -> None:
        self.when = when

    def __call__(self) -> datetime:
        return self.when


def _write(store: ArchiveStore, event_id: str, seed: int, revision: int | None = None):
    bundle = random_bundle(event_id, seed)
    return store.write(bundle.to_event_data(), bundle.data_contract(), revision or bundle.revision)


def test_events_go_to_the_shard_of_their_day_and_read_back(tmp_path: Path) -> None:
    clock = Clock(datetime(2024, 5, 6, 12, tzinfo=UTC))
    store = ArchiveStore(f"file://{tmp_path}", max_bytes=10**9, max_days=30, clock=clock)
    assert _write(store, "ev1", 1).shard == tmp_path / "2024" / "05" / "06.h5"
    _write(store, "ev2", 2)
    clock.when = datetime(2024, 5, 7, 1, tzinfo=UTC)
    _write(store, "ev3", 3)
    assert [p.relative_to(tmp_path).as_posix() for p in list_shards(tmp_path)] == [
        "2024/05/06.h5",
        "2024/05/07.h5",
    ]
    with Dataset(list_shards(tmp_path)) as ds:
        assert ds.event_ids() == ["ev1", "ev2", "ev3"]
        assert ds.event("ev1").provenance["revision"] == 12
    assert set(archived_events(tmp_path)) == {"ev1", "ev2", "ev3"}


def test_a_redelivered_revision_is_skipped_and_a_newer_one_replaces(tmp_path: Path) -> None:
    clock = Clock(datetime(2024, 5, 6, tzinfo=UTC))
    store = ArchiveStore(tmp_path, max_bytes=10**9, max_days=30, clock=clock)
    assert _write(store, "ev1", 1).shard is not None
    assert _write(store, "ev1", 1).shard is None  # same revision again
    assert ArchiveStore(tmp_path, 10**9, 30, clock=clock).archived_revision("ev1") == 12
    assert _write(store, "ev1", 1, revision=20).shard is not None
    assert archived_events(tmp_path)["ev1"][1] == 12  # the bundle's provenance revision
    assert store.archived_revision("ev1") == 20


def test_retention_deletes_old_days_then_the_oldest_beyond_the_size(tmp_path: Path) -> None:
    clock = Clock(datetime(2024, 1, 1, tzinfo=UTC))
    store = ArchiveStore(tmp_path, max_bytes=10**9, max_days=3, clock=clock)
    for day in range(1, 6):
        clock.when = datetime(2024, 1, day, tzinfo=UTC)
        _write(store, f"ev{day}", day)
    days = [p.stem for p in list_shards(tmp_path)]
    assert days == ["02", "03", "04", "05"]  # 2024-01-01 is more than 3 days before the 5th
    one = list_shards(tmp_path)[-1].stat().st_size
    store.max_bytes = int(2.5 * one)
    clock.when = datetime(2024, 1, 6, tzinfo=UTC)
    written = _write(store, "ev6", 6)
    assert [p.stem for p in list_shards(tmp_path)] == ["05", "06"]
    assert len(written.deleted) == 3
    assert set(store.index) == {"ev5", "ev6"}


def test_object_store_urls_are_refused_in_one_line() -> None:
    with pytest.raises(ArchiveError, match="fsspec"):
        local_root("s3://bucket/archive")
    assert local_root("file:///data/archive") == Path("/data/archive")
