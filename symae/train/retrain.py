"""Retraining with a gate: fine-tune a served model on what the service archived, and
register the candidate only when it is not worse than the model it would replace.

Steps (``symae retrain``; docs/training.md, "Retraining from the archive"):

1. the archive (``symae serve archive``: day shards of final bundles) is read, one entry
   per event id (its highest revision); events are split by a hash of their id into a
   training part and a validation part (``VALIDATION_FRACTION``, at least one event);
2. a synthetic hard-mode training set is generated (parametric sources, ``--seed``);
3. the candidate starts from the base model's weights and is trained with the schedule
   (``reference``, ``tiny`` or a JSON file; its ``model`` section is ignored: the
   architecture is the base's) on archive-train + synthetic, then exported to ONNX;
4. both models are scored on the **gate set** (``GATE_SEED``, hard mode, parametric
   sources; never the SCARDEC benchmark events) and on the archive validation part;
5. the rule (:func:`decide`) accepts or refuses the candidate; the decision, the scores
   and the data used go into the candidate's ``model.json`` under ``gate``; an accepted
   candidate is published into the registry (staged, then renamed into place), where
   inference takes it up by hot swap when it follows the model's name or ``latest``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from symae.artifacts.config import TrainConfig, load_config
from symae.artifacts.store import (
    MODEL_JSON,
    ModelInfo,
    read_model_dir,
    register,
    resolve,
    write_model_json,
)
from symae.contract import DataContract
from symae.data.dataset import Dataset, DatasetWriter, EventData

log = logging.getLogger(__name__)

GATE_SEED = 20_240_917  # the gate set: fixed, so every candidate meets the same events
GATE_STATIONS = 40
VALIDATION_FRACTION = 0.2
SKILL_TOLERANCE = 0.05  # the candidate's mean gate skill may be this much below the base's
RECON_TOLERANCE = 0.10  # its reconstruction errors may be this fraction above the base's

EXIT_ACCEPTED = 0
EXIT_REFUSED = 3


class RetrainError(ValueError):
    """Inputs that make retraining impossible (empty archive, contract mismatch, ...)."""


@dataclass
class Scores:
    """What the gate measures for one model."""

    gate_skill: float  # mean STF skill over the gate set (1 perfect, 0 = Mw triangle)
    gate_cc: float  # mean STF cross-correlation over the gate set
    gate_recon_mse: float  # reconstruction error (standardised traces) on the gate set
    archive_recon_mse: float  # reconstruction error on the archive validation events

    def to_dict(self) -> dict[str, float | None]:
        return {k: _round(v) for k, v in dataclasses.asdict(self).items()}


@dataclass
class Decision:
    accepted: bool
    reasons: list[str] = field(default_factory=list)


def _round(v: float) -> float | None:
    return None if not math.isfinite(v) else round(float(v), 6)


def decide(
    base: Scores,
    candidate: Scores,
    skill_tolerance: float = SKILL_TOLERANCE,
    recon_tolerance: float = RECON_TOLERANCE,
) -> Decision:
    """The gate rule: accept when the candidate is not worse on any score.

    - every candidate score is finite;
    - gate skill >= base gate skill - ``skill_tolerance``;
    - gate and archive reconstruction errors <= base error * (1 + ``recon_tolerance``).
    """
    reasons = []
    for name, value in dataclasses.asdict(candidate).items():
        if not math.isfinite(value):
            reasons.append(f"candidate {name} is not finite ({value})")
    if reasons:
        return Decision(False, reasons)
    if candidate.gate_skill < base.gate_skill - skill_tolerance:
        reasons.append(
            f"gate skill {candidate.gate_skill:.4f} < base {base.gate_skill:.4f} - "
            f"{skill_tolerance:g}"
        )
    for name in ("gate_recon_mse", "archive_recon_mse"):
        mine, theirs = getattr(candidate, name), getattr(base, name)
        if math.isfinite(theirs) and mine > theirs * (1 + recon_tolerance):
            reasons.append(f"{name} {mine:.4g} > base {theirs:.4g} x (1 + {recon_tolerance:g})")
    return Decision(not reasons, reasons)


# ------------------------------------------------------------------------------ data
def split_archive(
    event_ids: list[str], fraction: float = VALIDATION_FRACTION
) -> tuple[list[str], list[str]]:
    """(train, validation) by a hash of the event id: stable as the archive grows."""
    ranked = sorted(event_ids, key=lambda e: hashlib.sha256(e.encode()).hexdigest())
    n_val = max(1, math.ceil(fraction * len(ranked))) if ranked else 0
    return sorted(ranked[n_val:]), sorted(ranked[:n_val])


def read_archive(root: str | Path) -> dict[str, EventData]:
    """Every archived event (highest revision per id)."""
    from symae.data.archive import archived_events

    out = {}
    for event_id, (shard, _rev) in sorted(archived_events(root).items()):
        with Dataset(shard) as ds:
            out[event_id] = ds.event(event_id)
    return out


def archive_contract(root: str | Path) -> DataContract | None:
    from symae.data.archive import list_shards, local_root

    shards = list_shards(local_root(root))
    if not shards:
        return None
    with Dataset(shards[-1]) as ds:
        return ds.contract


def write_events(
    path: Path, events: list[EventData], contract: DataContract, provenance: dict
) -> Path:
    with DatasetWriter(path, contract, provenance) as out:
        for event in events:
            out.write_event(event)
    return path


def gate_events(n: int, contract: DataContract) -> list[EventData]:
    """The gate set: ``n`` hard-mode events from parametric sources under ``GATE_SEED``."""
    return list(_synthetic(n, GATE_SEED, GATE_STATIONS, contract, id_prefix="gate"))


def _synthetic(n: int, seed: int, stations: int, contract: DataContract, id_prefix: str):
    from symae.data.preprocess import PreprocessConfig
    from symae.synth.generator import synthesize_event
    from symae.synth.run import SynthRequest, sources

    request = SynthRequest(
        stf="parametric", events=n, stations=stations, seed=seed, out="-", mode="hard"
    )
    config = dataclasses.replace(
        request.config(), preprocess=dataclasses.replace(PreprocessConfig(), contract=contract)
    )
    for rng, source in sources(request, config):
        event = synthesize_event(rng, source, config).event_data
        event.origin = dataclasses.replace(event.origin, event_id=f"{id_prefix}_{event.event_id}")
        for group in event.groups.values():
            group.event_id = event.origin.event_id
        yield event


# ------------------------------------------------------------------------------ scores
def recon_mse(model_dir: Path, events: list[EventData]) -> float:
    """Mean squared reconstruction error per sample over every trace (deterministic codes)."""
    import torch

    from symae.model.weights import load_model

    if not events:
        return float("nan")
    model, _ = load_model(model_dir)
    total, count = 0.0, 0
    with torch.no_grad():
        for event in events:
            for group in event.groups.values():
                x = torch.from_numpy(np.asarray(group.traces, dtype=np.float32)).unsqueeze(0)
                recon = model(x).recon
                err = float(((recon - x) ** 2).sum())
                total += err
                count += x.numel()
    return total / count if count else float("nan")


def stf_scores(model_dir: Path, events: list[EventData]) -> tuple[float, float]:
    """Mean (skill, cc) of the SymAE envelope STF over ``events`` (ONNX, CPU)."""
    from symae.evaluate.scardec_benchmark import ENVELOPE, score_result
    from symae.extract.extractor import Extractor

    extractor = Extractor.load(str(model_dir), provider="cpu")
    skills, ccs = [], []
    for event, result in zip(events, extractor.extract_many(events), strict=True):
        metrics = score_result(event, result).metrics[ENVELOPE]
        skills.append(metrics.skill)
        ccs.append(metrics.cc)
    return float(np.nanmean(skills)), float(np.nanmean(ccs))


def score_model(model_dir: Path, gate: list[EventData], validation: list[EventData]) -> Scores:
    try:
        skill, cc = stf_scores(model_dir, gate)
    except Exception as exc:  # noqa: BLE001 - a model that cannot extract scores nothing
        log.warning("%s: extraction on the gate set failed: %s", model_dir, exc)
        skill, cc = float("nan"), float("nan")
    return Scores(skill, cc, recon_mse(model_dir, gate), recon_mse(model_dir, validation))


# ------------------------------------------------------------------------------ the run
@dataclass
class RetrainRequest:
    archive: Path
    base_model: str
    registry: Path
    schedule: str = "reference"
    gate_events: int = 8
    synthetic_events: int = 8
    seed: int = 0
    workdir: Path | None = None
    lr_scale: float = 1.0
    skill_tolerance: float = SKILL_TOLERANCE
    recon_tolerance: float = RECON_TOLERANCE
    device: str = "auto"
    progress: bool = False


@dataclass
class RetrainOutcome:
    accepted: bool
    candidate_dir: Path
    gate: dict[str, Any]
    registered: Path | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_ACCEPTED if self.accepted else EXIT_REFUSED


def _schedule(name: str, lr_scale: float) -> TrainConfig:
    _, train = load_config(name)
    if lr_scale != 1.0:
        stages = tuple(dataclasses.replace(s, lr=s.lr * lr_scale) for s in train.stages)
        train = dataclasses.replace(train, stages=stages)
    return train


def _with_onnx(info: ModelInfo, workdir: Path) -> Path:
    """The base model directory, or an exported copy when it has no ONNX graphs."""
    if info.onnx_graphs:
        return info.path
    from symae.export.onnx import export_model_dir

    copy = workdir / "base"
    shutil.copytree(info.path, copy, ignore=shutil.ignore_patterns("checkpoint"))
    export_model_dir(copy)
    return copy


def publish(model_dir: Path, registry: Path) -> Path:
    """Copy into ``registry/<name>/<version>`` through a staging folder and a rename."""
    info = read_model_dir(model_dir)
    final = registry / info.name / info.version
    if final.exists():
        raise RetrainError(f"{final} already exists; the registry never overwrites a version")
    registry.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=registry))
    try:
        register(model_dir, registry=staging)
        final.parent.mkdir(parents=True, exist_ok=True)
        (staging / info.name / info.version).rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def retrain(req: RetrainRequest) -> RetrainOutcome:
    from symae.model.weights import load_weights
    from symae.train.trainer import Trainer

    base = read_model_dir(resolve(req.base_model, req.registry))
    contract = base.contract
    archived = archive_contract(req.archive)
    if archived is None:
        raise RetrainError(f"archive {req.archive} holds no shards")
    if archived != contract:
        raise RetrainError(
            f"archive data contract {archived} differs from the base model's {contract}"
        )
    events = read_archive(req.archive)
    train_ids, val_ids = split_archive(list(events))
    overlap = not train_ids
    if overlap:  # a single archived event: it trains and validates
        train_ids = list(val_ids)
    workdir = Path(req.workdir or tempfile.mkdtemp(prefix="symae-retrain-"))
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    prov = {"generator": "symae retrain"}
    archive_train = write_events(
        data_dir / "archive-train.h5", [events[e] for e in train_ids], contract, prov
    )
    synth_seed = 1_000 + req.seed
    synth = write_events(
        data_dir / "synthetic.h5",
        list(_synthetic(req.synthetic_events, synth_seed, 30, contract, id_prefix="train")),
        contract,
        prov,
    )
    train_config = dataclasses.replace(_schedule(req.schedule, req.lr_scale), seed=req.seed)
    candidate_dir = workdir / "candidate"
    if candidate_dir.exists():
        shutil.rmtree(candidate_dir)
    log.info(
        "fine-tuning %s:%s on %d archived + %d synthetic events (%s schedule)",
        base.name,
        base.version,
        len(train_ids),
        req.synthetic_events,
        req.schedule,
    )
    failure = None
    try:
        trainer = Trainer(
            base.model_config,
            train_config,
            [archive_train, synth],
            candidate_dir,
            name=base.name,
            device=req.device,
            progress=req.progress,
        )
        try:
            load_weights(trainer.model, base.weights)
            trainer.model.to(trainer.runtime.device)
            result = trainer.run()
        finally:
            trainer.close()
        assert result.info is not None
        from symae.export.onnx import export_model_dir

        export_model_dir(candidate_dir)
        read_model_dir(candidate_dir)  # the exported graphs are listed and verified
    except Exception as exc:  # noqa: BLE001 - a candidate that cannot be built is refused
        failure = f"candidate could not be trained or exported: {' '.join(str(exc).split())[:300]}"
        log.warning("%s", failure)

    gate = gate_events(req.gate_events, contract)
    validation = [events[e] for e in val_ids]
    base_scores = score_model(_with_onnx(base, workdir), gate, validation)
    if failure is None:
        cand_scores = score_model(candidate_dir, gate, validation)
        decision = decide(base_scores, cand_scores, req.skill_tolerance, req.recon_tolerance)
    else:
        nan = float("nan")
        cand_scores = Scores(nan, nan, nan, nan)
        decision = Decision(False, [failure])
    created = datetime.now(UTC)
    version = f"{created:%Y%m%dT%H%M%S}-{base.model_config.summary}-ft"
    section = {
        "decision": "accepted" if decision.accepted else "refused",
        "reasons": decision.reasons,
        "decided_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "rule": {
            "skill_tolerance": req.skill_tolerance,
            "recon_tolerance": req.recon_tolerance,
            "text": "accept when every candidate score is finite, gate skill >= base - "
            "skill_tolerance, and each reconstruction error <= base x (1 + recon_tolerance)",
        },
        "base": {"name": base.name, "version": base.version, "scores": base_scores.to_dict()},
        "candidate": {"scores": cand_scores.to_dict()},
        "data": {
            "archive": str(req.archive),
            "archive_train_events": train_ids,
            "archive_validation_events": val_ids,
            "validation_overlaps_training": overlap,
            "synthetic_train": {
                "events": req.synthetic_events,
                "seed": synth_seed,
                "mode": "hard",
                "stf": "parametric",
            },
            "gate_set": {
                "events": req.gate_events,
                "seed": GATE_SEED,
                "mode": "hard",
                "stf": "parametric",
                "stations": GATE_STATIONS,
            },
        },
        "schedule": req.schedule,
        "lr_scale": req.lr_scale,
    }
    if failure is not None:  # no complete model directory: the record goes beside it
        candidate_dir.mkdir(parents=True, exist_ok=True)
        (candidate_dir / "gate.json").write_text(json.dumps(section, indent=2) + "\n")
        return RetrainOutcome(False, candidate_dir, section)
    meta = json.loads((candidate_dir / MODEL_JSON).read_text())
    meta.update(
        version=version,
        created=section["decided_at"],
        gate=section,
        base_model={"name": base.name, "version": base.version},
    )
    write_model_json(candidate_dir, meta)
    outcome = RetrainOutcome(decision.accepted, candidate_dir, section)
    if decision.accepted:
        outcome.registered = publish(candidate_dir, req.registry)
    return outcome
