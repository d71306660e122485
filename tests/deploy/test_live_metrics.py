"""Every metric the alert rules and the dashboard use is one the services really export.

The three services are started as ``symae serve ...`` processes against the embedded
Kafka-compatible broker; once each answers ``/readyz`` its ``/metrics`` is scraped over
HTTP and the sample names it can produce are compared with the names in the rules, the
PrometheusRule and the Grafana dashboard.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from services.devtools.broker import EmbeddedBroker, free_port
from symae.artifacts.store import DEFAULT_MODEL_DIR, list_models

from .support import DASHBOARD_FILE, MONITORING, REPO, RULES_FILE

pytestmark = pytest.mark.kafka

# series Prometheus makes itself for every target, not exported by the services
PROMETHEUS_SERIES = {"up"}
SAMPLE_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "gauge": ("",),
    "info": ("_info",),
}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log_path = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(log_path=log_path) as running:
        yield running.bootstrap_servers


def _start(service: str, bootstrap: str, log_dir: Path) -> tuple[subprocess.Popen, int, Path]:
    port = free_port()
    log_path = log_dir / f"{service}.log"
    env = {
        **os.environ,
        "SYMAE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "SYMAE_TOPIC_PREFIX": f"deploy{os.getpid()}",
        "SYMAE_METRICS_PORT": str(port),
        "SYMAE_LOG_FORMAT": "text",
        "SYMAE_PRODUCTS_DIR": str(log_dir / "products"),
        "SYMAE_HTTP_PORT": "0",
        "SYMAE_MODEL": "default",
    }
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "symae.cli", "serve", service],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO,
        )
    return proc, port, log_path


def _wait_ready(proc: subprocess.Popen, port: int, log_path: Path, timeout: float = 45.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"service exited {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    pytest.fail(f"not ready within {timeout} s:\n{log_path.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def scrapes(broker: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """``/metrics`` text of each running service."""
    services = ["ingest", "publish"]
    if list_models(DEFAULT_MODEL_DIR, include_default=False):
        services.append("inference")  # it needs a model: the shipped default
    log_dir = tmp_path_factory.mktemp("services")
    started = {s: _start(s, broker, log_dir) for s in services}
    try:
        out = {}
        for service, (proc, port, log_path) in started.items():
            _wait_ready(proc, port, log_path)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                out[service] = resp.read().decode()
        yield out
    finally:
        for proc, _, _ in started.values():
            proc.terminate()
        for proc, _, _ in started.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _sample_names(exposition: str) -> set[str]:
    names = set()
    for family in text_string_to_metric_families(exposition):
        names |= {family.name + suffix for suffix in SAMPLE_SUFFIXES[family.type]}
        names |= {sample.name for sample in family.samples}
    return names


def _names_in(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that start a selector."""
    without_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    without_labels = re.sub(r"\{[^}]*\}", "", without_strings)
    return set(re.findall(r"\b(symae_[a-z0-9_]+|up)\b", without_labels))


def _rule_exprs(groups: list[dict]) -> list[str]:
    return [rule["expr"] for group in groups for rule in group["rules"]]


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD_FILE.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["definition"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return exprs


def _expected_names() -> dict[str, set[str]]:
    rules = yaml.safe_load(RULES_FILE.read_text())["groups"]
    operator = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())["spec"]["groups"]
    return {
        "alert rules": set().union(*map(_names_in, _rule_exprs(rules))),
        "PrometheusRule": set().union(*map(_names_in, _rule_exprs(operator))),
        "dashboard": set().union(*map(_names_in, _dashboard_exprs())),
    }


def test_each_service_scrape_is_real_exposition(scrapes):
    assert {"ingest", "publish"} <= set(scrapes)
    for service, text in scrapes.items():
        assert f'service="{service}"' in text or "# TYPE symae_" in text, service
        assert _sample_names(text), f"{service}: empty /metrics"


def test_rules_and_dashboard_use_exported_metrics(scrapes):
    expected = _expected_names()
    for where, names in expected.items():
        assert len(names) >= 5, f"{where}: only {sorted(names)} found; parser broken?"
    for service, text in scrapes.items():
        exported = _sample_names(text) | PROMETHEUS_SERIES
        for where, names in expected.items():
            missing = names - exported
            assert not missing, f"{where} use {sorted(missing)}, not in {service}'s /metrics"


def test_inference_is_scraped_when_a_default_model_ships(scrapes):
    if not list_models(DEFAULT_MODEL_DIR, include_default=False):
        pytest.skip(f"no shipped model in {DEFAULT_MODEL_DIR}: inference cannot start")
    assert "inference" in scrapes
