"""Label names the alert rules and the dashboard group or filter by are labels the
services' metrics carry.

Every public method of ``services.runtime.metrics.Metrics`` is called once so that each
family has a sample, then the labels are read from the exposition text; a rule written
``sum by (stgae)`` or a legend ``{{reason}}`` on a metric without ``reason`` fails here.
"""

from __future__ import annotations

import inspect
import json
import re

import yaml
from prometheus_client.parser import text_string_to_metric_families

from services.runtime.metrics import STAGES, Metrics

from .support import DASHBOARD_FILE, RULES_FILE

# labels Prometheus adds to every scraped series, and the histogram bucket bound
TARGET_LABELS = {"job", "instance", "le"}
SAMPLE_ARGS = {
    "topic": "symae.bundles",
    "n": 1,
    "reason": "gap",
    "stage": STAGES[0],
    "seconds": 0.1,
    "partition": 0,
    "lag": 3,
    "name": "symae",
    "version": "v1",
    "provider": "CPUExecutionProvider",
    "expected": True,
    "ok": False,
    "n_events": 2,
    "accelerated": True,
}


def _labels_by_metric() -> dict[str, set[str]]:
    metrics = Metrics("inference")
    for name, method in inspect.getmembers(metrics, inspect.ismethod):
        if name.startswith("_") or name == "exposition":
            continue
        params = list(inspect.signature(method).parameters)
        method(*[SAMPLE_ARGS[p] for p in params])
    labels: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            labels.setdefault(sample.name, set()).update(sample.labels)
    return labels


def _selectors(expr: str) -> list[tuple[str, set[str]]]:
    """(metric, label names in its matcher) for each ``metric{...}`` or bare metric."""
    out = []
    for match in re.finditer(r"\b(symae_[a-z0-9_]+|up)\b(\{[^}]*\})?", expr):
        matchers = match.group(2) or ""
        out.append((match.group(1), set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", matchers))))
    return out


def _grouping_labels(expr: str) -> set[str]:
    names: set[str] = set()
    for clause in re.findall(r"\b(?:by|on|without|ignoring)\s*\(([^)]*)\)", expr):
        names |= {n.strip() for n in clause.split(",") if n.strip()}
    return names


def _check(expr: str, extra_labels: set[str], known: dict[str, set[str]]) -> list[str]:
    problems = []
    selectors = _selectors(expr)
    available = set(TARGET_LABELS)
    for metric, matcher_labels in selectors:
        if metric == "up":
            continue
        assert metric in known, f"{metric} is not exported (see test_live_metrics)"
        available |= known[metric]
        missing = matcher_labels - known[metric] - TARGET_LABELS
        if missing:
            problems.append(f"{expr!r}: {metric} has no label {sorted(missing)}")
    missing = (_grouping_labels(expr) | extra_labels) - available
    if missing:
        problems.append(f"{expr!r}: no metric in it carries {sorted(missing)}")
    return problems


def test_alert_rules_use_existing_labels():
    known = _labels_by_metric()
    problems = []
    for group in yaml.safe_load(RULES_FILE.read_text())["groups"]:
        for rule in group["rules"]:
            text = json.dumps(rule.get("annotations", {}))
            used = set(re.findall(r"\$labels\.(\w+)", text))
            problems += _check(rule["expr"], used, known)
    assert not problems, "\n".join(problems)


def test_dashboard_queries_and_legends_use_existing_labels():
    known = _labels_by_metric()
    dashboard = json.loads(DASHBOARD_FILE.read_text())
    problems = []
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            legend = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", target.get("legendFormat", "")))
            problems += _check(target["expr"], legend, known)
        columns = panel.get("transformations", [{}])[0].get("options", {}).get("indexByName", {})
        for target in panel["targets"]:
            problems += _check(target["expr"], set(columns), known)
    for variable in dashboard["templating"]["list"]:
        metric, label = re.match(r"label_values\((\w+),\s*(\w+)\)", variable["definition"]).groups()
        if label not in known[metric]:
            problems.append(f"variable {variable['name']}: {metric} has no label {label}")
    assert not problems, "\n".join(problems)


def test_label_check_catches_a_wrong_label():
    known = _labels_by_metric()
    assert _check("sum by (stgae) (rate(symae_stage_latency_seconds_bucket[5m]))", set(), known)
    assert _check('symae_rejections_total{reasn="gap"}', set(), known)
    assert not _check(
        "sum by (stage, le) (rate(symae_stage_latency_seconds_bucket[5m]))", set(), known
    )
