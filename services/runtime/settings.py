"""Service settings: environment variables (prefix ``SYMAE_``) and command-line flags.

One frozen pydantic-settings model per service holds everything the runtime needs:
how to reach Kafka (bootstrap servers and every client security setting), topic
names, consumer-group timing and observability. Flags win over environment variables,
which win over defaults. Every field ``foo_bar`` is ``SYMAE_FOO_BAR`` in the
environment and ``--foo-bar`` on the command line (see :func:`add_settings_arguments`).

The consumer timings default to values that make a consumer-group join take about
3 s on the embedded Tansu broker (kafka-python's own defaults take about 23 s there);
raise ``kafka_max_poll_interval_ms`` for a service whose batches take longer than 5 s.
"""

from __future__ import annotations

import argparse
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from symae.errors import SymaeError

# logical topic names; the full name is "<prefix>.<name>" (docs/architecture.md)
ORIGINS = "origins"
RAW = "waveforms.raw"
BUNDLES = "bundles"
RESULTS = "results"
STF = "stf"
DLQ = "dlq"
TOPICS = (ORIGINS, RAW, BUNDLES, RESULTS, STF, DLQ)
# topics keyed by event id whose latest value per key is what matters: compacted
COMPACTED = (BUNDLES, RESULTS, STF)

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class SettingsError(SymaeError, ValueError):
    """Settings are missing or contradict each other."""


class ServiceSettings(BaseSettings):
    """Settings shared by every service and tool (frozen once built)."""

    model_config = SettingsConfigDict(env_prefix="SYMAE_", frozen=True, extra="ignore")

    # --- Kafka connection -------------------------------------------------------
    kafka_bootstrap_servers: str | None = Field(
        None,
        description="HOST:PORT[,HOST:PORT]; required by the services, which never start a "
        "broker; the dev tools (replay) default to 127.0.0.1:9092",
    )
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = Field(None, description="CA bundle (PEM) for SSL")
    kafka_ssl_certfile: Path | None = Field(None, description="client certificate (PEM)")
    kafka_ssl_keyfile: Path | None = Field(None, description="client private key (PEM)")
    kafka_ssl_password: SecretStr | None = Field(None, description="password of the key")
    kafka_ssl_check_hostname: bool = True
    kafka_client_id: str | None = None
    # --- consumer timing (defaults suit the embedded broker; see module docstring) ----
    kafka_session_timeout_ms: int = Field(6000, gt=0)
    kafka_heartbeat_interval_ms: int = Field(1000, gt=0)
    kafka_max_poll_interval_ms: int = Field(5000, gt=0)
    kafka_max_poll_records: int = Field(200, gt=0)
    kafka_poll_timeout_ms: int = Field(200, gt=0)
    kafka_max_request_size: int = Field(8 * 1024 * 1024, gt=0, description="bytes")
    kafka_connect_backoff_max_s: float = Field(10.0, gt=0, description="retry back-off cap")
    kafka_delivery_timeout_ms: int = Field(
        15000, gt=0, description="an output not acknowledged in this time is sent again"
    )
    kafka_startup_timeout_s: float | None = Field(
        None, description="give up when the broker is unreachable this long (unset: never)"
    )
    # --- topics --------------------------------------------------------------------
    topic_prefix: str = Field("symae", pattern=r"^[A-Za-z0-9._-]+$")
    topic_partitions: int = Field(3, gt=0)
    topic_replication_factor: int = Field(1, gt=0)
    consumer_group: str | None = Field(None, description="default: symae-<service>")
    commit_interval_s: float = Field(1.0, ge=0, description="at most one commit this often")
    # --- observability -------------------------------------------------------------
    metrics_port: int = Field(9400, ge=0, le=65535, description="0: any free port")
    metrics_host: str = Field(
        "127.0.0.1", description="bind address of /metrics and the probes (0.0.0.0: all)"
    )
    http_timeout_s: float = Field(10.0, gt=0, description="socket timeout of HTTP connections")
    http_max_connections: int = Field(32, gt=0, description="concurrent HTTP connections")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"
    dlq_payload_max_bytes: int = Field(
        1024 * 1024, ge=0, description="original bytes kept in a dead letter"
    )

    @model_validator(mode="after")
    def _check_security(self) -> ServiceSettings:
        protocol = self.kafka_security_protocol
        if protocol.startswith("SASL"):
            missing = [
                name
                for name in ("kafka_sasl_mechanism", "kafka_sasl_username", "kafka_sasl_password")
                if getattr(self, name) is None
            ]
            if missing:
                env = ", ".join(f"SYMAE_{m.upper()}" for m in missing)
                raise ValueError(f"security protocol {protocol} needs {env}")
        if self.kafka_heartbeat_interval_ms >= self.kafka_session_timeout_ms:
            raise ValueError(
                f"kafka_heartbeat_interval_ms ({self.kafka_heartbeat_interval_ms}) must be below "
                f"kafka_session_timeout_ms ({self.kafka_session_timeout_ms})"
            )
        for name in ("kafka_ssl_cafile", "kafka_ssl_certfile", "kafka_ssl_keyfile"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise ValueError(f"{name}: file not found: {str(path)!r}")
        return self

    def topic(self, name: str) -> str:
        """Full topic name of a logical one: ``topic("bundles") -> "symae.bundles"``."""
        return f"{self.topic_prefix}.{name}"

    def group_id(self, service: str) -> str:
        return self.consumer_group or f"symae-{service}"

    def client_config(self) -> dict[str, Any]:
        """kafka-python keyword arguments shared by producers, consumers and admin clients."""
        config: dict[str, Any] = {
            "bootstrap_servers": (self.kafka_bootstrap_servers or "127.0.0.1:9092").split(","),
            "security_protocol": self.kafka_security_protocol,
        }
        if self.kafka_client_id:
            config["client_id"] = self.kafka_client_id
        if self.kafka_security_protocol.startswith("SASL"):
            assert self.kafka_sasl_password is not None  # checked by the validator
            config["sasl_mechanism"] = self.kafka_sasl_mechanism
            # kafka-python takes these two for PLAIN and SCRAM alike
            config["sasl_plain_username"] = self.kafka_sasl_username
            config["sasl_plain_password"] = self.kafka_sasl_password.get_secret_value()
        if self.kafka_security_protocol in ("SSL", "SASL_SSL"):
            config["ssl_check_hostname"] = self.kafka_ssl_check_hostname
            for key in ("cafile", "certfile", "keyfile"):
                value = getattr(self, f"kafka_ssl_{key}")
                if value is not None:
                    config[f"ssl_{key}"] = str(value)
            if self.kafka_ssl_password is not None:
                config["ssl_password"] = self.kafka_ssl_password.get_secret_value()
        return config


S = TypeVar("S", bound=ServiceSettings)

# short flags of the command contract (docs/architecture.md)
FLAG_ALIASES = {"kafka_bootstrap_servers": "--bootstrap-servers"}


def _flag_type(annotation: Any) -> Any:
    """The argparse ``type`` for a field annotation (the non-None member of a union)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _flag_type(members[0])
    if origin is Literal:
        return str
    if annotation in (int, float, Path):
        return annotation
    return str


def add_settings_arguments(parser: argparse.ArgumentParser, cls: type[ServiceSettings]) -> None:
    """Add one ``--flag`` per settings field; unset flags leave the environment's value."""
    group = parser.add_argument_group("settings (each also SYMAE_<NAME> in the environment)")
    for name, field in cls.model_fields.items():
        flags = ["--" + name.replace("_", "-")]
        if name in FLAG_ALIASES:
            flags.insert(0, FLAG_ALIASES[name])
        help_text = field.description or ""
        env = f"SYMAE_{name.upper()}"
        if field.annotation is bool:
            group.add_argument(
                *flags,
                dest=name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"{help_text} [{env}]",
            )
            continue
        choices = None
        literal = [a for a in typing.get_args(field.annotation) if typing.get_origin(a) is Literal]
        if typing.get_origin(field.annotation) is Literal:
            choices = list(typing.get_args(field.annotation))
        elif literal:
            choices = list(typing.get_args(literal[0]))
        group.add_argument(
            *flags,
            dest=name,
            type=_flag_type(field.annotation),
            choices=choices,
            default=None,
            metavar=name.upper() if choices is None else None,
            help=f"{help_text} [{env}, default {field.default!r}]",
        )


def settings_from_args(cls: type[S], args: argparse.Namespace) -> S:
    """Build ``cls`` from flags given on the command line, then the environment."""
    given = {
        name: getattr(args, name)
        for name in cls.model_fields
        if getattr(args, name, None) is not None
    }
    try:
        return cls(**given)
    except ValidationError as exc:
        raise SettingsError(f"invalid settings: {exc}") from exc


class ServedModelSettings(ServiceSettings):
    """The model being served: inference extracts with it, ingest preprocesses for its
    data contract (``SYMAE_MODEL``, ``SYMAE_MODEL_REGISTRY``)."""

    model: str = Field(
        "default",
        description="model to serve: default (follows the shipped model's name), latest, "
        "NAME, NAME:VERSION (pinned) or a model directory",
    )
    model_registry: Path | None = Field(
        None, description="registry root (default: ~/.local/share/symae/models)"
    )
