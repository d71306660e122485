"""The three services as processes on a broker, and what the chaos cases need around them:
events to replay (one generated event cloned under new ids, so 25 events cost one),
the published listing, readiness, resident memory."""

from __future__ import annotations

import functools
import json
import time
import urllib.error
import urllib.request
from pathlib import Path

from services.devtools.broker import free_port
from services.devtools.replay import ReplayEvent, ReplaySummary, publish, synthetic_events
from services.runtime.settings import ServiceSettings
from tests.services.conftest import ServiceProcess, unique_prefix

INGEST_FLAGS = [
    "--min-traces",
    "6",
    "--min-pixels",
    "2",
    "--revision-interval-s",
    "0.5",
    "--ready-deadline-s",
    "5",
]


@functools.lru_cache(maxsize=4)
def _base_events(seed: int, n_stations: int) -> tuple[ReplayEvent, ...]:
    return tuple(synthetic_events(2, seed=seed, n_stations=n_stations))


def events(n: int, tag: str, seed: int = 5, n_stations: int = 10) -> list[ReplayEvent]:
    """``n`` events with ids ``<tag>_<i>``: the records of two synthetic events."""
    base = _base_events(seed, n_stations)
    out = []
    for i in range(n):
        src = base[i % len(base)]
        event_id = f"{tag}_{i}"
        origin = src.origin.model_copy(update={"event_id": event_id})
        records = [r.model_copy(update={"event_id": event_id}) for r in src.records]
        out.append(ReplayEvent(origin=origin, records=records, ready_after_s=src.ready_after_s))
    return out


def get_json(url: str, timeout: float = 5) -> object:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


def rss_mb(pid: int) -> float:
    """Resident set size of a process, MB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def hwm_mb(pid: int) -> float:
    """Peak resident set size of a process, MB (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Stack:
    """ingest, inference and publish on ``bootstrap`` under a fresh topic prefix."""

    def __init__(
        self,
        tmp: Path,
        bootstrap: str,
        model: Path,
        partitions: int = 2,
        ingest_flags: list[str] | None = None,
        env: dict[str, str] | None = None,
        ingest_env: dict[str, str] | None = None,
    ) -> None:
        self.tmp, self.bootstrap, self.model = tmp, bootstrap, model
        self.prefix = unique_prefix()
        self.env = {
            "SYMAE_TOPIC_PREFIX": self.prefix,
            "SYMAE_TOPIC_PARTITIONS": str(partitions),
            "SYMAE_KAFKA_DELIVERY_TIMEOUT_MS": "5000",
            **(env or {}),
        }
        self.ingest_env = ingest_env or {}
        self.ingest_flags = INGEST_FLAGS + (ingest_flags or [])
        self.http_port = free_port()
        self.procs: dict[str, ServiceProcess] = {}
        self.starts: dict[str, int] = {}

    def settings(self) -> ServiceSettings:
        return ServiceSettings(
            kafka_bootstrap_servers=self.bootstrap,
            topic_prefix=self.prefix,
            topic_partitions=int(self.env["SYMAE_TOPIC_PARTITIONS"]),
        )

    def _make(self, name: str) -> ServiceProcess:
        common = ["--bootstrap-servers", self.bootstrap]
        args = {
            "ingest": ["serve", "ingest", *common, *self.ingest_flags],
            "inference": [
                "serve",
                "inference",
                *common,
                "--model",
                str(self.model),
                "--ort-provider",
                "cpu",
                "--max-batch-events",
                "4",
            ],
            "publish": [
                "serve",
                "publish",
                *common,
                "--http-port",
                str(self.http_port),
                "--products-dir",
                str(self.tmp / "products"),
            ],
        }[name]
        k = self.starts.get(name, 0)
        self.starts[name] = k + 1
        env = {**self.env, **(self.ingest_env if name == "ingest" else {})}
        return ServiceProcess(args, self.tmp / f"{name}-{k}.log", env=env)

    def start(self, *names: str, wait: bool = True) -> Stack:
        names = names or ("ingest", "inference", "publish")
        for name in names:
            self.procs[name] = self._make(name).start()
        if wait:
            for name in names:
                self.procs[name].wait_ready(timeout=90)
        return self

    def restart(self, name: str, wait: bool = True) -> ServiceProcess:
        self.procs[name] = self._make(name).start()
        if wait:
            self.procs[name].wait_ready(timeout=90)
        return self.procs[name]

    def replay(self, evs: list[ReplayEvent], **kw: object) -> ReplaySummary:
        summary = publish(self.settings(), evs, **kw)  # type: ignore[arg-type]
        assert summary.failed == 0
        return summary

    def published(self) -> dict[str, int]:
        """event id -> revision served by publish (empty when it does not answer)."""
        try:
            listing = get_json(f"http://127.0.0.1:{self.http_port}/events")
        except (urllib.error.URLError, OSError, ValueError):
            return {}
        return {e["event_id"]: e["revision"] for e in listing}  # type: ignore[union-attr]

    def wait_published(self, ids: set[str], timeout: float) -> float:
        """Seconds until every id in ``ids`` is published; fails with logs after ``timeout``."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if ids <= set(self.published()):
                return time.monotonic() - started
            time.sleep(0.5)
        missing = sorted(ids - set(self.published()))
        raise AssertionError(f"not published within {timeout} s: {missing}\n{self.logs()}")

    def alive(self) -> dict[str, bool]:
        return {n: p.proc is not None and p.proc.poll() is None for n, p in self.procs.items()}

    def logs(self) -> str:
        return "\n".join(f"--- {n}\n{p.log()[-2500:]}" for n, p in self.procs.items())

    def stop(self) -> dict[str, int]:
        return {n: p.stop() for n, p in self.procs.items()}

    def kill(self) -> None:
        for p in self.procs.values():
            if p.proc is not None and p.proc.poll() is None:
                p.proc.kill()
                p.proc.wait()
