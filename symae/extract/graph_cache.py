"""Model graphs that count their rows and, with a :class:`RowCache`, re-use them.

Every graph of a model maps rows independently: a trace's nuisance code depends on that
trace only, a group's coherent code on that group's traces only, a decoded trace on its
code only. So between two revisions of an event the rows whose input did not change
(unchanged traces, pixels that got no new trace, codes built from unchanged parts) need
not run again: :class:`CachedGraphs` looks every input row up by the hash of its bytes
and sends only the misses to the model, in one call per graph. The descent step is not
cached (it moves all codes together).

Rows computed in a batch of another size may differ from a fresh batch's in the last
bits of float32 (BLAS blocking); the extraction tests bound the effect on the STF.
Every computed row is counted (``symae.work``), cached or not.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from symae.extract.coherent import ModelGraphs
from symae.work import Stage, count

Rows = tuple[np.ndarray, ...]


class RowCache:
    """Least-recently-used map from (graph, row hash) to that row's outputs, bounded
    in entries (``max_rows``)."""

    def __init__(self, max_rows: int = 200_000) -> None:
        if max_rows < 1:
            raise ValueError(f"max_rows must be >= 1, got {max_rows}")
        self.max_rows = max_rows
        self._rows: OrderedDict[bytes, Rows] = OrderedDict()

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, key: bytes) -> Rows | None:
        hit = self._rows.get(key)
        if hit is not None:
            self._rows.move_to_end(key)
        return hit

    def put(self, key: bytes, value: Rows) -> None:
        self._rows[key] = value
        self._rows.move_to_end(key)
        while len(self._rows) > self.max_rows:
            self._rows.popitem(last=False)

    def clear(self) -> None:
        self._rows.clear()


def digest(label: str, *parts: np.ndarray) -> bytes:
    """A 20-byte digest of ``label`` and the shapes and bytes of ``parts``."""
    h = hashlib.blake2b(label.encode(), digest_size=20)
    for p in parts:
        a = np.ascontiguousarray(p)
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.digest()


def _size_buckets(idx: np.ndarray, sizes: np.ndarray) -> list[np.ndarray]:
    """Groups ``idx`` in calls of similar sizes (each at least half its call's largest),
    so that padding costs at most as many rows as the traces themselves."""
    order = idx[np.argsort(-sizes[idx], kind="stable")]
    buckets: list[list[int]] = []
    for g in order:
        if buckets and 2 * sizes[g] >= sizes[buckets[-1][0]]:
            buckets[-1].append(int(g))
        else:
            buckets.append([int(g)])
    return [np.array(b, dtype=int) for b in buckets]


class CachedGraphs:
    """``ModelGraphs`` that count their rows, and re-use cached rows when given a cache."""

    def __init__(self, graphs: ModelGraphs, cache: RowCache | None = None) -> None:
        self.graphs = graphs
        self.cache = cache

    def _rowwise(
        self,
        graph: Stage,
        keys: Sequence[bytes],
        run: Callable[[np.ndarray], Rows],
        weight: Callable[[np.ndarray], int],
    ) -> list[Rows]:
        """Outputs of every row: cached ones looked up, the misses computed in one call
        (``run`` on their indices; ``weight`` counts the rows that call processes)."""
        cache = self.cache
        hits: list[Rows | None] = (
            [cache.get(k) for k in keys] if cache is not None else [None] * len(keys)
        )
        missing = np.array([i for i, h in enumerate(hits) if h is None], dtype=int)
        if len(missing):
            computed = run(missing)
            count(graph, weight(missing))
            for j, i in enumerate(missing):
                row = tuple(np.array(o[j]) for o in computed)
                hits[i] = row
                if cache is not None:
                    cache.put(keys[i], row)
        return hits  # type: ignore[return-value]

    @staticmethod
    def _stack(rows: list[Rows]) -> Rows:
        return tuple(np.stack([r[k] for r in rows]) for k in range(len(rows[0])))

    def coherent(self, traces: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, ...]:
        sizes = (np.asarray(mask) > 0).sum(axis=1)
        keys = [digest("coherent", traces[g, : sizes[g]]) for g in range(len(traces))]

        def run(idx: np.ndarray) -> Rows:
            # one call per bucket of similar sizes; outputs back in the order of idx
            at = {int(g): k for k, g in enumerate(idx)}
            mu = np.empty((len(idx),), dtype=object)
            logvar = np.empty((len(idx),), dtype=object)
            shifts = np.empty((len(idx),), dtype=object)  # without padding slots
            for chunk in _size_buckets(idx, sizes):
                width = int(sizes[chunk].max())
                m, lv, sh = self.graphs.coherent(traces[chunk, :width], mask[chunk, :width])
                for j, g in enumerate(chunk):
                    k = at[int(g)]
                    mu[k], logvar[k], shifts[k] = m[j], lv[j], np.asarray(sh)[j, : sizes[g]]
            return mu, logvar, shifts

        def padded_rows(idx: np.ndarray) -> int:
            return sum(len(c) * int(sizes[c].max()) for c in _size_buckets(idx, sizes))

        rows = self._rowwise("coherent", keys, run, padded_rows)
        shift = np.zeros(traces.shape[:2], dtype=np.float32)
        for g, r in enumerate(rows):
            shift[g, : sizes[g]] = r[2]
        mu, logvar = self._stack([r[:2] for r in rows])
        return mu, logvar, shift

    def nuisance(self, traces: np.ndarray) -> tuple[np.ndarray, ...]:
        keys = [digest("nuisance", t) for t in traces]
        return self._stack(
            self._rowwise("nuisance", keys, lambda idx: self.graphs.nuisance(traces[idx]), len)
        )

    def decode(self, codes: np.ndarray) -> np.ndarray:
        codes = np.asarray(codes, dtype=np.float32)
        keys = [digest("decode", c) for c in codes]
        rows = self._rowwise("decode", keys, lambda idx: (self.graphs.decode(codes[idx]),), len)
        return self._stack(rows)[0]

    def reencode(self, traces: np.ndarray) -> tuple[np.ndarray, ...]:
        traces = np.asarray(traces, dtype=np.float32)
        keys = [digest("reencode", t) for t in traces]
        return self._stack(
            self._rowwise("reencode", keys, lambda idx: self.graphs.reencode(traces[idx]), len)
        )

    def latent_step(
        self,
        codes: np.ndarray,
        ref_mu: np.ndarray,
        ref_logvar: np.ndarray,
        j1: float,
        j2: float,
        alpha: float,
        lr: float,
    ) -> tuple[np.ndarray, float, float, float]:
        count("descent", len(codes))
        return self.graphs.latent_step(codes, ref_mu, ref_logvar, j1, j2, alpha, lr)
