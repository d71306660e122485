"""``symae serve ingest``: run the ingest service.

Records are preprocessed for the data contract of the model ``SYMAE_MODEL`` names in
``SYMAE_MODEL_REGISTRY`` (the model the inference service serves).
"""

from __future__ import annotations

import argparse

from services.ingest.settings import IngestSettings
from services.runtime.settings import SettingsError, add_settings_arguments, settings_from_args

HELP = "ingest service: origins and raw records in, event bundles out"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_settings_arguments(parser, IngestSettings)


def run(args: argparse.Namespace) -> int:
    from services.ingest.processor import IngestProcessor
    from services.runtime import run_service
    from symae.artifacts.store import ArtifactError

    try:
        settings = settings_from_args(IngestSettings, args)
    except SettingsError as exc:
        print(f"symae serve ingest: {exc}")
        return 2
    try:
        processor = IngestProcessor(settings)
    except (ArtifactError, OSError) as exc:
        print(f"symae serve ingest: model {settings.model!r} not found: {exc}")
        return 2
    return run_service("ingest", settings, processor)
