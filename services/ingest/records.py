"""Raw record checks before preprocessing: size, decoding, finiteness, inventory.

Each check raises :class:`~services.runtime.PoisonMessage` with the reason code the
dead-letter topic carries: ``oversize``, ``undecodable``, ``nan``, ``unknown_station``.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections import OrderedDict
from pathlib import Path

import numpy as np
from obspy import Trace, read_inventory
from obspy.core.inventory import Inventory

from services.runtime import PoisonMessage
from services.schemas import DeadLetterReason, RawRecord

log = logging.getLogger(__name__)


def decode_record(record: RawRecord, max_samples: int) -> Trace:
    """The record's samples as an ObsPy Trace, after the size and finiteness checks."""
    if record.npts > max_samples:
        raise PoisonMessage(
            DeadLetterReason.OVERSIZE,
            f"{record.seed_id}: {record.npts} samples, at most {max_samples} allowed",
        )
    try:
        trace = record.to_trace()
    except ValueError as exc:
        raise PoisonMessage(DeadLetterReason.UNDECODABLE, f"{record.seed_id}: {exc}") from exc
    bad = int(np.count_nonzero(~np.isfinite(trace.data)))
    if bad:
        raise PoisonMessage(DeadLetterReason.NAN, f"{record.seed_id}: {bad} non-finite samples")
    return trace


# the document's creation time: FDSN services stamp every answer, so the same channels
# fetched for two events differ only there; it is not part of the content key
_CREATED = re.compile(rb"<Created>[^<]*</Created>")


def stationxml_digest(xml: bytes) -> str:
    """The content key of a StationXML document: SHA-1 of its bytes without ``<Created>``."""
    return hashlib.sha1(_CREATED.sub(b"", xml, count=1)).hexdigest()


class Inventories:
    """Inventories for records: the one a record carries, else the local one.

    Parsed StationXML documents are kept, one per content (:func:`stationxml_digest`:
    the inflated document without its creation time, however it was compressed), in a
    bounded LRU of ``cache_size`` documents: a station sends its channel description with
    every record of every event, and parsing it each time (about 2.4 ms) would dominate
    the cost of a record. The same parsed object also keeps its channel index and its
    evaluated responses cached (``symae.data.stations``, ``symae.data.response``).
    """

    def __init__(self, local: Inventory | None = None, cache_size: int = 4096) -> None:
        self.local = local
        self._cache: OrderedDict[str, Inventory] = OrderedDict()
        self._size = cache_size
        self.parsed = 0  # documents parsed (cache misses)

    @classmethod
    def from_path(cls, path: Path | None, cache_size: int = 4096) -> Inventories:
        """Load every StationXML file at ``path`` (a file or a folder of ``*.xml``)."""
        if path is None:
            return cls(cache_size=cache_size)
        files = sorted(path.glob("*.xml")) if path.is_dir() else [path]
        if not files:
            raise FileNotFoundError(f"no StationXML (*.xml) in {str(path)!r}")
        inventory = Inventory(networks=[], source="symae-ingest")
        for file in files:
            inventory.extend(read_inventory(str(file), format="STATIONXML").networks)
        log.info("local inventory: %d networks from %d files", len(inventory.networks), len(files))
        return cls(local=inventory, cache_size=cache_size)

    def for_record(self, record: RawRecord, max_bytes: int = 8 * 1024 * 1024) -> Inventory:
        if record.stationxml is None:
            if self.local is None:
                raise PoisonMessage(
                    DeadLetterReason.UNKNOWN_STATION,
                    f"{record.seed_id}: record carries no StationXML and no local inventory "
                    "is configured (SYMAE_INVENTORY)",
                )
            return self.local
        try:
            xml = record.stationxml_bytes(max_bytes)
        except ValueError as exc:
            raise PoisonMessage(DeadLetterReason.UNDECODABLE, str(exc)) from exc
        assert xml is not None
        digest = stationxml_digest(xml)
        cached = self._cache.get(digest)
        if cached is not None:
            self._cache.move_to_end(digest)
            return cached
        try:
            inventory = read_inventory(io.BytesIO(xml), format="STATIONXML")
        except Exception as exc:  # noqa: BLE001 - ObsPy raises many types on bad XML
            raise PoisonMessage(
                DeadLetterReason.UNDECODABLE, f"{record.seed_id}: StationXML does not parse: {exc}"
            ) from exc
        self.parsed += 1
        self._cache[digest] = inventory
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return inventory
