"""``symae bench services`` runs end to end (tiny sizes) and ingest makes no TauP call."""

from __future__ import annotations

import argparse
import re

import pytest

from services.commands import bench_services

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def test_bench_services_prints_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    bench_services.add_arguments(parser)
    args = parser.parse_args(
        ["--records", "4", "--stations", "2", "--revisions", "1", "--repeats", "1", "--no-record"]
    )
    assert bench_services.run(args) == 0
    out = capsys.readouterr().out
    assert re.search(r"TauP calls while timing the first three cases: 0\b", out), out
    for row in (
        "C crc32c",
        "pure Python",
        "warm (",
        "new depth",
        "new documents",
        "cold (",
        "publish step now",
        "with the figure rendered",
    ):
        line = next(line for line in out.splitlines() if line.startswith(f"| {row}"))
        numbers = [float(x) for x in re.findall(r"\| ([0-9.]+)", line)]
        assert numbers and all(x > 0 for x in numbers), line

    def figures(row: str) -> list[float]:
        line = next(line for line in out.splitlines() if line.startswith(f"| {row}"))
        return [float(x) for x in re.findall(r"\| ([0-9.]+)", line)]

    # ratios measured in one run, not absolute times: the C checksum and the lazy figure
    # are what make the difference, by an order of magnitude each (12x and 25x measured)
    c, python = figures("C crc32c"), figures("pure Python")
    assert sum(c) * 3 < sum(python), (c, python)
    assert figures("publish step now")[0] * 3 < figures("with the figure rendered")[0]
