"""The SeedLink feed: live records, cut around predicted P of announced events, to Kafka.

Start-up (any failure is one line, :class:`~symae.errors.SymaeError`): the served
model's data contract; the channels to stream from ``fdsnws/station`` (with responses);
the state file (:mod:`services.feeds.seedlink_state`); the SeedLink connection and
negotiation (:mod:`services.feeds.seedlink_reader`); a first ``fdsnws/event`` poll; the
Kafka topics.

Then, every tick of the loop:

1. packets from the reader go into their station's buffer
   (:mod:`services.feeds.seedlink_buffer`);
2. every ``event_poll_s`` the event service is asked for events since the feed's clock
   minus ``event_lookback_s``; a new event's origin is published to ``<prefix>.origins``
   (acknowledged before any of its records, key: event id) and its windows are planned
   (:mod:`services.feeds.seedlink_windows`);
3. a window whose channel has data past its end is cut and published to
   ``<prefix>.waveforms.raw`` as one :class:`~services.schemas.RawRecord` carrying its
   channel's StationXML, the format ``symae replay`` and ``symae feed fdsn`` use (key:
   event id; header ``symae-record-id``: ``<event id>|<SEED id>``). A window whose
   station has gone quiet is published with what there is, or dropped without data,
   ``max_latency_s`` after its end;
4. the state file is written (atomically) after every publication and every few seconds.

The feed's clock is the time of the newest sample received (live: about now), so a
server that replays the past is served the same way.

Transient failures while running (the SeedLink connection, the event service, the
broker) are logged and retried with back-off; nothing is lost meanwhile (records stay
pending, packets stay buffered).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from services.feeds.fdsn import FeedError
from services.feeds.fdsn_events import (
    Channel,
    ChannelSelection,
    EventPoller,
    fetch_channels,
    seedlink_selectors,
)
from services.feeds.seedlink_buffer import Packet, StationBuffer
from services.feeds.seedlink_reader import SeedLinkReader
from services.feeds.seedlink_state import EventProgress, FeedState
from services.feeds.seedlink_windows import Window, plan_windows
from services.runtime.settings import ORIGINS, RAW, ServedModelSettings

if TYPE_CHECKING:
    from services.runtime.health import HealthState
    from services.runtime.metrics import Metrics
    from services.schemas import OriginMessage, RawRecord
    from symae.contract import DataContract

log = logging.getLogger(__name__)

RECORD_ID_HEADER = "symae-record-id"
STATE_INTERVAL_S = 5.0  # the state file is written at least this often while packets arrive


class SeedLinkFeedSettings(ServedModelSettings):
    """Settings of ``symae feed seedlink`` (each also ``SYMAE_<NAME>``); ``model`` and
    ``model_registry`` name the served model, whose data contract sets the window and
    the distance range."""

    seedlink_server: str = Field(
        "rtserve.iris.washington.edu:18000", description="SeedLink server HOST:PORT"
    )
    station_url: str = Field(
        "https://service.iris.edu", description="FDSN web services for fdsnws/station"
    )
    event_url: str = Field(
        "https://earthquake.usgs.gov", description="FDSN web services for fdsnws/event"
    )
    feed_network: str = Field("IU,II", description="networks to stream (FDSN selector)")
    feed_station: str = Field("*", description="stations to stream (FDSN selector)")
    feed_location: str = Field("00", description="location codes (FDSN selector)")
    feed_channel: str = Field("BHZ", description="channels: vertical broadband (FDSN selector)")
    min_magnitude: float = Field(6.0, description="events below this magnitude are ignored")
    event_poll_s: float = Field(60.0, gt=0, description="s between fdsnws/event polls")
    event_lookback_s: float = Field(
        7200.0, gt=0, description="each poll asks for events this far before the feed's clock"
    )
    window_margin_s: float = Field(
        120.0, ge=30, description="s of record beyond each end of the model window"
    )
    buffer_s: float = Field(
        3600.0, gt=0, description="s of record kept per station for events announced late"
    )
    max_latency_s: float = Field(
        600.0, ge=0, description="a quiet station's window is sent (or dropped) this long late"
    )
    station_idle_s: float = Field(
        60.0, ge=0, description="a station that sent nothing for this long (wall clock) is quiet"
    )
    state_file: Path = Field(Path("seedlink-state.json"), description="the feed's state file")
    fdsn_timeout_s: float = Field(60.0, gt=0, description="s per FDSN request")
    seedlink_timeout_s: float = Field(
        120.0, gt=0, description="a silent SeedLink connection is reopened after this long"
    )
    max_backoff_s: float = Field(60.0, gt=0, description="longest wait between retries")


class Publisher:
    """Origins and records to Kafka with the runtime's durable producer; every send is
    acknowledged (or reported failed) before the state calls it published."""

    def __init__(self, settings: ServedModelSettings, metrics: Metrics | None) -> None:
        self.settings = settings
        self.metrics = metrics
        self.origins_topic = settings.topic(ORIGINS)
        self.raw_topic = settings.topic(RAW)
        self.timeout_s = settings.kafka_delivery_timeout_ms / 1000 + 5
        self._producer: Any = None

    def connect(self, stop: threading.Event, beat: Callable[[], None] | None = None) -> None:
        """Wait for the broker (logged back-off; ``beat`` before every attempt: waiting
        is not being stuck), then make sure both topics exist."""
        from services.runtime.kafka import connect_admin, ensure_topics

        admin = connect_admin(self.settings, stop=stop, on_attempt=beat)
        try:
            ensure_topics(admin, self.settings, [ORIGINS, RAW])
        finally:
            admin.close()

    def _get(self) -> Any:
        from services.runtime.kafka import make_producer

        if self._producer is None:
            self._producer = make_producer(self.settings)
        return self._producer

    def _reset(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=5)
            except Exception:  # noqa: BLE001 - a broken producer is dropped either way
                pass

    def origin(self, origin: OriginMessage) -> bool:
        try:
            self._get().send(
                self.origins_topic,
                key=origin.event_id.encode(),
                value=origin.model_dump_json().encode(),
            ).get(timeout=self.timeout_s)
        except Exception as exc:  # noqa: BLE001 - retried by the caller
            log.warning("origin of %s not acknowledged: %s", origin.event_id, exc)
            self._reset()
            return False
        if self.metrics is not None:
            self.metrics.record_out(self.origins_topic)
        return True

    def records(self, items: list[tuple[Window, RawRecord]]) -> set[str]:
        """Send ``items``; the record ids the broker acknowledged."""
        if not items:
            return set()
        sent = []
        try:
            producer = self._get()
            for window, record in items:
                future = producer.send(
                    self.raw_topic,
                    key=window.event_id.encode(),
                    value=record.model_dump_json().encode(),
                    headers=[(RECORD_ID_HEADER, window.record_id.encode())],
                )
                sent.append((window, future))
            producer.flush(timeout=self.timeout_s)
        except Exception as exc:  # noqa: BLE001
            log.warning("records not sent: %s", exc)
        acked = set()
        for window, future in sent:
            try:
                future.get(timeout=0.1)
            except Exception as exc:  # noqa: BLE001
                log.warning("record %s not acknowledged: %s", window.record_id, exc)
                continue
            acked.add(window.record_id)
        if len(acked) < len(items):
            self._reset()
        if self.metrics is not None and acked:
            self.metrics.record_out(self.raw_topic, len(acked))
        return acked

    def close(self) -> None:
        self._reset()


class SeedLinkFeed:
    """The feed (module docstring): :meth:`start` fails fast, :meth:`run` loops."""

    def __init__(
        self,
        settings: SeedLinkFeedSettings,
        metrics: Metrics | None = None,
        health: HealthState | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.health = health
        self.stop_event = threading.Event()
        self.contract: DataContract | None = None
        self.inventory: Any = None
        self.channels: list[Channel] = []
        self.served: set[str] = set()
        self.state = FeedState(server=settings.seedlink_server)
        self.buffers: dict[str, StationBuffer] = {}
        self.pending: dict[str, Window] = {}  # record id -> window
        self.reader: SeedLinkReader | None = None
        self.poller: EventPoller | None = None
        self.publisher = Publisher(settings, metrics)
        self._xml: dict[str, bytes | None] = {}
        self._arrival: dict[str, float] = {}  # NET.STA -> monotonic time of its last packet
        self._started = time.monotonic()
        self._next_poll = 0.0
        self._poll_backoff = settings.event_poll_s
        self._next_publish = 0.0
        self._publish_backoff = 1.0
        self._dirty = False
        self._saved_at = 0.0

    # ------------------------------------------------------------------ start-up
    def start(self) -> SeedLinkFeed:
        """Everything that must work before the loop runs; raises one-line errors."""
        from services.ingest.processor import served_contract

        s = self.settings
        self.contract = served_contract(s.model, s.model_registry)
        selection = ChannelSelection(
            s.feed_network, s.feed_station, s.feed_location, s.feed_channel
        )
        self.inventory, self.channels = fetch_channels(s.station_url, selection, s.fdsn_timeout_s)
        self.served = {c.seed_id for c in self.channels}
        self.state = FeedState.load(s.state_file, s.seedlink_server)
        selectors = seedlink_selectors(self.channels)
        self.buffers = {sta: StationBuffer(self.state.stations.get(sta, -1)) for sta in selectors}
        self.reader = SeedLinkReader(
            s.seedlink_server,
            selectors,
            self.state.stations,
            net_timeout_s=s.seedlink_timeout_s,
            max_backoff_s=s.max_backoff_s,
        ).open()
        self.poller = EventPoller(s.event_url, s.min_magnitude, s.fdsn_timeout_s)
        announced = self.poller.poll(self.clock() - s.event_lookback_s)
        self.publisher.connect(self.stop_event, self.health.beat if self.health else None)
        for event_id, progress in self.state.events.items():
            self._plan(self._origin_of(event_id, progress))
        log.info(
            "%d stations, %d events in the state, %d windows pending",
            len(self.buffers),
            len(self.state.events),
            len(self.pending),
        )
        self._announce(announced)
        self._next_poll = time.monotonic() + s.event_poll_s
        self.reader.start()
        return self

    @staticmethod
    def _origin_of(event_id: str, progress: EventProgress) -> OriginMessage:
        from services.schemas import OriginMessage

        try:
            return OriginMessage.model_validate(progress.origin)
        except ValueError as exc:
            raise FeedError(f"state file: origin of {event_id} does not validate: {exc}") from exc

    # ------------------------------------------------------------------ the loop
    def clock(self) -> float:
        """The feed's time: the newest sample received (before any: the wall clock)."""
        newest = [t for b in self.buffers.values() if (t := b.newest) is not None]
        return max(newest) if newest else time.time()

    def run(self) -> None:
        """Loop until :attr:`stop_event` is set; then write the state and close."""
        try:
            if self.health is not None:
                self.health.set_ready(True)
            while not self.stop_event.is_set():
                self.tick()
        finally:
            if self.reader is not None:
                self.reader.stop()
            self._save(force=True)
            self.publisher.close()

    def tick(self, wait_s: float = 0.2) -> None:
        """One round: packets in, events polled, windows published, buffers trimmed."""
        if self.health is not None:
            self.health.beat()
        self._drain(wait_s)
        now = time.monotonic()
        if now >= self._next_poll:
            self._poll()
        if now >= self._next_publish:
            self._publish_ready()
        self._evict()
        self._save()

    def _drain(self, wait_s: float, limit: int = 20_000) -> None:
        assert self.reader is not None
        got = self.reader.get(wait_s)
        n = 0
        while got is not None and n < limit:
            packet = got.packet
            if packet.seed_id not in self.served:
                packet = Packet(packet.seq, packet.seed_id, packet.start, packet.end, None)
            self.buffers[got.station].add(packet)
            self._arrival[got.station] = time.monotonic()
            self._dirty = True
            n += 1
            got = self.reader.get(0) if n < limit else None

    def _poll(self) -> None:
        assert self.poller is not None
        try:
            announced = self.poller.poll(self.clock() - self.settings.event_lookback_s)
        except FeedError as exc:
            log.warning("%s; polling again in %.0f s", exc, self._poll_backoff)
            self._next_poll = time.monotonic() + self._poll_backoff
            self._poll_backoff = min(self._poll_backoff * 2, 10 * self.settings.event_poll_s)
            return
        self._poll_backoff = self.settings.event_poll_s
        self._next_poll = time.monotonic() + self.settings.event_poll_s
        self._announce(announced)

    def _announce(self, origins: list[OriginMessage]) -> None:
        """Publish the origin of every event not yet in the state, then plan its windows."""
        for origin in origins:
            if origin.event_id in self.state.events:
                continue
            if not self.publisher.origin(origin):
                return  # this and the later events are announced again at the next poll
            progress = EventProgress(origin=origin.model_dump(mode="json"))
            self.state.events[origin.event_id] = progress
            self._save(force=True)
            n = self._plan(origin)
            log.info(
                "event %s M%s %s: origin published, %d stations in range",
                origin.event_id,
                origin.magnitude,
                origin.time.isoformat(),
                n,
            )

    def _plan(self, origin: OriginMessage) -> int:
        assert self.contract is not None
        progress = self.state.events[origin.event_id]
        windows = plan_windows(origin, self.channels, self.contract, self.settings.window_margin_s)
        for w in windows:
            if not progress.done(w.seed_id):
                self.pending[w.record_id] = w
        return len(windows)

    def _due(self, w: Window, clock: float) -> bool:
        end = self.buffers[w.station].data_end(w.seed_id)
        if end is not None and end >= w.end:
            return True
        late = clock - w.end - self.settings.max_latency_s
        if late < 0:
            return False
        quiet = time.monotonic() - self._arrival.get(w.station, self._started)
        # a station still delivering (catching up after a restart) is waited for, up to
        # three more max_latency_s of the feed's clock
        return quiet >= self.settings.station_idle_s or late >= 3 * self.settings.max_latency_s

    def _publish_ready(self) -> None:
        from services.devtools.replay import stationxml_of
        from services.schemas import RawRecord

        clock = self.clock()
        batch: list[tuple[Window, RawRecord]] = []
        for w in sorted(self.pending.values(), key=lambda w: w.end):
            if not self._due(w, clock):
                continue
            trace = self.buffers[w.station].cut(w.seed_id, w.start, w.end, w.p_time)
            if trace is None:
                log.warning("%s: no data between %s and %s; dropped", w.record_id, w.start, w.end)
                self.state.events[w.event_id].dropped.add(w.seed_id)
                del self.pending[w.record_id]
                self._dirty = True
                if self.metrics is not None:
                    self.metrics.rejection("no_data")
                continue
            if w.seed_id not in self._xml:
                try:
                    self._xml[w.seed_id] = stationxml_of(self.inventory, w.seed_id)
                except ValueError:
                    self._xml[w.seed_id] = None
            batch.append(
                (w, RawRecord.from_trace(w.event_id, trace, stationxml=self._xml[w.seed_id]))
            )
        if not batch:
            return
        acked = self.publisher.records(batch)
        for w, _ in batch:
            if w.record_id in acked:
                self.state.events[w.event_id].published.add(w.seed_id)
                del self.pending[w.record_id]
        if acked:
            log.info("published %d records", len(acked))
            self._save(force=True)
        if len(acked) < len(batch):
            log.warning(
                "%d records not acknowledged; sending again in %.0f s",
                len(batch) - len(acked),
                self._publish_backoff,
            )
            self._next_publish = time.monotonic() + self._publish_backoff
            self._publish_backoff = min(self._publish_backoff * 2, self.settings.max_backoff_s)
        else:
            self._publish_backoff = 1.0

    def _evict(self) -> None:
        """Trim every buffer to ``buffer_s`` of its newest sample, keeping what a pending
        window needs; forget events with nothing pending once far behind the clock."""
        needed: dict[str, float] = {}
        for w in self.pending.values():
            needed[w.station] = min(needed.get(w.station, w.start), w.start)
        for station, buf in self.buffers.items():
            newest = buf.newest
            if newest is None:
                continue
            cutoff = min(newest - self.settings.buffer_s, needed.get(station, newest))
            if buf.evict(cutoff):
                self._dirty = True
        horizon = self.clock() - 2 * self.settings.event_lookback_s
        busy = {w.event_id for w in self.pending.values()}
        for event_id, progress in list(self.state.events.items()):
            if event_id not in busy and _origin_time(progress) < horizon:
                del self.state.events[event_id]
                self._dirty = True

    def _save(self, force: bool = False) -> None:
        now = time.monotonic()
        if not (force or (self._dirty and now - self._saved_at >= STATE_INTERVAL_S)):
            return
        for station, buf in self.buffers.items():
            seq = buf.resume_point()
            if seq >= 0:
                self.state.stations[station] = seq
        self.state.save(self.settings.state_file)
        self._dirty = False
        self._saved_at = now


def _origin_time(progress: EventProgress) -> float:
    from datetime import datetime

    return datetime.fromisoformat(str(progress.origin["time"]).replace("Z", "+00:00")).timestamp()
