"""The publisher's HTTP API: event list, latest results, product files, an HTML page.

Routes (all GET; documented in ``docs/streaming-products.md``):

- ``/events``: JSON list, one entry per event, most recently updated first;
- ``/events/{id}``: the latest result of the event (RESULT.json schema);
- ``/events/{id}/{file}``: one product file (``result.json``, ``stf_scardec.txt``,
  ``event.xml``, ``stf.png``);
- ``/``: a plain HTML page listing recent events with their STF figures.

``{id}`` is the event id (URL-encoded) or its products folder name. A threaded stdlib
server: product files are small and reads never block the consumer.
"""

from __future__ import annotations

import html
import json
import logging
import threading
from http import HTTPStatus
from urllib.parse import quote, unquote, urlsplit

from services.publish.products import PRODUCT_FILES
from services.publish.store import EventEntry, LatestStore
from services.runtime.httpserver import DEFAULT_HOST, BoundedHandler, BoundedHTTPServer

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "application/xml",
    ".png": "image/png",
}
PAGE_EVENTS = 50  # events shown on the HTML page


def index_page(entries: list[EventEntry]) -> str:
    """The HTML page listing the most recent events with their STF figures."""
    rows = []
    for e in entries[:PAGE_EVENTS]:
        base = f"/events/{quote(e.folder)}"
        links = " ".join(
            f'<a href="{base}/{name}">{kind}</a>' for kind, name in PRODUCT_FILES.items()
        )
        mag = f"Mw {e.magnitude:.1f}" if e.magnitude is not None else ""
        rows.append(
            "<tr>"
            f"<td>{html.escape(e.event_id)}<br>{html.escape(e.origin_time or '')}<br>{mag}</td>"
            f"<td>{e.revision}</td><td>{e.n_traces} traces, {e.n_pixels} pixels</td>"
            f"<td>{html.escape(e.model_name)}:{html.escape(e.model_version)}</td>"
            f'<td><img src="{base}/{PRODUCT_FILES["figure"]}" width="480" '
            f'alt="STF of {html.escape(e.event_id)}"></td><td>{links}</td>'
            "</tr>"
        )
    body = "\n".join(rows) or '<tr><td colspan="6">no events published yet</td></tr>'
    return (
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>symae STFs</title>"
        "</head><body><h1>Recent source time functions</h1>"
        '<p><a href="/events">/events</a> (JSON)</p>'
        "<table border=\"1\" cellpadding=\"4\"><tr><th>event</th><th>revision</th>"
        "<th>data</th><th>model</th><th>STF</th><th>products</th></tr>\n"
        f"{body}\n</table></body></html>\n"
    )


class _Handler(BoundedHandler):
    store: LatestStore  # set on the subclass made per server

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: HTTPStatus, payload: object) -> None:
        self._send(status, json.dumps(payload).encode(), CONTENT_TYPES[".json"])

    def _not_found(self, what: str) -> None:
        # the requested id is not echoed back (no reflected content)
        kind = what.split(" ", 1)[0]
        kind = kind if kind in ("event", "product") else "resource"
        self._json(HTTPStatus.NOT_FOUND, {"error": f"{kind} not found"})

    def _entry(self, ident: str) -> EventEntry | None:
        return self.store.get(ident) or self.store.by_folder(ident)

    def do_GET(self) -> None:
        parts = [unquote(p) for p in urlsplit(self.path).path.split("/") if p]
        if not parts:
            page = index_page(self.store.entries()).encode()
            self._send(HTTPStatus.OK, page, "text/html; charset=utf-8")
        elif parts == ["events"]:
            self._json(HTTPStatus.OK, [e.to_json() for e in self.store.entries()])
        elif parts[0] == "events" and len(parts) in (2, 3):
            entry = self._entry(parts[1])
            if entry is None:
                self._not_found(f"event {parts[1]!r}")
                return
            name = parts[2] if len(parts) == 3 else PRODUCT_FILES["result"]
            if name not in PRODUCT_FILES.values():
                self._not_found(f"product {name!r}; known: {sorted(PRODUCT_FILES.values())}")
                return
            path = self.store.folder(entry.event_id) / name
            try:
                body = path.read_bytes()
            except OSError:
                self._not_found(f"{name} of event {entry.event_id!r}")
                return
            self._send(HTTPStatus.OK, body, CONTENT_TYPES[path.suffix])
        else:
            self._not_found(self.path)


class ProductServer:
    """The HTTP API on ``host:port`` (port 0 picks a free one), served from a thread."""

    def __init__(
        self,
        store: LatestStore,
        port: int,
        host: str = DEFAULT_HOST,
        timeout_s: float = 10.0,
        max_connections: int = 64,
    ) -> None:
        handler = type("Handler", (_Handler,), {"store": store})
        self._server = BoundedHTTPServer(
            (host, port), handler, timeout_s=timeout_s, max_connections=max_connections
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="products-http", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> ProductServer:
        self._thread.start()
        log.info("products served on http port %d", self.port)
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
