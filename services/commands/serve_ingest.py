"""``symae serve ingest``: run the ingest service."""

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

    try:
        settings = settings_from_args(IngestSettings, args)
    except SettingsError as exc:
        print(f"symae serve ingest: {exc}")
        return 2
    return run_service("ingest", settings, IngestProcessor(settings))
