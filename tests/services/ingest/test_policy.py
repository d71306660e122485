"""The ingest readiness policy and event state (pure logic)."""

from __future__ import annotations

import numpy as np

from services.ingest.state import EventState, ReadinessPolicy
from services.schemas import OriginMessage
from symae.data.preprocess import PreprocessedTrace

ORIGIN = OriginMessage(
    event_id="ev", time="2024-01-01T00:00:00Z", latitude=0, longitude=0, depth_km=10
)


def trace(seed_id: str, pixel: int) -> PreprocessedTrace:
    return PreprocessedTrace(
        seed_id, np.zeros(192, np.float32), 0.0, 0.0, 50.0, 10.0, 20.0, 0.0, 5.0, pixel
    )


def event(pixels: list[int], first: float = 100.0) -> EventState:
    state = EventState(origin=ORIGIN, origin_partition=0, origin_offset=0, origin_time=90.0)
    for i, p in enumerate(pixels):
        sid = f"XX.S{i}.00.BHZ"
        state.note_record(0, 10 + i, first + i, sid)
        state.traces[sid] = trace(sid, p)
    return state


POLICY = ReadinessPolicy(
    min_traces=4, min_pixels=2, deadline_s=60.0, quiet_s=0.5, revision_interval_s=5.0
)


def test_enough_traces_on_enough_pixels_is_ready() -> None:
    assert POLICY.due(event([1, 1, 2, 2]), now=104.0)
    assert not POLICY.due(event([1, 1, 1]), now=104.0)  # too few traces
    assert not POLICY.due(event([1, 1, 1, 1, 1]), now=105.0)  # one pixel only


def test_deadline_after_the_first_record() -> None:
    few = event([3], first=100.0)
    assert not POLICY.due(few, now=159.9)
    assert POLICY.due(few, now=160.0)
    assert not POLICY.due(event([]), now=1e9)  # nothing to send, however late


def test_revisions_need_new_traces_and_the_interval() -> None:
    state = event([1, 1, 2, 2])
    state.emitted_traces, state.emitted_at = 4, 104.0
    assert not POLICY.due(state, now=200.0)  # nothing new
    state.traces["XX.NEW.00.BHZ"] = trace("XX.NEW.00.BHZ", 3)
    state.last_accepted_at = 104.5
    assert not POLICY.due(state, now=108.0)  # too soon after the last revision
    assert POLICY.due(state, now=109.0)


def test_a_revision_waits_until_the_event_is_quiet() -> None:
    state = event([1, 1, 2, 2])
    clock = 104.0
    state.last_accepted_at = clock  # the fourth trace was just accepted
    assert not POLICY.due(state, now=clock + 0.4)
    state.last_accepted_at = clock + 0.4  # another record keeps it busy
    state.traces["XX.NEW.00.BHZ"] = trace("XX.NEW.00.BHZ", 3)
    assert not POLICY.due(state, now=clock + 0.8)
    assert POLICY.due(state, now=clock + 0.9)  # 0.5 s without a new trace


def test_the_deadline_revision_does_not_wait_for_quiet() -> None:
    few = event([3], first=100.0)
    few.last_accepted_at = 160.0  # a record accepted right at the deadline
    assert POLICY.due(few, now=160.0)
    few.emitted_traces, few.emitted_at = 1, 160.0
    few.traces["XX.NEW.00.BHZ"] = trace("XX.NEW.00.BHZ", 3)
    few.last_accepted_at = 170.0
    assert not POLICY.due(few, now=170.1)  # later revisions do wait for quiet
    assert POLICY.due(few, now=170.5)


def test_state_keeps_record_times_offsets_and_sorted_traces() -> None:
    state = event([5, 1, 3], first=200.0)
    assert state.first_record_time == 200.0
    assert [n.offset for n in state.notes] == [10, 11, 12]
    assert state.n_records == 3 and state.n_pixels == 3
    assert [t.station_id for t in state.ordered_traces()] == sorted(state.traces)


def test_summary_covers_records_up_to_the_last_accepted_one() -> None:
    state = event([1, 2], first=300.0)  # accepted at 300, 301
    state.note_record(0, 20, 302.0, "XX.BAD1.00.BHZ").reason = "low_snr"
    sid = "XX.OK.00.BHZ"
    state.note_record(0, 21, 303.0, sid)
    state.traces[sid] = trace(sid, 4)
    state.note_record(0, 22, 304.0, "XX.BAD2.00.BHZ").reason = "nan"  # after the last accepted
    summary = state.summary()
    assert (summary.first_record_time, summary.last_record_time) == (300.0, 303.0)
    assert summary.n_records == 4 and summary.rejections == {"low_snr": 1}


def _check_due_at(state: EventState) -> float:
    """``due_at`` is exactly where ``due`` turns true (and it stays false before)."""
    at = POLICY.due_at(state)
    assert at is not None
    assert not POLICY.due(state, now=at - 0.01) and POLICY.due(state, now=at)
    return at


def test_due_at_is_when_the_policy_turns_due() -> None:
    assert POLICY.due_at(event([])) is None  # nothing to send
    state = event([1, 1, 2, 2])
    state.last_accepted_at = 104.0
    assert _check_due_at(state) == 104.5  # complete: after the quiet time
    state.emitted_traces, state.emitted_at = 4, 104.5
    assert POLICY.due_at(state) is None  # nothing new since
    state.traces["XX.NEW.00.BHZ"] = trace("XX.NEW.00.BHZ", 3)
    state.last_accepted_at = 105.0
    assert _check_due_at(state) == 109.5  # quiet since 105.5, but the rate limit holds it
    few = event([3], first=100.0)
    few.last_accepted_at = 100.0
    assert _check_due_at(few) == 160.0  # incomplete: the deadline
