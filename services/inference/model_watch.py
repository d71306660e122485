"""Hot model swap: take up a new registry version between events, refuse a broken one.

The inference service asks :meth:`ModelWatch.current` for the model before each batch.
At most every ``interval_s`` seconds that call resolves the configured model spec again
(``name`` or ``name:latest`` follows the newest version in the registry; a pinned
``name:version`` never moves). When it resolves to something new, the new model is
loaded (checksums verified, ONNX sessions created) *before* it replaces the old one, so
a broken version (bad checksum, unloadable graph) is refused and the old model keeps
serving. A refused version is not retried until its ``model.json`` changes.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

M = TypeVar("M")


@dataclass(frozen=True)
class ModelRef:
    """One model version on disk, identified down to the content of its ``model.json``."""

    name: str
    version: str
    path: str
    fingerprint: str  # sha256 of model.json: a re-published version differs

    @property
    def label(self) -> str:
        return f"{self.name}:{self.version}"


class ModelWatch(Generic[M]):
    """The model in use, and the rule for replacing it.

    ``resolve()`` names the model the configuration points at now; ``load(ref)`` builds it
    or raises. ``on_swap(ref, model)`` and ``on_refused(ref, error)`` report outcomes
    (metrics, logs). The first load happens in the constructor and its failure is fatal:
    a service without a model must not start.
    """

    def __init__(
        self,
        resolve: Callable[[], ModelRef],
        load: Callable[[ModelRef], M],
        interval_s: float = 5.0,
        on_swap: Callable[[ModelRef, M], None] | None = None,
        on_refused: Callable[[ModelRef, Exception], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resolve = resolve
        self._load = load
        self.interval_s = interval_s
        self._on_swap = on_swap or (lambda ref, model: None)
        self._on_refused = on_refused or (lambda ref, exc: None)
        self._clock = clock
        self._refused: set[ModelRef] = set()
        self.ref = resolve()
        self.model = load(self.ref)
        self._checked = clock()
        log.info("serving model %s from %s", self.ref.label, self.ref.path)

    def current(self) -> M:
        """The model to use for the next batch, after a due registry check."""
        if self._clock() - self._checked >= self.interval_s:
            self.check()
        return self.model

    def check(self) -> bool:
        """Resolve the spec now; load and swap to a new version. True when swapped."""
        self._checked = self._clock()
        try:
            ref = self._resolve()
        except Exception as exc:  # a registry being rewritten must not stop serving
            log.warning("model registry check failed, keeping %s: %s", self.ref.label, exc)
            return False
        if ref == self.ref or ref in self._refused:
            return False
        try:
            model = self._load(ref)
        except Exception as exc:  # any failure to load means: refuse, keep the old one
            self._refused.add(ref)
            log.error(
                "refused model %s from %s, keeping %s: %s",
                ref.label,
                ref.path,
                self.ref.label,
                exc,
            )
            self._on_refused(ref, exc)
            return False
        log.info("model swapped: %s -> %s", self.ref.label, ref.label)
        self.ref, self.model = ref, model
        self._on_swap(ref, model)
        return True


def registry_resolver(spec: str, registry: Path | None = None) -> Callable[[], ModelRef]:
    """A ``resolve`` for :class:`ModelWatch` over the local model registry.

    ``default`` follows the *name* of the shipped default model, so a newer version of
    it registered by the trainer job is taken up; ``latest``, ``name`` and a directory
    path are resolved by :func:`symae.artifacts.store.resolve` on every call.
    """
    from symae.artifacts import store as artifacts

    if spec == "default":
        spec = artifacts.read_model_dir(artifacts.resolve("default"), check=False).name

    def resolve() -> ModelRef:
        path = artifacts.resolve(spec, registry)
        meta_bytes = (path / artifacts.MODEL_JSON).read_bytes()
        info = artifacts.read_model_dir(path, check=False)
        return ModelRef(
            name=info.name,
            version=info.version,
            path=str(path),
            fingerprint=hashlib.sha256(meta_bytes).hexdigest(),
        )

    return resolve
