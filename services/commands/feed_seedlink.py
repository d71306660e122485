"""``symae feed seedlink``: live SeedLink records around predicted P of announced events.

Streams the vertical broadband channels chosen with ``--feed-network/--feed-station/
--feed-location/--feed-channel`` (metadata from ``--station-url`` fdsnws/station) from
``--seedlink-server``, polls ``--event-url`` fdsnws/event every ``--event-poll-s`` for
events of at least ``--min-magnitude``, publishes each new event's origin to
``<prefix>.origins`` and, per station at the model's distance range (30-90 degrees),
one record cut around predicted P to ``<prefix>.waveforms.raw``. ``--state-file`` keeps
the SeedLink sequence numbers and what went out, so a restart neither repeats nor loses
records. Runs until SIGTERM/SIGINT. docs/feeds.md has the details and real endpoints.
Exit codes: 0 stopped, 2 a server or the state file is unusable at start (one line).
"""

from __future__ import annotations

import argparse
import logging
import signal

from services.runtime.settings import add_settings_arguments, settings_from_args

HELP = "stream live SeedLink records around predicted P of announced events to Kafka"
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from services.feeds.seedlink import SeedLinkFeedSettings

    add_settings_arguments(parser, SeedLinkFeedSettings)


def run(args: argparse.Namespace) -> int:
    from services.feeds.seedlink import SeedLinkFeed, SeedLinkFeedSettings
    from services.runtime.health import HealthServer, HealthState
    from services.runtime.logging import configure_logging
    from services.runtime.metrics import Metrics

    settings = settings_from_args(SeedLinkFeedSettings, args)
    configure_logging("feed-seedlink", settings.log_level, settings.log_format)
    metrics = Metrics("feed-seedlink")
    health = HealthState()
    feed = SeedLinkFeed(settings, metrics, health)

    def on_signal(signum: int, _frame: object) -> None:
        log.info("%s received; stopping", signal.Signals(signum).name)
        feed.stop_event.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    try:
        server: HealthServer | None = HealthServer(
            settings.metrics_port, health, metrics.exposition
        ).start()
    except OSError as exc:
        log.warning("no metrics endpoint: port %d: %s", settings.metrics_port, exc)
        server = None
    try:
        feed.start()
        if not feed.stop_event.is_set():
            feed.run()
    finally:
        if server is not None:
            server.stop()
    return 0
