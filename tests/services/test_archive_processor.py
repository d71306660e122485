"""The archiver's processor without Kafka: a final bundle is written at once, an earlier
revision after the quiet period, an older revision delivered late never replaces it."""

from __future__ import annotations

import time

from services.archive.processor import ArchiveProcessor
from services.runtime import Incoming
from symae.data.archive import ArchiveStore
from tests.services.conftest import random_bundle


def incoming(bundle, offset: int) -> Incoming:
    raw = bundle.model_dump_json().encode()
    return Incoming("bundles", 0, offset, bundle.event_id, bundle, 0.0, raw)


def test_final_bundle_written_at_once_earlier_ones_after_the_quiet_period(tmp_path) -> None:
    store = ArchiveStore(tmp_path / "archive", max_bytes=10**9, max_days=30)
    proc = ArchiveProcessor(store, quiet_s=3600.0)
    early = random_bundle("ev1", seed=1)
    proc.handle(incoming(early, 1))
    proc.tick(time.time())
    assert store.archived_revision("ev1") is None and proc.retained()  # still quiet-waiting
    proc.handle(incoming(early.model_copy(update={"final": True}), 2))
    assert store.archived_revision("ev1") == early.revision and not proc.retained()
    other = random_bundle("ev2", seed=2)
    proc.handle(incoming(other, 3))
    proc.tick(time.time() + 3601.0)
    assert store.archived_revision("ev2") == other.revision
