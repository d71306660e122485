"""Revisions of a growing event: the work bound, the exact final revision, the row cache,
the budget's deferrals (symae.extract.incremental, symae.extract.graph_cache, symae.work)."""

from __future__ import annotations

import numpy as np
import pytest

from symae.data.dataset import EventData
from symae.extract.coherent import Continuation, LatentSettings, WarmStart
from symae.extract.extractor import ExtractionSettings, Extractor
from symae.extract.graph_cache import CachedGraphs, RowCache
from symae.extract.incremental import RevisionPolicy, Revisions, first_traces
from symae.work import WEIGHTS, WorkMeter, count, metering
from tests.synth.helpers import synthetic_event

# the final revision re-uses cached model-graph rows computed in other batches; float32
# rows of another batch size may differ in their last bits, nothing more: the published
# STF (peak 1) must agree with a from-scratch extraction to this many units
FINAL_TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def event() -> EventData:
    return synthetic_event(seed=5, n_stations=160).event_data


def extractor() -> Extractor:
    return Extractor.load("default", "cpu", settings=ExtractionSettings(allow_sparse=True))


def test_fifteen_revisions_cost_at_most_two_passes_and_the_final_is_exact(event) -> None:
    scratch = extractor()
    reference = scratch.extract(event, revision=event.n_traces)
    one_pass = scratch.work.units
    assert one_pass > 0

    growing = extractor()
    revisions = Revisions(growing)
    sizes = np.linspace(event.n_traces / 15, event.n_traces, 15).astype(int)
    results = []
    for i, k in enumerate(sizes):
        final = i == len(sizes) - 1
        results.append(revisions.extract(first_traces(event, int(k)), int(k), final=final))

    previews = [r for r in results[:-1] if r is not None]
    assert len(previews) >= 3  # the budget leaves room for several previews
    assert all("preview" in r.quality.flags and not r.baselines for r in previews)
    assert growing.work.units <= 2.0 * one_pass
    # every revision from scratch would have cost far more: the bound is not trivial
    assert sum(first_traces(event, int(k)).n_traces for k in sizes) > 5 * event.n_traces

    final = results[-1]
    assert final is not None and "preview" not in final.quality.flags
    assert final.stf.method == reference.stf.method
    assert np.max(np.abs(np.subtract(final.stf.values, reference.stf.values))) <= FINAL_TOLERANCE
    for name, stf in reference.alternatives.items():
        diff = np.abs(np.subtract(final.alternatives[name].values, stf.values))
        assert np.max(diff) <= FINAL_TOLERANCE, name
    assert set(final.baselines) == set(reference.baselines)
    assert event.event_id not in revisions.memory  # forgotten once final


def test_no_budget_defers_every_preview_but_never_the_final(event) -> None:
    revisions = Revisions(extractor(), RevisionPolicy(budget=0.0))
    assert revisions.extract(first_traces(event, 60), 60) is None
    assert revisions.extractor.work.units == 0
    result = revisions.extract(event, event.n_traces, final=True)
    assert result is not None and result.quality.n_traces == event.n_traces


def test_a_smaller_revision_starts_the_memory_afresh(event) -> None:
    revisions = Revisions(extractor())
    assert revisions.extract(first_traces(event, 120), 120) is not None
    spent = revisions.memory[event.event_id].spent
    assert spent > 0
    revisions.plan(first_traces(event, 80), final=False)  # a re-delivered older revision
    assert revisions.memory[event.event_id].spent == 0.0


def test_cached_graphs_give_the_rows_of_a_fresh_call_and_count_only_misses(event) -> None:
    graphs = extractor().graphs
    traces = np.concatenate([g.traces for g in event.groups.values()]).astype(np.float32)
    cached = CachedGraphs(graphs, RowCache(max_rows=10_000))
    with metering() as first:
        cached.nuisance(traces[:50])
    with metering() as second:
        mu = cached.nuisance(traces)[0]
    assert first.rows["nuisance"] == 50
    assert second.rows["nuisance"] == len(traces) - 50
    assert np.allclose(mu, graphs.nuisance(traces)[0], atol=1e-5)

    groups = [g.traces for g in event.groups.values()]
    width = max(len(g) for g in groups)
    padded = np.zeros((len(groups), width, traces.shape[1]), np.float32)
    mask = np.zeros((len(groups), width), np.float32)
    for i, g in enumerate(groups):
        padded[i, : len(g)], mask[i, : len(g)] = g, 1.0
    fresh_mu, _, fresh_shift = graphs.coherent(padded, mask)
    mu_c, _, shift_c = CachedGraphs(graphs).coherent(padded, mask)  # size buckets
    assert np.allclose(mu_c, fresh_mu, atol=1e-5)
    assert np.allclose(shift_c * mask, np.asarray(fresh_shift) * mask, atol=1e-5)


def test_row_cache_is_bounded_and_least_recently_used() -> None:
    cache = RowCache(max_rows=2)
    for key in (b"a", b"b"):
        cache.put(key, (np.zeros(1),))
    assert cache.get(b"a") is not None  # a is now the most recent
    cache.put(b"c", (np.ones(1),))
    assert len(cache) == 2 and cache.get(b"b") is None and cache.get(b"a") is not None


def test_meters_nest_and_count_nothing_outside() -> None:
    count("decode", 5)  # no meter active: nothing to count into, no error
    outer = WorkMeter()
    with metering(outer), metering() as inner:
        count("decode", 3)
        count("inversion", 2)
    assert inner.rows == outer.rows == {"decode": 3, "inversion": 2}
    assert outer.units == pytest.approx(3 * WEIGHTS["decode"] + 2 * WEIGHTS["inversion"])


def test_warm_descent_runs_the_steps_it_is_given(event) -> None:
    ex = Extractor.load("default", "cpu", settings=ExtractionSettings(latent=LatentSettings()))
    cold = ex.coherent_information([event])[0]
    warm = ex.coherent_information([event], [WarmStart(cold.codes, 5)])[0]
    assert len(cold.objective) == 101 and len(warm.objective) == 6
    empty = ex.coherent_information([event], [WarmStart(np.empty((0, 0), np.float32), 3)])[0]
    assert len(empty.objective) == 4 and np.array_equal(empty.selected, cold.selected)


def test_a_continued_descent_is_the_uninterrupted_one_step_for_step(event) -> None:
    ex = Extractor.load("default", "cpu", settings=ExtractionSettings(latent=LatentSettings()))
    cold = ex.coherent_information([event])[0]
    first = ex.coherent_information([event], [WarmStart(np.empty((0, 0), np.float32), 10)])[0]
    carried = ex.coherent_information([event], [Continuation.of(first)])[0]
    assert len(first.objective) == 11 and len(carried.objective) == len(cold.objective) == 101
    assert np.array_equal(carried.codes, cold.codes)
    for name in ("objective", "kl", "l1"):
        assert np.array_equal(getattr(carried, name), getattr(cold, name)), name
    # codes of another shape (another number of traces) cannot be carried on: a fresh start
    other = Continuation(first.codes[:3], first.objective, first.kl, first.l1)
    fresh = ex.coherent_information([event], [other])[0]
    assert np.array_equal(fresh.codes, cold.codes)


def test_the_final_of_a_previewed_event_carries_the_preview_on_and_is_exact(event) -> None:
    scratch = extractor()
    reference = scratch.extract(event, revision=event.n_traces)
    revisions = Revisions(extractor())
    preview = revisions.extract(event, event.n_traces)
    assert preview is not None and "preview" in preview.quality.flags
    before = dict(revisions.extractor.work.rows)
    final = revisions.extract(event, event.n_traces, final=True)
    assert final is not None and "preview" not in final.quality.flags
    spent = {k: v - before.get(k, 0) for k, v in revisions.extractor.work.rows.items()}
    codes = revisions.extractor.settings.latent.n_codes
    steps, done = revisions.extractor.settings.latent.steps, RevisionPolicy().preview_steps
    assert spent["descent"] == codes * (steps - done + 1)  # the rest, and the last value
    assert scratch.work.rows["descent"] == codes * (steps + 2)
    # the raw traces were not inverted again: only the virtual gathers were
    assert spent["inversion"] < scratch.work.rows["inversion"] / 2
    assert final.stf.method == reference.stf.method
    assert np.max(np.abs(np.subtract(final.stf.values, reference.stf.values))) <= FINAL_TOLERANCE
    for name, stf in reference.alternatives.items():
        diff = np.abs(np.subtract(final.alternatives[name].values, stf.values))
        assert np.max(diff) <= FINAL_TOLERANCE, name
    assert final.quality.kl_history == reference.quality.kl_history


def test_a_final_with_other_traces_than_the_preview_starts_afresh(event) -> None:
    revisions = Revisions(extractor())
    part = first_traces(event, event.n_traces - 5)
    assert revisions.extract(part, part.n_traces) is not None
    plan = revisions.plan(event, final=True)
    assert plan is not None and plan.kind == "final"
    assert plan.descent is None and plan.raw_inversion is None
