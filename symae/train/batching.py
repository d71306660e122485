"""Training batches drawn from HDF5 data sets, streaming groups through a bounded cache.

Method doc: each sample of a batch picks a group uniformly, then ``ntau`` traces of it
**with replacement**; a batch holds several groups, so batches mix groups. Every
group's traces are split once into train and test traces (seeded), so the test loss is
measured on traces the model never trained on, for the same groups.

Groups are read lazily through ``symae.data.dataset.Dataset``; at most
``max_cached_traces`` traces are held in memory (least recently used groups leave first).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from symae.data.dataset import Dataset, GroupRef


@dataclass(frozen=True)
class GroupSplit:
    """One group and the indices of its training and test traces."""

    ref: GroupRef
    train: np.ndarray
    test: np.ndarray


def split_groups(refs: Sequence[GroupRef], test_fraction: float, seed: int) -> list[GroupSplit]:
    """Split each group's traces into train/test, at least one of each, reproducibly."""
    splits = []
    for i, ref in enumerate(refs):
        if ref.n_traces < 2:
            raise ValueError(
                f"group {ref.event_id}/{ref.pixel} has {ref.n_traces} trace(s); need >= 2 to split"
            )
        rng = np.random.default_rng(np.random.SeedSequence([seed, i, ref.pixel]))
        order = rng.permutation(ref.n_traces)
        n_test = min(ref.n_traces - 1, max(1, int(round(test_fraction * ref.n_traces))))
        splits.append(GroupSplit(ref, np.sort(order[n_test:]), np.sort(order[:n_test])))
    return splits


class GroupStore:
    """Load groups from one or several HDF5 files on demand, with an LRU cache."""

    def __init__(self, paths: Sequence[str | Path], max_cached_traces: int) -> None:
        self.dataset = Dataset(list(paths))
        self.max_cached_traces = max_cached_traces
        self._cache: OrderedDict[GroupRef, np.ndarray] = OrderedDict()
        self._cached = 0

    @property
    def contract(self):
        return self.dataset.contract

    def index(self, min_traces: int) -> list[GroupRef]:
        return self.dataset.index(min_traces)

    def traces(self, ref: GroupRef) -> np.ndarray:
        """The (n, nt) float32 traces of a group."""
        if ref in self._cache:
            self._cache.move_to_end(ref)
            return self._cache[ref]
        traces = self.dataset.read_group(ref).traces
        self._cache[ref] = traces
        self._cached += len(traces)
        while self._cached > self.max_cached_traces and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cached -= len(old)
        return traces

    def close(self) -> None:
        self.dataset.close()


class BatchSampler:
    """Draw batches (B, ntau, nt) of train or test traces."""

    def __init__(self, store: GroupStore, splits: Sequence[GroupSplit], ntau: int) -> None:
        if not splits:
            raise ValueError("no groups to train on (check min_traces and the data files)")
        self.store = store
        self.splits = list(splits)
        self.ntau = ntau

    def batch(self, n_groups: int, rng: np.random.Generator, part: str = "train") -> np.ndarray:
        """``n_groups`` samples: a uniform group each, then ``ntau`` traces with replacement."""
        picks = rng.integers(0, len(self.splits), size=n_groups)
        out = []
        for g in picks:
            split = self.splits[g]
            pool = split.train if part == "train" else split.test
            chosen = pool[rng.integers(0, len(pool), size=self.ntau)]
            out.append(self.store.traces(split.ref)[chosen])
        return np.stack(out).astype(np.float32, copy=False)  # (B, ntau, nt)


def epoch_rng(seed: int, stage: int, epoch: int, rank: int, stream: int) -> np.random.Generator:
    """A generator determined by (seed, stage, epoch, rank, stream): resume is exact."""
    return np.random.default_rng(np.random.SeedSequence([seed, stage, epoch, rank, stream]))
