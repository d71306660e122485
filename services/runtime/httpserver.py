"""A bounded threaded HTTP server for the probes, metrics and the products API.

``ThreadingHTTPServer`` as the standard library ships it starts one thread per
connection and waits forever on a silent client, so a flood of half-open connections
grows threads without bound. :class:`BoundedHTTPServer` adds:

- a socket timeout per connection (``timeout_s``): a client that sends nothing, or
  stops half-way, is dropped;
- a cap on concurrent connections (``max_connections``): past it a new connection
  gets a short ``503`` and is closed without a handler thread;
- ``HEAD`` for every ``GET`` route (:class:`BoundedHandler`).

The bind host defaults to loopback (``127.0.0.1``); deployments set ``0.0.0.0``
explicitly (``SYMAE_METRICS_HOST``, ``SYMAE_HTTP_HOST``).
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_CONNECTIONS = 64

_BUSY_BODY = b'{"status": "busy"}'
_BUSY = (
    b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(_BUSY_BODY), _BUSY_BODY)
)


class BoundedHandler(BaseHTTPRequestHandler):
    """Base handler: socket timeout from the server, ``HEAD`` answered as ``GET``
    without a body, one request per connection."""

    protocol_version = "HTTP/1.0"

    def setup(self) -> None:
        self.timeout = getattr(self.server, "timeout_s", DEFAULT_TIMEOUT_S)  # type: ignore[misc]
        super().setup()

    def do_HEAD(self) -> None:  # noqa: N802 (http.server's name)
        do_get = getattr(self, "do_GET", None)
        if do_get is None:
            self.send_error(501)
            return
        self.wfile = _NoBody(self.wfile)  # type: ignore[assignment]
        do_get()


class _NoBody:
    """A write side that lets the status line and headers through, not the body."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._head_done = False

    def write(self, data: bytes) -> int:
        if self._head_done:
            return len(data)
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            self._head_done = True
            self._inner.write(data[: end + 4])
            return len(data)
        return self._inner.write(data)

    def flush(self) -> None:
        self._inner.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class BoundedHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with a per-connection timeout and a connection cap."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        self.timeout_s = timeout_s
        self.max_connections = max_connections
        self._slots = threading.BoundedSemaphore(max_connections)
        self.refused = 0
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.refused += 1
            try:
                request.settimeout(1.0)
                request.sendall(_BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            request.settimeout(self.timeout_s)
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that went away or timed out is not worth a traceback
        log.debug("HTTP connection from %s dropped", client_address, exc_info=True)


def serve_in_thread(server: BoundedHTTPServer, name: str) -> threading.Thread:
    """Start ``server.serve_forever`` in a daemon thread and return it."""
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    return thread


def open_connections(server: BoundedHTTPServer) -> int:
    """Connections being served now (for tests and metrics)."""
    return server.max_connections - server._slots._value


__all__ = [
    "DEFAULT_HOST",
    "BoundedHTTPServer",
    "BoundedHandler",
    "open_connections",
    "serve_in_thread",
]
