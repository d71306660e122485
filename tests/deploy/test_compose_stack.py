"""deploy/compose: the file passes ``docker-compose config`` and matches the services."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.runtime.settings import COMPACTED, TOPICS

from .support import (
    COMPOSE_FILE,
    DEPLOY,
    REPO,
    TRAINER_ENTRYPOINT,
    require_tool,
    settings_env_names,
)

PROFILES = ("gpu", "cpu", "train", "replay", "feed")


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    """``docker-compose config`` with every profile on: the file as Compose reads it."""
    tool = require_tool("docker-compose")
    args = [tool, "--project-directory", str(COMPOSE_FILE.parent), "-f", str(COMPOSE_FILE)]
    for profile in PROFILES:
        args += ["--profile", profile]
    proc = subprocess.run([*args, "config"], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        pytest.fail(f"docker-compose config failed:\n{proc.stderr}")
    return yaml.safe_load(proc.stdout)


def test_stack_has_every_part(resolved):
    services = resolved["services"]
    assert {
        "kafka",
        "topics",
        "ingest",
        "inference",
        "inference-cpu",
        "publish",
        "prometheus",
        "grafana",
        "trainer",
        "replay",
        "archive",
        "feed-seedlink",
    } <= set(services)
    assert services["inference"]["profiles"] == ["gpu"]
    assert services["inference-cpu"]["profiles"] == ["cpu"]
    assert services["trainer"]["profiles"] == ["train"]
    assert services["replay"]["profiles"] == ["replay"]
    assert services["feed-seedlink"]["profiles"] == ["feed"]
    devices = services["inference"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]


def test_images_are_pinned_to_exact_tags(resolved):
    for name, service in resolved["services"].items():
        image = service["image"]
        tag = image.rsplit(":", 1)[1] if ":" in image.split("/")[-1] else ""
        assert re.match(r"^v?\d+\.\d+\.\d+", tag) or "@sha256:" in image, f"{name}: {image}"


def test_kafka_runs_kraft_on_a_persistent_volume(resolved):
    kafka = resolved["services"]["kafka"]
    env = kafka["environment"]
    assert kafka["image"].startswith("apache/kafka:")
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@")
    (source,) = [s for s, t in _mounts(kafka) if t == env["KAFKA_LOG_DIRS"]]
    assert source in resolved["volumes"], f"Kafka data on {source!r}, not a named volume"
    # the services' largest request must fit the broker's message limit
    from services.runtime.settings import ServiceSettings

    assert int(env["KAFKA_MESSAGE_MAX_BYTES"]) >= ServiceSettings().kafka_max_request_size


def test_topic_job_creates_the_services_topics_with_compaction(resolved):
    script = resolved["services"]["topics"]["command"][0]
    plain = re.search(r"for t in ([^;]+); do create \"\$\$t\"; done", script).group(1).split()
    compact = (
        re.search(r"for t in ([^;]+); do create \"\$\$t\" --config cleanup.policy=compact", script)
        .group(1)
        .split()
    )
    assert set(compact) == set(COMPACTED)
    assert set(plain) | set(compact) == set(TOPICS) and not set(plain) & set(compact)


def _mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of each volume, from Compose's short or long syntax."""
    out = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            out.append((volume["source"], volume["target"]))
        else:
            source, target = volume.split(":")[:2]
            out.append((source, target))
    return out


def _env_names(service: dict[str, Any]) -> set[str]:
    return {k for k in service.get("environment", {}) if k.startswith("SYMAE_")}


def test_service_environment_names_are_settings_the_command_reads(resolved):
    checked = 0
    for name, service in resolved["services"].items():
        command = service.get("command")
        image = service["image"]
        if image.startswith("symae-serving"):
            known = settings_env_names(command)
        elif image.startswith("symae-trainer"):
            known = set(re.findall(r"\b(SYMAE_[A-Z_]+)", TRAINER_ENTRYPOINT.read_text()))
        else:
            assert not _env_names(service), f"{name} is not a symae service"
            continue
        unknown = _env_names(service) - known
        assert not unknown, f"{name}: {sorted(unknown)} are not settings of `symae {command}`"
        checked += 1
    assert checked >= 6


def test_metrics_port_matches_the_prometheus_scrape_config(resolved):
    prometheus = yaml.safe_load((DEPLOY / "monitoring" / "prometheus.yml").read_text())
    scraped = {
        name: sd["port"]
        for job in prometheus["scrape_configs"]
        for sd in job.get("dns_sd_configs", [])
        for name in sd["names"]
    }
    for name, service in resolved["services"].items():
        if service.get("command", [None])[0] in ("serve", "feed"):
            port = int(service["environment"]["SYMAE_METRICS_PORT"])
            assert scraped.get(name) == port, f"{name}: metrics on {port}, scraped {scraped}"


def test_bind_mounts_exist_and_stay_in_the_repository(resolved):
    binds = 0
    for name, service in resolved["services"].items():
        for source, _ in _mounts(service):
            if source.startswith("/"):
                path = Path(source)
                assert path.exists() and path.is_relative_to(REPO), f"{name}: {source}"
                binds += 1
    assert binds >= 4


def test_feed_state_and_archive_live_on_named_volumes(resolved):
    services = resolved["services"]
    feed = services["feed-seedlink"]
    state = Path(feed["environment"]["SYMAE_STATE_FILE"])
    assert any(
        src in resolved["volumes"] and state.is_relative_to(dst) for src, dst in _mounts(feed)
    ), _mounts(feed)
    # the archiver writes into the volume the trainer reads
    archive = services["archive"]
    url = Path(archive["environment"]["SYMAE_ARCHIVE_URL"])
    (volume,) = [src for src, dst in _mounts(archive) if url.is_relative_to(dst)]
    assert volume in {src for src, _ in _mounts(services["trainer"])}
