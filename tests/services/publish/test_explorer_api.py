"""The explorer's versioned JSON API (``/api/v1``), its pages and static files, and the
store's revision history and change stream, over a real socket without Kafka."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from services.publish.http import ProductServer
from services.publish.store import LatestStore
from services.publish.summary import duration_centroid
from symae.extract.result import (
    EventQuality,
    ExtractionResult,
    ModelInfo,
    OriginInfo,
    PixelQuality,
    PixelResult,
    Stf,
    TraceScore,
)
from tests.services.publish.test_products import _get, publish

NT = 192
TIME = -92.0 + np.arange(NT, dtype=float)


def _pulse(centre: float, width: float) -> Stf:
    v = np.exp(-(((TIME - centre) / width) ** 2))
    return Stf.from_arrays(v, 0.1 * v + 0.02, dt=1.0, t0=float(TIME[0]))


def explorer_result(
    event_id: str,
    revision: int = 1,
    seed: int = 0,
    latitude: float = 38.3,
    longitude: float = 142.4,
    magnitude: float = 7.5,
    width: float = 6.0,
) -> ExtractionResult:
    """A result with several pixels around the focal sphere (apparent durations that vary
    with azimuth), two baselines and a few traces per pixel."""
    rng = np.random.default_rng(seed)
    pixels, traces = [], []
    for k in range(8):
        az, takeoff = 45.0 * k + 10, 18.0 + 3 * (k % 3)
        w = width * (1 + 0.4 * np.cos(np.radians(az - 60)))  # directivity towards 60 deg
        passed = k != 5
        pixels.append(
            PixelResult(
                pixel=20 + k,
                azimuth_deg=az,
                takeoff_deg=takeoff,
                n_traces=3,
                stf=_pulse(10.0, w),
                quality=PixelQuality(
                    envelope_std=0.1 if passed else 0.4,
                    passed=passed,
                    reconstruction_error=0.2,
                    weight=0.1 if passed else 0.0,
                ),
            )
        )
        traces += [
            TraceScore(
                id=f"XX.S{k}{i}..BHZ",
                pixel=20 + k,
                informativeness=float(rng.uniform(0, 1)),
                selected=i == 0,
            )
            for i in range(3)
        ]
    return ExtractionResult(
        event_id=event_id,
        revision=revision,
        origin=OriginInfo(
            time=f"2011-03-{1 + seed % 28:02d}T05:46:{seed % 60:02d}Z",
            latitude=latitude,
            longitude=longitude,
            depth_km=24.0,
            magnitude=magnitude,
            region=f"region {seed % 7}",
        ),
        model=ModelInfo(name="tiny", version="1", provider="CPUExecutionProvider"),
        stf=_pulse(10.0, width),
        pixels=pixels,
        baselines={"mean_envelope": _pulse(14.0, 2 * width), "stack": _pulse(8.0, width / 2)},
        traces=traces,
        quality=EventQuality(
            n_traces=len(traces),
            n_pixels=8,
            n_pixels_passed=7,
            reference_pixel=20,
            reconstruction_error=0.2,
            objective_start=1.0,
            objective_end=0.5,
            kl_history=[1.0, 0.7, 0.5, 0.45],
            flags=["fewer_traces_than_codes"] if seed % 5 == 0 else [],
        ),
    )


def _json(url: str) -> dict:
    status, ctype, body = _get(url)
    assert status == 200 and ctype == "application/json", (url, status, body[:200])
    return json.loads(body)


@pytest.fixture()
def served(tmp_path: Path):
    store = LatestStore(tmp_path)
    server = ProductServer(store, port=0, host="127.0.0.1").start()
    try:
        yield store, f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


def test_duration_and_centroid_of_a_pulse() -> None:
    duration, centroid = duration_centroid(_pulse(10.0, 6.0))
    # exp(-(t/6)^2) >= 0.1 for |t| <= 6 sqrt(ln 10) = 9.1 s: samples 1..19 s
    assert duration == pytest.approx(18.0) and centroid == pytest.approx(10.0, abs=0.01)
    assert duration_centroid(Stf(dt=1, t0=0, values=[0, 0], lower=[0, 0], upper=[0, 0])) == (
        None,
        None,
    )


def test_api_lists_events_with_summary_and_serves_result_and_revisions(served) -> None:
    store, base = served
    publish(store, explorer_result("ev 1/a", revision=1, seed=5))
    publish(store, explorer_result("ev 1/a", revision=2, seed=5, width=8.0))
    publish(store, explorer_result("us7000b", seed=1))

    listing = _json(f"{base}/api/v1/events")
    assert listing["api_version"] == 1 and listing["seq"] == 3
    events = {e["event_id"]: e for e in listing["events"]}
    a = events["ev 1/a"]
    assert a["revision"] == 2 and a["region"] == "region 5" and a["seq"] == 2
    assert a["flags"] == ["fewer_traces_than_codes"] and a["timing_source"] == "stf"
    assert a["duration_s"] == pytest.approx(24.0) and a["centroid_s"] == pytest.approx(
        10.0, abs=0.01
    )
    assert a["page"] == f"/event/{a['products']['result'].split('/')[2]}"
    # the old list is unchanged: no summary fields
    assert "region" not in json.loads(_get(f"{base}/events")[2])[0]
    assert [e["event_id"] for e in _json(f"{base}/api/v1/events?since=2")["events"]] == ["us7000b"]

    one = _json(base + a["api"])
    assert one["event"]["revision"] == 2
    ExtractionResult.model_validate(one["result"])
    assert one["result"] == json.loads(_get(base + a["products"]["result"])[2])

    revisions = _json(base + a["api"] + "/revisions")["revisions"]
    assert [(r["revision"], r["arrival"]) for r in revisions] == [(2, "newer"), (1, "new")]
    assert len(revisions[0]["stf"]["values"]) == NT
    # the history survives a restart
    again = LatestStore(store.root)
    assert [r["revision"] for r in again.history("ev 1/a")] == [1, 2]

    assert _get(f"{base}/api/v1/events/nope")[0] == 404
    assert _get(f"{base}/api/v1/events/us7000b/other")[0] == 404


def test_pages_and_static_files(served) -> None:
    store, base = served
    publish(store, explorer_result("us7000b", seed=1))
    status, ctype, body = _get(f"{base}/")
    assert status == 200 and ctype.startswith("text/html")
    page = body.decode()
    assert "/static/events.js" in page and "<noscript>" in page and "us7000b" in page
    status, _, body = _get(f"{base}/event/us7000b")
    assert status == 200 and b"/static/event.js" in body
    assert _get(f"{base}/event/nope")[0] == 404
    assert _get(f"{base}/plain")[0] == 200
    for name, ctype_start in [
        ("common.js", "text/javascript"),
        ("explorer.css", "text/css"),
        ("vendor/coastline-110m.json", "application/json"),
    ]:
        status, ctype, body = _get(f"{base}/static/{name}")
        assert status == 200 and ctype.startswith(ctype_start) and body, name
    lines = json.loads(_get(f"{base}/static/vendor/coastline-110m.json")[2])["lines"]
    lons, lats = (
        np.concatenate([ln[0::2] for ln in lines]),
        np.concatenate([ln[1::2] for ln in lines]),
    )
    assert lons.min() >= -180 and lons.max() <= 180 and lats.min() >= -90 and lats.max() <= 84
    for bad in ("..%2Fhttp.py", "../http.py", "nope.js", "vendor/..%2F..%2Fhttp.py"):
        assert _get(f"{base}/static/{bad}")[0] == 404, bad


def _read_events(sock: socket.socket, want: int, timeout: float = 10.0) -> list[tuple[str, dict]]:
    sock.settimeout(timeout)
    buf = b""
    while buf.count(b"\n\n") < want:
        chunk = sock.recv(65536)
        assert chunk, buf
        buf += chunk
    blocks = buf.decode().split("\r\n\r\n", 1)[1].split("\n\n")
    out = []
    for block in blocks:
        fields = dict(
            line.split(": ", 1)
            for line in block.splitlines()
            if ": " in line and not line.startswith(":")
        )
        if "event" in fields:
            out.append((fields["event"], json.loads(fields["data"])))
    return out


def test_stream_sends_new_revisions_and_catches_up(served) -> None:
    store, base = served
    publish(store, explorer_result("ev-a", seed=1))
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_events(sock, 1) == [("hello", {"seq": 1})]
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /api/v1/stream?after=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        publish(store, explorer_result("ev-a", revision=2, seed=1))
        events = _read_events(sock, 2)
        assert events[0] == ("hello", {"seq": 1})
        assert events[1][0] == "revision" and events[1][1]["revision"] == 2
    # a client that missed changes gets them; one from before a restart gets a reset
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /api/v1/stream HTTP/1.1\r\nLast-Event-ID: 0\r\nHost: x\r\n\r\n")
        assert [e[1]["event_id"] for e in _read_events(sock, 2)[1:]] == ["ev-a"]
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /api/v1/stream?after=99 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_events(sock, 2)[1] == ("reset", {"seq": 2})
    urllib.request.urlopen(f"{base}/api/v1/events", timeout=5).close()
