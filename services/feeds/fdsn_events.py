"""What a live feed asks FDSN web services: the stations it streams, and new events.

- :func:`fetch_channels`: ``fdsnws/station`` (``level=response``) for the configured
  network/station/location/channel selectors, channels operating now; the inventory
  gives distances and travels with every record (ingest needs no local inventory).
- :class:`EventPoller`: ``fdsnws/event`` from a start time, at least a magnitude, in
  origin-time order; each event becomes the :class:`OriginMessage` the other feeds
  publish (``symae.data.events.Origin.from_obspy``, the one conversion).

Every failure is a :class:`~services.feeds.fdsn.FeedError` naming the service and the
reason on one line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from services.feeds.fdsn import FeedError, _one_line, client

if TYPE_CHECKING:
    from services.schemas import OriginMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Channel:
    """A channel the feed serves: SEED id and its station's coordinates (degrees)."""

    seed_id: str
    latitude: float
    longitude: float

    @property
    def station(self) -> str:
        """``NET.STA``."""
        return ".".join(self.seed_id.split(".")[:2])


@dataclass(frozen=True)
class ChannelSelection:
    """FDSN selectors (comma lists, ``*``/``?`` wildcards) of the channels to stream."""

    network: str
    station: str
    location: str
    channel: str


def fetch_channels(
    base_url: str, selection: ChannelSelection, timeout: float = 60.0
) -> tuple[Any, list[Channel]]:
    """(ObsPy Inventory with responses, the channels in it operating now)."""
    from obspy import UTCDateTime
    from obspy.clients.fdsn.header import FDSNNoDataException

    fdsn = client(base_url, timeout)
    query = {
        "network": selection.network,
        "station": selection.station,
        "location": selection.location,
        "channel": selection.channel,
    }
    try:
        inventory = fdsn.get_stations(**query, starttime=UTCDateTime(), level="response")
    except FDSNNoDataException as exc:
        raise FeedError(f"{base_url}: fdsnws/station lists no channel for {query}") from exc
    except Exception as exc:  # noqa: BLE001 - the operator reads the reason
        raise FeedError(f"{base_url} fdsnws/station: {_one_line(exc)}") from exc
    channels = {
        f"{net.code}.{sta.code}.{cha.location_code}.{cha.code}": Channel(
            f"{net.code}.{sta.code}.{cha.location_code}.{cha.code}",
            float(sta.latitude),
            float(sta.longitude),
        )
        for net in inventory
        for sta in net
        for cha in sta
    }
    if not channels:
        raise FeedError(f"{base_url}: the fdsnws/station answer lists no channel for {query}")
    log.info("%s: %d channels of %d stations", base_url, len(channels), _stations(channels))
    return inventory, sorted(channels.values(), key=lambda c: c.seed_id)


def _stations(channels: dict[str, Channel]) -> int:
    return len({c.station for c in channels.values()})


def seedlink_selectors(channels: list[Channel]) -> dict[str, list[str]]:
    """Per ``NET.STA`` the SeedLink selectors of its channels (``LLCCC``, ``CCC`` when the
    location is empty: SeedLink then matches any location, the feed keeps only those of
    the inventory); data records only (``.D``)."""
    out: dict[str, list[str]] = {}
    for ch in channels:
        _, _, loc, cha = ch.seed_id.split(".")
        selector = f"{loc}{cha}.D"
        out.setdefault(ch.station, [])
        if selector not in out[ch.station]:
            out[ch.station].append(selector)
    return out


class EventPoller:
    """``fdsnws/event`` queries for events since a time (see module docstring)."""

    def __init__(self, base_url: str, min_magnitude: float, timeout: float = 60.0) -> None:
        self.base_url = base_url
        self.min_magnitude = min_magnitude
        self.client = client(base_url, timeout)

    def poll(self, since: float) -> list[OriginMessage]:
        """Events with an origin at or after ``since`` (POSIX s), oldest first."""
        from obspy import UTCDateTime
        from obspy.clients.fdsn.header import FDSNNoDataException

        from services.devtools.replay import origin_from_quakeml

        try:
            catalog = self.client.get_events(
                starttime=UTCDateTime(since),
                minmagnitude=self.min_magnitude,
                orderby="time-asc",
            )
        except FDSNNoDataException:
            return []
        except Exception as exc:  # noqa: BLE001
            raise FeedError(f"{self.base_url} fdsnws/event: {_one_line(exc)}") from exc
        origins = []
        for event in catalog:
            try:
                origins.append(origin_from_quakeml(event))
            except Exception as exc:  # noqa: BLE001 - one unusable event, not the feed
                log.warning("%s: event %s skipped: %s", self.base_url, event.resource_id, exc)
        return sorted(origins, key=lambda o: o.time)
