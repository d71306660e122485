"""Service settings: environment, flags, Kafka security options, topic names."""

from __future__ import annotations

import argparse

import pytest

from services.ingest.settings import IngestSettings
from services.runtime.settings import (
    ServiceSettings,
    SettingsError,
    add_settings_arguments,
    settings_from_args,
)


def parse(cls: type[ServiceSettings], argv: list[str]) -> ServiceSettings:
    parser = argparse.ArgumentParser()
    add_settings_arguments(parser, cls)
    return settings_from_args(cls, parser.parse_args(argv))


def test_environment_then_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYMAE_KAFKA_BOOTSTRAP_SERVERS", "env-host:9092")
    monkeypatch.setenv("SYMAE_TOPIC_PREFIX", "prod")
    monkeypatch.setenv("SYMAE_MIN_TRACES", "17")
    settings = parse(
        IngestSettings, ["--bootstrap-servers", "flag-host:19092", "--metrics-port", "9500"]
    )
    assert settings.kafka_bootstrap_servers == "flag-host:19092"  # flag beats environment
    assert settings.metrics_port == 9500
    assert settings.topic("waveforms.raw") == "prod.waveforms.raw"  # environment beats default
    assert settings.min_traces == 17
    assert settings.client_config()["bootstrap_servers"] == ["flag-host:19092"]


def test_settings_are_frozen() -> None:
    settings = ServiceSettings(kafka_bootstrap_servers="h:1")
    with pytest.raises(Exception, match="frozen"):
        settings.topic_prefix = "other"  # type: ignore[misc]


def test_sasl_scram_over_tls(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("SYMAE_KAFKA_SASL_PASSWORD", "s3cret")
    settings = parse(
        ServiceSettings,
        [
            "--bootstrap-servers",
            "a:9093,b:9093",
            "--kafka-security-protocol",
            "SASL_SSL",
            "--kafka-sasl-mechanism",
            "SCRAM-SHA-512",
            "--kafka-sasl-username",
            "symae",
            "--kafka-ssl-cafile",
            str(ca),
        ],
    )
    config = settings.client_config()
    assert config["bootstrap_servers"] == ["a:9093", "b:9093"]
    assert config["security_protocol"] == "SASL_SSL"
    assert config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert config["sasl_plain_username"] == "symae"
    assert config["sasl_plain_password"] == "s3cret"
    assert config["ssl_cafile"] == str(ca)
    assert "s3cret" not in repr(settings)  # secrets never printed


def test_plaintext_sends_no_credentials() -> None:
    config = ServiceSettings(kafka_bootstrap_servers="h:1").client_config()
    assert config["security_protocol"] == "PLAINTEXT"
    assert not any(k.startswith(("sasl", "ssl")) for k in config)


def test_sasl_without_credentials_names_what_is_missing() -> None:
    with pytest.raises(SettingsError, match="SYMAE_KAFKA_SASL_USERNAME.*SYMAE_KAFKA_SASL_PASSWORD"):
        parse(
            ServiceSettings,
            ["--kafka-security-protocol", "SASL_PLAINTEXT", "--kafka-sasl-mechanism", "PLAIN"],
        )


def test_missing_certificate_file_is_quoted(tmp_path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(SettingsError, match="nope.pem"):
        parse(
            ServiceSettings,
            ["--kafka-security-protocol", "SSL", "--kafka-ssl-cafile", str(missing)],
        )


def test_unknown_security_protocol_is_refused() -> None:
    with pytest.raises(SystemExit):
        parse(ServiceSettings, ["--kafka-security-protocol", "KERBEROS"])


def test_consumer_timing_defaults_suit_the_embedded_broker() -> None:
    settings = ServiceSettings()
    assert (
        settings.kafka_session_timeout_ms,
        settings.kafka_heartbeat_interval_ms,
        settings.kafka_max_poll_interval_ms,
    ) == (6000, 1000, 5000)
    with pytest.raises(Exception, match="heartbeat"):
        ServiceSettings(kafka_session_timeout_ms=1000, kafka_heartbeat_interval_ms=1000)
