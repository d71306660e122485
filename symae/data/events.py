"""Earthquake origins from event files (QuakeML and every format ObsPy reads).

An event id must name an HDF5 group and match the ids other tools use, so it comes
from the event's resource id: the last path segment of ``smi:.../<id>`` (a trailing
``event`` segment, as ObsPy writes for CMTSOLUTION and NDK files, is skipped), with
characters other than letters, digits, ``_``, ``-`` and ``.`` replaced by ``_``. Write
``publicID="smi:symae/event/<id>"`` in QuakeML to control it. Without a usable resource
id the origin time names the event (``YYYYMMDDTHHMMSS``). Times and places come from the hypocentre (``hypocentre_of``).

This module is the one conversion point between ObsPy events and ``Origin``:
``origin_of`` (``Origin.from_obspy``) reads an event, ``event_of`` (``Origin.to_obspy``)
builds one with symae's resource ids, ``smi:local/symae/<kind>/<event_id>`` (kind:
event, origin, magnitude, focal_mechanism, moment_tensor; ``/r<revision>`` appended to
all but the event's for products of a given extraction revision), so that
``origin_of(event_of(o)).event_id == o.event_id``. Every QuakeML symae writes (synthetic
events, published products, ``ExtractionResult.to_quakeml``) is built by ``event_of``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obspy import UTCDateTime, read_events
from obspy.core.event import (
    Event,
    EventDescription,
    FocalMechanism,
    Magnitude,
    MomentTensor,
    ResourceIdentifier,
    Tensor,
)
from obspy.core.event import Origin as ObsPyOrigin


@dataclass
class Origin:
    """Where and when an earthquake happened (plus its moment tensor when known)."""

    event_id: str
    time: str  # ISO 8601 UTC
    latitude: float
    longitude: float
    depth_km: float
    magnitude: float | None = None
    magnitude_type: str = "Mw"
    region: str = ""
    # moment tensor in N m, keys Mrr, Mtt, Mpp, Mrt, Mrp, Mtp (GCMT convention)
    moment_tensor: dict[str, float] | None = None

    @classmethod
    def from_obspy(cls, event: Any) -> Origin:
        """The origin of an ObsPy ``Event``: hypocentre, magnitude, moment tensor, id.

        Rules for the event id in ``symae.data.events``.
        """
        return origin_of(event)

    def to_obspy(self) -> Any:
        """This origin as an ObsPy ``Event`` (``Origin.from_obspy`` reads it back).

        >>> from symae.data.events import Origin
        >>> o = Origin("ev1", "2018-01-23T09:31:40.000000Z", 56.0, -149.2, 21.0, 7.9)
        >>> Origin.from_obspy(o.to_obspy()) == o
        True
        """
        return event_of(self)

    def to_attrs(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {
            "event_id": self.event_id,
            "time": self.time,
            "latitude": float(self.latitude),
            "longitude": float(self.longitude),
            "depth_km": float(self.depth_km),
            "magnitude_type": self.magnitude_type,
            "region": self.region,
            "moment_tensor": json.dumps(self.moment_tensor),
        }
        if self.magnitude is not None:
            attrs["magnitude"] = float(self.magnitude)
        return attrs

    @classmethod
    def from_attrs(cls, attrs: Any) -> Origin:
        return cls(
            event_id=str(attrs["event_id"]),
            time=str(attrs["time"]),
            latitude=float(attrs["latitude"]),
            longitude=float(attrs["longitude"]),
            depth_km=float(attrs["depth_km"]),
            magnitude=float(attrs["magnitude"]) if "magnitude" in attrs else None,
            magnitude_type=str(attrs.get("magnitude_type", "Mw")),
            region=str(attrs.get("region", "")),
            moment_tensor=json.loads(attrs.get("moment_tensor", "null")),
        )


_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")
_TENSOR = {"Mrr": "m_rr", "Mtt": "m_tt", "Mpp": "m_pp", "Mrt": "m_rt", "Mrp": "m_rp", "Mtp": "m_tp"}
ID_PREFIX = "smi:local/symae"


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
        # components as given; a partly given tensor is refused by whoever needs it whole
        tensor = {
            key: float(getattr(t, attr))
            for key, attr in _TENSOR.items()
            if getattr(t, attr) is not None
        } or None
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


def resource_id(kind: str, event_id: str, revision: int | None = None) -> ResourceIdentifier:
    """``smi:local/symae/<kind>/<event_id>[/r<revision>]`` with a QuakeML-safe event id."""
    rid = f"{ID_PREFIX}/{kind}/{_UNSAFE.sub('_', event_id)}"
    if revision is not None and kind != "event":
        rid += f"/r{revision}"
    return ResourceIdentifier(rid)


MW_RANGE = (-3.0, 11.0)  # moment magnitudes that can be real


def scalar_moment(magnitude: float | None) -> float | None:
    """Scalar moment in N m of a moment magnitude (Hanks & Kanamori), None if unknown."""
    if magnitude is None or not math.isfinite(magnitude):
        return None
    if not MW_RANGE[0] <= magnitude <= MW_RANGE[1]:
        return None  # not a moment magnitude (and 10 ** (1.5 Mw) would overflow)
    return 10.0 ** (1.5 * magnitude + 9.1)


def event_of(
    origin: Origin,
    revision: int | None = None,
    m0: float | None = None,
    with_tensor: bool = True,
) -> Event:
    """An ObsPy event of ``origin``: hypocentre (preferred), magnitude, moment tensor.

    The focal mechanism is written when the origin has a moment tensor (``with_tensor``)
    or ``m0`` (N m) is given; its scalar moment is ``m0``, else that of the magnitude.
    ``revision`` tags the sub-object ids of one extraction revision.
    """
    eid = origin.event_id
    hypo = ObsPyOrigin(
        resource_id=resource_id("origin", eid, revision),
        time=UTCDateTime(origin.time),
        latitude=origin.latitude,
        longitude=origin.longitude,
        depth=origin.depth_km * 1000.0,
        origin_type="hypocenter",
    )
    event = Event(
        resource_id=resource_id("event", eid),
        event_type="earthquake",
        origins=[hypo],
        preferred_origin_id=hypo.resource_id,
    )
    if origin.region:
        event.event_descriptions.append(EventDescription(text=origin.region, type="region name"))
    if origin.magnitude is not None:
        mag = Magnitude(
            resource_id=resource_id("magnitude", eid, revision),
            mag=origin.magnitude,
            magnitude_type=origin.magnitude_type or "Mw",
            origin_id=hypo.resource_id,
        )
        event.magnitudes.append(mag)
        event.preferred_magnitude_id = mag.resource_id
    tensor = origin.moment_tensor if with_tensor else None
    if tensor or m0 is not None:
        mt = MomentTensor(
            resource_id=resource_id("moment_tensor", eid, revision),
            derived_origin_id=hypo.resource_id,
            scalar_moment=m0 if m0 is not None else scalar_moment(origin.magnitude),
        )
        if tensor:
            mt.tensor = Tensor(**{attr: float(tensor[key]) for key, attr in _TENSOR.items()})
        fm = FocalMechanism(
            resource_id=resource_id("focal_mechanism", eid, revision), moment_tensor=mt
        )
        event.focal_mechanisms.append(fm)
        event.preferred_focal_mechanism_id = fm.resource_id
    return event


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
