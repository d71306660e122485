"""The publish service's processor: results in, products and the public STF out.

For every result the store decides whether it changes the event's published state
(``services.publish.store.Arrival``). New, newer and recomputed results rewrite the
product files (a few milliseconds: the figure is rendered later, on its first HTTP
request, ``services.publish.figures``); every arrival but a stale one (re)sends the
event's public STF message, which is built from the current result only, so a message
lost to a crash between writing products and committing is sent again, identically, on
re-delivery.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from services.publish.http import ProductServer
from services.publish.products import write_products
from services.publish.stf_message import StfMessage
from services.publish.store import Arrival, LatestStore, result_bytes
from services.runtime import RESULTS, STF, Incoming, Outgoing, PoisonMessage, Processor
from services.schemas import DeadLetterReason
from symae.extract.result import ExtractionResult

if TYPE_CHECKING:
    from services.runtime import ServiceApp

log = logging.getLogger(__name__)


class PublishProcessor(Processor):
    """Keep the latest revision per event, write its products, serve them, emit STFs."""

    inputs = {RESULTS: ExtractionResult}
    outputs = (STF,)

    def __init__(
        self,
        products_dir: Path,
        http_port: int,
        http_host: str = "127.0.0.1",
        http_timeout_s: float = 10.0,
        http_max_connections: int = 64,
    ) -> None:
        self.store = LatestStore(products_dir)
        self.http_port = http_port
        self.http_host = http_host
        self.http_timeout_s = http_timeout_s
        self.http_max_connections = http_max_connections
        self.server: ProductServer | None = None
        self.app: ServiceApp | None = None

    def start(self, app: ServiceApp) -> None:
        self.app = app
        self.server = ProductServer(
            self.store,
            self.http_port,
            self.http_host,
            timeout_s=self.http_timeout_s,
            max_connections=self.http_max_connections,
        ).start()
        app.metrics.set_in_flight(0)

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()

    def handle(self, msg: Incoming) -> Sequence[Outgoing]:
        assert self.app is not None
        result: ExtractionResult = msg.value
        arrival = self.store.classify(result)
        log.info(
            "%s r%d (%s:%s): %s",
            result.event_id,
            result.revision,
            result.model.name,
            result.model.version,
            arrival.value,
            extra={"event_id": result.event_id, "where": msg.where, "arrival": arrival.value},
        )
        if arrival is Arrival.STALE:
            return []
        current = result
        if arrival.publishes:
            try:
                product = result.product()
            except ValueError as exc:
                raise PoisonMessage(DeadLetterReason.UNPUBLISHABLE, str(exc)) from exc
            write_products(
                product,
                result_bytes(result),
                self.store.folder(result.event_id),
                lock=self.store.figures.lock,
            )
            self.store.record(result, arrival)
        url = f"/events/{quote(self.store.folder(current.event_id).name)}"
        out = Outgoing(STF, key=current.event_id, value=StfMessage.from_result(current, url))
        now = time.time()
        self.app.metrics.observe_latency("publish", now - msg.timestamp)
        stream = result.provenance.get("stream", {})
        if arrival.publishes and "last_record_time" in stream:
            self.app.metrics.observe_latency("end_to_end", now - float(stream["last_record_time"]))
        return [out]
