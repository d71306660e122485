"""symae: earthquake source time functions from symmetric variational autoencoders.

Each command lives in its own module, which exposes ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``. Modules keep heavy imports
(torch, obspy, onnxruntime) inside ``run`` so that ``symae --help`` stays fast and the
serving commands never pull in torch.

Errors: bad input (a :class:`symae.errors.SymaeError`, a missing input file, a bad option
value) prints one line, ``symae <command>: <what is wrong>``, on stderr and exits with
status 2. Any other exception prints one line too (exit 1); ``-v`` shows its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys
from collections.abc import Sequence

from symae.errors import SymaeError

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
    ("validate",): "symae.commands.validate",
    ("bench", "preprocess"): "symae.commands.bench_preprocess",
    ("bench", "synth"): "symae.commands.bench_synth",
    ("bench", "train"): "symae.commands.bench_train",
    ("bench", "extract"): "symae.commands.bench_extract",
    ("bench", "stream"): "services.commands.bench_stream",
    ("bench", "services"): "services.commands.bench_services",
    ("serve", "ingest"): "services.commands.serve_ingest",
    ("serve", "inference"): "services.commands.serve_inference",
    ("serve", "publish"): "services.commands.serve_publish",
    ("serve", "archive"): "services.commands.serve_archive",
    ("retrain",): "symae.commands.retrain",
    ("feed", "fdsn"): "services.commands.feed_fdsn",
    ("feed", "seedlink"): "services.commands.feed_seedlink",
    ("broker",): "services.commands.broker",
    ("replay",): "services.commands.replay",
}

GROUP_HELP = {
    "data": "synthesise, build and inspect HDF5 data sets",
    "bench": "benchmarks; figures go to docs/benchmarks.md",
    "serve": "run a streaming service",
    "feed": "publish real records (FDSN web services, SeedLink) to Kafka",
}


# exceptions that mean "the input is wrong", not "symae is broken"
USER_ERRORS: tuple[type[BaseException], ...] = (SymaeError, OSError, ValueError)


class CommandParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr, ``<prog>: <message>``, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: {one_line(message)} (see {self.prog} --help)\n")
        raise SystemExit(2)


def one_line(message: str) -> str:
    """``message`` on one line (a multi-line message's lines joined by '; ')."""
    return "; ".join(line.strip() for line in str(message).splitlines() if line.strip())


def describe(exc: BaseException) -> str:
    """What went wrong, for the user: the message, with the file name of an OS error."""
    if isinstance(exc, OSError) and not isinstance(exc, SymaeError) and exc.filename is not None:
        return f"{exc.strerror or type(exc).__name__}: {exc.filename}"
    text = one_line(str(exc))
    if isinstance(exc, KeyError) and len(exc.args) == 1:
        text = str(exc.args[0])
    return text or type(exc).__name__


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="symae", description=__doc__.splitlines()[0])
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
        sub.set_defaults(_run=module.run, _prog=sub.prog)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    prog = args._prog
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted\n")
        return 130
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            raise
        return _fail(prog, str(exc.code), 2)
    except USER_ERRORS as exc:
        if args.verbose:
            logging.getLogger("symae.cli").debug("traceback", exc_info=exc)
        return _fail(prog, describe(exc), 2)
    except Exception as exc:
        if args.verbose:
            raise
        return _fail(
            prog,
            f"internal error: {type(exc).__name__}: {describe(exc)} "
            f"(run with -v for the traceback)",
            1,
        )


def _fail(prog: str, message: str, status: int) -> int:
    message = one_line(message)
    if message.startswith(prog + ": "):
        message = message[len(prog) + 2 :]
    sys.stderr.write(f"{prog}: {message}\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
