"""Build an HDF5 data set from waveform files, an inventory and an event file.

Two passes keep memory bounded by one event: headers of every file are read first
(an unreadable file is recorded and skipped), each trace is matched to the events
whose arrival span (``arrival_span``) it overlaps, then each event's files are
read in full, preprocessed, polarity-corrected, grouped and appended to the data set.
A record overlapping the spans of several events is tried for each of them; one that
overlaps none is rejected as ``too_short``. Events already in the output are skipped.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import obspy
from obspy import Inventory, Stream, UTCDateTime, read, read_inventory

from symae.data.arrivals import arrival_table
from symae.data.dataset import DatasetWriter
from symae.data.events import Origin, read_origins
from symae.data.preprocess import PreprocessConfig, assemble_event, preprocess_stream
from symae.data.rejections import Rejection, RejectReason, count_reasons
from symae.version import __version__

log = logging.getLogger(__name__)


@dataclass
class BuildReport:
    """What a build did: events written or skipped, traces kept, every rejection."""

    events_written: list[str] = field(default_factory=list)
    events_skipped: dict[str, str] = field(default_factory=dict)  # id -> why
    traces_accepted: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return count_reasons(self.rejections)

    def summary(self) -> str:
        lines = [
            f"events written: {len(self.events_written)}, skipped: {len(self.events_skipped)}",
            f"traces accepted: {self.traces_accepted}, rejected: {len(self.rejections)}",
            "rejections per reason:",
        ]
        lines += [f"  {reason:16s} {n}" for reason, n in self.counts().items()]
        lines += [f"skipped {eid}: {why}" for eid, why in self.events_skipped.items()]
        return "\n".join(lines)


def waveform_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly, files under named folders (recursively), sorted, unique."""
    found: set[Path] = set()
    for p in map(Path, paths):
        if p.is_dir():
            found.update(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
        else:
            found.add(p)
    return sorted(found)


def read_inventories(paths: Sequence[str | Path]) -> Inventory:
    """Read and join StationXML (or any ObsPy inventory format) files."""
    inventory = Inventory(networks=[], source="symae")
    for p in paths:
        try:
            inventory += read_inventory(str(p))
        except Exception as exc:  # ObsPy raises many types for unreadable files
            raise ValueError(f"cannot read inventory {p}: {exc}") from exc
    return inventory


def _overlaps(stats: Any, span: tuple[UTCDateTime, UTCDateTime]) -> bool:
    return stats.starttime <= span[1] and stats.endtime >= span[0]


def _match_files(
    files: list[Path], spans: dict[str, tuple[UTCDateTime, UTCDateTime]], report: BuildReport
) -> dict[str, list[Path]]:
    """event id -> files holding at least one trace overlapping its span."""
    per_event: dict[str, list[Path]] = defaultdict(list)
    for path in files:
        try:
            headers = read(str(path), headonly=True)
        except Exception as exc:  # ObsPy raises many types for unreadable files
            report.rejections.append(Rejection(str(path), RejectReason.UNREADABLE, str(exc)))
            continue
        matched_any = set()
        for tr in headers:
            hits = [eid for eid, span in spans.items() if _overlaps(tr.stats, span)]
            for eid in hits:
                if path not in per_event[eid]:
                    per_event[eid].append(path)
            if hits:
                matched_any.add(tr.id)
        for tr in headers:
            if tr.id not in matched_any:
                report.rejections.append(
                    Rejection(
                        tr.id,
                        RejectReason.TOO_SHORT,
                        f"{path.name}: {tr.stats.starttime}..{tr.stats.endtime} overlaps the "
                        "P window of no event",
                    )
                )
                matched_any.add(tr.id)  # one rejection per channel and file
    return per_event


def _event_stream(
    paths: list[Path], span: tuple[UTCDateTime, UTCDateTime], report: BuildReport
) -> Stream:
    """The traces of ``paths`` that overlap ``span``; unreadable files are reported."""
    stream = Stream()
    for path in paths:
        try:
            traces = read(str(path))
        except Exception as exc:  # headers were readable but the data are not
            report.rejections.append(Rejection(str(path), RejectReason.UNREADABLE, str(exc)))
            continue
        stream += Stream([tr for tr in traces if _overlaps(tr.stats, span)])
    return stream


def build_dataset(
    waveforms: Sequence[str | Path],
    inventory: Inventory,
    origins: Sequence[Origin],
    out: str | Path,
    config: PreprocessConfig | None = None,
    sources: dict[str, object] | None = None,
) -> BuildReport:
    """Preprocess every event's records and append the events to ``out``."""
    config = config or PreprocessConfig()
    files = waveform_files(waveforms)
    report = BuildReport()
    spans = {o.event_id: arrival_span(o, config) for o in origins}
    per_event = _match_files(files, spans, report)
    provenance = {
        "builder": "symae data build",
        "code_version": __version__,
        "obspy_version": obspy.__version__,
        "preprocess": config.to_dict(),
        "sources": dict(sources or {}),
    }
    with DatasetWriter(out, config.contract, provenance=provenance) as writer:
        for origin in origins:
            eid = origin.event_id
            if eid in writer:
                report.events_skipped[eid] = f"already in {out}"
                continue
            stream = _event_stream(per_event.get(eid, []), spans[eid], report)
            accepted, rejected = preprocess_stream(stream, inventory, origin, config)
            report.rejections.extend(rejected)
            if not accepted:
                report.events_skipped[eid] = f"no trace accepted ({len(rejected)} rejected)"
                continue
            event = assemble_event(
                origin,
                accepted,
                config.contract,
                provenance={
                    **provenance,
                    "files": [str(p) for p in per_event[eid]],
                    "accepted": len(accepted),
                    "rejections": count_reasons(rejected),
                },
            )
            writer.write_event(event)
            report.events_written.append(eid)
            report.traces_accepted += len(accepted)
            log.info("%s: %d traces in %d pixels", eid, len(accepted), len(event.groups))
    return report


def build_from_files(
    waveforms: Sequence[str | Path],
    inventory_files: Sequence[str | Path],
    events_file: str | Path,
    out: str | Path,
    config: PreprocessConfig | None = None,
) -> BuildReport:
    """``build_dataset`` from file names, recording them as the build's sources."""
    inventory = read_inventories(inventory_files)
    origins = read_origins(events_file)
    sources: dict[str, object] = {
        "waveforms": [str(p) for p in waveforms],
        "inventory": [str(p) for p in inventory_files],
        "events": str(events_file),
    }
    return build_dataset(waveforms, inventory, origins, out, config, sources)


def arrival_span(origin: Origin, config: PreprocessConfig) -> tuple[UTCDateTime, UTCDateTime]:
    """Earliest start and latest end of the records any station in range needs.

    From P at the near edge of the distance window minus the window start and margin,
    to P at the far edge plus the window end and margin.
    """
    c = config.contract
    table = arrival_table(c.taup_model, c.phase, config.taup_grid_step_deg)
    t0 = UTCDateTime(origin.time)
    near = table(origin.depth_km, c.min_distance_deg)
    far = table(origin.depth_km, c.max_distance_deg)
    start = near.time if near is not None else 0.0
    end = far.time if far is not None else 1800.0
    return (
        t0 + start + c.window_start - config.min_margin_s,
        t0 + end + c.window_end + config.min_margin_s,
    )
