"""Which record of which channel an event needs: the window around predicted P.

For an origin and the feed's channels: every channel at the data contract's distance
range (``min_distance_deg``..``max_distance_deg``, 30-90 degrees by default) gets the
window from ``window_start - margin`` to ``window_end + margin`` seconds around its
predicted first arrival of the contract's phase (``taup_model``, read from the
precomputed table of ``symae.data.arrivals``, no TauP call per station). The margin gives
preprocessing the record it wants beyond the model window (``min_margin_s``, 30 s, at
least; up to ``max_margin_s`` used).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.feeds.fdsn_events import Channel

if TYPE_CHECKING:
    from services.schemas import OriginMessage
    from symae.contract import DataContract


@dataclass(frozen=True)
class Window:
    """The record one event needs from one channel (times in POSIX s)."""

    event_id: str
    seed_id: str
    station: str  # NET.STA
    start: float
    end: float
    p_time: float
    distance_deg: float

    @property
    def record_id(self) -> str:
        """``<event id>|<SEED id>``: what makes a published record unique."""
        return f"{self.event_id}|{self.seed_id}"


def plan_windows(
    origin: OriginMessage, channels: list[Channel], contract: DataContract, margin_s: float
) -> list[Window]:
    """The windows of ``origin`` on ``channels`` (module docstring), nearest first."""
    from obspy.geodetics import locations2degrees

    from symae.data.arrivals import arrival_table

    table = arrival_table(contract.taup_model, contract.phase, 0.5)
    t0 = origin.time.timestamp()
    out = []
    for ch in channels:
        dist = float(
            locations2degrees(origin.latitude, origin.longitude, ch.latitude, ch.longitude)
        )
        if not contract.min_distance_deg <= dist <= contract.max_distance_deg:
            continue
        arrival = table(origin.depth_km, dist)
        if arrival is None:
            continue
        p = t0 + arrival.time
        out.append(
            Window(
                event_id=origin.event_id,
                seed_id=ch.seed_id,
                station=ch.station,
                start=p + contract.window_start - margin_s,
                end=p + contract.window_end + margin_s,
                p_time=p,
                distance_deg=dist,
            )
        )
    return sorted(out, key=lambda w: (w.distance_deg, w.seed_id))
