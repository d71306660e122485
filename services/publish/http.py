"""The publisher's HTTP API: event list, latest results, product files, an HTML page.

Routes (all GET; documented in ``docs/streaming-products.md``):

- ``/events``: JSON list, one entry per event, most recently updated first;
- ``/events/{id}``: the latest result of the event (RESULT.json schema);
- ``/events/{id}/{file}``: one product file (``result.json``, ``stf_scardec.txt``,
  ``event.xml``, ``stf.png``; the figure is rendered on its first request and kept);
- ``/``: the events page of the explorer (table and map, live updates; without
  JavaScript, the plain list below in a ``<noscript>``);
- ``/plain``: a plain HTML page listing recent events with their STF figures;
- ``/event/{id}``: the explorer's page of one event;
- ``/static/{file}``: the explorer's scripts, styles and vendored data;
- ``/api/v1/events``, ``/api/v1/events/{id}``, ``/api/v1/events/{id}/revisions``:
  the versioned JSON API; ``/api/v1/stream``: its live updates (Server-Sent Events).

``{id}`` is the event id (URL-encoded) or its products folder name. A threaded stdlib
server: product files are small and reads never block the consumer; every open
``/api/v1/stream`` holds one thread.
"""

from __future__ import annotations

import html
import json
import logging
import threading
import time
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from services.publish.products import PRODUCT_FILES
from services.publish.store import EventEntry, LatestStore
from services.runtime.httpserver import DEFAULT_HOST, BoundedHandler, BoundedHTTPServer

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "application/xml",
    ".png": "image/png",
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
PAGE_EVENTS = 50  # events shown on the HTML page
STATIC_DIR = Path(__file__).parent / "static"
API_VERSION = 1
STREAM_HEARTBEAT_S = 10.0  # a comment line this often keeps idle streams open


def index_page(entries: list[EventEntry]) -> str:
    """The HTML page listing the most recent events with their STF figures."""
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>symae STFs</title>'
        "</head><body><h1>Recent source time functions</h1>"
        '<p><a href="/events">/events</a> (JSON)</p>'
        f"{plain_table(entries)}</body></html>\n"
    )


def explorer_page(entries: list[EventEntry]) -> str:
    """The explorer's events page, with the plain table for browsers without scripts."""
    page = (STATIC_DIR / "index.html").read_text()
    return page.replace("<!--NOSCRIPT-->", f"<noscript>{plain_table(entries)}</noscript>")


def plain_table(entries: list[EventEntry]) -> str:
    """The most recent events with their STF figures and product links, as a table."""
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
        '<table border="1" cellpadding="4"><tr><th>event</th><th>revision</th>'
        "<th>data</th><th>model</th><th>STF</th><th>products</th></tr>\n"
        f"{body}\n</table>"
    )


class _Handler(BoundedHandler):
    store: LatestStore  # set on the subclass made per server
    stopping: threading.Event  # set when the server stops: ends the live streams

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
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        try:
            self._route(parts, parse_qs(url.query))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away

    def _route(self, parts: list[str], query: dict[str, list[str]]) -> None:
        if not parts:
            page = explorer_page(self.store.entries()).encode()
            self._send(HTTPStatus.OK, page, CONTENT_TYPES[".html"])
        elif parts == ["plain"]:
            page = index_page(self.store.entries()).encode()
            self._send(HTTPStatus.OK, page, CONTENT_TYPES[".html"])
        elif parts[0] == "static" and len(parts) >= 2:
            self._static(parts[1:])
        elif parts[0] == "event" and len(parts) == 2:
            if self._entry(parts[1]) is None:
                self._send(
                    HTTPStatus.NOT_FOUND,
                    b"<!doctype html><title>not found</title>"
                    b'<p>No such event. <a href="/">All events</a></p>',
                    CONTENT_TYPES[".html"],
                )
                return
            self._send(
                HTTPStatus.OK, (STATIC_DIR / "event.html").read_bytes(), CONTENT_TYPES[".html"]
            )
        elif parts[:2] == ["api", "v1"]:
            self._api(parts[2:], query)
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
                if name == PRODUCT_FILES["figure"]:
                    body = self.store.figures.png(path.parent)  # rendered on first request
                    if body is None:
                        raise FileNotFoundError(path)
                else:
                    body = path.read_bytes()
            except OSError:
                self._not_found(f"{name} of event {entry.event_id!r}")
                return
            except Exception:  # noqa: BLE001 - a figure that fails to render: say so, go on
                log.exception("rendering the figure of %s failed", entry.event_id)
                self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "figure not available"})
                return
            self._send(HTTPStatus.OK, body, CONTENT_TYPES[path.suffix])
        else:
            self._not_found(self.path)

    def _static(self, rel: list[str]) -> None:
        if any(p in (".", "..") or "/" in p or "\\" in p for p in rel):
            self._not_found("/".join(rel))
            return
        path = STATIC_DIR.joinpath(*rel)
        ctype = CONTENT_TYPES.get(path.suffix)
        if ctype is None or not path.is_file():
            self._not_found("/".join(rel))
            return
        self._send(HTTPStatus.OK, path.read_bytes(), ctype)

    def _api(self, parts: list[str], query: dict[str, list[str]]) -> None:
        """``/api/v1/...``: events list, one event, its revisions, the live stream."""
        if parts == ["events"]:
            since = _int(query.get("since", ["-1"])[0], -1)
            seq = self.store.seq
            events = [e.to_api() for e in self.store.entries() if e.seq > since]
            self._json(HTTPStatus.OK, {"api_version": API_VERSION, "seq": seq, "events": events})
        elif parts == ["stream"]:
            self._stream(query)
        elif parts[:1] == ["events"] and len(parts) in (2, 3):
            entry = self._entry(parts[1])
            if entry is None:
                self._not_found(f"event {parts[1]!r}")
            elif len(parts) == 2:
                path = self.store.folder(entry.event_id) / PRODUCT_FILES["result"]
                try:
                    result = path.read_bytes()
                except OSError:
                    self._not_found(f"result of event {entry.event_id!r}")
                    return
                head = json.dumps({"api_version": API_VERSION, "event": entry.to_api()})
                body = head[:-1].encode() + b', "result": ' + result.strip() + b"}"
                self._send(HTTPStatus.OK, body, CONTENT_TYPES[".json"])
            elif parts[2] == "revisions":
                history = self.store.history(entry.event_id)[::-1]
                self._json(
                    HTTPStatus.OK,
                    {"api_version": API_VERSION, "event_id": entry.event_id, "revisions": history},
                )
            else:
                self._not_found(self.path)
        else:
            self._not_found(self.path)

    def _stream(self, query: dict[str, list[str]]) -> None:
        """Server-Sent Events: one ``revision`` event per recorded result.

        Each event's ``id`` is the store's change counter; a reconnecting client sends
        it back (``Last-Event-ID``) and receives what it missed, or a ``reset`` event
        when that is too far back (it should then reload ``/api/v1/events``).
        """
        last = self.headers.get("Last-Event-ID") or query.get("after", [""])[0]
        after = _int(last, self.store.seq)
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.close_connection = True
        self.wfile.write(
            f"retry: 2000\nevent: hello\ndata: {json.dumps({'seq': after})}\n\n".encode()
        )
        self.wfile.flush()
        quiet_since = time.monotonic()
        while not self.stopping.is_set():
            seq, changed = self.store.wait_changes(after, timeout=1.0)
            if changed == [] and time.monotonic() - quiet_since < STREAM_HEARTBEAT_S:
                continue
            quiet_since = time.monotonic()
            if changed is None:
                chunk = f"id: {seq}\nevent: reset\ndata: {json.dumps({'seq': seq})}\n\n"
            elif changed:
                chunk = "".join(
                    f"id: {e.seq}\nevent: revision\ndata: {json.dumps(e.to_api())}\n\n"
                    for e in sorted(changed, key=lambda e: e.seq)
                )
            else:
                chunk = ": ping\n\n"
            self.wfile.write(chunk.encode())
            self.wfile.flush()
            after = seq


def _int(text: str, default: int) -> int:
    try:
        return int(text)
    except ValueError:
        return default


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
        self._stopping = threading.Event()
        handler = type("Handler", (_Handler,), {"store": store, "stopping": self._stopping})
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
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
