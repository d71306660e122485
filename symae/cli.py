"""symae: earthquake source time functions from symmetric variational autoencoders.

Each command lives in its own module, which exposes ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``. Modules keep heavy imports
(torch, obspy, onnxruntime) inside ``run`` so that ``symae --help`` stays fast and the
serving commands never pull in torch.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys
from collections.abc import Sequence

# command path -> module implementing it
COMMANDS: dict[tuple[str, ...], str] = {
    ("data", "synth"): "symae.commands.data_synth",
    ("data", "build"): "symae.commands.data_build",
    ("data", "figures"): "symae.commands.data_figures",
    ("train",): "symae.commands.train",
    ("export",): "symae.commands.export",
    ("models",): "symae.commands.models",
    ("extract",): "symae.commands.extract",
    ("evaluate",): "symae.commands.evaluate",
    ("bench", "preprocess"): "symae.commands.bench_preprocess",
    ("bench", "synth"): "symae.commands.bench_synth",
    ("bench", "train"): "symae.commands.bench_train",
    ("bench", "extract"): "symae.commands.bench_extract",
    ("bench", "stream"): "services.commands.bench_stream",
    ("serve", "ingest"): "services.commands.serve_ingest",
    ("serve", "inference"): "services.commands.serve_inference",
    ("serve", "publish"): "services.commands.serve_publish",
    ("serve", "archive"): "services.commands.serve_archive",
    ("retrain",): "symae.commands.retrain",
    ("feed", "fdsn"): "services.commands.feed_fdsn",
    ("broker",): "services.commands.broker",
    ("replay",): "services.commands.replay",
}

GROUP_HELP = {
    "data": "synthesise, build and inspect HDF5 data sets",
    "bench": "benchmarks; figures go to docs/benchmarks.md",
    "serve": "run a streaming service",
    "feed": "publish real records (FDSN web services) to Kafka",
}


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="symae", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    top = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction] = {}
    for path, module_name in COMMANDS.items():
        if not _available(module_name):
            continue
        module = importlib.import_module(module_name)
        if len(path) == 1:
            sub = top.add_parser(path[0], help=module.HELP, description=module.HELP)
        else:
            if path[0] not in groups:
                group = top.add_parser(path[0], help=GROUP_HELP.get(path[0]))
                groups[path[0]] = group.add_subparsers(dest="subcommand", required=True)
            sub = groups[path[0]].add_parser(path[1], help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return int(args._run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
