"""The ObsPy ``Event`` of a synthetic source (origin, Mw, moment tensor), for QuakeML.

Built by the one event builder, ``symae.data.events.event_of`` (resource ids
``smi:local/symae/<kind>/<event_id>``).
"""

from __future__ import annotations

from dataclasses import replace

from obspy.core.event import Event

from symae.data.events import event_of
from symae.synth.source import Source


def obspy_event(source: Source) -> Event:
    """Event whose resource id ends with the symae event id (``smi:local/symae/event/<id>``)."""
    origin = replace(source.origin, magnitude=source.mw, magnitude_type="Mw")
    return event_of(origin, m0=source.m0 if origin.moment_tensor else None)
