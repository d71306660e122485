"""``symae serve publish``: latest STF per event as files, over HTTP and on a public topic.

Consumes ``<prefix>.results``, keeps the latest revision of every event in
``--products-dir`` (result JSON, SCARDEC-style text, QuakeML, PNG), serves them on
``--http-port`` (``GET /events``, ``GET /events/{id}``, the files, an HTML page) and
emits ``<prefix>.stf``. Products and API: ``docs/streaming-products.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pydantic import Field

from services.runtime.settings import ServiceSettings, add_settings_arguments

HELP = "serve publish: results -> products on disk and HTTP, public STF topic"


class PublishSettings(ServiceSettings):
    """Settings of the publish service (each also ``SYMAE_<NAME>``)."""

    http_port: int = Field(8080, ge=0, le=65535, description="HTTP API port (0: any free one)")
    http_host: str = Field("127.0.0.1", description="HTTP API bind address (0.0.0.0: all)")
    products_dir: Path = Field(Path("products"), description="where product files are kept")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_settings_arguments(parser, PublishSettings)


def run(args: argparse.Namespace) -> int:
    from services.publish.processor import PublishProcessor
    from services.runtime import SettingsError, run_service, settings_from_args

    try:
        settings = settings_from_args(PublishSettings, args)
    except SettingsError as exc:
        print(f"symae serve publish: {exc}")
        return 2
    processor = PublishProcessor(
        settings.products_dir,
        settings.http_port,
        settings.http_host,
        http_timeout_s=settings.http_timeout_s,
        http_max_connections=settings.http_max_connections,
    )
    return run_service("publish", settings, processor)
