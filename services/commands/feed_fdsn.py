"""``symae feed fdsn``: one event's records from an FDSN data centre, to Kafka or a folder.

Fetches the event (``--event-id`` from fdsnws/event, or ``--origin``), the vertical
broadband stations at 30-90 degrees with responses (fdsnws/station) and their records
(fdsnws/dataselect), then publishes them as ``symae replay`` does (origin, then one raw
record per trace carrying its StationXML) or, with ``--out DIR``, writes the folder
``symae replay --from-dir`` reads. Data centres: docs/feeds.md.
Exit codes: 0 done, 1 the data centre gave no usable answer (one line says why), 2 usage.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from services.runtime.settings import (
    ServiceSettings,
    SettingsError,
    add_settings_arguments,
    settings_from_args,
)

HELP = "fetch one event's records from an FDSN data centre and publish them (or write a folder)"
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url",
        default="https://service.iris.edu",
        help="FDSN data centre (https://service.iris.edu, https://geofon.gfz.de, ...)",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--event-id", help="event id in the centre's fdsnws/event catalogue")
    which.add_argument(
        "--origin",
        nargs=6,
        metavar=("EVENT_ID", "TIME", "LAT", "LON", "DEPTH_KM", "MW"),
        help="an origin given by hand",
    )
    parser.add_argument("--channel", default="BHZ,HHZ", help="channel codes (FDSN syntax)")
    parser.add_argument("--min-distance", type=float, default=30.0, help="degrees")
    parser.add_argument("--max-distance", type=float, default=90.0, help="degrees")
    parser.add_argument("--before", type=float, default=60.0, help="s of record before the origin")
    parser.add_argument("--after", type=float, default=1200.0, help="s of record after the origin")
    parser.add_argument("--timeout", type=float, default=60.0, help="s per request")
    parser.add_argument("--out", type=Path, help="write a replay folder here instead of publishing")
    add_settings_arguments(parser, ServiceSettings)


def run(args: argparse.Namespace) -> int:
    from services.devtools.replay import event_from_stream, origin_from_quakeml, publish
    from services.feeds.fdsn import FeedError, fetch_event

    origin = None
    if args.origin:
        eid, time, lat, lon, depth, mw = args.origin
        try:
            origin = {
                "event_id": eid,
                "time": time,
                "latitude": float(lat),
                "longitude": float(lon),
                "depth_km": float(depth),
                "magnitude": float(mw),
            }
        except ValueError as exc:
            print(f"symae feed fdsn: --origin: {exc}")
            return 2
    try:
        settings = settings_from_args(ServiceSettings, args)
    except SettingsError as exc:
        print(f"symae feed fdsn: {exc}")
        return 2
    try:
        fetched = fetch_event(
            args.base_url,
            args.event_id,
            origin,
            args.channel,
            args.min_distance,
            args.max_distance,
            args.before,
            args.after,
            args.timeout,
        )
    except FeedError as exc:
        print(f"symae feed fdsn: {exc}")
        return 1
    if args.out:
        print(f"wrote {fetched.write_dir(args.out)} ({len(fetched.stream)} traces)")
        return 0
    replay_event = event_from_stream(
        origin_from_quakeml(fetched.event), fetched.stream, fetched.inventory
    )
    summary = publish(settings, [replay_event])
    print(
        f"published {summary.origins} origin and {summary.records} records "
        f"of {replay_event.origin.event_id}"
    )
    return 0
