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
    allow_no_response: bool = False,
) -> EventData:
    """Read, preprocess and group one event's records; raises if no record survives.

    ``allow_no_response`` takes channels without a usable response in the units at hand
    (flagged ``response_not_removed``) instead of rejecting them as ``no_response``.
    """
    from obspy import Stream, read, read_inventory

    from symae.data.preprocess import PreprocessConfig, assemble_event, preprocess_stream
    from symae.data.rejections import count_reasons

    stream = Stream()
    for path in waveforms:
        if not Path(path).is_file():
            raise FileNotFoundError(f"waveform file not found: {path}")
        stream += read(str(path))
    origin = origin_from_event_file(event_file, event_id)
    config = PreprocessConfig(contract=contract, allow_no_response=allow_no_response)
    traces, rejections = preprocess_stream(stream, read_inventory(str(inventory)), origin, config)
    if rejections:
        log.info("%s: rejected %s", origin.event_id, {k: v for k, v in count_reasons(rejections).items() if v})
    if not traces:
        reasons = "; ".join(f"{r.source}: {r.message}" for r in rejections[:5])
        raise ValueError(f"event {origin.event_id!r}: no record survived preprocessing ({reasons})")
    return assemble_event(origin, traces, contract, provenance={"preprocess": config.to_dict()})
