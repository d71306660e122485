"""``symae serve inference``: extract STFs from bundles on ONNX Runtime (no torch).

Consumes ``<prefix>.bundles``, runs the SymAE extraction (``symae.extract``) with the
CUDA execution provider when present and the CPU one otherwise, and emits one RESULT.json
per bundle revision on ``<prefix>.results``. The model follows ``SYMAE_MODEL`` in the
registry (``SYMAE_MODEL_REGISTRY``) and is swapped without a restart when a new version
appears; a broken version is refused and the old one kept
(``symae_model_reloads_total{outcome="failed"}``).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pydantic import Field

from services.runtime.settings import ServedModelSettings, add_settings_arguments
from symae.extract.ort_options import OrtOptions, Provider

if TYPE_CHECKING:
    from symae.extract.extractor import Extractor

_ORT = OrtOptions()  # the defaults, one source for the settings below

HELP = "serve inference: bundles -> STF extraction on ONNX Runtime -> results"


class InferenceSettings(ServedModelSettings):
    """Settings of the inference service (each also ``SYMAE_<NAME>``)."""

    ort_provider: Provider = Field(_ORT.provider, description="ONNX Runtime execution provider")
    ort_intra_op_threads: int = Field(
        _ORT.intra_op_threads, ge=0, description="ONNX Runtime threads per graph (0: one per core)"
    )
    ort_inter_op_threads: int = Field(
        _ORT.inter_op_threads, ge=0, description="ONNX Runtime inter-op threads (0: its choice)"
    )
    ort_allow_spinning: bool = Field(
        _ORT.allow_spinning,
        description="let ONNX Runtime threads spin waiting for work (CPU burnt on shared cores)",
    )
    expect_gpu: bool = Field(False, description="a GPU should be present (reported in metrics)")
    max_batch_events: int = Field(8, gt=0, description="events sharing one extraction batch")
    physics_model: str | None = Field(
        None,
        description="the physics-informed SymAE ('default': shipped, or a directory) whose "
        "STF and refined inversion join final and settled results (about one more warm "
        "inversion each); none by default",
    )
    model_check_interval_s: float = Field(5.0, gt=0, description="registry check period")
    # extraction batches take seconds: fetch few bundles per poll, allow long batches
    kafka_max_poll_records: int = Field(8, gt=0)
    kafka_max_poll_interval_ms: int = Field(120000, gt=0)

    def ort_options(self) -> OrtOptions:
        """The ONNX Runtime session options these settings describe."""
        return OrtOptions(
            provider=self.ort_provider,
            intra_op_threads=self.ort_intra_op_threads,
            inter_op_threads=self.ort_inter_op_threads,
            allow_spinning=self.ort_allow_spinning,
        )


def load_extractor(settings: InferenceSettings, path: str) -> Extractor:
    """The extractor the service runs for the model directory ``path``: checksums
    verified first, ONNX Runtime options from the settings, sparse events allowed (a
    bundle made ready by its deadline may be sparse; its result is flagged)."""
    from symae.artifacts.store import read_model_dir
    from symae.extract.extractor import ExtractionSettings, Extractor

    read_model_dir(path)  # every checksum, before any graph is opened
    return Extractor.load(
        path,
        provider=None,
        settings=ExtractionSettings(allow_sparse=True),
        options=settings.ort_options(),
        physics_model=settings.physics_model,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_settings_arguments(parser, InferenceSettings)


def run(args: argparse.Namespace) -> int:
    from services.inference.model_watch import ModelRef, registry_resolver
    from services.inference.processor import InferenceProcessor
    from services.runtime import SettingsError, run_service, settings_from_args
    from symae.artifacts.store import ArtifactError

    try:
        settings = settings_from_args(InferenceSettings, args)
    except SettingsError as exc:
        print(f"symae serve inference: {exc}")
        return 2

    def load(ref: ModelRef) -> Extractor:
        return load_extractor(settings, ref.path)

    try:
        resolve = registry_resolver(settings.model, settings.model_registry)
        resolve()
    except (ArtifactError, OSError) as exc:
        print(f"symae serve inference: model {settings.model!r} not found: {exc}")
        return 2
    processor = InferenceProcessor(
        resolve=resolve,
        load=load,
        max_batch_events=settings.max_batch_events,
        model_check_interval_s=settings.model_check_interval_s,
        expect_gpu=settings.expect_gpu,
    )
    return run_service("inference", settings, processor)
