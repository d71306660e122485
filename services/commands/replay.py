"""``symae replay``: publish synthetic, SCARDEC-driven or recorded events to Kafka."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterable
from pathlib import Path

from services.devtools.replay import (
    ReplayEvent,
    directory_events,
    folder_layout,
    publish,
    scardec_events,
    synthetic_events,
)
from services.runtime.settings import (
    ServiceSettings,
    add_settings_arguments,
    settings_from_args,
)
from symae.cli.options import nonnegative_float, positive_float, positive_int
from symae.errors import UsageError

# replay is a one-off client: an unreachable broker is an error after this long, not a wait
# (the services, long-running, wait as long as kafka_startup_timeout_s says, forever unset)
CONNECT_TIMEOUT_S = 30.0

log = logging.getLogger(__name__)


HELP = "publish origins and raw records (synthetic, SCARDEC benchmark or real files) to Kafka"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("events (one source)")
    source.add_argument("--synthetic", type=positive_int, metavar="N", help="N synthetic events")
    source.add_argument(
        "--scardec", type=positive_int, metavar="N", help="first N SCARDEC benchmark events"
    )
    source.add_argument(
        "--from-dir",
        type=Path,
        action="append",
        metavar="DIR",
        help="folder of one real event (waveforms, StationXML, QuakeML) or one written by "
        "'symae data synth --mseed-dir'; repeatable",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed of the generator")
    parser.add_argument(
        "--stations", type=positive_int, default=30, help="stations per generated event"
    )
    parser.add_argument(
        "--speed", type=positive_float, help="real-time factor (unset: as fast as possible)"
    )
    parser.add_argument(
        "--interval", type=nonnegative_float, default=60.0, help="s between event starts when paced"
    )
    parser.add_argument("--manifest", type=Path, help="write a JSON summary of what was sent")
    add_settings_arguments(parser, ServiceSettings)


def run(args: argparse.Namespace) -> int:
    from services.runtime.health import HealthServer, HealthState
    from services.runtime.logging import configure_logging
    from services.runtime.metrics import Metrics

    chosen = [x for x in (args.synthetic, args.scardec, args.from_dir) if x]
    if len(chosen) != 1:
        raise UsageError("give exactly one of --synthetic N, --scardec N, --from-dir DIR")
    for folder in args.from_dir or []:
        folder_layout(folder)  # a folder in neither layout fails before any connection
    settings = settings_from_args(ServiceSettings, args)
    if settings.kafka_startup_timeout_s is None:
        settings = settings.model_copy(update={"kafka_startup_timeout_s": CONNECT_TIMEOUT_S})
    configure_logging("replay", settings.log_level, settings.log_format)
    if str(settings.log_level).upper() != "DEBUG":
        # kafka-python logs every refused connection; replay's own retry line says enough
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
    if args.synthetic:
        events: Iterable[ReplayEvent] = synthetic_events(args.synthetic, args.seed, args.stations)
    elif args.scardec:
        events = scardec_events(args.scardec, args.seed, args.stations)
    else:
        events = (event for folder in args.from_dir for event in directory_events(folder))
    metrics = Metrics("replay")
    health = HealthState()
    try:
        server: HealthServer | None = HealthServer(
            settings.metrics_port, health, metrics.exposition
        ).start()
    except OSError as exc:
        log.warning("no metrics endpoint: port %d: %s", settings.metrics_port, exc)
        server = None
    try:
        health.set_ready(True)
        summary = publish(settings, events, args.speed, args.interval, metrics)
    finally:
        if server is not None:
            server.stop()
    log.info(
        "published %d origins and %d records (%.1f MB) in %.1f s",
        summary.origins,
        summary.records,
        summary.bytes / 1e6,
        summary.seconds,
    )
    if args.manifest:
        args.manifest.parent.mkdir(parents=True, exist_ok=True)
        args.manifest.write_text(json.dumps(summary.to_dict(), indent=1) + "\n")
    if summary.failed:
        log.error("%d messages were not acknowledged by the broker", summary.failed)
        return 1
    return 0
