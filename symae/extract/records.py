"""Real-format input for extraction: miniSEED/SAC + StationXML + QuakeML -> ``EventData``.

The records go through the project's preprocessing (``symae.data.preprocess``) and are
grouped by focal-sphere pixel there, and the event file is read by
``symae.data.events``; this module only ties them together.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from symae.contract import DataContract
from symae.data.dataset import EventData, Origin
from symae.errors import UsageError

log = logging.getLogger(__name__)


def origin_from_event_file(path: str | Path, event_id: str | None = None) -> Origin:
    """The origin of one event of an event file (QuakeML or any format ObsPy reads).

    ``event_id`` picks it among several; without it the file must hold exactly one.
    """
    from symae.data.events import read_origins

    origins = read_origins(path)
    if event_id is not None:
        chosen = [o for o in origins if o.event_id == event_id]
        if not chosen:
            known = ", ".join(o.event_id for o in origins)
            raise ValueError(f"{path}: no event {event_id!r} (events: {known})")
        return chosen[0]
    if len(origins) != 1:
        known = ", ".join(o.event_id for o in origins)
        raise ValueError(
            f"{path}: expected one event, found {len(origins)} ({known}); choose one with --event-id"
        )
    return origins[0]


def event_from_records(
    waveforms: Sequence[str | Path],
    inventory: str | Path,
    event_file: str | Path,
    contract: DataContract,
    event_id: str | None = None,
) -> EventData:
    """Read, preprocess and group one event's records; raises if no record survives."""
    from obspy import Stream, read, read_inventory

    from symae.data.preprocess import PreprocessConfig, assemble_event, preprocess_stream
    from symae.data.rejections import count_reasons

    stream = Stream()
    for path in waveforms:
        if not Path(path).is_file():
            raise FileNotFoundError(f"waveform file not found: {path}")
        try:
            stream += read(str(path))
        except Exception as exc:  # ObsPy raises TypeError, ValueError, ... for bad files
            raise UsageError(f"{path}: not a waveform file ObsPy can read ({_reason(exc)})") from exc
    if not stream:
        raise UsageError(f"no trace in {', '.join(str(p) for p in waveforms)}")
    origin = origin_from_event_file(event_file, event_id)
    try:
        stations = read_inventory(str(inventory), format="STATIONXML")
    except Exception as exc:
        hint = "it is QuakeML" if _looks_like_quakeml(inventory) else _reason(exc)
        raise UsageError(f"{inventory}: not a StationXML inventory ({hint})") from exc
    config = PreprocessConfig(contract=contract)
    traces, rejections = preprocess_stream(stream, stations, origin, config)
    if rejections:
        log.info("%s: rejected %s", origin.event_id, {k: v for k, v in count_reasons(rejections).items() if v})
    if not traces:
        reasons = "; ".join(f"{r.source}: {r.message}" for r in rejections[:5])
        raise ValueError(f"event {origin.event_id!r}: no record survived preprocessing ({reasons})")
    return assemble_event(origin, traces, contract, provenance={"preprocess": config.to_dict()})


def _reason(exc: Exception) -> str:
    """An ObsPy reader's complaint, on one line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def _looks_like_quakeml(path: str | Path) -> bool:
    try:
        with open(path, "rb") as f:
            return b"quakeml" in f.read(4000).lower()
    except OSError:
        return False
