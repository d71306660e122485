"""``symae bench stream`` end to end on tiny sizes: every event's final revision (a full
extraction, not a preview) is inside the timed phases, and two inference processes in
one consumer group share the bundles."""

from __future__ import annotations

import argparse
import re

import pytest

from services.commands import bench_stream

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def test_bench_stream_times_final_revisions_with_two_inference_processes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = argparse.ArgumentParser()
    bench_stream.add_arguments(parser)
    args = parser.parse_args(
        [
            "--events",
            "4",
            "--paced-events",
            "1",
            "--interval",
            "1",
            "--stations",
            "12",
            "--copies",
            "1",
            "--inference-replicas",
            "2",
            "--timeout",
            "240",
            "--no-record",
        ]
    )
    assert bench_stream.run(args) == 0
    out = capsys.readouterr().out
    assert "2 inference processes in one group" in out
    assert "inference alone, 4 final bundles" in out

    def figure(row: str) -> float:
        line = next(line for line in out.splitlines() if line.startswith(f"| {row}"))
        return float(re.findall(r"\| ([0-9.]+)", line)[-1])

    for label in ("new stations", "known stations"):
        first = figure(f"saturation, {label}: first record to every event's first public STF")
        final = figure(f"saturation, {label}: wall time, first record to last final STF")
        # the final revision comes after the event closes (2 s after its origin)
        assert 0 < first <= final and final >= 2.0, (first, final)
        assert figure(f"{label}, CPU per raw record: inference") > 0
    assert 0 < figure("end-to-end latency p50") <= figure("end-to-end latency p99")
