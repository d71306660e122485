"""Revisions of a growing event at a bounded total cost: previews on a budget, exact final.

A streamed event arrives as revisions of ever more traces. Extracting every revision
from scratch costs its number of revisions times one pass. :class:`Revisions` keeps, per
event (a bounded LRU of ``max_events``, an event forgotten once its final revision is
extracted), what the next revision can re-use, and holds every event to a work budget:

- the **final** revision (``final=True``: ingest closed the event) is extracted as the
  method is published: cold descent of ``LatentSettings.steps`` steps, the full
  inversion (mechanism and depth search included), the baselines. Its rows of the model
  graphs that did not change (unchanged traces, pixels without a new trace) come from
  the row cache (``symae.extract.graph_cache``), and the work of a last preview of the
  very same traces is carried on, not repeated (below); that and nothing else separates
  it from a from-scratch extraction (the tests bound the difference);
- an earlier revision is a **preview** (quality flag ``preview``): the same graphs with
  the row cache, the descent warm-started from the previous preview's codes for
  ``preview_steps`` steps, the raw-trace inversion warm-started from the previous
  preview's STF, depth and mechanism for ``preview_rounds`` rounds (no search), no
  baselines. The first preview without a warm start runs the full inversion when the
  budget allows it, else none (flag ``preview_without_inversion``);
- a preview runs only if the work spent on the event's previews so far plus an upper
  bound of its own stays within ``budget`` x ``one_pass_floor(n)``, a lower bound of a
  from-scratch pass over its ``n`` traces; otherwise the revision is **deferred** (no
  result; a later revision, a settle or the final one supersedes it);
- a deferred revision that stays the event's newest for ``settle_s`` (the streaming
  service re-offers it, ``settle=True``) is **settled**: extracted as the final one is,
  if it has at least ``settle_growth`` times the traces of the event's last settle (any
  number for the first); one that stays the newest for ``settle_last_s`` is settled
  whatever its growth (``last=True``: an event whose records have stopped). The final
  revision re-uses a settle with the same traces.

Work is counted in ``symae.work`` units. Traces only ever grow between revisions and a
pass's work grows with its traces, so ``one_pass_floor(n) <= one pass over the final
traces``: without settles an event costs at most ``(1 + budget)`` passes over its final
traces however many revisions it has (the tests feed 15 revisions and check the
counter). Settles at sizes growing by ``settle_growth`` = 2 add at most 2 passes in all,
the one after ``settle_last_s`` at most one more, and the final revision re-uses a
settle with its traces: ``3 + budget`` passes at worst (an event whose records pause
several times, doubling in between); an event streamed at once settles once (``1 +
budget``). A revision with fewer traces than the last one seen
(a re-delivery after a restart) starts the event's memory afresh.

A final or settle with the very traces (and origin) of the event's last preview carries
that preview's work on instead of repeating it: its descent, when it began at the method's
start, continues to ``LatentSettings.steps`` (``symae.extract.coherent.Continuation``: the
codes and histories of an uninterrupted descent), and its raw-trace inversion, when it
ran in full (no warm start), is re-used. An event streamed at once, previewed when it went
quiet and closed later, so costs one pass and a little, not two.

Results of previews depend on which revisions came before; the final revision's does not.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from symae.data.dataset import EventData, TraceGroup
from symae.extract.coherent import CoherentInformation, Continuation, WarmStart
from symae.extract.extractor import Extractor
from symae.extract.graph_cache import RowCache, digest
from symae.extract.methods import INVERSION
from symae.extract.result import ExtractionResult
from symae.inversion import InversionResult
from symae.inversion.invert import WarmStart as InversionWarmStart
from symae.inversion.mechanism import depth_nodes
from symae.work import WEIGHTS, WorkMeter, metering


@dataclass(frozen=True)
class RevisionPolicy:
    """How previews are made and how much they may cost (module docstring)."""

    # previews of an event spend at most this many one-pass floors; below 1 for a margin
    # between the work units and CPU time (the bench reports both)
    budget: float = 0.8
    preview_steps: int = 10  # descent steps of a preview (the method: LatentSettings.steps)
    preview_rounds: int = 1  # inversion rounds of a warm-started preview
    max_events: int = 64  # events remembered (least recently used forgotten first)
    max_rows: int = 200_000  # model-graph rows cached, all events together
    settle_s: float = 2.0  # a deferred newest revision is settled after this long (s)
    settle_growth: float = 2.0  # a later settle needs this many times the traces
    settle_last_s: float = 10.0  # or the revision staying the newest this long (s)

    def __post_init__(self) -> None:
        if self.budget < 0:
            raise ValueError(f"budget must be >= 0, got {self.budget}")
        if self.settle_s < 0 or self.settle_growth < 1:
            raise ValueError(
                f"settle_s must be >= 0 and settle_growth >= 1, got {self.settle_s}, "
                f"{self.settle_growth}"
            )
        if self.preview_steps < 0 or self.preview_rounds < 1 or self.max_events < 1:
            raise ValueError(
                "preview_steps must be >= 0, preview_rounds and max_events >= 1, got "
                f"{self.preview_steps}, {self.preview_rounds}, {self.max_events}"
            )


@dataclass
class EventMemory:
    """What an event's next revision re-uses, and what its previews spent."""

    n_traces: int = 0
    spent: float = 0.0  # work units of its previews
    codes: np.ndarray | None = None  # the last preview's optimised codes
    reference_pixel: int | None = None
    inversion: InversionWarmStart | None = None  # from the last preview's raw-trace inversion
    settled: ExtractionResult | None = None  # the last settle's result
    settled_n: int = 0  # and its number of traces
    fingerprint: bytes | None = None  # the last preview's traces and origin (``fingerprint``)
    continuation: Continuation | None = None  # its descent, if begun at the method's start
    raw_inversion: InversionResult | None = None  # its raw-trace inversion, if run in full


@dataclass
class Plan:
    """How one revision is extracted."""

    kind: Literal["final", "preview", "settle", "reuse"]
    descent: WarmStart | Continuation | None = None
    inversion_warm: InversionWarmStart | None = None
    inversion: bool = True
    raw_inversion: InversionResult | None = None  # made before on these traces: re-used


@dataclass
class Revisions:
    """Revisions of events through one extractor (module docstring)."""

    extractor: Extractor
    policy: RevisionPolicy = field(default_factory=RevisionPolicy)
    memory: OrderedDict[str, EventMemory] = field(default_factory=OrderedDict)

    def __post_init__(self) -> None:
        if self.extractor.row_cache is None:
            self.extractor.row_cache = RowCache(self.policy.max_rows)

    # ---- planning ------------------------------------------------------------------
    def plan(
        self, event: EventData, final: bool, settle: bool = False, last: bool = False
    ) -> Plan | None:
        """The plan of a revision, or None when it is deferred (over the budget, or a
        settle with too few new traces that is not ``last``)."""
        memory = self._memory(event)
        if final:
            same = memory.settled is not None and memory.settled_n == event.n_traces
            return Plan("reuse") if same else self._full_plan(event, memory, "final")
        if settle:
            grown = event.n_traces >= self.policy.settle_growth * memory.settled_n
            if memory.settled is None or grown or last:
                return self._full_plan(event, memory, "settle")
            return None
        floor = self.one_pass_floor(event)
        allowed = self.policy.budget * floor - memory.spent
        descent = self._descent_start(event, memory)
        warm = memory.inversion
        for plan in (
            Plan("preview", descent, warm, True),
            Plan("preview", descent, None, False),
        ):
            if self.preview_bound(event, plan) <= allowed:
                return plan
        return None

    @staticmethod
    def _full_plan(event: EventData, memory: EventMemory, kind: Literal["final", "settle"]) -> Plan:
        """A final or settle: carrying the last preview's work on if it had these traces."""
        if memory.fingerprint is not None and memory.fingerprint == fingerprint(event):
            return Plan(kind, memory.continuation, raw_inversion=memory.raw_inversion)
        return Plan(kind)

    def _memory(self, event: EventData) -> EventMemory:
        memory = self.memory.get(event.event_id)
        if memory is None or event.n_traces < memory.n_traces:
            memory = EventMemory()
        self.memory[event.event_id] = memory
        self.memory.move_to_end(event.event_id)
        while len(self.memory) > self.policy.max_events:
            self.memory.popitem(last=False)
        return memory

    def _descent_start(self, event: EventData, memory: EventMemory) -> WarmStart:
        sizes = {p: len(g) for p, g in event.groups.items()}
        reference = max(sorted(sizes), key=lambda p: sizes[p])  # the largest group, first
        codes = memory.codes if memory.reference_pixel == reference else None
        steps = self.policy.preview_steps
        # no earlier codes for this reference: the method's start (empty codes)
        return WarmStart(np.empty((0, 0), np.float32) if codes is None else codes, steps)

    # ---- the work bounds -----------------------------------------------------------
    def _shape(self, event: EventData) -> tuple[int, int, int, int]:
        n = event.n_traces
        g = len(event.groups)
        widest = max(len(gr) for gr in event.groups.values())
        return n, g, widest, self.extractor.settings.latent.n_codes

    def _graph_rows(self, event: EventData, steps: int) -> float:
        """Upper bound of the model-graph work of one extraction (as if nothing cached)."""
        n, g, widest, n_codes = self._shape(event)
        codes = min(n_codes, n)
        return (
            WEIGHTS["coherent"] * g * widest
            + WEIGHTS["nuisance"] * n
            + WEIGHTS["decode"] * (2 * n + g * codes)
            + WEIGHTS["reencode"] * n
            + WEIGHTS["descent"] * codes * (steps + 2)
        )

    def one_pass_floor(self, event: EventData) -> float:
        """A lower bound of the work of a from-scratch extraction of ``event``: every graph
        row, the descent, an inversion with a known mechanism at one depth (the search
        only adds to it) and one alignment pass per stack baseline."""
        n, g, _, _ = self._shape(event)
        s = self.extractor.settings
        rows = self._graph_rows(event, s.latent.steps)
        if s.inversion is not None:
            rows += WEIGHTS["inversion"] * (n + g) * (s.inversion.n_rounds + 1)
            rows += WEIGHTS["greens"] * (n + g)
        if s.baselines:
            rows += WEIGHTS["baselines"] * 2 * n
        return rows

    def preview_bound(self, event: EventData, plan: Plan) -> float:
        """An upper bound of the work of a preview made by ``plan``."""
        n, g, _, _ = self._shape(event)
        bound = self._graph_rows(event, self.policy.preview_steps)
        inv = self.extractor.settings.inversion
        if inv is None or not plan.inversion:
            return bound
        rounds = inv.n_rounds + 1
        if plan.inversion_warm is not None:
            depths, raw = 1, n * (plan.inversion_warm.rounds + 1)
        elif event.origin.moment_tensor is None:
            # the mechanism search: scoring at every depth twice, a short and two full solves
            depths = len(depth_nodes(0.0, inv.depth_search_km, inv.depth_step_km))
            raw = n * (2 * depths + 1 + (min(2, inv.n_rounds) + 1) + 2 * rounds)
        else:
            depths = (
                len(depth_nodes(0.0, inv.refine_depth_km, inv.depth_step_km))
                if inv.refine_depth_km > 0
                else 1
            )
            raw = n * depths * rounds
        return (
            bound
            + WEIGHTS["inversion"] * (raw + g * rounds)
            + WEIGHTS["greens"] * (n * depths + g)
            + WEIGHTS["bootstrap"] * inv.n_bootstrap * (n + g)
        )

    # ---- extraction ----------------------------------------------------------------
    def coherent_information(
        self, events: Sequence[EventData], plans: Sequence[Plan]
    ) -> list[CoherentInformation]:
        """Coherent information of several planned revisions in one batch of graph calls."""
        warm = [p.descent for p in plans]
        if any(p.kind == "reuse" for p in plans):
            raise ValueError("a reused revision needs no coherent information")
        meter = WorkMeter()
        with metering(meter):
            infos = self.extractor.coherent_information(events, warm)
        # the batch's graph work, shared out by traces, goes to the previews' ledgers
        total = sum(e.n_traces for e in events)
        for e, p in zip(events, plans, strict=True):
            if p.kind == "preview":
                self._memory(e).spent += meter.units * e.n_traces / total
        return infos

    def assemble(
        self, event: EventData, info: CoherentInformation, revision: int, plan: Plan
    ) -> ExtractionResult:
        """RESULT.json of a planned revision; remembers what the next one re-uses."""
        if plan.kind in ("final", "settle"):
            result, _ = self.extractor.assemble_with_inversion(
                event, info, revision, raw_inversion=plan.raw_inversion
            )
            if plan.kind == "final":
                self.memory.pop(event.event_id, None)
            else:
                memory = self._memory(event)
                memory.settled, memory.settled_n = result, event.n_traces
            return result
        meter = WorkMeter()
        with metering(meter):
            result, raw = self.extractor.assemble_with_inversion(
                event,
                info,
                revision,
                preview=True,
                warm=plan.inversion_warm,
                inversion=plan.inversion,
            )
        memory = self._memory(event)
        memory.spent += meter.units
        memory.n_traces = event.n_traces
        memory.codes = info.codes
        memory.reference_pixel = int(result.quality.reference_pixel)
        memory.fingerprint = fingerprint(event)
        warmed = plan.descent is not None and plan.descent.codes.shape == info.codes.shape
        memory.continuation = None if warmed else Continuation.of(info)
        in_full = plan.inversion and plan.inversion_warm is None
        memory.raw_inversion = raw if in_full else None
        warm = self._inversion_warm_start(result)
        if warm is not None:
            memory.inversion = warm
        return result

    def _inversion_warm_start(self, result: ExtractionResult) -> InversionWarmStart | None:
        """The next preview's inversion start: this result's raw-trace STF and source."""
        stf = result.stf if result.stf.method == INVERSION else result.alternatives.get(INVERSION)
        info = result.inversion
        if stf is None or info is None:
            return None
        return InversionWarmStart(
            stf=np.asarray(stf.values, dtype=np.float64),
            depth_km=info.depth_km,
            mechanism={k: float(v) for k, v in info.mechanism.items()},
            depth_source=info.depth_source,
            mechanism_source=info.mechanism_source,
            rounds=self.policy.preview_rounds,
        )

    def reuse(self, event: EventData, revision: int) -> ExtractionResult:
        """The final revision of an event whose last settle had the same traces."""
        memory = self.memory.pop(event.event_id)
        assert memory.settled is not None
        return memory.settled.model_copy(update={"revision": revision})

    def extract(
        self, event: EventData, revision: int, final: bool = False, settle: bool = False
    ) -> ExtractionResult | None:
        """One revision, start to end; None when deferred."""
        plan = self.plan(event, final, settle)
        if plan is None:
            return None
        if plan.kind == "reuse":
            return self.reuse(event, revision)
        info = self.coherent_information([event], [plan])[0]
        return self.assemble(event, info, revision, plan)


def fingerprint(event: EventData) -> bytes:
    """A digest of what an extraction of ``event`` reads: its origin and, per pixel, the
    stations, traces and per-trace fields."""
    parts = [np.frombuffer(repr(event.origin).encode(), np.uint8)]
    for p in sorted(event.groups):
        g = event.groups[p]
        parts += [np.asarray([p]), np.asarray(g.station_id), np.asarray(g.traces)]
        parts += [np.asarray(g.fields[name]) for name in sorted(g.fields)]
    return digest("event", *parts)


def first_traces(event: EventData, k: int) -> EventData:
    """``event`` with its first ``k`` traces in a fixed station order that mixes pixels,
    as a stream delivers them (each pixel's traces keep their order): the revisions of
    ``symae bench extract --revisions`` and of the tests."""
    order = sorted(
        ((sid, p, j) for p, g in event.groups.items() for j, sid in enumerate(g.station_id)),
        key=lambda t: hashlib.sha1(t[0].encode()).hexdigest(),
    )[:k]
    keep: dict[int, list[int]] = {}
    for _, p, j in order:
        keep.setdefault(p, []).append(j)
    groups = {}
    for p, js in keep.items():
        g, rows = event.groups[p], sorted(js)
        groups[p] = TraceGroup(
            event_id=g.event_id,
            pixel=g.pixel,
            station_id=[g.station_id[j] for j in rows],
            traces=g.traces[rows],
            fields={name: v[rows] for name, v in g.fields.items()},
        )
    return replace(event, groups=groups)
