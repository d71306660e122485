"""``symae replay``: publish synthetic, SCARDEC-driven or recorded events to Kafka."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterable
from pathlib import Path

from services.devtools.replay import (
    ReplayEvent,
    directory_event,
    publish,
    scardec_events,
    synthetic_events,
)
from services.runtime.settings import (
    ServiceSettings,
    SettingsError,
    add_settings_arguments,
    settings_from_args,
)

log = logging.getLogger(__name__)


HELP = "publish origins and raw records (synthetic, SCARDEC benchmark or real files) to Kafka"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("events (one source)")
    source.add_argument("--synthetic", type=int, metavar="N", help="N synthetic events")
    source.add_argument("--scardec", type=int, metavar="N", help="first N SCARDEC benchmark events")
    source.add_argument(
        "--from-dir",
        type=Path,
        action="append",
        metavar="DIR",
        help="folder of one real event (waveforms, StationXML, QuakeML); repeatable",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed of the generator")
    parser.add_argument("--stations", type=int, default=30, help="stations per generated event")
    parser.add_argument("--speed", type=float, help="real-time factor (unset: as fast as possible)")
    parser.add_argument(
        "--interval", type=float, default=60.0, help="s between event starts when paced"
    )
    parser.add_argument("--manifest", type=Path, help="write a JSON summary of what was sent")
    add_settings_arguments(parser, ServiceSettings)


def run(args: argparse.Namespace) -> int:
    from services.runtime.health import HealthServer, HealthState
    from services.runtime.logging import configure_logging
    from services.runtime.metrics import Metrics

    chosen = [x for x in (args.synthetic, args.scardec, args.from_dir) if x]
    if len(chosen) != 1:
        print("symae replay: give exactly one of --synthetic N, --scardec N, --from-dir DIR")
        return 2
    if args.speed is not None and args.speed <= 0:
        print(f"symae replay: --speed must be > 0, got {args.speed}")
        return 2
    try:
        settings = settings_from_args(ServiceSettings, args)
    except SettingsError as exc:
        print(f"symae replay: {exc}")
        return 2
    configure_logging("replay", settings.log_level, settings.log_format)
    if args.synthetic:
        events: Iterable[ReplayEvent] = synthetic_events(args.synthetic, args.seed, args.stations)
    elif args.scardec:
        events = scardec_events(args.scardec, args.seed, args.stations)
    else:
        events = (directory_event(folder) for folder in args.from_dir)
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
