"""Chaos: the broker is killed (-9) and restarted on the same port while the services
keep running. They stay up, report not-ready while it is away, and publish new events
within 60 s of its return (the restarted broker is empty: memory storage)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from services.devtools.broker import EmbeddedBroker, free_port

from .stack import Stack, events, status

pytestmark = [pytest.mark.chaos, pytest.mark.kafka]

OUTAGE_S = 8


def test_services_ride_out_a_broker_kill_and_restart(tmp_path: Path, tiny_model: Path) -> None:
    port = free_port()
    broker = EmbeddedBroker(port=port, log_path=tmp_path / "tansu-0.log").start()
    stack = Stack(tmp_path, broker.bootstrap_servers, tiny_model)
    try:
        stack.start()
        stack.replay(events(2, "before"))
        stack.wait_published({"before_0", "before_1"}, timeout=90)

        assert broker._proc is not None
        broker._proc.kill()  # kill -9: no clean shutdown
        broker._proc.wait()
        killed = time.monotonic()
        red: dict[str, float] = {}
        while len(red) < 3 and time.monotonic() - killed < 20:
            for name, svc in stack.procs.items():
                if name not in red and status(svc.url("/readyz")) == 503:
                    red[name] = time.monotonic() - killed
            time.sleep(0.2)
        assert set(red) == {"ingest", "inference", "publish"}, (red, stack.logs())
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - killed)))
        assert all(stack.alive().values()), stack.logs()
        assert all(status(s.url("/healthz")) == 200 for s in stack.procs.values())

        broker = EmbeddedBroker(port=port, log_path=tmp_path / "tansu-1.log").start()
        back = time.monotonic()
        stack.replay(events(3, "after"))
        took = stack.wait_published({"after_0", "after_1", "after_2"}, timeout=60)
        since_return = time.monotonic() - back
        assert since_return <= 60
        assert all(stack.alive().values()), stack.logs()
        # a resend on a new producer (e.g. OutOfOrderSequenceNumber on the empty broker)
        # turns readiness red for a moment: all green again within 30 s
        deadline = time.monotonic() + 30
        while {status(s.url("/readyz")) for s in stack.procs.values()} != {200}:
            assert time.monotonic() < deadline, stack.logs()
            time.sleep(0.5)
        print(
            f"\nbroker kill -9: readiness red after {red}; outage {OUTAGE_S} s; "
            f"new events published {since_return:.1f} s after the broker's return "
            f"({took:.1f} s after the replay)"
        )
        codes = stack.stop()
        assert set(codes.values()) == {0}, (codes, stack.logs())
    finally:
        stack.kill()
        broker.stop()


def test_killing_symae_broker_takes_the_broker_down(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    from services.devtools.broker import port_open

    port = free_port()
    log = open(tmp_path / "wrapper.log", "wb")  # noqa: SIM115
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "symae.cli", "broker", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while not port_open("127.0.0.1", port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert port_open("127.0.0.1", port)
        wrapper.send_signal(signal.SIGKILL)  # no chance to stop its child
        wrapper.wait()
        deadline = time.monotonic() + 10
        while port_open("127.0.0.1", port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not port_open("127.0.0.1", port), "the broker outlived its wrapper"
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
        log.close()
