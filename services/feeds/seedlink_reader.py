"""Packets from a SeedLink server (ObsPy's ``SeedLinkConnection``) in a reader thread.

:meth:`SeedLinkReader.open` connects and negotiates in the caller's thread (``HELLO``,
then per station ``STATION sta net``, ``SELECT`` per selector and ``DATA [seq]``, then
``END``), so a server that refuses the connection, answers garbage or answers ``ERROR``
for every station fails the feed at start with one line (:class:`SeedLinkError`).
:meth:`SeedLinkReader.start` then reads packets in a daemon thread into a queue. A
connection lost while running is opened again with exponential back-off (logged), asking
each station for the packets after the last one queued, so nothing is skipped.

``DATA <seq+1>`` resumes a station after sequence number ``seq`` (``-1``: the next packet
the server receives). ObsPy sends the number in hex with a ``0x`` prefix, which the
common servers (SeisComP seedlink, ringserver) accept.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.feeds.seedlink_buffer import Packet
from symae.errors import SymaeError

log = logging.getLogger(__name__)

DEFAULT_PORT = 18000


class SeedLinkError(SymaeError, RuntimeError):
    """The SeedLink server cannot be used (one line for the operator)."""


@dataclass(frozen=True)
class Received:
    """A data packet and the ``NET.STA`` it belongs to."""

    station: str
    packet: Packet


def _one_line(exc: BaseException) -> str:
    text = getattr(exc, "value", None) or str(exc)
    return " ".join(str(text).split())[:300] or type(exc).__name__


def parse_address(address: str) -> str:
    """``HOST[:PORT]`` (an optional ``seedlink://`` prefix) as ``HOST:PORT``."""
    text = address.strip().removeprefix("seedlink://").rstrip("/")
    host, _, port = text.rpartition(":") if ":" in text else (text, "", str(DEFAULT_PORT))
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SeedLinkError(f"SeedLink server {address!r}: expected HOST:PORT")
    return f"{host}:{int(port)}"


class SeedLinkReader:
    """One multi-station SeedLink connection feeding a queue (see module docstring).

    ``selectors``: per ``NET.STA`` the SeedLink selectors (``00BHZ``, ``BHZ`` ...);
    ``resume``: per ``NET.STA`` the sequence number to resume after (absent: -1).
    """

    def __init__(
        self,
        address: str,
        selectors: Mapping[str, Sequence[str]],
        resume: Mapping[str, int],
        net_timeout_s: float = 120.0,
        max_backoff_s: float = 60.0,
        queue_size: int = 100_000,
    ) -> None:
        if not selectors:
            raise SeedLinkError("no station to ask the SeedLink server for")
        self.address = parse_address(address)
        self.selectors = {k: list(v) for k, v in selectors.items()}
        self.last_seq = {k: int(resume.get(k, -1)) for k in self.selectors}
        self.net_timeout_s = net_timeout_s
        self.max_backoff_s = max_backoff_s
        self.queue: queue.Queue[Received] = queue.Queue(maxsize=queue_size)
        self.undecodable = 0  # packets whose miniSEED did not parse (logged, skipped)
        self.reconnects = 0
        self._stop = threading.Event()
        self._conn: Any = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ connection
    def _connection(self) -> Any:
        from obspy.clients.seedlink.client.seedlinkconnection import SeedLinkConnection

        conn = SeedLinkConnection(timeout=30)
        conn.set_sl_address(self.address)
        conn.set_net_timeout(self.net_timeout_s)
        conn.set_net_delay(min(10, self.max_backoff_s))
        for station, sels in sorted(self.selectors.items()):
            net, sta = station.split(".", 1)
            conn.add_stream(net, sta, " ".join(sels), self.last_seq[station], None)
        return conn

    def open(self) -> SeedLinkReader:
        """Connect and negotiate now; :class:`SeedLinkError` when the server is unusable."""
        from obspy.clients.seedlink.client.slstate import SLState
        from obspy.clients.seedlink.seedlinkexception import SeedLinkException

        conn = self._connection()
        try:
            conn.connect()  # HELLO
        except (SeedLinkException, OSError, ValueError) as exc:
            raise SeedLinkError(f"SeedLink server {self.address}: {_one_line(exc)}") from exc
        try:
            conn.config_link()  # STATION, SELECT, DATA per station, then END
        except (SeedLinkException, OSError, UnicodeDecodeError, ValueError) as exc:
            conn.disconnect()
            raise SeedLinkError(
                f"SeedLink server {self.address} refused the stations: {_one_line(exc)}"
            ) from exc
        conn.state.state = SLState.SL_DATA
        # ObsPy's collect() gives up after `timeout` s without a packet when one is set;
        # a quiet live server is normal, so none from here on (the socket keeps its
        # net timeout, after which the connection is opened again)
        conn.timeout = None
        self._conn = conn
        log.info("SeedLink %s: %s, %d stations", self.address, conn.server_id, len(self.selectors))
        return self

    def start(self) -> SeedLinkReader:
        if self._conn is None:
            self.open()
        self._thread = threading.Thread(target=self._run, name="seedlink-reader", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop reading: unblock the socket and let the thread end."""
        self._stop.set()
        conn = self._conn
        if conn is not None:
            conn.terminate()
            sock = getattr(conn, "socket", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def get(self, timeout: float) -> Received | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    # ------------------------------------------------------------------ reading
    def _run(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            try:
                if self._conn is None:
                    self.open()
                    log.info("SeedLink %s: reconnected", self.address)
                self._collect()
                backoff = 1.0
                if self._stop.is_set():
                    break
                log.warning("SeedLink %s: the server ended the stream", self.address)
            except SeedLinkError as exc:
                log.warning("%s; retrying in %.0f s", exc, backoff)
            except Exception as exc:  # noqa: BLE001 - any failure of the link is retried
                log.warning(
                    "SeedLink %s: %s; retrying in %.0f s", self.address, _one_line(exc), backoff
                )
            self._drop_connection()
            self.reconnects += 1
            if self._stop.wait(backoff):
                break
            backoff = min(backoff * 2, self.max_backoff_s)

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.disconnect()
            except Exception:  # noqa: BLE001 - closing a dead socket
                pass

    def _collect(self) -> None:
        """Queue packets until the connection ends (returns) or fails (raises)."""
        from obspy.clients.seedlink.slpacket import SLPacket

        conn = self._conn
        assert conn is not None
        while not self._stop.is_set():
            packet = conn.collect()
            if packet is None or packet in (SLPacket.SLTERMINATE, SLPacket.SLERROR):
                return
            if isinstance(packet, bytes):  # SLNOPACKET
                time.sleep(0.1)
                continue
            received = self._decode(packet)
            if received is None:
                continue
            self.last_seq[received.station] = received.packet.seq
            while not self._stop.is_set():
                try:
                    self.queue.put(received, timeout=1.0)
                    break
                except queue.Full:
                    log.warning("SeedLink reader: the feed is behind (queue full)")

    def _decode(self, packet: Any) -> Received | None:
        seq = packet.get_sequence_number()
        try:
            trace = packet.get_trace()
        except Exception as exc:  # noqa: BLE001 - libmseed refuses garbage in many ways
            self.undecodable += 1
            log.warning("SeedLink packet %s does not decode: %s; skipped", seq, _one_line(exc))
            return None
        stats = trace.stats
        station = f"{stats.network}.{stats.station}"
        if station not in self.selectors or seq < 0:
            return None
        return Received(
            station=station,
            packet=Packet(
                seq=int(seq),
                seed_id=trace.id,
                start=stats.starttime.timestamp,
                end=stats.endtime.timestamp,
                data=bytes(packet.msrecord),
            ),
        )
