"""Batching, train/test split, group cache and the learning-rate schedule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from symae.artifacts.config import Stage, TrainConfig
from symae.train.batching import BatchSampler, GroupStore, epoch_rng, split_groups
from symae.train.schedule import plan_epochs

from .synthetic_set import write_synthetic_set


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> GroupStore:
    path = write_synthetic_set(tmp_path_factory.mktemp("batching") / "b.h5", traces_per_group=10)
    return GroupStore([path], max_cached_traces=25)


def test_split_is_disjoint_complete_and_reproducible(store: GroupStore) -> None:
    refs = store.index(4)
    splits = split_groups(refs, 0.2, seed=3)
    again = split_groups(refs, 0.2, seed=3)
    other = split_groups(refs, 0.2, seed=4)
    for s, a in zip(splits, again, strict=True):
        assert np.array_equal(s.train, a.train) and np.array_equal(s.test, a.test)
        assert len(s.test) == 2 and len(s.train) == 8
        assert set(s.train).isdisjoint(s.test) and set(s.train) | set(s.test) == set(range(10))
    assert any(not np.array_equal(s.test, o.test) for s, o in zip(splits, other, strict=True))


def test_single_trace_group_cannot_be_split(store: GroupStore) -> None:
    ref = store.index(4)[0]
    lonely = type(ref)(ref.file_index, ref.event_id, ref.pixel, 1)
    with pytest.raises(ValueError, match="has 1 trace"):
        split_groups([lonely], 0.2, seed=0)


def test_batches_draw_only_from_their_part(store: GroupStore) -> None:
    splits = split_groups(store.index(4), 0.2, seed=0)
    sampler = BatchSampler(store, splits, ntau=6)
    rows = {
        part: {
            tuple(np.round(store.traces(s.ref)[i], 5))
            for s in splits
            for i in (s.train if part == "train" else s.test)
        }
        for part in ("train", "test")
    }
    for part in ("train", "test"):
        batch = sampler.batch(5, epoch_rng(0, 0, 0, 0, 0), part)
        assert batch.shape == (5, 6, 192) and batch.dtype == np.float32
        drawn = {tuple(np.round(r, 5)) for r in batch.reshape(-1, 192)}
        assert drawn <= rows[part]
    a = sampler.batch(4, epoch_rng(0, 1, 2, 0, 0))
    b = sampler.batch(4, epoch_rng(0, 1, 2, 0, 0))
    c = sampler.batch(4, epoch_rng(0, 1, 2, 1, 0))  # another rank draws other samples
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_group_cache_stays_bounded(store: GroupStore) -> None:
    refs = store.index(4)
    first = store.traces(refs[0]).copy()
    for ref in refs:
        store.traces(ref)
    assert store._cached <= 25 and len(store._cache) <= 2
    assert np.array_equal(store.traces(refs[0]), first)  # evicted, then read again


def test_schedule_fresh_stages_and_decay() -> None:
    cfg = TrainConfig(stages=(Stage(3, 1e-3), Stage(2, 1e-4)), lr_decay=0.5)
    plans = plan_epochs(cfg)
    assert [p.epoch for p in plans] == [0, 1, 2, 3, 4]
    assert [p.starts_stage for p in plans] == [True, False, False, True, False]
    assert [p.lr for p in plans] == pytest.approx([1e-3, 5e-4, 2.5e-4, 1e-4, 5e-5])
    assert TrainConfig().total_epochs == 200


def test_multiple_files_are_read_together(tmp_path: Path) -> None:
    a = write_synthetic_set(tmp_path / "a.h5", n_events=1, seed=1)
    b = write_synthetic_set(tmp_path / "b.h5", n_events=2, seed=2)
    refs = GroupStore([a, b], 1000).index(4)
    assert len(refs) == 9 and {r.file_index for r in refs} == {0, 1}


def test_bad_configs_are_refused() -> None:
    with pytest.raises(ValueError, match="test_fraction must be in"):
        TrainConfig(test_fraction=1.5)
    with pytest.raises(ValueError, match="stage epochs must be >= 1, got 0"):
        Stage(0, 1e-3)
    from symae.artifacts.config import ModelConfig, load_config

    with pytest.raises(ValueError, match="nt must be a multiple of 16"):
        ModelConfig(nt=100)
    with pytest.raises(ValueError, match="unknown config 'nope'"):
        load_config("nope")
    with pytest.raises(ValueError, match=r"unknown keys \['colour'\]"):
        ModelConfig.from_dict({"colour": 1})
