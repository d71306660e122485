"""Chaos: a flood of half-open connections against the probe/metrics and products
servers. Threads stay bounded, the servers answer again once the flood's connections
time out, HEAD works, and a 404 does not echo the requested id."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import pytest

from services.publish.http import ProductServer
from services.publish.store import LatestStore
from services.runtime.health import HealthServer, HealthState

pytestmark = [pytest.mark.chaos]

FLOOD = 200


def _flood(port: int, n: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
        socks.append(s)
    return socks


def _get(port: int, path: str, method: str = "GET") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request(method, path)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, body


def _servers(tmp_path):
    state = HealthState()
    state.set_ready(True)
    health = HealthServer(0, state, lambda: b"m 1\n", timeout_s=1.0, max_connections=16).start()
    products = ProductServer(LatestStore(tmp_path), 0, timeout_s=1.0, max_connections=16).start()
    return health, products


def test_half_open_flood_keeps_threads_bounded(tmp_path) -> None:
    health, products = _servers(tmp_path)
    base = threading.active_count()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], threading.active_count())
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        started = time.monotonic()
        socks = _flood(health.port, FLOOD) + _flood(products.port, FLOOD)
        time.sleep(0.3)
        done.set()
        sampler.join()
        peak = peak[0] - 1  # not the sampler
        assert peak - base <= 2 * 16 + 4, (base, peak)
        time.sleep(1.5)  # the held connections time out
        assert _get(health.port, "/healthz")[0] == 200
        assert _get(products.port, "/events")[0] == 200
        for s in socks:
            s.close()
        print(
            f"\nflood {2 * FLOOD} half-open connections in {time.monotonic() - started:.1f} s:"
            f" threads {base} -> peak {peak}"
        )
    finally:
        health.stop()
        products.stop()


def test_head_and_404_without_echo(tmp_path) -> None:
    health, products = _servers(tmp_path)
    try:
        status, body = _get(health.port, "/readyz", "HEAD")
        assert status == 200 and body == b""
        status, body = _get(products.port, "/events", "HEAD")
        assert status == 200 and body == b""
        status, body = _get(products.port, "/events/%3Cscript%3Eevil")
        assert status == 404 and b"evil" not in body and b"script" not in body
        assert json.loads(body) == {"error": "event not found"}
        status, body = _get(products.port, "/nothing-here-xyz")
        assert status == 404 and b"xyz" not in body
    finally:
        health.stop()
        products.stop()
