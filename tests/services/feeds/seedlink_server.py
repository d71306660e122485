"""A local SeedLink v3 server for the tests, speaking the real protocol over TCP.

Commands (one per line, ended by CR or CR LF): ``HELLO`` (two lines: server id and
version, organisation), ``STATION sta net``, ``SELECT LLCCC.T`` (``?`` wildcards; a
selector without location matches any), ``DATA [seq]`` / ``FETCH [seq]`` (hex, with or
without ``0x``; data after that sequence number, else from the start of the ring), ``END``
(start streaming), ``BYE``. Each packet is ``SL`` + six hex digits of the station's
sequence number + one 512-byte miniSEED record; each station numbers its packets from 1
(SeisComP seedlink style). Packets of all stations go out in record start-time order.

``hold``: a POSIX time; while ``release`` is not set, only records starting before it are
sent (a live server waiting for data). ``mode``: ``"ok"``, ``"error"`` (ERROR to every
STATION), ``"garbage"`` (a HELLO answer that is not SeedLink).
"""

from __future__ import annotations

import fnmatch
import io
import socketserver
import threading
from dataclasses import dataclass, field

from obspy import Stream, read


@dataclass(order=True)
class Record:
    start: float
    station: str = field(compare=False)
    seq: int = field(compare=False)
    seed_id: str = field(compare=False)
    data: bytes = field(compare=False)


def records_of(stream: Stream) -> list[Record]:
    """Every trace as 512-byte miniSEED records (``Trace.write(reclen=512)``), numbered
    per station from 1 in time order."""
    out: list[Record] = []
    seqs: dict[str, int] = {}
    for trace in sorted(stream, key=lambda t: t.stats.starttime):
        buf = io.BytesIO()
        trace.write(buf, format="MSEED", reclen=512, encoding="STEIM2")
        raw = buf.getvalue()
        for i in range(0, len(raw), 512):
            chunk = raw[i : i + 512]
            head = read(io.BytesIO(chunk), format="MSEED", headonly=True)[0]
            station = f"{head.stats.network}.{head.stats.station}"
            seqs[station] = seqs.get(station, 0) + 1
            out.append(
                Record(head.stats.starttime.timestamp, station, seqs[station], head.id, chunk)
            )
    return sorted(out)


class SeedLinkServer:
    """The server (module docstring); ``commands`` logs every command received."""

    def __init__(self, stream: Stream, mode: str = "ok", hold: float | None = None) -> None:
        self.records = records_of(stream)
        self.mode = mode
        self.hold = hold
        self.release = threading.Event()
        self.commands: list[str] = []
        self.sent: list[tuple[str, int]] = []  # (station, seq) of every packet sent
        self._closing = threading.Event()
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                server._serve(self.request)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.tcp.daemon_threads = True
        self.address = f"127.0.0.1:{self.tcp.server_address[1]}"
        self.thread = threading.Thread(target=self.tcp.serve_forever, daemon=True)

    def __enter__(self) -> SeedLinkServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self.release.set()
        self.tcp.shutdown()
        self.tcp.server_close()

    def count(self, station: str) -> int:
        return sum(1 for r in self.records if r.station == station)

    # ------------------------------------------------------------------ one client
    def _serve(self, sock: object) -> None:
        import socket

        assert isinstance(sock, socket.socket)
        sock.settimeout(0.5)
        pending = b""
        station: str | None = None
        wanted: dict[str, tuple[list[str], int]] = {}  # station -> (selectors, first seq)
        selectors: list[str] = []
        while not self._closing.is_set():
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            pending += chunk
            while b"\r" in pending:
                line, _, pending = pending.partition(b"\r")
                pending = pending.removeprefix(b"\n")
                words = line.decode("ascii", "replace").split()
                if not words:
                    continue
                self.commands.append(" ".join(words))
                verb = words[0].upper()
                if verb == "HELLO":
                    if self.mode == "garbage":
                        sock.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                    else:
                        sock.sendall(b"SeedLink v3.1 (symae test) :: SLPROTO:3.1\r\nsymae\r\n")
                elif verb == "STATION" and len(words) == 3:
                    name = f"{words[2]}.{words[1]}"
                    known = any(r.station == name for r in self.records)
                    if self.mode == "error" or not known:
                        sock.sendall(b"ERROR\r\n")
                        station = None
                    else:
                        sock.sendall(b"OK\r\n")
                        station, selectors = name, []
                elif verb == "SELECT" and len(words) == 2:
                    selectors.append(words[1])
                    sock.sendall(b"OK\r\n")
                elif verb in ("DATA", "FETCH"):
                    if station is None:
                        sock.sendall(b"ERROR\r\n")
                        continue
                    first = int(words[1].lower().removeprefix("0x"), 16) if len(words) > 1 else 1
                    wanted[station] = (list(selectors), first)
                    sock.sendall(b"OK\r\n")
                elif verb == "END":
                    self._stream(sock, wanted)
                    return
                elif verb == "BYE":
                    return
                else:
                    sock.sendall(b"ERROR\r\n")

    def _stream(self, sock: object, wanted: dict[str, tuple[list[str], int]]) -> None:
        import socket

        assert isinstance(sock, socket.socket)
        queue = [
            r
            for r in self.records
            if r.station in wanted
            and r.seq >= wanted[r.station][1]
            and _selected(r.seed_id, wanted[r.station][0])
        ]
        for record in queue:
            while self.hold is not None and record.start >= self.hold and not self.release.is_set():
                if self._closing.wait(0.1):
                    return
            try:
                sock.sendall(b"SL" + f"{record.seq:06X}".encode() + record.data)
            except OSError:
                return
            self.sent.append((record.station, record.seq))
        while not self._closing.wait(0.2):  # a live server: the connection stays open
            pass


def _selected(seed_id: str, selectors: list[str]) -> bool:
    _, _, loc, cha = seed_id.split(".")
    if not selectors:
        return True
    for sel in selectors:
        pattern, _, kind = sel.partition(".")
        if kind and kind.upper() != "D":
            continue
        want_loc, want_cha = (pattern[:-3], pattern[-3:]) if len(pattern) > 3 else (None, pattern)
        if fnmatch.fnmatchcase(cha, want_cha) and (
            want_loc is None or fnmatch.fnmatchcase(loc or "  ", want_loc.replace("-", " "))
        ):
            return True
    return False
