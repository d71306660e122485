"""Many synthetic events into an HDF5 data set (and optionally raw files): the CLI's engine.

Event ``i`` draws from ``numpy.random.default_rng([seed, i])``, so an event does not
depend on how many others are made with it, and the same seed gives the same files.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from symae.data.dataset import DatasetError, DatasetWriter
from symae.data.scardec import list_events
from symae.synth.config import SynthConfig
from symae.synth.generator import synthesize_event
from symae.synth.source import Source, parametric_source, scardec_source, synthetic_origin_time
from symae.synth.writer import RecordWriter

log = logging.getLogger(__name__)

PARAMETRIC_DEFAULT_EVENTS = 10
SYNTHETIC_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SynthRequest:
    """What ``symae data synth`` was asked for."""

    stf: str  # "parametric" or "scardec"
    events: int | None
    stations: int
    seed: int
    out: str | Path
    mseed_dir: str | Path | None = None
    scardec_dir: str | Path | None = None
    snr_range: tuple[float, float] = (3.0, 30.0)
    directivity: bool = True
    depth_range_km: tuple[float, float] = (10.0, 650.0)
    mw_range: tuple[float, float] = (6.0, 8.0)
    time_error_s: float = 2.0
    mode: str = "easy"
    broken_share: float | None = None  # hard mode; None: drawn per event

    def config(self) -> SynthConfig:
        base = SynthConfig()
        return replace(
            base,
            mode=self.mode,
            hard=replace(base.hard, broken_share=self.broken_share),
            n_stations=self.stations,
            snr_range=self.snr_range,
            directivity=self.directivity,
            depth_range_km=self.depth_range_km,
            mw_range=self.mw_range,
            time_error_s=self.time_error_s,
        )


def event_rng(seed: int, index: int) -> np.random.Generator:
    """The random stream of event ``index`` under ``seed``."""
    return np.random.default_rng([seed, index])


def sources(
    request: SynthRequest, config: SynthConfig
) -> Iterator[tuple[np.random.Generator, Source]]:
    """(rng, source) per event, in order; the rng continues into the event's records."""
    if request.events is not None and request.events < 1:
        raise ValueError(f"--events must be >= 1, got {request.events}")
    if request.stf == "scardec":
        if request.scardec_dir is None:
            raise ValueError("--stf scardec needs the SCARDEC folder")
        for i, ev in enumerate(list_events(request.scardec_dir, request.events)):
            rng = event_rng(request.seed, i)
            yield rng, scardec_source(ev, config.raw_dt, rng, config.directivity)
    elif request.stf == "parametric":
        for i in range(request.events or PARAMETRIC_DEFAULT_EVENTS):
            rng = event_rng(request.seed, i)
            yield (
                rng,
                parametric_source(
                    rng,
                    f"synth_s{request.seed}_{i:04d}",
                    config.mw_range,
                    config.depth_range_km,
                    config.raw_dt,
                    config.directivity,
                    synthetic_origin_time(SYNTHETIC_EPOCH, i),
                ),
            )
    else:
        raise ValueError(f"--stf must be 'parametric' or 'scardec', got {request.stf!r}")


def synthesize_dataset(request: SynthRequest) -> str:
    """Make the events, write them; returns a short human summary."""
    config = request.config()
    provenance = {
        "generator": "symae data synth",
        "stf": request.stf,
        "seed": request.seed,
        "stations_per_event": request.stations,
        "scardec_dir": str(request.scardec_dir) if request.stf == "scardec" else None,
    }
    start = time.perf_counter()
    n_events = n_traces = n_groups = 0
    todo = sources(request, config)
    first = next(todo)  # bad arguments fail here, before any file is created
    records = RecordWriter(request.mseed_dir) if request.mseed_dir else None
    with DatasetWriter(request.out, config.preprocess.contract, provenance) as out:
        for rng, source in itertools.chain([first], todo):
            if source.origin.event_id in out:
                raise DatasetError(
                    f"{request.out}: event {source.origin.event_id!r} already present "
                    "(choose another --out or --seed)"
                )
            event = synthesize_event(rng, source, config)
            out.write_event(event.event_data)
            if records is not None:
                records.add(event)
            n_events += 1
            n_traces += event.event_data.n_traces
            n_groups += len(event.event_data.groups)
            log.info(
                "%s: Mw %.2f, %.0f km, %d traces in %d pixels",
                source.origin.event_id,
                source.mw,
                source.origin.depth_km,
                event.event_data.n_traces,
                len(event.event_data.groups),
            )
    if records is not None:
        records.close()
    elapsed = time.perf_counter() - start
    lines = [
        f"{n_events} {request.stf} events, {n_traces} traces in {n_groups} event-pixel groups "
        f"written to {request.out} in {elapsed:.1f} s",
    ]
    if records is not None:
        lines.append(
            f"raw records: {records.waveform_dir}/*.mseed, {records.inventory_path}, "
            f"{records.events_path}"
        )
    return "\n".join(lines)
