"""The one-command streaming demo: ``python -m services.devtools.demo`` (``make demo``).

Starts the embedded broker and the three services as processes, replays the recorded
earthquake shipped with symae (Northern Chile 2010-03-04, Mw 6.3, 60 stations, raw
counts with full responses: ``symae/reference_data/chile_2010-03-04``) and, with
``--scardec N``, the first N SCARDEC benchmark events (real hypocentres and STFs,
generated records; the true STF travels with the origin), waits until every event's
latest revision is published, then prints one row per event (stations, pixels, the
published method, latency from the event's last record to its public STF, correlation
with the truth when there is one) and where the products and the explorer are.
Stops everything cleanly (SIGTERM: the services drain and commit) unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

log = logging.getLogger("services.devtools.demo")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m services.devtools.demo", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--no-recorded",
        action="store_true",
        help="leave out the bundled recorded event (Chile 2010)",
    )
    parser.add_argument(
        "--scardec",
        type=int,
        default=0,
        help="also replay the first N SCARDEC benchmark events (synthetic records)",
    )
    parser.add_argument(
        "--stations", type=int, default=30, help="stations per synthetic event (default 30)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the record generator")
    parser.add_argument("--model", default="default", help="model the inference service serves")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("demo_output"),
        help="folder for products and logs (default ./demo_output)",
    )
    parser.add_argument("--http-port", type=int, help="publisher HTTP port (default: a free one)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=240.0,
        help="seconds to wait for every event to be published",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the pipeline and its HTTP API running until Ctrl-C",
    )
    return parser.parse_args(argv)


def event_rows(stack: Any, settled: dict[str, int], sent: dict[str, int]) -> list[dict[str, Any]]:
    """One row per event: what was used, how long it took, how close to the truth."""
    from services.runtime.settings import BUNDLES
    from services.schemas import BundleMessage
    from symae.evaluate.scardec_benchmark import PREFERRED, score_result
    from symae.extract.result import ExtractionResult

    bundles: dict[str, BundleMessage] = {}
    for record in stack.read(BUNDLES):
        b = BundleMessage.model_validate_json(record.value)
        if b.revision == settled.get(b.event_id):
            bundles[b.event_id] = b
    stf_sent = stack.stf_times()
    rows = []
    for event_id, revision in sorted(settled.items()):
        with urllib.request.urlopen(f"{stack.http_url}/events/{event_id}", timeout=5) as resp:
            result = ExtractionResult.model_validate(json.loads(resp.read()))
        # the figure is rendered on its first request: ask, as a browser would, so the
        # products folder holds every file when the demo ends
        with urllib.request.urlopen(f"{stack.http_url}/events/{event_id}/stf.png", timeout=60):
            pass
        bundle = bundles[event_id]
        event = bundle.to_event_data()
        cc = (
            score_result(event, result).metrics[PREFERRED].cc
            if event.truth_stf is not None
            else None
        )
        latency = stf_sent[(event_id, revision)] - bundle.last_record_time
        rows.append(
            {
                "event": event_id,
                "mw": result.origin.magnitude if result.origin else None,
                "records": sent.get(event_id, 0),
                "stations": result.quality.n_traces,
                "pixels": result.quality.n_pixels,
                "revision": revision,
                "method": result.stf.method or "envelope",
                "duration_s": result.inversion.duration_s if result.inversion else None,
                "latency_s": latency,
                "cc": cc,
            }
        )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| event | Mw | records sent | stations used | pixels | revision | published STF | "
        "duration (s) | latency (s) | CC vs truth |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        mw = f"{r['mw']:.1f}" if r["mw"] is not None else "-"
        cc = f"{r['cc']:.2f}" if r["cc"] is not None else "-"
        dur = f"{r['duration_s']:.1f}" if r["duration_s"] is not None else "-"
        lines.append(
            f"| {r['event']} | {mw} | {r['records']} | {r['stations']} | {r['pixels']} | "
            f"{r['revision']} | {r['method']} | {dur} | {r['latency_s']:.1f} | {cc} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.ERROR)  # the services log their own
    from services.devtools.local_stack import LocalStack, StackError
    from services.devtools.replay import directory_event, publish, scardec_events
    from symae.data.reference import recorded_event_dir

    started = time.monotonic()
    out = args.out.resolve()
    stack = LocalStack(
        out,
        args.model,
        http_port=args.http_port,
        # readiness and revisions on a demo's time scale
        service_args={"ingest": ["--ready-deadline-s", "20", "--revision-interval-s", "2"]},
    )
    try:
        with stack:
            events = [] if args.no_recorded else [directory_event(recorded_event_dir())]
            events += (
                list(scardec_events(args.scardec, args.seed, args.stations)) if args.scardec else []
            )
            if not events:
                log.error("nothing to replay: drop --no-recorded or give --scardec N")
                return 2
            log.info(
                "pipeline up; replaying %d event(s)%s",
                len(events),
                "" if args.no_recorded else ", the recorded Chile 2010 earthquake first",
            )
            summary = publish(stack.settings(), events)
            log.info(
                "replayed %d records (%.1f MB); waiting for the STFs",
                summary.records,
                summary.bytes / 1e6,
            )
            settled = stack.wait_settled(set(summary.events), timeout=args.timeout)
            rows = event_rows(stack, settled, summary.events)
            print()
            print(table(rows))
            print()
            print(
                f"products: {stack.products_dir}/events/<event>/ "
                "(result.json, stf_scardec.txt, event.xml, stf.png)"
            )
            print(f"logs:     {stack.logs_dir}")
            print(f"explorer: {stack.http_url}/ (API: {stack.http_url}/api/v1/events)", flush=True)
            if args.keep:
                print("keeping the stack and the explorer up (Ctrl-C stops)", flush=True)
                try:
                    while True:
                        time.sleep(1)
                except KeyboardInterrupt:
                    pass
            else:
                print("(it stops with the demo; --keep, or make demo KEEP=1, keeps it up)")
    except StackError as exc:
        log.error("demo failed: %s", exc)
        return 1
    print(f"demo finished in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
