"""Accuracy and wall time of ``invert_event`` on synthetic events, mechanism given or withheld.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python scripts/bench_inversion.py \
        --kind parametric --seed 11 --events 10 --withhold

``--kind parametric`` (validation seed 11: the only set settings may be chosen on),
``scardec`` (SCARDEC sources, report only) or ``hard`` (parametric, hard mode). Events
are cached as pickles under ``--cache`` so that repeated runs time only the inversion.
Prints per event: CC vs the truth (``symae.evaluate.metrics.compare``), seconds, and for
a withheld mechanism the estimated depth and the Kagan-like angle to the true double
couple; then the medians.
"""

from __future__ import annotations

import argparse
import os
import pickle
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from symae.contract import DEFAULT_CONTRACT
from symae.evaluate.metrics import Series, compare
from symae.evaluate.scardec_benchmark import truth_series
from symae.inversion import InversionSettings, invert_event
from symae.synth.config import SynthConfig
from symae.synth.generator import synthesize_event
from symae.synth.radiation import MT_KEYS
from symae.synth.source import parametric_source, scardec_source, synthetic_origin_time


def events(kind: str, seed: int, n: int, stations: int, cache: Path):
    cache.mkdir(parents=True, exist_ok=True)
    config = replace(SynthConfig(), n_stations=stations, mode="hard" if kind == "hard" else "easy")
    scardec = None
    if kind == "scardec":
        from symae.data.reference import scardec_dir
        from symae.data.scardec import list_events

        scardec = list_events(scardec_dir(), limit=n)
    for i in range(n):
        path = cache / f"{kind}_s{seed}_{stations}_{i:03d}.pkl"
        if path.is_file():
            yield pickle.loads(path.read_bytes())
            continue
        rng = np.random.default_rng([seed, i])
        flag = bool(i % 2)
        if scardec is not None:
            source = scardec_source(scardec[i], config.raw_dt, rng, flag)
        else:
            source = parametric_source(rng, f"{kind}_s{seed}_{i:04d}", config.mw_range,
                                       config.depth_range_km, config.raw_dt, flag,
                                       synthetic_origin_time(datetime(2020, 1, 1, tzinfo=UTC), i))
        data = synthesize_event(rng, source, replace(config, directivity=flag)).event_data
        data.truth_attrs.setdefault("t0", DEFAULT_CONTRACT.t0)
        data.truth_attrs.setdefault("dt", DEFAULT_CONTRACT.dt)
        path.write_bytes(pickle.dumps(data))
        yield data


def mt_angle(a: dict, b: dict) -> float:
    """Angle (deg) between two moment tensors as unit 6-vectors (off-diagonals counted twice)."""
    w = np.array([1, 1, 1, 2, 2, 2], dtype=float)
    x = np.array([a[k] for k in MT_KEYS]) * np.sqrt(w)
    y = np.array([b[k] for k in MT_KEYS]) * np.sqrt(w)
    c = x @ y / (np.linalg.norm(x) * np.linalg.norm(y))
    return float(np.degrees(np.arccos(np.clip(c, -1, 1))))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--kind", default="parametric", choices=("parametric", "scardec", "hard"))
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--events", type=int, default=10)
    p.add_argument("--stations", type=int, default=200)
    p.add_argument("--withhold", action="store_true", help="remove the moment tensor from the origin")
    p.add_argument("--bootstrap", type=int, default=None)
    p.add_argument("--cache", type=Path, default=Path("/tmp/symae_bench_inversion"))
    args = p.parse_args()
    settings = InversionSettings() if args.bootstrap is None else InversionSettings(n_bootstrap=args.bootstrap)
    ccs, secs, cpus = [], [], []
    for data in events(args.kind, args.seed, args.events, args.stations, args.cache):
        truth_mt = data.origin.moment_tensor
        if args.withhold:
            data = replace(data, origin=replace(data.origin, moment_tensor=None))
        start, cpu = time.perf_counter(), time.process_time()
        res = invert_event(data, settings)
        sec, cpu = time.perf_counter() - start, time.process_time() - cpu
        truth = truth_series(data, DEFAULT_CONTRACT.t0, DEFAULT_CONTRACT.dt)
        cc = compare(Series(
            res.stf, float(res.times[0]), float(res.times[1] - res.times[0])), truth,
            mw=data.origin.magnitude).cc
        ccs.append(cc)
        secs.append(sec)
        cpus.append(cpu)
        extra = ""
        if args.withhold and truth_mt is not None:
            extra = (f" depth {res.depth_km:.0f} (cat {data.origin.depth_km:.0f})"
                     f" mt_angle {mt_angle(res.mechanism, truth_mt):.0f}")
        n = sum(len(g) for g in data.groups.values())
        print(f"{data.origin.event_id:28s} n={n:3d} Mw {data.origin.magnitude:.1f} cc {cc:.3f} "
              f"{sec:6.2f} s (cpu {cpu:5.2f} s){extra}", flush=True)
    print(f"median cc {np.median(ccs):.3f} min {np.min(ccs):.3f} median time {np.median(secs):.2f} s "
          f"max {np.max(secs):.2f} s, median cpu {np.median(cpus):.2f} s, load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
