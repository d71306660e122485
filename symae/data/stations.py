"""Channel look-up in an ObsPy Inventory: coordinates and response of one SEED id.

``Inventory.get_coordinates`` walks every network, station and channel on each call;
a build over thousands of records against a large inventory would spend its time
there. ``channel_at`` indexes an inventory once (per inventory object; the last
``INDEXED_INVENTORIES`` are kept, enough for a streaming ingest that holds one parsed
StationXML document per station) and answers in constant time. Indexing also gives each
channel epoch its response identity (``symae.data.response.response_identity``), the
key of the evaluated-response cache, so it is computed once per parsed document.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

from obspy import UTCDateTime
from obspy.core.inventory import Channel, Inventory, Response, Station

from symae.data.rejections import Rejected, RejectReason
from symae.data.response import response_identity

INDEXED_INVENTORIES = 1024  # inventory indexes kept (LRU); as many as ingest's parsed documents


@dataclass(frozen=True)
class ChannelInfo:
    """What preprocessing needs to know about one channel epoch."""

    seed_id: str
    latitude: float
    longitude: float
    response: Response | None
    # content identity of the response (cache key); None: the response object's identity
    response_key: Hashable | None = None


_Epoch = tuple[float, float, ChannelInfo]  # start, end (POSIX s), info


def _index(inventory: Inventory) -> dict[str, list[_Epoch]]:
    index: dict[str, list[_Epoch]] = {}
    for net in inventory:
        for sta in net:
            for cha in sta:
                seed_id = f"{net.code}.{sta.code}.{cha.location_code}.{cha.code}"
                index.setdefault(seed_id, []).append(_epoch(seed_id, sta, cha))
    return index


def _epoch(seed_id: str, station: Station, channel: Channel) -> _Epoch:
    lat = channel.latitude if channel.latitude is not None else station.latitude
    lon = channel.longitude if channel.longitude is not None else station.longitude
    start = channel.start_date.timestamp if channel.start_date else float("-inf")
    end = channel.end_date.timestamp if channel.end_date else float("inf")
    key = response_identity(seed_id, start, end, channel.response)
    return start, end, ChannelInfo(seed_id, float(lat), float(lon), channel.response, key)


class _IndexCache:
    """A few recent inventory indexes, keyed by object identity (the object is kept)."""

    def __init__(self, size: int = INDEXED_INVENTORIES) -> None:
        self._size = size
        self._items: OrderedDict[int, tuple[Inventory, dict[str, list[_Epoch]]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, inventory: Inventory) -> dict[str, list[_Epoch]]:
        key = id(inventory)
        with self._lock:
            item = self._items.get(key)
            if item is not None and item[0] is inventory:
                self._items.move_to_end(key)
                return item[1]
        index = _index(inventory)
        with self._lock:
            self._items[key] = (inventory, index)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return index


_CACHE = _IndexCache()


def channel_at(inventory: Inventory, seed_id: str, time: UTCDateTime) -> ChannelInfo:
    """The channel epoch of ``seed_id`` in force at ``time``; raises ``Rejected``.

    Note that an inventory edited in place after its first use is not re-indexed: pass
    a new Inventory object instead.
    """
    epochs = _CACHE.get(inventory).get(seed_id)
    if not epochs:
        raise Rejected(RejectReason.UNKNOWN_STATION, f"{seed_id} is not in the inventory")
    t = float(time.timestamp)
    for start, end, info in epochs:
        if start <= t <= end:
            return info
    spans = ", ".join(
        f"{UTCDateTime(s)}..{UTCDateTime(e) if e != float('inf') else 'open'}"
        for s, e, _ in epochs
        if s != float("-inf")
    )
    raise Rejected(
        RejectReason.UNKNOWN_STATION,
        f"{seed_id} has no channel epoch at {time} (epochs: {spans or 'none dated'})",
    )
