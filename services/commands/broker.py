"""``symae broker``: run the embedded broker on loopback until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from services.devtools.broker import DEFAULT_PORT, BrokerError, EmbeddedBroker

log = logging.getLogger(__name__)


HELP = "run the embedded Kafka-compatible broker (Tansu, memory storage) on loopback"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"loopback port (default {DEFAULT_PORT})"
    )


def run(args: argparse.Namespace) -> int:
    """Run the broker until SIGINT or SIGTERM, then stop it cleanly."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    broker = EmbeddedBroker(port=args.port)
    try:
        broker.start()
    except BrokerError as exc:
        log.error("%s", exc)
        return 1
    print(f"broker ready: --bootstrap-servers {broker.bootstrap_servers}", flush=True)
    try:
        while not stop.wait(0.5):
            if not broker.running:
                log.error("embedded broker on port %d exited unexpectedly", broker.port)
                return 1
    finally:
        broker.stop()
    return 0
