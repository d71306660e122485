"""Paired differences between STF methods over the same events, with bootstrap intervals.

Input: one or several ``scores.json`` files (``symae evaluate`` or ``scripts/ablation.py``)
scoring the same events (matched by event id); each event's metrics are merged. For a
pair (method, baseline) and a metric, the difference per event is method - baseline;
the table gives the median and mean difference, each with its 95 % percentile bootstrap
interval (events resampled with replacement, 2,000 draws, seeded), per subset: all
events, depth class (true depth), SNR band (median trace SNR, when recorded), share of
broken stations, number of stations, and the hard cases (>= 30 % broken stations or
<= 20 stations).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

DEPTHS = (("depth < 70 km", 0, 70), ("depth 70-300 km", 70, 300), ("depth > 300 km", 300, 1e9))
SNRS = (("median SNR < 7.5", 0, 7.5), ("median SNR 7.5-9", 7.5, 9), ("median SNR >= 9", 9, 1e9))
BROKEN = (
    ("broken < 5 %", -1, 0.05),
    ("broken 5-20 %", 0.05, 0.2),
    ("broken 20-40 %", 0.2, 0.4),
    ("broken >= 40 %", 0.4, 2),
)
STATIONS = (
    ("10 stations", 0, 20),
    ("30 stations", 20, 60),
    ("100 stations", 60, 1e9),
)


def load_events(paths: Sequence[str | Path]) -> dict[str, dict[str, Any]]:
    """Events by id, metrics of every file merged (later files add methods)."""
    events: dict[str, dict[str, Any]] = {}
    for path in paths:
        for ev in json.loads(Path(path).read_text())["events"]:
            have = events.setdefault(ev["event_id"], {**ev, "metrics": {}})
            have["metrics"].update(ev["metrics"])
            for key in ("median_snr", "n_stations"):
                if key in ev:
                    have[key] = ev[key]
    return events


def bootstrap(
    d: np.ndarray, statistic=np.mean, draws: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """2.5-97.5 % percentile bootstrap interval of ``statistic`` (mean or median) of ``d``."""
    if d.size < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    values = statistic(d[rng.integers(0, d.size, (draws, d.size))], axis=1)
    lo, hi = np.percentile(values, (2.5, 97.5))
    return float(lo), float(hi)


def subsets(events: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"all": sorted(events)}

    def add(name: str, key: str, lo: float, hi: float) -> None:
        ids = [i for i, e in events.items() if e.get(key) is not None and lo <= float(e[key]) < hi]
        if ids and len(ids) != len(events):
            out[name] = sorted(ids)

    for name, lo, hi in DEPTHS:
        add(name, "true_depth_km", lo, hi)
    for name, lo, hi in SNRS:
        add(name, "median_snr", lo, hi)
    for name, lo, hi in BROKEN:
        add(name, "broken_share", lo, hi)
    for name, lo, hi in STATIONS:
        add(name, "n_stations", lo, hi)
    hard = [
        i
        for i, e in events.items()
        if float(e.get("broken_share", 0.0)) >= 0.3 or float(e.get("n_stations", 1e9)) <= 20
    ]
    if hard and len(hard) != len(events):
        out[">= 30 % broken or <= 20 stations"] = sorted(hard)
    return out


def paired(
    events: dict[str, dict[str, Any]],
    ids: Sequence[str],
    method: str,
    baseline: str,
    metric: str = "skill",
) -> dict[str, float]:
    """Median and mean of method - baseline over ``ids``, each with its 95 % interval."""
    d = np.array(
        [
            events[i]["metrics"][method][metric] - events[i]["metrics"][baseline][metric]
            for i in ids
            if method in events[i]["metrics"] and baseline in events[i]["metrics"]
        ]
    )
    d = d[np.isfinite(d)]
    lo, hi = bootstrap(d, np.mean)
    median_lo, median_hi = bootstrap(d, np.median)
    return {
        "n": int(d.size),
        "mean": float(d.mean()) if d.size else float("nan"),
        "median": float(np.median(d)) if d.size else float("nan"),
        "lo": lo,
        "hi": hi,
        "median_lo": median_lo,
        "median_hi": median_hi,
        "higher": float(np.mean(d > 0)) if d.size else float("nan"),
    }


def medians(
    events: dict[str, dict[str, Any]], ids: Sequence[str], method: str, metric: str
) -> float:
    v = [events[i]["metrics"][method][metric] for i in ids if method in events[i]["metrics"]]
    return float(np.median(v)) if v else float("nan")


def table(
    events: dict[str, dict[str, Any]],
    methods: Sequence[str],
    baseline: str,
    metrics: Sequence[str] = ("skill", "cc"),
) -> str:
    """Markdown: per subset, median metrics of every method and paired differences."""
    lines = []
    for name, ids in subsets(events).items():
        lines += [
            f"**{name}** ({len(ids)} events)",
            "",
            "| method | n | "
            + " | ".join(f"median {m}" for m in metrics)
            + " | "
            + " | ".join(f"{m} - {baseline}: median [95 % CI]; mean [95 % CI]" for m in metrics)
            + " |",
            "|---|---|" + "---|" * (2 * len(metrics)),
        ]
        for method in methods:
            n = sum(method in events[i]["metrics"] for i in ids)
            cells = [str(n)] + [f"{medians(events, ids, method, m):.3f}" for m in metrics]
            for m in metrics:
                if method == baseline:
                    cells.append("")
                    continue
                p = paired(events, ids, method, baseline, m)
                cells.append(
                    f"{p['median']:+.3f} [{p['median_lo']:+.3f}, {p['median_hi']:+.3f}]; "
                    f"{p['mean']:+.3f} [{p['lo']:+.3f}, {p['hi']:+.3f}]"
                )
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)
