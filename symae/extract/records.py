"""Real-format input for extraction: miniSEED/SAC + StationXML + QuakeML -> ``EventData``.

The records go through the project's preprocessing (``symae.data.preprocess``) and are
grouped by focal-sphere pixel there; this module only reads the files and turns the
QuakeML event into an ``Origin``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from symae.config import DataContract
from symae.data.dataset import EventData, Origin

log = logging.getLogger(__name__)

_TENSOR_KEYS = {"m_rr": "Mrr", "m_tt": "Mtt", "m_pp": "Mpp", "m_rt": "Mrt", "m_rp": "Mrp", "m_tp": "Mtp"}


def origin_from_quakeml(path: str | Path) -> Origin:
    """The preferred origin (and magnitude, moment tensor) of the only event in a QuakeML file."""
    from obspy import read_events

    catalog = read_events(str(path))
    if len(catalog) != 1:
        raise ValueError(f"{path}: expected one event, found {len(catalog)}")
    ev = catalog[0]
    origin = ev.preferred_origin() or (ev.origins[0] if ev.origins else None)
    if origin is None or origin.depth is None:
        raise ValueError(f"{path}: the event has no origin with a depth")
    magnitude = ev.preferred_magnitude() or (ev.magnitudes[0] if ev.magnitudes else None)
    tensor = None
    mech = ev.preferred_focal_mechanism() or (ev.focal_mechanisms[0] if ev.focal_mechanisms else None)
    if mech is not None and mech.moment_tensor is not None and mech.moment_tensor.tensor is not None:
        t = mech.moment_tensor.tensor
        tensor = {name: float(getattr(t, key)) for key, name in _TENSOR_KEYS.items()}
    event_id = str(ev.resource_id.id).rstrip("/").split("/")[-1].split("=")[-1] or Path(path).stem
    region = ev.event_descriptions[0].text if ev.event_descriptions else ""
    return Origin(
        event_id=event_id,
        time=origin.time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        latitude=float(origin.latitude),
        longitude=float(origin.longitude),
        depth_km=float(origin.depth) / 1000.0,
        magnitude=float(magnitude.mag) if magnitude is not None else None,
        magnitude_type=(magnitude.magnitude_type or "Mw") if magnitude is not None else "Mw",
        region=region or "",
        moment_tensor=tensor,
    )


def event_from_records(
    waveforms: Sequence[str | Path],
    inventory: str | Path,
    event_file: str | Path,
    contract: DataContract,
) -> EventData:
    """Read, preprocess and group one event's records; raises if no record survives."""
    from obspy import Stream, read, read_inventory

    from symae.data.preprocess import PreprocessConfig, assemble_event, preprocess_stream
    from symae.data.rejections import count_reasons

    stream = Stream()
    for path in waveforms:
        if not Path(path).is_file():
            raise FileNotFoundError(f"waveform file not found: {path}")
        stream += read(str(path))
    origin = origin_from_quakeml(event_file)
    config = PreprocessConfig(contract=contract)
    traces, rejections = preprocess_stream(stream, read_inventory(str(inventory)), origin, config)
    if rejections:
        log.info("%s: rejected %s", origin.event_id, count_reasons(rejections))
    if not traces:
        reasons = "; ".join(f"{r.source}: {r.message}" for r in rejections[:5])
        raise ValueError(f"event {origin.event_id!r}: no record survived preprocessing ({reasons})")
    return assemble_event(origin, traces, contract, provenance={"preprocess": config.to_dict()})
