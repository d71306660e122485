"""``symae models``: list the models of the local registry and the shipped default."""

from __future__ import annotations

import argparse

HELP = "list models in the local registry (SYMAE_MODEL_REGISTRY) and the shipped default"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--registry", default=None, help="registry directory (default: SYMAE_MODEL_REGISTRY)"
    )
    parser.add_argument(
        "--add",
        metavar="MODEL_DIR",
        default=None,
        help="copy a verified model directory into the registry first",
    )
    parser.add_argument("--verify", action="store_true", help="check every model's file checksums")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from symae.artifacts.store import (
        DEFAULT_MODEL_DIR,
        ArtifactError,
        list_models,
        register,
        verify,
    )

    registry = Path(args.registry) if args.registry else None
    if args.add:
        print(f"registered {register(args.add, registry)}")
    models = list_models(registry)
    if not models:
        print("no models found")
        return 0
    print(f"{'name':<16} {'version':<34} {'graphs':>6}  {'source':<8} {'sha256':<9} path")
    status_code = 0
    for m in models:
        source = "shipped" if DEFAULT_MODEL_DIR in m.path.parents else "registry"
        checked = "-"
        if args.verify:
            try:
                verify(m.path, m.meta)
                checked = "ok"
            except ArtifactError as exc:
                checked, status_code = "ALTERED", 1
                print(f"  {exc}")
        print(
            f"{m.name:<16} {m.version:<34} {len(m.onnx_graphs):>6}  {source:<8} {checked:<9} {m.path}"
        )
    return status_code
