"""``symae bench stream``: throughput and latency of the whole pipeline on this machine.

One local stack (embedded broker; ingest, inference and publish as processes; see
``services.devtools.local_stack``) and three phases on synthetic events generated
beforehand (the generator's time is not counted):

1. **saturation**: ``--events`` events replayed as fast as the broker takes them. Ingest
   closes every event ``--close-s`` after its origin (``SYMAE_EVENT_CLOSE_S``; its
   default is 30 minutes), so each event's final revision, extracted as the method is
   published (not a preview: ``symae.extract.incremental``), is part of the phase. Wall
   time runs from the first record sent to the last event's final STF (the first public
   STF, not a preview, sent after ingest closed the event). Reported: events per minute,
   raw records per second, and the share of that wall time the inference processes spent
   outside extraction (``1 - sum(symae_stage_latency_seconds{stage="extraction"}) /
   (wall x processes)``): everything that is not the model running (Kafka, decoding, ingest and publish competing for the
   cores, readiness waits) shows up there. It runs twice: first with every station new
   to ingest (a StationXML to parse and a response to evaluate per record), then the
   same records under new event ids, the network's stations known (their inventories
   and responses cached), as for a monitoring service past its first events.
2. **steady low rate**: ``--paced-events`` events, one every ``--interval`` seconds.
   Latency per event: broker time of the first public STF holding all its records (a
   preview, or the final revision) minus broker time of the last raw record it includes
   (what ``end_to_end`` means in the metrics); p50 and p99.
3. **inference alone at saturation**: the final bundles of phase 1, ``--copies`` times
   under new event ids, put on the bundles topic at once (each extracted in full). Wall
   time from sending them to the last result acknowledged; the share of it outside
   extraction is the service's own overhead (decoding, encoding, Kafka), the figure with
   the < 20 % target.

CPU time per raw record of every service process and of the broker (``/proc``) is
reported for both runs of phase 1 beside the wall times. ``--inference-replicas N`` runs
N inference processes in one consumer group (the bundles are keyed by event, so each
event's revisions go to one of them), as a deployment scales inference out.

``--from-dir DIR`` benchmarks one recorded event instead (e.g. the 300-station Chile
2010 set), each phase on a new stack: phase A publishes its records as fast as the
broker takes them, phase B at ``--speed`` times real time (the spacing of their end
times, from the first record on); for each, the time from the last record to the first
public STF that includes it, to the final one (ingest closes the event once every record
is in: ``--close-s`` in A, 5 s after the last record is due in B), and CPU per record.
Figures go to ``docs/benchmarks.md`` (sections "Streaming pipeline, N stations per
event", with ", N inference processes" for several, and "Recorded event replay").
"""

from __future__ import annotations

import argparse
import logging
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from services.devtools.local_stack import LocalStack
    from services.devtools.replay import ReplayEvent, ReplaySummary
    from services.schemas import BundleMessage

HELP = "streaming pipeline: events/min, records/s, latency p50/p99, time outside extraction"
SECTION = "Streaming pipeline, {stations} stations per event"
RECORDED_SECTION = "Recorded event replay"
CPU_ROLES = ("ingest", "inference", "publish", "broker")

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="default", help="model the inference service serves")
    parser.add_argument("--events", type=int, default=8, help="events in the saturation phase")
    parser.add_argument("--paced-events", type=int, default=6, help="events at the low rate")
    parser.add_argument(
        "--interval", type=float, default=20.0, help="s between events at the low rate"
    )
    parser.add_argument("--stations", type=int, default=30, help="stations per event")
    parser.add_argument(
        "--copies",
        type=int,
        default=2,
        help="copies of the saturation bundles fed to inference alone",
    )
    parser.add_argument(
        "--close-s",
        type=float,
        default=2.0,
        help="ingest closes an event this long after its origin: its final revision is timed",
    )
    parser.add_argument(
        "--inference-replicas", type=int, default=1, help="inference processes (one group)"
    )
    parser.add_argument("--seed", type=int, default=5, help="generator seed")
    parser.add_argument("--timeout", type=float, default=600.0, help="s to wait per phase")
    parser.add_argument("--no-record", action="store_true", help="print only")
    parser.add_argument(
        "--from-dir",
        type=Path,
        metavar="DIR",
        help="benchmark this recorded event folder (waveforms, StationXML, QuakeML) instead",
    )
    parser.add_argument(
        "--speed", type=float, default=1.0, help="--from-dir: replay speed of phase B (x real time)"
    )


def extraction_seconds(stack: LocalStack) -> float:
    """Total extraction time the inference processes report in their /metrics."""
    pattern = r'^symae_stage_latency_seconds_sum\{[^}]*stage="extraction"[^}]*\} (\S+)$'
    total = 0.0
    for svc in stack.replicas("inference"):
        match = re.search(pattern, svc.metrics(), re.MULTILINE)
        total += float(match.group(1)) if match else 0.0
    return total


def stack_options(args: argparse.Namespace, close_s: float) -> dict[str, Any]:
    """``LocalStack`` arguments of a bench: ingest closing events ``close_s`` after their
    origin (once quiet for at most 1 s); ``--inference-replicas`` inference processes and
    3 partitions per topic for each, so that every replica gets as many."""
    quiet = min(1.0, close_s / 2)
    return {
        "env": {
            "SYMAE_EVENT_CLOSE_S": f"{close_s:g}",
            "SYMAE_CLOSE_QUIET_S": f"{quiet:g}",
            "SYMAE_TOPIC_PARTITIONS": str(3 * args.inference_replicas),
        },
        "replicas": {"inference": args.inference_replicas},
    }


def replicas_flag(args: argparse.Namespace) -> str:
    """The ``--inference-replicas`` part of a bench's command line ("" for one)."""
    return (
        "" if args.inference_replicas == 1 else f" --inference-replicas {args.inference_replicas}"
    )


def layout(args: argparse.Namespace) -> str:
    """How the processes of a bench run are laid out, for its report."""
    inference = (
        "one inference process"
        if args.inference_replicas == 1
        else f"{args.inference_replicas} inference processes in one group"
    )
    return f"one broker, one ingest, {inference} and one publish process, all on this machine"


def model_label(spec: str) -> str:
    """``name:version`` of the model a spec resolves to now."""
    from symae.artifacts.store import read_model_dir, resolve

    info = read_model_dir(resolve(spec), check=False)
    return f"{info.name}:{info.version}"


def renamed(bundle, event_id: str):
    """``bundle`` under another event id (same traces, same revision)."""
    origin = bundle.origin.model_copy(update={"event_id": event_id})
    return bundle.model_copy(update={"event_id": event_id, "origin": origin})


def final_bundles(stack: LocalStack, event_ids: set[str]) -> dict[str, BundleMessage]:
    """Event id -> its final bundle (ingest closed the event)."""
    from services.runtime.settings import BUNDLES
    from services.schemas import BundleMessage

    found: dict[str, BundleMessage] = {}
    for record in stack.read(BUNDLES):
        bundle = BundleMessage.model_validate_json(record.value)
        if bundle.final and bundle.event_id in event_ids:
            found[bundle.event_id] = bundle
    return found


def cpu_rows(before: dict[str, float], after: dict[str, float], records: int) -> list[str]:
    """Table rows: CPU ms per raw record of each process and in all."""
    used = {k: after[k] - before.get(k, 0.0) for k in CPU_ROLES if k in after}
    rows = [f"| CPU per raw record: {k} | {1e3 * v / records:.2f} ms |" for k, v in used.items()]
    rows.append(
        f"| CPU per raw record: all processes | {1e3 * sum(used.values()) / records:.2f} ms |"
    )
    return rows


def renamed_event(event: ReplayEvent, event_id: str) -> ReplayEvent:
    """``event`` (a ReplayEvent) under another id, its first record due at once."""
    from services.devtools.replay import ReplayEvent

    origin = event.origin.model_copy(update={"event_id": event_id})
    records = [r.model_copy(update={"event_id": event_id}) for r in event.records]
    first = min(event.ready_after_s, default=0.0)
    return ReplayEvent(origin, records, [t - first for t in event.ready_after_s])


@dataclass
class Saturation:
    """One saturation phase: all events published at once, measured to the last final STF."""

    events: set[str]
    summary: ReplaySummary
    first_stf_s: float  # first record to the last event's first public STF (any revision)
    wall_s: float  # first record to the last event's final STF
    extraction_s: float  # summed over the inference processes
    replicas: int
    cpu_before: dict[str, float]
    cpu_after: dict[str, float]

    def rows(self, label: str) -> list[str]:
        """Table rows of the phase, each figure tagged with ``label``."""
        records = self.summary.records
        outside = 1.0 - self.extraction_s / (self.wall_s * self.replicas)
        return [
            f"| saturation, {label}: first record to every event's first public STF | "
            f"{self.first_stf_s:.1f} s |",
            f"| saturation, {label}: wall time, first record to last final STF | "
            f"{self.wall_s:.1f} s |",
            f"| saturation, {label}: sustained events per minute | "
            f"{len(self.events) / self.wall_s * 60.0:.1f} |",
            f"| saturation, {label}: sustained raw records per second | "
            f"{records / self.wall_s:.1f} |",
            f"| saturation, {label}: inference time in extraction | {self.extraction_s:.1f} s |",
            f"| saturation, {label}: share of inference wall time outside extraction | "
            f"{100 * outside:.0f} % |",
            *(
                row.replace("| CPU per raw record:", f"| {label}, CPU per raw record:")
                for row in cpu_rows(self.cpu_before, self.cpu_after, records)
            ),
        ]


def saturate(
    stack: LocalStack, settings: Any, events: list[ReplayEvent], timeout: float
) -> Saturation:
    """Publish ``events`` as fast as possible and wait for each one's final STF."""
    from services.devtools.replay import publish

    extraction_before = extraction_seconds(stack)
    cpu_before = stack.cpu_seconds()
    started = time.time()
    summary = publish(settings, events)
    ids = set(summary.events)
    final = stack.wait_final(ids, timeout=timeout)
    cpu_after = stack.cpu_seconds()
    first: dict[str, float] = {}
    for (event_id, _), t in stack.stf_times().items():
        if event_id in ids:
            first[event_id] = min(t, first.get(event_id, t))
    return Saturation(
        ids,
        summary,
        max(first.values()) - started,
        max(final.values()) - started,
        extraction_seconds(stack) - extraction_before,
        len(stack.replicas("inference")),
        cpu_before,
        cpu_after,
    )


def run_recorded(args: argparse.Namespace) -> int:
    """Phases A (as fast as possible) and B (``--speed`` x real time) on a recorded event."""
    from services.devtools.local_stack import LocalStack
    from services.devtools.replay import directory_event, publish
    from symae.bench.record import record

    event = directory_event(args.from_dir)
    span = max(event.ready_after_s, default=0.0) - min(event.ready_after_s, default=0.0)
    body = [
        f"Model `{model_label(args.model)}`, recorded event `{args.from_dir.name}` "
        f"({len(event.records)} records), {layout(args)}, a new stack for each phase (every "
        "station new to ingest); ingest closes the event once every record is in (after "
        f"{args.close_s:g} s in A, {span / args.speed + 5.0:.0f} s in B), its other "
        "settings at their defaults.",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    for phase, speed in (("A, as fast as possible", None), ("B, real time", args.speed)):
        # closed once every record is in (B takes span / speed): its final revision is timed
        close_s = args.close_s if speed is None else max(args.close_s, span / speed + 5.0)
        with (
            tempfile.TemporaryDirectory(prefix="symae-bench-recorded-") as tmp,
            LocalStack(Path(tmp), args.model, **stack_options(args, close_s)) as stack,
        ):
            copy = renamed_event(event, f"{event.origin.event_id}-{phase[0]}")
            event_id = copy.origin.event_id
            cpu_before = stack.cpu_seconds()
            started = time.time()
            summary = publish(stack.settings(), [copy], speed=speed)
            final = stack.wait_final({event_id}, timeout=args.timeout)[event_id]
            cpu_after = stack.cpu_seconds()
            stf_times = stack.stf_times()
            bundle = final_bundles(stack, {event_id})[event_id]
        published = sum(e == event_id for e, _ in stf_times)
        latency = stf_times[(event_id, bundle.revision)] - bundle.last_record_time
        if speed is not None:
            phase = f"B, {speed:g} x real time"
        body += [
            f"| {phase}: records sent | {summary.records} |",
            f"| {phase}: revisions published (the last with {bundle.revision} traces) | "
            f"{published} |",
            f"| {phase}: last record to the first public STF holding it | {latency:.2f} s |",
            f"| {phase}: wall time, first record to the final STF (after the close) | "
            f"{final - started:.1f} s |",
        ]
        body += [
            row.replace("| CPU", f"| {phase}: CPU")
            for row in cpu_rows(cpu_before, cpu_after, summary.records)
        ]
    command = (
        f"symae bench stream --model {args.model} --from-dir {args.from_dir} --speed {args.speed:g}"
        f"{replicas_flag(args)}"
    )
    if args.no_record:
        print("\n".join(body))
    else:
        record(RECORDED_SECTION, "\n".join(body), command)
    return 0


def run(args: argparse.Namespace) -> int:
    logging.getLogger("kafka").setLevel(logging.ERROR)
    if args.from_dir is not None:
        return run_recorded(args)
    from services.devtools.local_stack import LocalStack
    from services.devtools.replay import publish, synthetic_events
    from services.runtime.settings import BUNDLES
    from symae.bench.record import record

    log.info("generating %d + %d synthetic events", args.events, args.paced_events)
    saturation = list(synthetic_events(args.events, args.seed, args.stations))
    paced = list(synthetic_events(args.events + args.paced_events, args.seed, args.stations))
    paced = paced[args.events :]

    with tempfile.TemporaryDirectory(prefix="symae-bench-stream-") as tmp:
        with LocalStack(Path(tmp), args.model, **stack_options(args, args.close_s)) as stack:
            settings = stack.settings()
            # 1. saturation, every station seen for the first time; then 1b. the same
            # records again under new ids: the network's stations already known, as for a
            # monitoring service past its first events
            cold = saturate(stack, settings, saturation, args.timeout)
            known = saturate(
                stack,
                settings,
                [renamed_event(e, f"{e.origin.event_id}-again") for e in saturation],
                args.timeout,
            )
            # 2. steady low rate: latency to the first public STF holding every record
            summary2 = publish(settings, paced, speed=1000.0, interval_s=args.interval)
            ids2 = set(summary2.events)
            stack.wait_final(ids2, timeout=args.timeout)
            stf_times = stack.stf_times()
            bundles = final_bundles(stack, ids2)
            latencies = np.array(
                [stf_times[(e, b.revision)] - b.last_record_time for e, b in bundles.items()]
            )

            # 3. inference alone at saturation: the final bundles again, under new ids
            copies = [
                renamed(b, f"{b.event_id}-copy{k}")
                for k in range(args.copies)
                for b in final_bundles(stack, cold.events).values()
            ]
            before = extraction_seconds(stack)
            sent_at = time.time()
            stack.produce(BUNDLES, [(b.event_id, b.model_dump_json().encode()) for b in copies])
            keys = {b.event_id for b in copies}
            done = stack.wait_results(keys, timeout=args.timeout)
            inference_wall = max(done.values()) - sent_at
            inference_extraction = extraction_seconds(stack) - before
            inference_outside = 1.0 - inference_extraction / (
                inference_wall * args.inference_replicas
            )

    p50, p99 = np.percentile(latencies, [50, 99])
    body = "\n".join(
        [
            f"Model `{model_label(args.model)}`, {args.stations} stations per synthetic event, "
            f"{layout(args)}; ingest closes each event {args.close_s:g} s after its origin "
            "(its final revision, a full extraction, is timed), its readiness and revision "
            "settings at their defaults.",
            "",
            "| figure | value |",
            "|---|---|",
            f"| saturation: events | {len(cold.events)} ({cold.summary.records} raw records, "
            f"{cold.summary.bytes / 1e6:.1f} MB) |",
            *cold.rows("new stations"),
            *known.rows("known stations"),
            f"| inference alone, {len(copies)} final bundles: wall time | {inference_wall:.1f} s |",
            f"| inference alone: share of time outside extraction (target < 20 %) | "
            f"{100 * inference_outside:.0f} % |",
            f"| low rate: events, one every {args.interval:g} s | {len(latencies)} |",
            f"| end-to-end latency p50, last record to the first public STF holding it | "
            f"{p50:.2f} s |",
            f"| end-to-end latency p99 | {p99:.2f} s |",
        ]
    )
    command = (
        f"symae bench stream --model {args.model} --events {args.events} "
        f"--paced-events {args.paced_events} --interval {args.interval:g} "
        f"--stations {args.stations} --close-s {args.close_s:g}{replicas_flag(args)}"
    )
    if args.no_record:
        print(body)
    else:
        section = SECTION.format(stations=args.stations)
        if args.inference_replicas > 1:
            section += f", {args.inference_replicas} inference processes"
        record(section, body, command)
    return 0
