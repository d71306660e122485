"""One small HTTP server per service: ``/metrics``, ``/healthz`` and ``/readyz``.

``/healthz`` answers 200 while the service's main loop is alive (it beats at least
every ``stale_after`` seconds), ``/readyz`` 200 once it is connected and consuming;
both answer 503 otherwise, with the reason in a JSON body. The server runs in a daemon
thread and never touches Kafka.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

from services.runtime.httpserver import DEFAULT_HOST, BoundedHandler, BoundedHTTPServer

log = logging.getLogger(__name__)


class HealthState:
    """What the probes report; the service updates it, the HTTP thread reads it."""

    def __init__(self, stale_after: float = 30.0) -> None:
        self.stale_after = stale_after
        self._lock = threading.Lock()
        self._beat = time.monotonic()
        self._ready = False
        self._reason = "starting"

    def beat(self) -> None:
        with self._lock:
            self._beat = time.monotonic()

    def set_ready(self, ready: bool, reason: str = "") -> None:
        with self._lock:
            self._ready = ready
            self._reason = reason

    def live(self) -> tuple[bool, str]:
        with self._lock:
            age = time.monotonic() - self._beat
        if age > self.stale_after:
            return False, f"main loop silent for {age:.0f} s"
        return True, "ok"

    def ready(self) -> tuple[bool, str]:
        with self._lock:
            return self._ready, "ok" if self._ready else self._reason


class HealthServer:
    """Serve ``/metrics`` from ``exposition()`` and the probes from ``state``."""

    def __init__(
        self,
        port: int,
        state: HealthState,
        exposition: Callable[[], bytes],
        host: str = DEFAULT_HOST,
        timeout_s: float = 10.0,
        max_connections: int = 32,
    ) -> None:
        self.state = state
        handler = _make_handler(state, exposition)
        self._server = BoundedHTTPServer(
            (host, port), handler, timeout_s=timeout_s, max_connections=max_connections
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="health-http", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> HealthServer:
        self._thread.start()
        log.info("metrics and probes on port %d", self.port, extra={"metrics_port": self.port})
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _make_handler(
    state: HealthState, exposition: Callable[[], bytes]
) -> type[BaseHTTPRequestHandler]:
    class Handler(BoundedHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, exposition(), "text/plain; version=0.0.4; charset=utf-8")
            elif path in ("/healthz", "/readyz"):
                ok, reason = state.live() if path == "/healthz" else state.ready()
                body = json.dumps({"status": "ok" if ok else "unavailable", "reason": reason})
                self._send(200 if ok else 503, body.encode(), "application/json")
            else:
                self._send(404, b'{"status": "not found"}', "application/json")

        def _send(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return  # probes every few seconds would flood the logs

    return Handler
