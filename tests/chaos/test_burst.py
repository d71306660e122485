"""Chaos: a burst of ten times the warm-up load at once. Peak resident memory of every
service stays within 1.5x its idle (warmed-up) memory, every event is published and
every consumer group's lag returns to 0."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .stack import Stack, events, hwm_mb, rss_mb

pytestmark = [pytest.mark.chaos, pytest.mark.kafka, pytest.mark.slow]

WARM, BURST = 2, 20


def group_lag(stack: Stack) -> dict[str, float]:
    """``symae_consumer_lag`` summed over partitions, per service (handled, not committed:
    ingest holds the offsets of open events uncommitted by design)."""
    out = {}
    for name, svc in stack.procs.items():
        text = svc.metrics()
        out[name] = sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("symae_consumer_lag{")
        )
    return out


def test_ten_times_burst(tmp_path: Path, kafka_bootstrap: str, tiny_model: Path) -> None:
    stack = Stack(tmp_path, kafka_bootstrap, tiny_model)
    try:
        stack.start()
        warm = events(WARM, "warm")
        stack.replay(warm)
        stack.wait_published({e.origin.event_id for e in warm}, timeout=120)
        time.sleep(3)
        pids = {n: p.proc.pid for n, p in stack.procs.items()}
        idle = {n: rss_mb(pid) for n, pid in pids.items()}
        burst = events(BURST, "burst")
        started = time.monotonic()
        stack.replay(burst)
        took = stack.wait_published({e.origin.event_id for e in burst}, timeout=300)
        deadline = time.monotonic() + 120
        while any((lag := group_lag(stack)).values()):
            assert time.monotonic() < deadline, (lag, stack.logs())
            time.sleep(2)
        drained = time.monotonic() - started
        peak = {n: hwm_mb(pid) for n, pid in pids.items()}
        ratio = {n: round(peak[n] / idle[n], 2) for n in pids}
        print(
            f"\nburst of {BURST} events after {WARM}: idle RSS MB "
            f"{ {n: round(v) for n, v in idle.items()} }, peak "
            f"{ {n: round(v) for n, v in peak.items()} }, ratio {ratio}; published in "
            f"{took:.0f} s, lag 0 after {drained:.0f} s"
        )
        assert all(r <= 1.5 for r in ratio.values()), ratio
        assert set(stack.stop().values()) == {0}
    finally:
        stack.kill()
