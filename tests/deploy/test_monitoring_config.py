"""deploy/monitoring: promtool accepts the config and the rules, the rules' unit tests pass,
and the Grafana provisioning, dashboard and compose mounts agree with each other."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from .support import COMPOSE_FILE, DASHBOARD_FILE, MONITORING, RULES_FILE, require_tool

HERE = Path(__file__).parent


def _promtool(*args: str) -> str:
    proc = subprocess.run(
        [require_tool("promtool"), *args], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, f"promtool {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def test_promtool_checks_the_rules():
    out = _promtool("check", "rules", str(RULES_FILE))
    assert "SUCCESS: 7 rules found" in out, out


def test_promtool_checks_the_config_with_its_rules(tmp_path):
    # the config names the rules where the compose stack mounts them; point it here instead
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    config["rule_files"] = [str(RULES_FILE.parent / "*.yml")]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    out = _promtool("check", "config", str(path))
    assert "is valid prometheus config file syntax" in out and "SUCCESS: 7 rules found" in out


def test_alert_rules_fire_on_their_situations_only():
    out = _promtool("test", "rules", str(HERE / "alert_rules_test.yml"))
    assert "SUCCESS" in out


def test_every_alert_has_a_unit_test_and_a_runbook_entry():
    alerts = {
        rule["alert"]
        for group in yaml.safe_load(RULES_FILE.read_text())["groups"]
        for rule in group["rules"]
    }
    tests = yaml.safe_load((HERE / "alert_rules_test.yml").read_text())["tests"]
    fired = {
        case["alertname"]
        for test in tests
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    assert fired == alerts, f"alerts never seen firing in a test: {sorted(alerts - fired)}"
    readme = (MONITORING.parent / "README.md").read_text()
    for alert in alerts:
        assert f"### {alert}" in readme, f"deploy/README.md has no section for {alert}"


def test_dashboard_uses_the_provisioned_data_source():
    dashboard = json.loads(DASHBOARD_FILE.read_text())
    (source,) = yaml.safe_load(
        (MONITORING / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"]
    uids = {p["datasource"]["uid"] for p in dashboard["panels"]} | {
        t["datasource"]["uid"] for p in dashboard["panels"] for t in p["targets"]
    }
    assert uids == {source["uid"]}
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), f"duplicate panel ids {ids}"
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("per minute", "latency", "lag", "rejections", "model", "provider"):
        assert topic in titles, f"no panel about {topic!r}"


def test_grafana_and_prometheus_mounts_match_their_provisioning():
    compose = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    grafana = {v.split(":")[1]: v.split(":")[0] for v in compose["grafana"]["volumes"]}
    (provider,) = yaml.safe_load(
        (MONITORING / "grafana" / "provisioning" / "dashboards" / "symae.yml").read_text()
    )["providers"]
    dash_dir = provider["options"]["path"]
    assert (COMPOSE_FILE.parent / grafana[dash_dir]).resolve() == DASHBOARD_FILE.parent
    home = compose["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{dash_dir}/{DASHBOARD_FILE.name}"
    prometheus = {v.split(":")[1]: v.split(":")[0] for v in compose["prometheus"]["volumes"]}
    assert (
        COMPOSE_FILE.parent / prometheus["/etc/prometheus/rules"]
    ).resolve() == RULES_FILE.parent
    (source,) = yaml.safe_load(
        (MONITORING / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"]
    assert source["url"] == "http://prometheus:9090"


@pytest.mark.parametrize("path", sorted(MONITORING.rglob("*.json")), ids=lambda p: p.name)
def test_json_files_parse(path):
    assert json.loads(path.read_text())
