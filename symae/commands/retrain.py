"""``symae retrain``: fine-tune a served model on the archive and register it through a gate.

Exit codes: 0 the candidate was accepted and registered; 3 it was refused (not
registered; the reasons are printed and kept in the candidate's model.json); 2 bad
inputs (no archive, unknown model, contract mismatch). Rule and data:
docs/training.md, "Retraining from the archive".
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HELP = "fine-tune a model on the service's archive plus synthetic data; register it only if a gate passes"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--archive", required=True, help="archive folder or file:// URL (symae serve archive)"
    )
    parser.add_argument(
        "--base-model",
        required=True,
        metavar="NAME[:VERSION]",
        help="model to start from: registry name[:version], latest, default or a directory",
    )
    parser.add_argument(
        "--registry", type=Path, required=True, help="model registry to read and publish into"
    )
    parser.add_argument(
        "--schedule",
        default="reference",
        help="training schedule: reference, tiny or a config JSON (its model section is ignored)",
    )
    parser.add_argument(
        "--gate-events",
        type=int,
        default=8,
        metavar="N",
        help="hard-mode synthetic events in the gate set (fixed seed)",
    )
    parser.add_argument(
        "--synthetic-events",
        type=int,
        default=8,
        metavar="N",
        help="synthetic hard-mode events added to the training data",
    )
    parser.add_argument("--seed", type=int, default=0, help="training and synthetic-training seed")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where data, the candidate and its checkpoint go (default: a temp folder)",
    )
    parser.add_argument(
        "--lr-scale",
        type=float,
        default=1.0,
        help="multiply every stage's learning rate (1: the schedule's)",
    )
    parser.add_argument(
        "--skill-tolerance",
        type=float,
        default=None,
        help="how far below the base's gate skill the candidate may be (default 0.05)",
    )
    parser.add_argument(
        "--recon-tolerance",
        type=float,
        default=None,
        help="relative reconstruction-error margin over the base (default 0.10)",
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--progress", action="store_true", help="training progress bar")


def run(args: argparse.Namespace) -> int:
    from symae.artifacts.store import ArtifactError
    from symae.data.dataset import DatasetError
    from symae.train.retrain import (
        RECON_TOLERANCE,
        SKILL_TOLERANCE,
        RetrainError,
        RetrainRequest,
        retrain,
    )

    for name in ("gate_events", "synthetic_events"):
        if getattr(args, name) < 1:
            print(f"symae retrain: --{name.replace('_', '-')} must be >= 1")
            return 2
    if args.threads is not None:
        import torch

        torch.set_num_threads(max(1, args.threads))
    req = RetrainRequest(
        archive=Path(str(args.archive).removeprefix("file://")),
        base_model=args.base_model,
        registry=args.registry,
        schedule=args.schedule,
        gate_events=args.gate_events,
        synthetic_events=args.synthetic_events,
        seed=args.seed,
        workdir=args.workdir,
        lr_scale=args.lr_scale,
        skill_tolerance=SKILL_TOLERANCE if args.skill_tolerance is None else args.skill_tolerance,
        recon_tolerance=RECON_TOLERANCE if args.recon_tolerance is None else args.recon_tolerance,
        device=args.device,
        progress=args.progress,
    )
    try:
        outcome = retrain(req)
    except (RetrainError, ArtifactError, DatasetError, ValueError) as exc:
        print(f"symae retrain: {exc}")
        return 2
    gate = outcome.gate
    print(f"gate: {gate['decision']}")
    print(
        f"  base {gate['base']['name']}:{gate['base']['version']}: "
        f"{json.dumps(gate['base']['scores'])}"
    )
    print(f"  candidate: {json.dumps(gate['candidate']['scores'])}")
    data = gate["data"]
    print(
        f"  data: {len(data['archive_train_events'])} archived training events, "
        f"{len(data['archive_validation_events'])} validation events, "
        f"{data['synthetic_train']['events']} synthetic; gate set {data['gate_set']['events']} "
        f"hard-mode events (seed {data['gate_set']['seed']})"
    )
    for reason in gate["reasons"]:
        print(f"  refused: {reason}")
    if outcome.registered is not None:
        print(f"registered {outcome.registered}")
    else:
        print(f"not registered; candidate kept in {outcome.candidate_dir}")
    return outcome.exit_code
