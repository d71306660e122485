"""Chaos: every service is killed (-9) twice, at random moments of a 25-event replay,
and restarted. Every event is published with its latest revision, and every record is
accounted for: in that revision or in the dead-letter topic (0 lost)."""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest

from services.schemas import BundleMessage, DeadLetter
from tests.services.conftest import read_topic

from .stack import Stack, events

pytestmark = [pytest.mark.chaos, pytest.mark.kafka, pytest.mark.slow]

N_EVENTS = 25
SEED = 20261201


def accounted(stack: Stack, evs) -> dict[str, tuple[int, int, int]]:
    """event id -> (records sent, newest bundle revision, records dead-lettered)."""
    bundles = read_topic(stack.bootstrap, f"{stack.prefix}.bundles", until=1, timeout=10)
    newest: dict[str, int] = defaultdict(int)
    for r in bundles:
        b = BundleMessage.model_validate_json(r.value)
        newest[b.event_id] = max(newest[b.event_id], b.revision)
    letters = read_topic(stack.bootstrap, f"{stack.prefix}.dlq", until=0, timeout=5)
    refused: dict[str, set[tuple[int, int]]] = defaultdict(set)
    for r in letters:
        d = DeadLetter.model_validate_json(r.value)
        refused[d.key or ""].add((d.partition, d.offset))
    return {
        e.origin.event_id: (
            len(e.records),
            newest[e.origin.event_id],
            len(refused[e.origin.event_id]),
        )
        for e in evs
    }


def test_kill_each_service_twice_during_a_replay(
    tmp_path: Path, kafka_bootstrap: str, tiny_model: Path
) -> None:
    rng = random.Random(SEED)
    stack = Stack(tmp_path, kafka_bootstrap, tiny_model)
    evs = events(N_EVENTS, "kill")
    kills = sorted(
        (rng.uniform(2.0, 24.0), name)
        for name in ("ingest", "inference", "publish")
        for _ in range(2)
    )
    try:
        stack.start()
        done = threading.Event()
        summary = {}

        def run_replay() -> None:
            summary["s"] = stack.replay(evs, speed=300.0, interval_s=1.0)
            done.set()

        replayer = threading.Thread(target=run_replay, daemon=True)
        started = time.monotonic()
        replayer.start()
        for at, name in kills:
            time.sleep(max(0.0, at - (time.monotonic() - started)))
            stack.procs[name].kill9()
            stack.restart(name, wait=False)
        replayer.join(timeout=180)
        assert done.is_set(), "replay did not finish"
        for svc in stack.procs.values():
            svc.wait_ready(timeout=90)
        ids = {e.origin.event_id for e in evs}
        took = stack.wait_published(ids, timeout=240)
        # settle: the published revision of every event is its newest bundle revision
        deadline = time.monotonic() + 120
        while True:
            table = accounted(stack, evs)
            published = stack.published()
            if all(published.get(k) == rev for k, (_, rev, _) in table.items()):
                break
            assert time.monotonic() < deadline, (table, published, stack.logs())
            time.sleep(2)
        lost = {k: v for k, v in table.items() if v[0] != v[1] + v[2]}
        assert not lost, (lost, stack.logs())
        assert len(published) == N_EVENTS
        print(
            f"\nkills at {[(round(t, 1), n) for t, n in kills]}: {len(published)}/{N_EVENTS} "
            f"published ({took:.0f} s after the replay), 0 lost, "
            f"{sum(v[2] for v in table.values())} records refused by preprocessing"
        )
        codes = stack.stop()
        assert set(codes.values()) == {0}, (codes, stack.logs())
    finally:
        stack.kill()
