"""Scoring STF methods against known STFs: per-event table, summaries, figures.

``score_events`` runs an ``Extractor`` (optional) and any pluggable methods
(``{name: callable(EventData) -> (times, stf)}``, times in s after the predicted P) over
events that carry their true STF, and scores every method with
``symae.evaluate.metrics.compare`` against the truth, with the Mw-only reference
triangle of the catalogue magnitude the methods are given. Method names are stable:
``envelope`` (SymAE's Hilbert-envelope read-out), the stack baselines by their own
names (``mean_envelope``, ``aligned_stack``, ``deconvolved_stack``), ``inversion`` and
``inversion-virtual`` once plugged in, ``triangle`` (the reference guess). Ceilings
(``ceiling:*``) are the truth itself passed through the data band and read out; they
say what a perfect method could score and never enter a ranking.

``summarise`` gives medians and quartiles per method and a paired bootstrap over
sources of each method's skill against the strongest stack baseline; ``subsets``
splits by directivity, depth class, Mw band and share of broken stations;
``write_report`` writes ``scores.json`` and ``report.md``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from symae.data.dataset import EventData
from symae.data.response import highpass_response
from symae.evaluate.metrics import Series, StfMetrics, compare, reference_triangle
from symae.extract.baselines import BASELINES
from symae.extract.result import ExtractionResult, Stf
from symae.extract.stf import envelopes

if TYPE_CHECKING:  # the extractor needs ONNX Runtime
    from symae.extract.extractor import Extractor

log = logging.getLogger(__name__)

ENVELOPE = "envelope"  # SymAE's event STF: the Hilbert-envelope read-out
PREFERRED = "preferred"  # the product's published STF, whichever method the rule picked
TRIANGLE = "triangle"  # the reference guess: Mw-only triangle starting at P
STACK_BASELINES = tuple(BASELINES)
# Ceilings, not methods: the true STF through the data band (the contract's causal
# high-pass), read out as the band-limited truth itself (negatives clipped, as every
# estimate is) and as its Hilbert envelope (SymAE's read-out).
CEILING_BAND = "ceiling:band"
CEILING_ENVELOPE = "ceiling:envelope"
CEILING_PREFIX = "ceiling:"
REFERENCE = (TRIANGLE,)

Method = Callable[[EventData], tuple[np.ndarray, np.ndarray]]
# method -> metric -> {"median", "q1", "q3", "mean"}, plus the paired comparisons
Summary = dict[str, dict[str, Any]]


def is_ranked(method: str) -> bool:
    """False for the reference guess and the ceilings."""
    return method not in REFERENCE and not method.startswith(CEILING_PREFIX)


# the benchmark's event with directivity is its source's id plus this suffix
DIRECTIVITY_SUFFIX = "_dir"
SUMMARY_METRICS = (
    "skill",
    "pearson",
    "cc",
    "duration_rel_error",
    "abs_duration_rel_error",
    "centroid_error_s",
    "episode_error",
    "l2",
)


@dataclass
class EventScore:
    """One event's metrics for every method, plus what the event was."""

    event_id: str
    latitude: float
    longitude: float
    depth_km: float
    magnitude: float | None
    n_traces: int
    n_pixels: int
    directivity: bool
    metrics: dict[str, StfMetrics] = field(default_factory=dict)
    true_depth_km: float | None = None
    true_mw: float | None = None
    broken_share: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "depth_km": self.depth_km,
            "magnitude": self.magnitude,
            "n_traces": self.n_traces,
            "n_pixels": self.n_pixels,
            "directivity": self.directivity,
            "true_depth_km": self.true_depth_km,
            "true_mw": self.true_mw,
            "broken_share": self.broken_share,
            "metrics": {m: s.to_dict() for m, s in self.metrics.items()},
        }


def truth_series(event: EventData, t0: float, dt: float) -> Series:
    """The event's true STF; ``t0``/``dt`` apply when the event does not state its own."""
    if event.truth_stf is None:
        raise ValueError(f"event {event.event_id!r} carries no true STF")
    return Series(
        np.asarray(event.truth_stf, dtype=np.float64),
        float(event.truth_attrs.get("t0", t0)),
        float(event.truth_attrs.get("dt", dt)),
    )


def _series(stf: Stf) -> Series:
    return Series(stf.array(), stf.t0, stf.dt)


def event_score(
    event: EventData, n_traces: int | None = None, n_pixels: int | None = None
) -> EventScore:
    """What the event was: given origin, true depth and Mw, directivity, broken share."""
    o, attrs = event.origin, event.truth_attrs
    true_origin = (attrs.get("catalogue_errors") or {}).get("true_origin") or {}
    return EventScore(
        event_id=event.event_id,
        latitude=o.latitude,
        longitude=o.longitude,
        depth_km=o.depth_km,
        magnitude=o.magnitude,
        n_traces=event.n_traces if n_traces is None else n_traces,
        n_pixels=len(event.groups) if n_pixels is None else n_pixels,
        directivity=bool(attrs.get("directivity")),
        true_depth_km=float(true_origin.get("depth_km", o.depth_km)),
        true_mw=float(attrs["mw"]) if attrs.get("mw") is not None else o.magnitude,
        broken_share=float(attrs.get("broken_share", 0.0)),
    )


def score_result(
    event: EventData,
    result: ExtractionResult | None = None,
    methods: Mapping[str, Method] | None = None,
    highpass_hz: float = 0.015,
    t0: float = -92.0,
    dt: float = 1.0,
) -> EventScore:
    """Metrics of every method (SymAE's envelope and baselines from ``result``, then
    ``methods``), the reference triangle and the ceilings against the event's truth."""
    if result is not None:
        t0, dt = result.stf.t0, result.stf.dt
    truth = truth_series(event, t0, dt)
    mw = event.origin.magnitude  # the catalogue Mw the methods are given
    score = event_score(
        event,
        result.quality.n_traces if result is not None else None,
        result.quality.n_pixels if result is not None else None,
    )

    def judge(estimate: Series) -> StfMetrics:
        return compare(estimate, truth, mw=mw)

    if result is not None:
        score.metrics[PREFERRED] = judge(_series(result.stf))
        for name, stf in {**result.method_stfs(), **result.baselines}.items():
            score.metrics[name] = judge(_series(stf))
    for name, method in (methods or {}).items():
        if name in score.metrics:
            continue  # the extraction already made it
        times, values = method(event)
        times = np.asarray(times, dtype=np.float64)
        score.metrics[name] = judge(
            Series(
                np.asarray(values, dtype=np.float64), float(times[0]), float(times[1] - times[0])
            )
        )
    if mw is not None:
        score.metrics[TRIANGLE] = judge(
            Series(reference_triangle(mw, truth.times()), truth.t0, truth.dt)
        )
    for name, ceiling in band_ceilings(truth, highpass_hz).items():
        score.metrics[name] = judge(ceiling)
    return score


def through_band(truth: Series, highpass_hz: float) -> Series:
    """The true STF through the data band: the contract's causal high-pass (zero padded)."""
    n = len(truth.values)
    nfft = 4 * n
    spec = np.fft.rfft(truth.values, nfft) * highpass_response(
        np.fft.rfftfreq(nfft, truth.dt), highpass_hz
    )
    return Series(np.fft.irfft(spec, nfft)[:n], truth.t0, truth.dt)


def band_ceilings(truth: Series, highpass_hz: float) -> dict[str, Series]:
    """The truth through the data band, read out with positivity (negatives clipped) and
    as its Hilbert envelope (SymAE's read-out)."""
    band = through_band(truth, highpass_hz)
    return {
        # positivity read-out: a signed series' negative lobe would otherwise become the
        # noise floor that ``prepare`` subtracts and lengthen it many times over
        CEILING_BAND: Series(np.clip(band.values, 0.0, None), truth.t0, truth.dt),
        CEILING_ENVELOPE: Series(envelopes(band.values[None])[0], truth.t0, truth.dt),
    }


def readout_ceiling(truth: Series, highpass_hz: float = 0.0) -> StfMetrics:
    """Metrics of the true STF (through the data band when ``highpass_hz`` > 0) read out
    as SymAE's STF is: its Hilbert envelope. The envelope of a one-sided pulse decays like
    1/t, so even a perfect recovery loses some CC and gains duration."""
    band = through_band(truth, highpass_hz) if highpass_hz > 0 else truth
    return compare(Series(envelopes(band.values[None])[0], truth.t0, truth.dt), truth)


def score_events(
    extractor: Extractor | None,
    events: Iterable[EventData],
    batch: int = 4,
    methods: Mapping[str, Method] | None = None,
    highpass_hz: float | None = None,
) -> tuple[list[EventScore], list[ExtractionResult]]:
    """Extract (``batch`` events per ONNX call; no extractor: pluggable methods only) and
    score every event. ``highpass_hz`` defaults to the extractor's contract's band.

    An event whose extraction or scoring raises is logged with its traceback and left
    out (its id goes to ``failed``), so that one event cannot end a long benchmark."""
    scores: list[EventScore] = []
    results: list[ExtractionResult] = []
    pending: list[EventData] = []
    if highpass_hz is None:
        highpass_hz = extractor.contract.highpass_hz if extractor is not None else 0.015

    def extract(events: list[EventData]) -> list[ExtractionResult | None]:
        """Results in order; after a failed batch, each event alone (a failure: failed)."""
        if extractor is None:
            return [None] * len(events)
        try:
            return list(extractor.extract_many(events))
        except Exception:
            if len(events) > 1:
                return [r for ev in events for r in extract([ev])]
            log.exception("%s: extraction failed; event left out", events[0].event_id)
            failed.append(events[0].event_id)
            return [None]

    def flush() -> None:
        outs = extract(pending)
        for ev, res in zip(pending, outs, strict=True):
            if ev.event_id in failed:
                continue
            try:
                scores.append(score_result(ev, res, methods, highpass_hz))
            except Exception:
                log.exception("%s: scoring failed; event left out", ev.event_id)
                failed.append(ev.event_id)
                continue
            if res is not None:
                results.append(res)
            m = scores[-1].metrics
            log.info(
                "%s: skill %s", ev.event_id, " ".join(f"{k} {v.skill:.3f}" for k, v in m.items())
            )
        pending.clear()

    failed: list[str] = []
    for event in events:
        pending.append(event)
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    if failed:
        log.error("%d event(s) left out after an error: %s", len(failed), failed)
    return scores, results


def _metric_values(scores: Sequence[EventScore], method: str, metric: str) -> np.ndarray:
    out = []
    for s in scores:
        m = s.metrics[method]
        if metric == "abs_duration_rel_error":
            out.append(abs(m.duration_rel_error))
        elif metric == "episode_error":
            out.append(m.episodes_est - m.episodes_true)
        elif metric == "abs_episode_error":
            out.append(abs(m.episodes_est - m.episodes_true))
        elif metric == "centroid_error_s":
            out.append(abs(m.centroid_error_s))
        else:
            out.append(getattr(m, metric))
    return np.asarray(out, dtype=np.float64)


def strongest_baseline(scores: Sequence[EventScore], metric: str = "skill") -> str | None:
    """The stack baseline with the highest median ``metric`` (None when none is scored)."""
    present = [b for b in STACK_BASELINES if b in scores[0].metrics]
    if not present:
        return None

    def median(b: str) -> float:
        v = _metric_values(scores, b, metric)
        v = v[np.isfinite(v)]
        return float(np.median(v)) if v.size else -np.inf

    return max(present, key=median)


def summarise(scores: Sequence[EventScore]) -> Summary:
    """method -> metric -> {median, q1, q3, mean} (centroid error taken in absolute value),
    plus, per method, the paired comparisons: CC against SymAE's envelope (when scored)
    and skill against the strongest stack baseline (``vs_baseline``)."""
    if not scores:
        raise ValueError("no event scores to summarise")
    methods = list(scores[0].metrics)
    base = strongest_baseline(scores)
    summary: Summary = {}
    for method in methods:
        summary[method] = {}
        for metric in SUMMARY_METRICS:
            v = _metric_values(scores, method, metric)
            v = v[np.isfinite(v)]
            q1, med, q3 = np.percentile(v, [25, 50, 75]) if len(v) else (np.nan,) * 3
            summary[method][metric] = {
                "median": float(med),
                "q1": float(q1),
                "q3": float(q3),
                "mean": float(np.mean(v)) if len(v) else float("nan"),
            }
        if method == PREFERRED:
            summary[method]["pearson_vs_stacks"] = {
                b: paired_difference(scores, method, b, "pearson")
                for b in STACK_BASELINES
                if b in methods
            }
        if base is not None and method != base:
            summary[method]["vs_baseline"] = {
                "baseline": base,
                **paired_difference(scores, method, base, "skill"),
            }
    return summary


def source_id(event_id: str) -> str:
    """The source an event was made from (its id without the directivity suffix)."""
    return event_id.removesuffix(DIRECTIVITY_SUFFIX)


BOOTSTRAP_DRAWS = 2000
BOOTSTRAP_SEED = 0


def paired_difference(
    scores: Sequence[EventScore], method: str, against: str, metric: str = "skill"
) -> dict[str, float]:
    """``method``'s ``metric`` minus ``against``'s, event by event.

    Returns the median difference, its 95 % bootstrap interval and the share of events
    where ``method`` scores higher. The bootstrap resamples *sources*: an event with
    directivity and the same source without it are drawn together. Events where either
    value is NaN are left out.
    """
    diff = _metric_values(scores, method, metric) - _metric_values(scores, against, metric)
    keep = np.isfinite(diff)
    diff = diff[keep]
    kept = [s for s, k in zip(scores, keep, strict=True) if k]
    if not kept:
        nan = float("nan")
        return {"median": nan, "ci_low": nan, "ci_high": nan, "share_higher": nan, "sources": 0}
    ids, source_of_event = np.unique([source_id(s.event_id) for s in kept], return_inverse=True)
    members = [np.flatnonzero(source_of_event == k) for k in range(len(ids))]
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    medians = [
        np.median(diff[np.concatenate([members[k] for k in rng.integers(0, len(ids), len(ids))])])
        for _ in range(BOOTSTRAP_DRAWS)
    ]
    low, high = np.percentile(medians, [2.5, 97.5])
    return {
        "median": float(np.median(diff)),
        "ci_low": float(low),
        "ci_high": float(high),
        "share_higher": float(np.mean(diff > 0)),
        "sources": len(ids),
    }


def ordered_methods(summary: Summary) -> list[str]:
    """Ranked methods by median skill (then CC), then the reference, then the ceilings."""

    def key(m: str) -> tuple[float, float]:
        sk, cc = summary[m]["skill"]["median"], summary[m]["cc"]["median"]
        return (-(sk if np.isfinite(sk) else -np.inf), -cc)

    ranked = sorted((m for m in summary if is_ranked(m)), key=key)
    return (
        ranked
        + [m for m in summary if m in REFERENCE]
        + [m for m in summary if m.startswith(CEILING_PREFIX)]
    )


def paired_markdown(summary: Summary) -> str:
    """Each method's skill against the strongest stack baseline, paired over sources."""
    lines = []
    for name in ordered_methods(summary):
        p = summary[name].get("vs_baseline")
        if p is None:
            continue
        lines.append(
            f"- {name} - {p['baseline']}: median skill difference {p['median']:+.3f} (95 % "
            f"bootstrap interval over {p['sources']} sources {p['ci_low']:+.3f} to "
            f"{p['ci_high']:+.3f}); {name} higher on {p['share_higher']:.0%} of events"
        )
    return "\n".join(lines)


def summary_markdown(summary: Summary, n_events: int) -> str:
    """Headline table: median [q1, q3] of each metric, one row per method."""
    lines = [
        f"{n_events} events. Median [quartiles]. Skill over the Mw-only triangle (1 perfect, "
        "0 no better than the triangle; unit-area series at best lag within +-10 s); Pearson "
        "and CC (not demeaned) at best lag; duration error relative, signed; centroid error "
        "absolute (s); episodes = found - true. Methods ranked by median skill; the "
        "reference (triangle) and the ceilings (truth through the data band) below the line.",
        "",
        "| method | skill | Pearson | CC | duration rel. error | abs. duration rel. error | centroid error (s) | episodes found - true | normalised L2 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for method in ordered_methods(summary):
        metrics = summary[method]
        cells = []
        for metric in SUMMARY_METRICS:
            s = metrics[metric]
            cells.append(f"{s['median']:.3f} [{s['q1']:.3f}, {s['q3']:.3f}]")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


TARGET_PEARSON = 0.90  # hard mode, all events
TARGET_PEARSON_CLASS = 0.85  # hard mode, every depth class
TARGET_SKILL = 0.5
TARGET_DURATION = 0.20
TARGET_OVER_STACKS = 0.10  # paired median Pearson CC over every stack baseline


def _met(ok: bool, miss: str) -> str:
    return "met" if ok else f"missed by {miss}"


def targets_markdown(summary: Summary) -> str:
    """The preferred method's medians against the targets: met, or missed and by how much."""
    if PREFERRED not in summary:
        return paired_markdown(summary)
    m = summary[PREFERRED]
    pearson, skill = m["pearson"]["median"], m["skill"]["median"]
    dur = m["abs_duration_rel_error"]["median"]
    lines = [
        f"- median Pearson CC >= {TARGET_PEARSON:.2f}: {pearson:.3f}, "
        + _met(pearson >= TARGET_PEARSON, f"{TARGET_PEARSON - pearson:.3f}"),
        f"- median skill over the Mw triangle >= {TARGET_SKILL:.1f}: {skill:.3f}, "
        + _met(skill >= TARGET_SKILL, f"{TARGET_SKILL - skill:.3f}"),
        f"- median |duration error| <= {TARGET_DURATION:.0%}: {dur:.0%}, "
        + _met(dur <= TARGET_DURATION, f"{dur - TARGET_DURATION:.0%}"),
    ]
    for base, p in m.get("pearson_vs_stacks", {}).items():
        ok = p["median"] >= TARGET_OVER_STACKS and p["ci_low"] > 0
        lines.append(
            f"- preferred - {base}: paired median Pearson CC {p['median']:+.3f} (95 % interval "
            f"{p['ci_low']:+.3f} to {p['ci_high']:+.3f}, higher on {p['share_higher']:.0%}); "
            f">= +{TARGET_OVER_STACKS:.2f} with the interval above 0: "
            + _met(
                ok,
                f"{TARGET_OVER_STACKS - p['median']:.3f}"
                if p["median"] < TARGET_OVER_STACKS
                else "its interval",
            )
        )
    if TRIANGLE in summary:
        lines.append(
            f"- reference triangle (Mw only): median Pearson CC {summary[TRIANGLE]['pearson']['median']:.3f}"
        )
    for name in (CEILING_BAND, CEILING_ENVELOPE):
        if name in summary:
            ceiling = summary[name]
            lines.append(
                f"- ceiling {name} (the true STF through the data band"
                + (", read out as its Hilbert envelope" if name == CEILING_ENVELOPE else "")
                + f"): median skill {ceiling['skill']['median']:.3f}, median Pearson CC "
                f"{ceiling['pearson']['median']:.3f}, median |duration error| "
                f"{ceiling['abs_duration_rel_error']['median']:.0%}"
            )
    return "\n".join(lines)


def depth_class_markdown(summaries: dict[str, Summary]) -> str:
    """The preferred method's median Pearson CC in every depth class against its target."""
    lines = []
    for label, _, _ in DEPTH_CLASSES:
        m = summaries.get(label, {}).get(PREFERRED)
        if m is None:
            continue
        v = m["pearson"]["median"]
        lines.append(
            f"- {label}: median Pearson CC {v:.3f} (>= {TARGET_PEARSON_CLASS:.2f}: "
            + _met(v >= TARGET_PEARSON_CLASS, f"{TARGET_PEARSON_CLASS - v:.3f}")
            + ")"
        )
    return "\n".join(lines)


def events_markdown(scores: Sequence[EventScore]) -> str:
    methods = list(scores[0].metrics)
    head = (
        "| event | Mw | depth km | traces | pixels | directivity | "
        + " | ".join(f"skill {m}" for m in methods)
        + " | "
        + " | ".join(f"dur. err. {m}" for m in methods)
        + " |"
    )
    lines = [head, "|" + "---|" * (6 + 2 * len(methods))]
    for s in scores:
        mw = f"{s.magnitude:.1f}" if s.magnitude is not None else "-"
        cc = " | ".join(f"{s.metrics[m].skill:.3f}" for m in methods)
        dur = " | ".join(f"{s.metrics[m].duration_rel_error:+.2f}" for m in methods)
        lines.append(
            f"| {s.event_id} | {mw} | {s.depth_km:.0f} | {s.n_traces} | {s.n_pixels} | "
            f"{'yes' if s.directivity else 'no'} | {cc} | {dur} |"
        )
    return "\n".join(lines)


def write_report(
    out_dir: Path, scores: Sequence[EventScore], summaries: dict[str, Any], setup: dict[str, Any]
) -> Path:
    """``scores.json`` (everything) and ``report.md`` (tables) in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "scores.json").write_text(
        json.dumps(
            {"setup": setup, "summary": summaries, "events": [s.to_dict() for s in scores]},
            indent=1,
        )
        + "\n"
    )
    parts = ["# SCARDEC benchmark", "", "```", json.dumps(setup, indent=1), "```", ""]
    for name, summary in summaries.items():
        n = sum(1 for s in scores if _subset(s, name))
        parts += [f"## {name}", "", summary_markdown(summary, n), "", paired_markdown(summary), ""]
    parts += ["## Per event", "", events_markdown(scores), ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(parts))
    return path


DEPTH_CLASSES = (
    ("depth < 70 km", 0.0, 70.0),
    ("depth 70-300 km", 70.0, 300.0),
    ("depth > 300 km", 300.0, 1e9),
)
MW_BANDS = (("Mw < 6.5", -9.0, 6.5), ("Mw 6.5-7.5", 6.5, 7.5), ("Mw >= 7.5", 7.5, 99.0))
BROKEN_BINS = (
    ("no broken stations", -1.0, 0.0),
    ("broken <= 10 %", 0.0, 0.1),
    ("broken 10-30 %", 0.1, 0.3),
    ("broken > 30 %", 0.3, 1.0),
)


def _in(value: float | None, low: float, high: float) -> bool:
    return value is not None and low <= value < high


def _subset(score: EventScore, name: str) -> bool:
    if name == "all":
        return True
    if name in ("with directivity", "without directivity"):
        return score.directivity == (name == "with directivity")
    for label, lo, hi in DEPTH_CLASSES:
        if name == label:
            return _in(
                score.true_depth_km if score.true_depth_km is not None else score.depth_km, lo, hi
            )
    for label, lo, hi in MW_BANDS:
        if name == label:
            return _in(score.true_mw if score.true_mw is not None else score.magnitude, lo, hi)
    for label, lo, hi in BROKEN_BINS:
        if name == label:
            return (score.broken_share == 0.0) if lo < 0 else lo < score.broken_share <= hi
    raise ValueError(f"unknown subset {name!r}")


def subsets(scores: Sequence[EventScore]) -> dict[str, list[EventScore]]:
    """All events; then by directivity, depth class (true depth), Mw band (true Mw) and
    share of broken stations, each group that is neither empty nor all the events."""
    out = {"all": list(scores)}
    names = ["without directivity", "with directivity"]
    names += [c[0] for c in DEPTH_CLASSES] + [b[0] for b in MW_BANDS] + [b[0] for b in BROKEN_BINS]
    for name in names:
        sub = [s for s in scores if _subset(s, name)]
        if sub and len(sub) != len(scores):
            out[name] = sub
    return out
