"""``symae train``: train a SymVAE on HDF5 data sets and write a model directory."""

from __future__ import annotations

import argparse

from symae.cli.options import existing_file, positive_int

HELP = "train a SymVAE (three-stage schedule) on HDF5 data sets into a model directory"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        default=None,
        help="shipped config name (tiny, default, reference) or a JSON file; "
        "default: 'default', or the checkpoint's config with --resume",
    )
    parser.add_argument(
        "--data",
        nargs="+",
        required=True,
        type=existing_file,
        metavar="FILE.h5",
        help="one or several symae HDF5 data sets",
    )
    parser.add_argument(
        "--out", required=True, metavar="MODEL_DIR", help="model directory to write"
    )
    parser.add_argument("--name", default="symae", help="model name in model.json and the registry")
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="auto: CUDA when available, else CPU",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from MODEL_DIR/checkpoint exactly where it stopped",
    )
    parser.add_argument(
        "--max-epochs",
        type=positive_int,
        default=None,
        help="stop after this many epochs of this run (checkpoint kept)",
    )
    parser.add_argument("--seed", type=int, default=None, help="override the config's seed")
    parser.add_argument("--export", action="store_true", help="also export the ONNX graphs")
    parser.add_argument(
        "--register",
        action="store_true",
        help="copy the finished model into the registry (SYMAE_MODEL_REGISTRY)",
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        help="torch CPU threads per process (1 avoids oversubscription on a busy machine)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from symae.artifacts.config import ModelConfig, TrainConfig, load_config
    from symae.errors import UsageError

    # the inputs first: a bad config or data set fails before torch loads or MODEL_DIR exists
    if args.config is None and args.resume:
        from symae.train.checkpoints import read_state

        state = read_state(args.out)
        model_config = ModelConfig.from_dict(state.model)
        train_config = TrainConfig.from_dict(state.train)
    else:
        try:
            model_config, train_config = load_config(args.config or "default")
        except ValueError as exc:
            raise UsageError(f"--config: {exc}") from exc

    import torch

    from symae.artifacts.store import register
    from symae.train.run import train

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.seed is not None:
        train_config = dataclasses.replace(train_config, seed=args.seed)
    result = train(
        model_config,
        train_config,
        args.data,
        args.out,
        name=args.name,
        device=args.device,
        resume=args.resume,
        max_epochs=args.max_epochs,
        progress=not args.no_progress,
    )
    if not result.completed:
        print(f"stopped after {result.epochs_run} epoch(s); continue with --resume")
        return 0
    if result.info is None:  # a non-main torchrun process
        return 0
    if args.export:
        from symae.export.onnx import export_model_dir

        export_model_dir(result.model_dir)
    print(f"model {result.info.name}:{result.info.version} written to {result.model_dir}")
    if args.register:
        print(f"registered as {register(result.model_dir)}")
    return 0
