"""ONNX Runtime session options: execution provider, thread pools and spinning.

One frozen :class:`OrtOptions` says how every graph of a model is opened
(``symae.extract.runtime.open_session``). Each field is also an environment variable,
read by :meth:`OrtOptions.from_env` (the inference service's settings and ``symae
extract`` flags use the same names and defaults):

| field | environment | default |
|---|---|---|
| ``provider`` | ``SYMAE_ORT_PROVIDER`` | ``auto`` (CUDA when usable, else CPU); ``cuda``, ``cpu`` |
| ``intra_op_threads`` | ``SYMAE_ORT_INTRA_OP_THREADS`` | 1 (0: ONNX Runtime's choice, one per core) |
| ``inter_op_threads`` | ``SYMAE_ORT_INTER_OP_THREADS`` | 1 (0: ONNX Runtime's choice) |
| ``allow_spinning`` | ``SYMAE_ORT_ALLOW_SPINNING`` | false |

Why one thread and no spinning by default: the extraction runs many small graphs, one
after the other; ONNX Runtime's worker threads spin between them waiting for work, and on
cores shared with the other services two spinning threads used 2.7 times the CPU of one
thread for the same extraction. Spinning is the session config entries
``session.intra_op.allow_spinning`` and ``session.inter_op.allow_spinning``.
This module imports no ONNX Runtime, so settings can name its defaults cheaply.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Literal, cast, get_args

from symae.errors import SymaeError

Provider = Literal["auto", "cuda", "cpu"]
PROVIDER_CHOICES: tuple[str, ...] = get_args(Provider)
SPINNING_ENTRIES = ("session.intra_op.allow_spinning", "session.inter_op.allow_spinning")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class OrtOptionsError(SymaeError, ValueError):
    """An ONNX Runtime option (argument or environment variable) has a bad value."""


def env_name(field: str) -> str:
    """The environment variable of an :class:`OrtOptions` field."""
    return f"SYMAE_ORT_{field.upper()}"


@dataclass(frozen=True)
class OrtOptions:
    """How ONNX Runtime sessions are opened (see the module docstring)."""

    provider: Provider = "auto"
    intra_op_threads: int = 1
    inter_op_threads: int = 1
    allow_spinning: bool = False

    def __post_init__(self) -> None:
        if self.provider not in PROVIDER_CHOICES:
            raise OrtOptionsError(
                f"ONNX Runtime provider must be one of {', '.join(PROVIDER_CHOICES)}; "
                f"got {self.provider!r}"
            )
        for name in ("intra_op_threads", "inter_op_threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise OrtOptionsError(f"{name} must be an integer >= 0, got {value!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **given: Any) -> OrtOptions:
        """Options from ``given`` (values that are not None), then the environment
        (``SYMAE_ORT_<FIELD>``), then the defaults; a bad value raises
        :class:`OrtOptionsError` naming its variable."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            if given.get(f.name) is not None:
                values[f.name] = given[f.name]
                continue
            text = env.get(env_name(f.name))
            if text is None or not text.strip():
                continue
            values[f.name] = _parse(f.name, text.strip())
        unknown = set(given) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"unknown ONNX Runtime options: {sorted(unknown)}")
        return cls(**values)

    def with_provider(self, provider: str) -> OrtOptions:
        """These options on another provider (checked: auto, cuda or cpu)."""
        return replace(self, provider=cast(Provider, provider))

    def config_entries(self) -> dict[str, str]:
        """Session config entries set on every session (spinning of both thread pools)."""
        flag = "1" if self.allow_spinning else "0"
        return dict.fromkeys(SPINNING_ENTRIES, flag)


def _parse(name: str, text: str) -> Any:
    variable = env_name(name)
    if name == "provider":
        return text.lower()
    if name == "allow_spinning":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise OrtOptionsError(f"{variable}={text!r}: expected true or false")
    try:
        return int(text)
    except ValueError:
        raise OrtOptionsError(f"{variable}={text!r}: expected an integer >= 0") from None
