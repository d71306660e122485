"""The recent SeedLink packets of one station, kept until no record window needs them.

Events are announced minutes after their origin, often after the P wave has passed the
nearer stations, so every station's packets are kept for ``buffer_s`` seconds of record
time (and longer while a pending window still needs them) and the window around
predicted P is cut from them when the event is known. The buffer also says where to
resume after a restart: ``resume_seq`` is the sequence number of the newest packet that
has left the buffer, so asking the server for everything after it rebuilds the buffer
exactly (SeedLink servers keep hours to days of packets).
"""

from __future__ import annotations

import io
import logging
from collections import deque
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Packet:
    """One 512-byte miniSEED record as received, with its place in the server's sequence.

    ``start`` and ``end`` are the times (POSIX s) of its first and last sample; ``data`` is
    None for a packet of a channel the feed does not serve (kept only for its sequence
    number, so that the resume point never skips a packet still needed).
    """

    seq: int
    seed_id: str
    start: float
    end: float
    data: bytes | None


class StationBuffer:
    """Packets of one ``NET.STA`` in arrival (sequence) order; see the module docstring."""

    def __init__(self, resume_seq: int = -1) -> None:
        self.packets: deque[Packet] = deque()
        self.resume_seq = resume_seq  # -1: nothing has left the buffer (start at next data)
        self._end: dict[str, float] = {}  # seed id -> time of the newest sample received

    def add(self, packet: Packet) -> None:
        self.packets.append(packet)
        if packet.data is not None and packet.end > self._end.get(packet.seed_id, float("-inf")):
            self._end[packet.seed_id] = packet.end

    def data_end(self, seed_id: str) -> float | None:
        """Time of the newest sample of ``seed_id`` received so far (None: none yet)."""
        return self._end.get(seed_id)

    @property
    def newest(self) -> float | None:
        """Time of the newest sample of any channel of the station."""
        return max(self._end.values(), default=None)

    def resume_point(self) -> int:
        """The sequence number to resume after: every packet after it is still needed."""
        if self.resume_seq >= 0 or not self.packets:
            return self.resume_seq
        return self.packets[0].seq - 1

    def evict(self, before: float) -> int:
        """Drop the packets, from the oldest, that end before ``before``; returns how many.

        Stops at the first packet still needed, so the buffer always holds every packet
        after ``resume_seq``.
        """
        n = 0
        while self.packets and (self.packets[0].data is None or self.packets[0].end < before):
            self.resume_seq = self.packets.popleft().seq
            n += 1
        return n

    def cut(self, seed_id: str, t0: float, t1: float, focus: float) -> object | None:
        """The record of ``seed_id`` from ``t0`` to ``t1`` (an ObsPy Trace), or None.

        Packets are merged; when a hole splits the span, the contiguous piece that holds
        ``focus`` (predicted P) is returned, else the longest one: ingest decides whether
        it covers the model window (``too_short``, ``gap``), the feed never pads.
        """
        from obspy import UTCDateTime, read

        parts = [
            p.data
            for p in self.packets
            if p.seed_id == seed_id and p.data is not None and p.end >= t0 and p.start <= t1
        ]
        if not parts:
            return None
        stream = read(io.BytesIO(b"".join(parts)), format="MSEED")
        stream.merge(method=1, fill_value=None)
        stream.trim(UTCDateTime(t0), UTCDateTime(t1))
        stream = stream.split()
        if not stream:
            return None
        holding = [
            tr
            for tr in stream
            if tr.stats.starttime.timestamp <= focus <= tr.stats.endtime.timestamp
        ]
        if len(stream) > 1:
            log.warning("%s: %d pieces between %s and %s", seed_id, len(stream), t0, t1)
        return holding[0] if holding else max(stream, key=lambda tr: tr.stats.npts)
