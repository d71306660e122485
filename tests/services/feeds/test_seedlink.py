"""``symae feed seedlink`` against a local SeedLink v3 server (tests/services/feeds/
seedlink_server.py) serving 512-byte miniSEED records of the bundled Chile 2010 event, and
a local FDSN server answering fdsnws/event (its QuakeML) and fdsnws/station (its
StationXML)."""

from __future__ import annotations

import io
import json
import subprocess
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from obspy import Inventory, Stream, UTCDateTime, read, read_events, read_inventory

from services.devtools.broker import free_port
from services.feeds.seedlink_buffer import Packet, StationBuffer
from services.feeds.seedlink_state import EventProgress, FeedState, StateFileError
from services.schemas import RawRecord
from symae.data.events import Origin
from symae.data.reference import REPO_ROOT
from tests.services.conftest import PYTHON, ServiceProcess, read_topic, unique_prefix

from .seedlink_server import SeedLinkServer, records_of

CHILE = REPO_ROOT / "symae" / "reference_data" / "chile_2010-03-04"
# six stations of good SNR in four focal-sphere pixels, with and without location code
STATIONS = (
    "CU.TGUH..BHZ",
    "GT.DBIC.00.BHZ",
    "G.HDC.00.BHZ",
    "G.UNM.00.BHZ",
    "SC.Y22A..BHZ",
    "G.TAM.00.BHZ",
)


@pytest.fixture(scope="module")
def chile() -> tuple[Stream, bytes, bytes]:
    """(the six records, their StationXML, the event's QuakeML)."""
    stream = Stream()
    for seed_id in STATIONS:
        stream += read(str(CHILE / "waveforms" / f"{seed_id}.mseed"))
    inventory = read_inventory(str(CHILE / "stations.xml"))
    keep = Inventory(networks=[], source="test")
    for seed_id in STATIONS:
        net, sta, loc, cha = seed_id.split(".")
        keep.extend(inventory.select(network=net, station=sta, location=loc, channel=cha).networks)
    buf = io.BytesIO()
    keep.write(buf, format="STATIONXML")
    return stream, buf.getvalue(), (CHILE / "event.xml").read_bytes()


class FdsnServer:
    """fdsnws/event (``starttime`` and ``minmagnitude`` honoured) and fdsnws/station;
    ``mode``: ``ok``, ``error`` (HTTP 500), ``garbage`` (HTML where XML belongs)."""

    def __init__(self, stationxml: bytes, quakeml: bytes) -> None:
        self.catalog = read_events(io.BytesIO(quakeml))
        self.stationxml = stationxml
        self.mode = "ok"
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                pass

            def _send(self, status: int, body: bytes, ctype: str = "application/xml") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                server.requests.append(self.path)
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if server.mode == "error":
                    return self._send(500, b"Error 500: internal server error\n", "text/plain")
                if server.mode == "garbage":
                    return self._send(200, b"<html>maintenance</html>", "text/html")
                if url.path == "/fdsnws/event/1/query":
                    since = UTCDateTime(query.get("starttime", "1970-01-01"))
                    least = float(query.get("minmagnitude", "-10"))
                    hits = [
                        e
                        for e in server.catalog
                        if e.preferred_origin().time >= since
                        and e.preferred_magnitude().mag >= least
                    ]
                    if not hits:
                        return self._send(204, b"")
                    from obspy.core.event import Catalog

                    buf = io.BytesIO()
                    Catalog(events=hits).write(buf, format="QUAKEML")
                    return self._send(200, buf.getvalue())
                if url.path == "/fdsnws/station/1/query":
                    return self._send(200, server.stationxml)
                return self._send(404, b"Error 404: not found\n", "text/plain")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FdsnServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fdsn(chile: tuple[Stream, bytes, bytes]) -> Iterator[FdsnServer]:
    with FdsnServer(chile[1], chile[2]) as server:
        yield server


def feed_args(seedlink: str, fdsn_url: str, state: Path) -> list[str]:
    return [
        "feed",
        "seedlink",
        "--seedlink-server",
        seedlink,
        "--station-url",
        fdsn_url,
        "--event-url",
        fdsn_url,
        "--feed-network",
        "*",
        "--feed-location",
        "*",
        "--min-magnitude",
        "5",
        "--event-poll-s",
        "1",
        "--state-file",
        str(state),
        "--fdsn-timeout-s",
        "10",
    ]


def _run_feed(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "-m", "symae.cli", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


# ---------------------------------------------------------------------- bad answers
@pytest.mark.parametrize(
    "seedlink_mode,fdsn_mode,expect",
    [
        ("ok", "error", "fdsnws/station"),
        ("ok", "garbage", "fdsnws/station"),
        ("error", "ok", "refused the stations"),
        ("garbage", "ok", "HELLO"),
    ],
)
def test_bad_server_answers_are_one_line_errors(
    chile: tuple[Stream, bytes, bytes],
    fdsn: FdsnServer,
    tmp_path: Path,
    seedlink_mode: str,
    fdsn_mode: str,
    expect: str,
) -> None:
    fdsn.mode = fdsn_mode
    with SeedLinkServer(chile[0], mode=seedlink_mode) as seedlink:
        proc = _run_feed(feed_args(seedlink.address, fdsn.url, tmp_path / "state.json"))
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("symae feed seedlink: ") and expect in lines[-1], lines[-3:]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "state.json").exists()


def test_connection_refused_is_one_line(fdsn: FdsnServer, tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    proc = _run_feed(feed_args(f"127.0.0.1:{port}", fdsn.url, tmp_path / "state.json"))
    assert proc.returncode == 2, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("symae feed seedlink: SeedLink server 127.0.0.1:") and "refused" in last
    assert "Traceback" not in proc.stderr


def test_an_unreadable_state_file_is_one_line(
    chile: tuple[Stream, bytes, bytes], fdsn: FdsnServer, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    state.write_text('{"format": "something else"}')
    with SeedLinkServer(chile[0]) as seedlink:
        proc = _run_feed(feed_args(seedlink.address, fdsn.url, state))
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith(f"symae feed seedlink: state file {state}: not a symae-seedlink-state file")
    )


# ---------------------------------------------------------------------- the pieces
def test_state_file_round_trip_and_server_change(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    state = FeedState(server="a:18000", stations={"IU.ANMO": 41})
    state.events["ev1"] = EventProgress(origin={"event_id": "ev1"}, published={"IU.ANMO.00.BHZ"})
    state.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]  # no temporary file left
    again = FeedState.load(path, "a:18000")
    assert again.to_dict() == state.to_dict()
    other = FeedState.load(path, "b:18000")
    assert other.stations == {} and other.events.keys() == {"ev1"}
    path.write_text("{not json")
    with pytest.raises(StateFileError, match="not readable JSON"):
        FeedState.load(path, "a:18000")


def test_buffer_resumes_after_the_last_packet_no_window_needs() -> None:
    buf = StationBuffer(resume_seq=-1)
    for seq in range(5, 10):
        buf.add(Packet(seq, "XX.S..BHZ", start=seq * 10.0, end=seq * 10.0 + 9, data=b"x"))
    assert buf.resume_point() == 4  # nothing left yet: everything received is still needed
    assert buf.evict(before=70.0) == 2  # packets 5 (ends 59) and 6 (ends 69)
    assert buf.resume_point() == 6 and [p.seq for p in buf.packets] == [7, 8, 9]
    assert buf.data_end("XX.S..BHZ") == 99.0 and buf.data_end("XX.S..BHN") is None


def test_records_cut_from_512_byte_packets_equal_the_source(
    chile: tuple[Stream, bytes, bytes],
) -> None:
    source = chile[0].select(id=STATIONS[0])[0]
    buf = StationBuffer()
    for r in records_of(Stream([source])):
        head = read(io.BytesIO(r.data), format="MSEED", headonly=True)[0]
        buf.add(
            Packet(
                r.seq,
                r.seed_id,
                head.stats.starttime.timestamp,
                head.stats.endtime.timestamp,
                r.data,
            )
        )
    t0 = source.stats.starttime + 100.0
    t1 = source.stats.starttime + 300.0
    cut = buf.cut(source.id, t0.timestamp, t1.timestamp, focus=t0.timestamp + 50)
    assert cut is not None
    expected = source.slice(t0, t1)
    assert cut.stats.starttime == expected.stats.starttime
    assert (cut.data == expected.data).all() and cut.stats.npts == expected.stats.npts


# ---------------------------------------------------------------------- end to end
def predicted_p() -> dict[str, float]:
    """SEED id -> predicted iasp91 P (POSIX s), from the event's stations.csv."""
    import csv

    with open(CHILE / "stations.csv") as handle:
        rows = list(csv.DictReader(handle))
    return {r["id"]: UTCDateTime(r["p_iasp91"]).timestamp for r in rows if r["id"] in STATIONS}


def _raw_records(bootstrap: str, topic: str, until: int, timeout: float) -> list:
    return read_topic(bootstrap, topic, until=until, timeout=timeout)


def _record_ids(records: list) -> Counter:
    """(message key, SEED id) of every raw record: what identifies a duplicate."""
    return Counter(
        (r.key.decode(), RawRecord.model_validate_json(r.value).seed_id) for r in records
    )


@pytest.mark.kafka
@pytest.mark.slow
def test_streamed_records_become_published_stfs_and_a_restart_repeats_nothing(
    chile: tuple[Stream, bytes, bytes],
    fdsn: FdsnServer,
    tmp_path: Path,
    kafka_bootstrap: str,
    tiny_model: Path,
    services: list,
) -> None:
    stream = chile[0]
    event_id = Origin.from_obspy(read_events(io.BytesIO(chile[2]))[0]).event_id
    prefix = unique_prefix()
    env = {"SYMAE_TOPIC_PREFIX": prefix, "SYMAE_TOPIC_PARTITIONS": "1"}
    common = ["--bootstrap-servers", kafka_bootstrap]
    http_port = free_port()
    ingest = ServiceProcess(
        [
            "serve",
            "ingest",
            *common,
            "--min-traces",
            str(len(STATIONS)),
            "--min-pixels",
            "1",
            "--revision-interval-s",
            "0.5",
            "--ready-deadline-s",
            "5",
        ],
        tmp_path / "ingest.log",
        env=env,
    ).start()
    inference = ServiceProcess(
        ["serve", "inference", *common, "--model", str(tiny_model), "--ort-provider", "cpu"],
        tmp_path / "inference.log",
        env=env,
    ).start()
    publish = ServiceProcess(
        [
            "serve",
            "publish",
            *common,
            "--http-port",
            str(http_port),
            "--products-dir",
            str(tmp_path / "products"),
        ],
        tmp_path / "publish.log",
        env=env,
    ).start()
    services.extend([ingest, inference, publish])
    for svc in services:
        svc.wait_ready()

    state = tmp_path / "feed" / "state.json"
    raw_topic = f"{prefix}.waveforms.raw"
    # The server first sends one minute of records (the feed's clock reaches the event,
    # which the next poll announces), then records up to 30 s after the window end (P +
    # 100 s of the model window + 120 s of margin) of the third-nearest station: those
    # three windows are complete, the three farther ones not, when the feed is stopped.
    first_start = min(t.stats.starttime for t in stream).timestamp
    mid = sorted(predicted_p().values())[2] + 100 + 120 + 30
    with SeedLinkServer(stream, hold=first_start + 60) as seedlink:
        # a short buffer: packets no pending window needs leave it, and the state
        # resumes those stations after them
        args = [*feed_args(seedlink.address, fdsn.url, state), *common, "--buffer-s", "60"]
        first = ServiceProcess(args, tmp_path / "feed-1.log", env=env).start()
        services.append(first)
        first.wait_ready()
        origins = read_topic(kafka_bootstrap, f"{prefix}.origins", until=1, timeout=90)
        assert origins, first.log()
        seedlink.hold = mid
        early = _raw_records(kafka_bootstrap, raw_topic, until=3, timeout=90)
        assert len(early) == 3, first.log()
        time.sleep(2.0)  # the three others wait for the held records
        assert first.stop() == 0, first.log()
        saved = json.loads(state.read_text())
        assert len(saved["events"][event_id]["published"]) == 3, first.log()
        assert set(saved["stations"]) == {".".join(s.split(".")[:2]) for s in STATIONS}
        assert any(seq > 0 for seq in saved["stations"].values()), saved["stations"]
        asked_before = len(seedlink.sent)

        seedlink.release.set()
        second = ServiceProcess(args, tmp_path / "feed-2.log", env=env).start()
        services.append(second)
        records = _raw_records(kafka_bootstrap, raw_topic, until=len(STATIONS), timeout=90)
        assert second.stop() == 0, second.log()
        # the second connection asked each station for the packets after its saved
        # sequence number, not for the whole ring again
        resumed = sorted(int(c.split()[1], 16) - 1 for c in seedlink.commands if "DATA 0x" in c)
        assert resumed == sorted(saved["stations"].values()), seedlink.commands
        assert len(seedlink.sent) - asked_before < len(seedlink.records)

    ids = _record_ids(_raw_records(kafka_bootstrap, raw_topic, until=len(records), timeout=10))
    assert ids == Counter({(event_id, s): 1 for s in STATIONS}), (ids, second.log())
    origins = read_topic(kafka_bootstrap, f"{prefix}.origins", until=1, timeout=10)
    assert [o.key.decode() for o in origins] == [event_id], second.log()  # announced once
    final = json.loads(state.read_text())
    assert set(final["events"][event_id]["published"]) == set(STATIONS)

    # the records went through ingest and inference to a published STF
    deadline = time.monotonic() + 120
    listing: list = []
    while time.monotonic() < deadline and not listing:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/events", timeout=5) as resp:
            listing = [e for e in json.loads(resp.read()) if e["event_id"] == event_id]
        time.sleep(1.0)
    assert listing, ingest.log() + inference.log() + publish.log()
    with urllib.request.urlopen(
        f"http://127.0.0.1:{http_port}/events/{event_id}", timeout=5
    ) as resp:
        result = json.loads(resp.read())
    assert result["event_id"] == event_id and len(result["stf"]["values"]) > 0
    for svc in (ingest, inference, publish):
        assert svc.stop() == 0, svc.log()
