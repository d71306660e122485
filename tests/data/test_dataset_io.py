"""HDF5 data set: write, append without rewriting, lazy index, several files, truth."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from symae.contract import DataContract
from symae.data.dataset import (
    TRACE_FIELDS,
    Dataset,
    DatasetError,
    DatasetWriter,
    EventData,
    GroupRef,
    Origin,
    TraceGroup,
)

CONTRACT = DataContract()


def make_event(event_id: str, sizes: dict[int, int], seed: int, truth: bool = False) -> EventData:
    rng = np.random.default_rng(seed)
    groups = {}
    for pixel, n in sizes.items():
        groups[pixel] = TraceGroup(
            event_id=event_id,
            pixel=pixel,
            traces=rng.standard_normal((n, CONTRACT.nt)).astype(np.float32),
            station_id=[f"XX.S{k:03d}..BHZ" for k in range(n)],
            fields={name: rng.uniform(0, 90, n).astype(dt) for name, dt in TRACE_FIELDS.items()},
            truth={"tstar": rng.uniform(0.3, 1.5, n)} if truth else {},
        )
    return EventData(
        origin=Origin(
            event_id,
            "2019-05-01T00:00:00Z",
            1.0,
            2.0,
            300.0,
            7.1,
            moment_tensor={
                "Mrr": 1e20,
                "Mtt": -1e20,
                "Mpp": 0.0,
                "Mrt": 0.0,
                "Mrp": 0.0,
                "Mtp": 0.0,
            },
        ),
        groups=groups,
        truth_stf=rng.random(CONTRACT.nt).astype(np.float32) if truth else None,
        truth_attrs={"mw": 7.1, "episodes": [1.0, 2.0], "directivity": None} if truth else {},
        provenance={"builder": "test", "seed": seed},
    )


def chunk_offsets(path) -> dict[str, int]:
    """File offset of the first chunk of every traces dataset (moves if rewritten)."""
    out = {}
    with h5py.File(path, "r") as f:

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and name.endswith("/traces"):
                out[name] = obj.id.get_chunk_info(0).byte_offset

        f.visititems(visit)
    return out


def test_round_trip_append_and_lazy_index(tmp_path):
    path = tmp_path / "set.h5"
    a, b, c = (
        make_event("a", {3: 5, 40: 2}, 1, truth=True),
        make_event("b", {7: 4}, 2),
        make_event("c", {3: 1}, 3),
    )
    with DatasetWriter(path, CONTRACT, provenance={"kind": "test"}) as w:
        w.write_event(a)
        w.write_event(b)
    before = chunk_offsets(path)
    with DatasetWriter(path, CONTRACT) as w:  # reopen and append
        assert "a" in w and "c" not in w
        w.write_event(c)
        with pytest.raises(DatasetError, match="already present"):
            w.write_event(a)
    after = chunk_offsets(path)
    assert {k: after[k] for k in before} == before and len(after) == len(before) + 1

    with Dataset(path) as ds:
        assert ds.event_ids() == ["a", "b", "c"]
        assert ds.provenance() == {"kind": "test"}
        assert ds.index(min_traces=2) == [
            GroupRef(0, "a", 3, 5),
            GroupRef(0, "a", 40, 2),
            GroupRef(0, "b", 7, 4),
        ]
        group = ds.read_group(GroupRef(0, "a", 3, 5))
        assert np.array_equal(group.traces, a.groups[3].traces)
        assert group.station_id == a.groups[3].station_id
        for name in TRACE_FIELDS:
            assert np.allclose(group.fields[name], a.groups[3].fields[name])
        assert np.allclose(group.truth["tstar"], a.groups[3].truth["tstar"])
        event = ds.event("a")
        assert np.allclose(event.truth_stf, a.truth_stf)
        assert event.truth_attrs["episodes"] == [1.0, 2.0] and event.truth_attrs["dt"] == 1.0
        assert "directivity" not in event.truth_attrs  # None is stored as absent
        assert event.origin == a.origin and event.provenance == a.provenance
        assert ds.event("b").truth_stf is None
        assert sum(len(g) for g in ds.iter_groups()) == 12


def test_several_files_and_contract_checks(tmp_path):
    one, two = tmp_path / "one.h5", tmp_path / "two.h5"
    with DatasetWriter(one, CONTRACT) as w:
        w.write_event(make_event("a", {1: 3}, 1))
    with DatasetWriter(two, CONTRACT) as w:
        w.write_event(make_event("b", {2: 4}, 2))
    with Dataset([one, two]) as ds:
        assert [(r.file_index, r.event_id) for r in ds.index()] == [(0, "a"), (1, "b")]
        assert ds.event("b").n_traces == 4
        with pytest.raises(KeyError, match="zzz"):
            ds.event("zzz")
    other = DataContract(nt=128, cut_start=8)
    with pytest.raises(DatasetError, match="contract"):
        DatasetWriter(one, other)
    odd = tmp_path / "odd.h5"
    with DatasetWriter(odd, other) as w:
        w.write_event(
            EventData(
                origin=Origin("c", "2019-01-01T00:00:00Z", 0, 0, 10),
                groups={1: TraceGroup("c", 1, np.zeros((1, 128)), ["X.Y..BHZ"])},
            )
        )
    with pytest.raises(DatasetError, match="disagree"):
        Dataset([one, odd])
    with pytest.raises(DatasetError, match="not found"):
        Dataset(tmp_path / "missing.h5")


def test_writer_refuses_traces_of_the_wrong_length(tmp_path):
    event = EventData(
        origin=Origin("x", "2019-01-01T00:00:00Z", 0, 0, 10),
        groups={1: TraceGroup("x", 1, np.zeros((2, 100)), ["A.B..BHZ", "A.C..BHZ"])},
    )
    with DatasetWriter(tmp_path / "x.h5", CONTRACT) as w, pytest.raises(ValueError, match="192"):
        w.write_event(event)
