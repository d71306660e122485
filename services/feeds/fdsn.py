"""Fetch one event's vertical broadband records from an FDSN data centre (ObsPy client).

For an event (a catalogue id, or an origin given by hand): the event from
``fdsnws/event``, the stations at ``min_distance``..``max_distance`` degrees with their
responses from ``fdsnws/station``, and a window around the origin of every matching
channel from ``fdsnws/dataselect`` (one bulk request). The result is a
:class:`FetchedEvent` that can be written as a ``symae replay --from-dir`` folder
(``waveforms/*.mseed``, ``stations.xml``, ``event.xml``) or published like a replay.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from symae.errors import SymaeError

log = logging.getLogger(__name__)


class FeedError(SymaeError, RuntimeError):
    """A data centre gave no usable answer; the message is one line for the operator."""


@dataclass
class FetchedEvent:
    event: Any  # obspy Event
    inventory: Any  # obspy Inventory
    stream: Any  # obspy Stream

    def write_dir(self, folder: Path) -> Path:
        """The layout ``symae replay --from-dir`` reads."""
        folder = Path(folder)
        (folder / "waveforms").mkdir(parents=True, exist_ok=True)
        for trace in self.stream:
            name = f"{trace.id}.{trace.stats.starttime.strftime('%Y%m%dT%H%M%S')}.mseed"
            trace.write(str(folder / "waveforms" / name), format="MSEED")
        self.inventory.write(str(folder / "stations.xml"), format="STATIONXML")
        from obspy.core.event import Catalog

        Catalog(events=[self.event]).write(str(folder / "event.xml"), format="QUAKEML")
        return folder


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


def client(base_url: str, timeout: float = 60.0) -> Any:
    """An ObsPy FDSN client that uses the standard service paths without probing."""
    from obspy.clients.fdsn import Client

    try:
        return Client(base_url, timeout=timeout, _discover_services=False)
    except Exception as exc:  # noqa: BLE001 - any failure is the operator's to read
        raise FeedError(f"FDSN client for {base_url}: {_one_line(exc)}") from exc


def fetch_event(
    base_url: str,
    event_id: str | None = None,
    origin: dict[str, float | str] | None = None,
    channel: str = "BHZ,HHZ",
    min_distance: float = 30.0,
    max_distance: float = 90.0,
    before_s: float = 60.0,
    after_s: float = 1200.0,
    timeout: float = 60.0,
) -> FetchedEvent:
    """The event, its stations at the distance range and their records (see module doc)."""
    from obspy import Stream, UTCDateTime
    from obspy.clients.fdsn.header import FDSNNoDataException

    from symae.data.events import Origin

    fdsn = client(base_url, timeout)
    if event_id is not None:
        try:
            catalog = fdsn.get_events(eventid=event_id)
        except FDSNNoDataException as exc:
            raise FeedError(f"{base_url}: no event {event_id!r} in fdsnws/event") from exc
        except Exception as exc:  # noqa: BLE001
            raise FeedError(f"{base_url} fdsnws/event: {_one_line(exc)}") from exc
        if len(catalog) != 1:
            raise FeedError(f"{base_url}: event {event_id!r} matched {len(catalog)} events")
        event = catalog[0]
    elif origin is not None:
        event = Origin(
            event_id=str(origin["event_id"]),
            time=str(origin["time"]),
            latitude=float(origin["latitude"]),
            longitude=float(origin["longitude"]),
            depth_km=float(origin["depth_km"]),
            magnitude=float(origin["magnitude"]) if origin.get("magnitude") is not None else None,
        ).to_obspy()
    else:
        raise FeedError("give an event id or an origin")
    preferred = event.preferred_origin() or event.origins[0]
    t0 = UTCDateTime(preferred.time)
    start, end = t0 - before_s, t0 + after_s
    try:
        inventory = fdsn.get_stations(
            latitude=preferred.latitude,
            longitude=preferred.longitude,
            minradius=min_distance,
            maxradius=max_distance,
            channel=channel,
            starttime=start,
            endtime=end,
            level="response",
        )
    except FDSNNoDataException as exc:
        raise FeedError(
            f"{base_url}: no {channel} station at {min_distance:g}-{max_distance:g} degrees"
        ) from exc
    except Exception as exc:  # noqa: BLE001
        raise FeedError(f"{base_url} fdsnws/station: {_one_line(exc)}") from exc
    codes = sorted(
        {
            (net.code, sta.code, cha.location_code, cha.code)
            for net in inventory
            for sta in net
            for cha in sta
        }
    )
    bulk = [(*c, start, end) for c in codes]
    if not bulk:
        raise FeedError(f"{base_url}: the station answer lists no channel")
    try:
        stream = fdsn.get_waveforms_bulk(bulk)
    except FDSNNoDataException:
        stream = Stream()
    except Exception as exc:  # noqa: BLE001
        raise FeedError(f"{base_url} fdsnws/dataselect: {_one_line(exc)}") from exc
    if not stream:
        raise FeedError(f"{base_url}: no waveforms for {len(bulk)} channels")
    stream.merge(method=1, fill_value=None)
    stream = stream.split() if any(hasattr(t.data, "mask") for t in stream) else stream
    log.info("%s: %d stations, %d traces", base_url, len(bulk), len(stream))
    return FetchedEvent(event, inventory, stream)
