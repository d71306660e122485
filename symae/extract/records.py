"""Real-format input for extraction: miniSEED/SAC + StationXML + QuakeML -> ``EventData``.

The records go through the project's preprocessing (``symae.data.preprocess``) and are
grouped by focal-sphere pixel there, and the event file is read by
``symae.data.events``; this module only ties them together.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from symae.contract import DataContract
from symae.data.dataset import EventData
from symae.data.events import Origin
from symae.errors import UsageError
from symae.inversion.invert import check_origin

log = logging.getLogger(__name__)


def choose_origin(origins: Sequence[Origin], event_id: str | None, where: str) -> Origin:
    """The origin named ``event_id``, or the only one when no id is given."""
    if event_id is not None:
        chosen = [o for o in origins if o.event_id == event_id]
        if not chosen:
            known = ", ".join(o.event_id for o in origins)
            raise ValueError(f"{where}: no event {event_id!r} (events: {known})")
        return chosen[0]
    if len(origins) != 1:
        known = ", ".join(o.event_id for o in origins)
        raise ValueError(
            f"{where}: expected one event, found {len(origins)} ({known}); choose one with --event-id (event_id= in Python)"
        )
    return origins[0]


def origin_from_obspy(event: Any, event_id: str | None = None) -> Origin:
    """The origin of an ObsPy ``Event``, or of one event of a ``Catalog`` (``event_id``)."""
    from obspy.core.event import Catalog, Event

    if isinstance(event, Event):
        origin = Origin.from_obspy(event)
        if event_id is not None and origin.event_id != event_id:
            raise ValueError(f"event is {origin.event_id!r}, not {event_id!r}")
        return origin
    if isinstance(event, Catalog) or isinstance(event, (list, tuple)):
        return choose_origin([Origin.from_obspy(e) for e in event], event_id, "catalog")
    raise TypeError(f"expected an obspy Event or Catalog, got {type(event).__name__}")


def origin_from_event_file(path: str | Path, event_id: str | None = None) -> Origin:
    """The origin of one event of an event file (QuakeML or any format ObsPy reads).

    ``event_id`` picks it among several; without it the file must hold exactly one.
    """
    from symae.data.events import read_origins

    return choose_origin(read_origins(path), event_id, str(path))


def event_from_obspy(
    stream: Any,
    inventory: Any,
    origin: Origin,
    contract: DataContract,
    allow_no_response: bool = False,
    pad_short: bool = False,
    no_response_units: str = "displacement",
) -> EventData:
    """Preprocess and group one event's records (ObsPy ``Stream`` + ``Inventory``);
    raises if no record survives. ``allow_no_response`` takes channels without a usable
    response in the units at hand (flagged ``response_not_removed``); ``pad_short``
    zero-pads records shorter than the window that cover the core around P (flagged
    ``padded``); ``no_response_units`` says whether records without a response are
    displacement or velocity (then integrated)."""
    from symae.data.preprocess import PreprocessConfig, assemble_event, preprocess_stream
    from symae.data.rejections import count_reasons

    # what the inversion needs, refused here with the field named: depth, magnitude,
    # and a whole moment tensor when one is given
    check_origin(origin)
    config = PreprocessConfig(
        contract=contract,
        allow_no_response=allow_no_response,
        pad_short=pad_short,
        no_response_units=no_response_units,
    )
    traces, rejections = preprocess_stream(stream, inventory, origin, config)
    if rejections:
        log.info(
            "%s: rejected %s",
            origin.event_id,
            {k: v for k, v in count_reasons(rejections).items() if v},
        )
    if not traces:
        reasons = "; ".join(f"{r.source}: {r.message}" for r in rejections[:5])
        raise ValueError(f"event {origin.event_id!r}: no record survived preprocessing ({reasons})")
    return assemble_event(origin, traces, contract, provenance={"preprocess": config.to_dict()})


def event_from_records(
    waveforms: Sequence[str | Path],
    inventory: str | Path,
    event_file: str | Path,
    contract: DataContract,
    event_id: str | None = None,
    allow_no_response: bool = False,
    pad_short: bool = False,
    no_response_units: str = "displacement",
) -> EventData:
    """Read, preprocess and group one event's records; raises if no record survives.

    ``allow_no_response`` takes channels without a usable response in the units at hand
    (flagged ``response_not_removed``) instead of rejecting them as ``no_response``;
    ``pad_short`` pads short records instead of rejecting them as ``too_short``;
    ``no_response_units``: ``displacement`` or ``velocity`` (integrated).
    """
    from obspy import Stream, read, read_inventory

    stream = Stream()
    for path in waveforms:
        if not Path(path).is_file():
            raise FileNotFoundError(f"waveform file not found: {path}")
        try:
            stream += read(str(path))
        except Exception as exc:  # ObsPy raises TypeError, ValueError, ... for bad files
            raise UsageError(
                f"{path}: not a waveform file ObsPy can read ({_reason(exc)})"
            ) from exc
    if not stream:
        raise UsageError(f"no trace in {', '.join(str(p) for p in waveforms)}")
    origin = origin_from_event_file(event_file, event_id)
    try:
        stations = read_inventory(str(inventory), format="STATIONXML")
    except Exception as exc:
        hint = "it is QuakeML" if _looks_like_quakeml(inventory) else _reason(exc)
        raise UsageError(f"{inventory}: not a StationXML inventory ({hint})") from exc
    return event_from_obspy(
        stream, stations, origin, contract, allow_no_response, pad_short, no_response_units
    )


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
