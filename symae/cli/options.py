"""Argument types and shared options of the commands.

The types reject a bad value while the arguments are parsed, so the command fails with
one line naming the option and the value before it reads or writes anything. The
latent-descent options take their defaults from :class:`symae.extract.coherent.LatentSettings`,
their only source.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path


def _number(text: str, kind: type) -> float | int:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected {'an integer' if kind is int else 'a number'}, got {text!r}"
        ) from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = int(_number(text, int))
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text!r}")
    return value


def nonnegative_int(text: str) -> int:
    """An integer >= 0."""
    value = int(_number(text, int))
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


def finite_float(text: str) -> float:
    """Any finite number."""
    return float(_number(text, float))


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = float(_number(text, float))
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def nonnegative_float(text: str) -> float:
    """A finite number >= 0."""
    value = float(_number(text, float))
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def existing_file(text: str) -> Path:
    """A path to an existing file."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(
            f"no such file: {text}" if not path.exists() else f"not a file: {text}"
        )
    return path


def existing_dir(text: str) -> Path:
    """A path to an existing folder."""
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(
            f"no such folder: {text}" if not path.exists() else f"not a folder: {text}"
        )
    return path


def ordered_range(name: str, values: Sequence[float]) -> tuple[float, float]:
    """``(low, high)`` of a two-value option, or a ``UsageError`` when low > high."""
    from symae.errors import UsageError

    low, high = values
    if low > high:
        raise UsageError(f"{name}: LOW must not exceed HIGH, got {low} {high}")
    return float(low), float(high)


LATENT_HELP = {
    "n_codes": ("--n-codes", positive_int, "virtual traces N"),
    "steps": ("--steps", nonnegative_int, "descent steps"),
    "lr": ("--lr", positive_float, "descent step size"),
    "alpha": ("--alpha", nonnegative_float, "L1 weight"),
}


def add_latent_arguments(
    parser: argparse.ArgumentParser, names: Sequence[str] = ("n_codes", "steps", "lr", "alpha")
) -> None:
    """The latent-descent options ``names``, defaults from ``LatentSettings``."""
    from symae.extract.coherent import LatentSettings

    defaults = LatentSettings()
    for name in names:
        flag, kind, text = LATENT_HELP[name]
        default = getattr(defaults, name)
        parser.add_argument(
            flag, dest=name, type=kind, default=default, help=f"{text} (default {default})"
        )


def add_record_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--no-response``, ``--no-response-units`` and ``--pad-short``: what a command does
    with real records it would otherwise refuse (``docs/real-data.md``)."""
    parser.add_argument(
        "--no-response",
        action="store_true",
        help="records whose channel has no response (e.g. processed SAC) are used in "
        "the units at hand and the result is flagged response_not_removed; "
        "without it they are rejected (no_response)",
    )
    parser.add_argument(
        "--no-response-units",
        choices=("displacement", "velocity"),
        default="displacement",
        help="what records without a response hold (with --no-response): displacement "
        "(used as they are, the default) or velocity (integrated to displacement)",
    )
    parser.add_argument(
        "--pad-short",
        action="store_true",
        help="records shorter than the model's window that cover P -30 .. +50 s are "
        "zero-padded and the result is flagged padded; without it they are rejected "
        "(too_short)",
    )
