"""Benchmarks: each ``symae bench X`` prints its figures and records them in docs/benchmarks.md.

Timing lives here and never in tests. Every section of ``docs/benchmarks.md`` is owned
by one benchmark and replaced whole when it runs again, with the machine it ran on.
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from symae.data.reference import DOCS_DIR

BENCHMARKS_MD = DOCS_DIR / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\n"
    "Measured by the `symae bench ...` commands; each section is rewritten when its command "
    "runs again. Figures are medians over repeats measured in one run; ratios compare runs "
    "made in the same process on the same machine.\n"
)


def machine_description() -> str:
    """CPU model, core count and Python version of this machine, one line."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpu}, {cores} cores, Python {platform.python_version()}, {platform.system()}"


def median_time(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` calls after ``warmup``."""
    return median_times(fn, repeats, warmup)[0]


def median_times(
    fn: Callable[[], object], repeats: int = 5, warmup: int = 1
) -> tuple[float, float]:
    """Median wall time and median CPU time of this process (all its threads) of ``fn()``,
    in seconds, over ``repeats`` calls after ``warmup``."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def load_description() -> str:
    """The machine's load averages (1, 5, 15 min) when the figures were taken."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min)"


def record(section: str, body: str, command: str, path: Path = BENCHMARKS_MD) -> None:
    """Replace (or append) the section titled ``section`` in the benchmarks file."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = (
        f"<!-- bench:{section} -->\n## {section}\n\n"
        f"Command: `{command}`  \nMachine: {machine_description()}  \n"
        f"Load: {load_description()}  \nRun: {stamp}\n\n"
        f"{body.strip()}\n<!-- /bench:{section} -->\n"
    )
    text = path.read_text() if path.exists() else HEADER
    pattern = re.compile(
        rf"<!-- bench:{re.escape(section)} -->.*?<!-- /bench:{re.escape(section)} -->\n",
        re.DOTALL,
    )
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(block)
