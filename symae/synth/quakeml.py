"""The ObsPy ``Event`` of a synthetic source (origin, Mw, moment tensor), for QuakeML."""

from __future__ import annotations

from obspy import UTCDateTime
from obspy.core.event import (
    Event,
    EventDescription,
    FocalMechanism,
    Magnitude,
    MomentTensor,
    Origin,
    ResourceIdentifier,
    Tensor,
)

from symae.synth.source import Source

ID_PREFIX = "smi:local/symae/event/"


def obspy_event(source: Source) -> Event:
    """Event whose resource id ends with the symae event id (``smi:local/symae/event/<id>``)."""
    o = source.origin
    event_id = o.event_id
    origin = Origin(
        resource_id=ResourceIdentifier(f"smi:local/symae/origin/{event_id}"),
        time=UTCDateTime(o.time),
        latitude=o.latitude,
        longitude=o.longitude,
        depth=o.depth_km * 1000.0,
    )
    magnitude = Magnitude(
        resource_id=ResourceIdentifier(f"smi:local/symae/magnitude/{event_id}"),
        mag=source.mw,
        magnitude_type="Mw",
        origin_id=origin.resource_id,
    )
    mt = o.moment_tensor or {}
    mechanisms = []
    if mt:
        mechanisms.append(
            FocalMechanism(
                resource_id=ResourceIdentifier(f"smi:local/symae/focal_mechanism/{event_id}"),
                moment_tensor=MomentTensor(
                    resource_id=ResourceIdentifier(f"smi:local/symae/moment_tensor/{event_id}"),
                    derived_origin_id=origin.resource_id,
                    scalar_moment=source.m0,
                    tensor=Tensor(
                        m_rr=mt["Mrr"], m_tt=mt["Mtt"], m_pp=mt["Mpp"],
                        m_rt=mt["Mrt"], m_rp=mt["Mrp"], m_tp=mt["Mtp"],
                    ),
                ),
            )
        )
    return Event(
        resource_id=ResourceIdentifier(ID_PREFIX + event_id),
        event_type="earthquake",
        origins=[origin],
        magnitudes=[magnitude],
        focal_mechanisms=mechanisms,
        preferred_origin_id=origin.resource_id,
        preferred_magnitude_id=magnitude.resource_id,
        event_descriptions=[EventDescription(text=o.region or event_id, type="region name")],
    )
