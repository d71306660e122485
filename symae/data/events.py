"""Earthquake origins from event files (QuakeML and every format ObsPy reads).

An event id must name an HDF5 group and match the ids other tools use, so it comes
from the event's resource id: the last path segment of ``smi:.../<id>`` (a trailing
``event`` segment, as ObsPy writes for CMTSOLUTION and NDK files, is skipped), with
characters other than letters, digits, ``_``, ``-`` and ``.`` replaced by ``_``. Write
``publicID="smi:symae/event/<id>"`` in QuakeML to control it. Without a usable resource
id the origin time names the event (``YYYYMMDDTHHMMSS``). Times and places come from the hypocentre (``hypocentre_of``).
"""

from __future__ import annotations

import re
from pathlib import Path

from obspy import UTCDateTime, read_events
from obspy.core.event import Event
from obspy.core.event import Origin as ObsPyOrigin

from symae.data.arrivals import arrival_table
from symae.data.dataset import Origin
from symae.data.preprocess import PreprocessConfig

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")
_TENSOR = {"Mrr": "m_rr", "Mtt": "m_tt", "Mpp": "m_pp", "Mrt": "m_rt", "Mrp": "m_rp", "Mtp": "m_tp"}


def event_id_of(event: Event) -> str:
    """A stable, HDF5-safe id for an ObsPy event (rules in the module docstring)."""
    rid = str(event.resource_id or "")
    parts = [p for p in re.split(r"[/?=#]", rid) if p and p != "event" and not p.endswith(":")]
    if parts and parts[-1] not in ("smi:local", "quakeml:local"):
        return _UNSAFE.sub("_", parts[-1])
    origin = hypocentre_of(event)
    if origin is None:
        raise ValueError(f"event {rid!r} has neither a usable resource id nor an origin")
    return origin.time.strftime("%Y%m%dT%H%M%S")


def hypocentre_of(event: Event) -> ObsPyOrigin | None:
    """The origin P times are predicted from: the hypocentre when the event has one.

    A CMTSOLUTION, for instance, carries a centroid (the preferred origin, tens of
    seconds after rupture start) and the hypocentre; P leaves from the latter.
    """
    for o in event.origins:
        if o.origin_type == "hypocenter":
            return o
    return event.preferred_origin() or (event.origins[0] if event.origins else None)


def origin_of(event: Event) -> Origin:
    """Convert an ObsPy event (hypocentre, magnitude, moment tensor) to ``Origin``."""
    o = hypocentre_of(event)
    if o is None:
        raise ValueError(f"event {event.resource_id} has no origin")
    if o.latitude is None or o.longitude is None or o.depth is None:
        raise ValueError(
            f"event {event.resource_id}: origin needs latitude, longitude and depth, got "
            f"{o.latitude}, {o.longitude}, {o.depth}"
        )
    mag = event.preferred_magnitude() or (event.magnitudes[0] if event.magnitudes else None)
    tensor = None
    fm = event.preferred_focal_mechanism() or (
        event.focal_mechanisms[0] if event.focal_mechanisms else None
    )
    if fm is not None and fm.moment_tensor is not None and fm.moment_tensor.tensor is not None:
        t = fm.moment_tensor.tensor
        tensor = {key: float(getattr(t, attr)) for key, attr in _TENSOR.items()}
    region = ""
    if event.event_descriptions:
        region = str(event.event_descriptions[0].text or "")
    return Origin(
        event_id=event_id_of(event),
        time=o.time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        latitude=float(o.latitude),
        longitude=float(o.longitude),
        depth_km=float(o.depth) / 1000.0,  # ObsPy depths are metres
        magnitude=float(mag.mag) if mag is not None else None,
        magnitude_type=str(mag.magnitude_type or "Mw") if mag is not None else "Mw",
        region=region,
        moment_tensor=tensor,
    )


def read_origins(path: str | Path) -> list[Origin]:
    """Every event in a file (QuakeML, CMTSOLUTION, NDK, SCARDEC ...), in time order."""
    try:
        catalog = read_events(str(path))
    except Exception as exc:  # ObsPy raises many types for unreadable files
        raise ValueError(f"cannot read events from {path}: {exc}") from exc
    origins = sorted((origin_of(e) for e in catalog), key=lambda o: UTCDateTime(o.time))
    ids = [o.event_id for o in origins]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"{path}: event ids are not unique: {dupes}")
    return origins


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
