"""``symae feed fdsn`` against a local HTTP server that speaks the FDSN web services with
real QuakeML, StationXML and miniSEED from the synthetic generator."""

from __future__ import annotations

import io
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from services.devtools.replay import directory_event
from services.schemas import RawRecord
from symae.data.reference import REPO_ROOT
from tests.services.conftest import PYTHON, ServiceProcess, read_topic, unique_prefix


@pytest.fixture(scope="module")
def synth_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from symae.synth.run import SynthRequest, synthesize_dataset

    out = tmp_path_factory.mktemp("fdsn-synth")
    synthesize_dataset(
        SynthRequest(
            stf="parametric", events=1, stations=12, seed=3, out=out / "d.h5", mseed_dir=out / "raw"
        )
    )
    return out / "raw"


class FdsnServer:
    """fdsnws/event, station and dataselect over the generator's files; ``mode`` breaks it."""

    def __init__(self, raw: Path) -> None:
        from obspy import read, read_events

        self.catalog = read_events(str(_events(raw)))
        self.stationxml = _stations(raw).read_bytes()
        self.stream = read(str(raw / "waveforms" / "*.mseed"))
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
                query = parse_qs(url.query)
                if server.mode == "error":
                    return self._send(500, b"Error 500: internal server error\n", "text/plain")
                if url.path.endswith("/version"):
                    return self._send(200, b"1.1.0", "text/plain")
                if url.path == "/fdsnws/event/1/query":
                    wanted = query.get("eventid", [""])[0]
                    from obspy.core.event import Catalog

                    hits = [
                        e
                        for e in server.catalog
                        if str(e.resource_id).endswith(wanted) or wanted in str(e.resource_id)
                    ]
                    if not hits:
                        return self._send(204, b"")
                    buf = io.BytesIO()
                    Catalog(events=hits).write(buf, format="QUAKEML")
                    return self._send(200, buf.getvalue())
                if url.path == "/fdsnws/station/1/query":
                    if server.mode == "garbage":
                        return self._send(200, b"<html>not stationxml</html>")
                    return self._send(200, server.stationxml)
                return self._send(404, b"Error 404: not found\n", "text/plain")

            def do_POST(self) -> None:
                server.requests.append(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                if self.path != "/fdsnws/dataselect/1/query":
                    return self._send(404, b"not found", "text/plain")
                from obspy import Stream, UTCDateTime

                out = Stream()
                for line in body.splitlines():
                    parts = line.split()
                    if len(parts) != 6 or "=" in line:
                        continue
                    net, sta, loc, cha, t1, t2 = parts
                    loc = "" if loc == "--" else loc
                    out += server.stream.select(
                        network=net, station=sta, location=loc, channel=cha
                    ).slice(UTCDateTime(t1), UTCDateTime(t2))
                if not out:
                    return self._send(204, b"")
                buf = io.BytesIO()
                out.write(buf, format="MSEED")
                return self._send(200, buf.getvalue(), "application/vnd.fdsn.mseed")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def event_id(self) -> str:
        return str(self.catalog[0].resource_id).rsplit("/", 1)[-1]


def _events(raw: Path) -> Path:
    return next(p for p in raw.glob("*.xml") if "quakeml" in p.read_text()[:2000].lower())


def _stations(raw: Path) -> Path:
    return next(p for p in raw.glob("*.xml") if "<FDSNStationXML" in p.read_text()[:2000])


@pytest.fixture
def fdsn(synth_files: Path) -> Iterator[FdsnServer]:
    server = FdsnServer(synth_files)
    server.thread.start()
    yield server
    server.httpd.shutdown()


def _feed(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "-m", "symae.cli", "feed", "fdsn", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


def test_fetch_writes_a_folder_replay_reads(fdsn: FdsnServer, tmp_path: Path) -> None:
    proc = _feed(
        "--base-url",
        fdsn.url,
        "--event-id",
        fdsn.event_id,
        "--out",
        str(tmp_path / "ev"),
        "--metrics-port",
        "0",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert (tmp_path / "ev" / "stations.xml").is_file() and (
        tmp_path / "ev" / "event.xml"
    ).is_file()
    event = directory_event(tmp_path / "ev")
    assert len(event.records) == len(fdsn.stream) and all(r.stationxml for r in event.records)
    assert any(p.startswith("/fdsnws/dataselect/1/query") for p in fdsn.requests)


@pytest.mark.parametrize("mode,expect", [("error", "fdsnws/event"), ("garbage", "fdsnws/station")])
def test_bad_answers_give_one_line_errors(
    fdsn: FdsnServer, tmp_path: Path, mode: str, expect: str
) -> None:
    fdsn.mode = mode
    proc = _feed("--base-url", fdsn.url, "--event-id", fdsn.event_id, "--out", str(tmp_path / "x"))
    assert proc.returncode == 1, proc.stdout + proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("symae feed fdsn: ") and expect in lines[0]
    assert "Traceback" not in proc.stderr


def test_unknown_event_is_one_line(fdsn: FdsnServer) -> None:
    proc = _feed("--base-url", fdsn.url, "--event-id", "nope", "--out", "/tmp/never")
    assert proc.returncode == 1 and "no event 'nope'" in proc.stdout


@pytest.mark.kafka
def test_fetched_records_reach_kafka_and_ingest_bundles_them(
    fdsn: FdsnServer, tmp_path: Path, kafka_bootstrap: str, services: list
) -> None:
    prefix = unique_prefix()
    env = {"SYMAE_TOPIC_PREFIX": prefix, "SYMAE_TOPIC_PARTITIONS": "1"}
    common = ["--bootstrap-servers", kafka_bootstrap]
    ingest = ServiceProcess(
        [
            "serve",
            "ingest",
            *common,
            "--min-traces",
            "4",
            "--min-pixels",
            "1",
            "--revision-interval-s",
            "0.5",
            "--ready-deadline-s",
            "3",
        ],
        tmp_path / "ingest.log",
        env=env,
    ).start()
    services.append(ingest)
    ingest.wait_ready()
    proc = _feed(
        "--base-url",
        fdsn.url,
        "--event-id",
        fdsn.event_id,
        *common,
        "--metrics-port",
        "0",
        env={**ingest.env, **env},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    raw = read_topic(kafka_bootstrap, f"{prefix}.waveforms.raw", until=len(fdsn.stream))
    assert len(raw) == len(fdsn.stream)
    assert {RawRecord.model_validate_json(r.value).seed_id for r in raw} == {
        t.id for t in fdsn.stream
    }
    bundles = read_topic(kafka_bootstrap, f"{prefix}.bundles", until=1, timeout=90)
    assert bundles, ingest.log()
