"""``symae serve archive``: the final bundle of every event into day-sharded HDF5 files.

Consumes ``<prefix>.bundles``, keeps the latest revision of each event and, once no newer
revision has come for ``--archive-quiet-s``, appends it to ``<archive>/YYYY/MM/DD.h5`` (the
data-set format of docs/data-format.md; the day is the UTC day of archiving). Retention
keeps at most ``--archive-max-bytes`` and ``--archive-max-days``. ``symae retrain
--archive`` fine-tunes on it. Details: docs/services.md, "Archive".
"""

from __future__ import annotations

import argparse

from pydantic import Field

from services.runtime.settings import ServiceSettings, add_settings_arguments

HELP = "serve archive: final event bundles -> day-sharded HDF5 archive (for retraining)"


class ArchiveSettings(ServiceSettings):
    """Settings of the archive service (each also ``SYMAE_<NAME>``)."""

    archive_url: str = Field(
        "archive", description="archive folder: a path or file:// URL (object stores: see docs)"
    )
    archive_quiet_s: float = Field(
        900.0, ge=0, description="write an event once no newer revision came for this long"
    )
    archive_max_bytes: int = Field(
        50 * 1024**3, gt=0, description="delete the oldest shards beyond this many bytes"
    )
    archive_max_days: int = Field(365, gt=0, description="delete shards older than this many days")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_settings_arguments(parser, ArchiveSettings)


def run(args: argparse.Namespace) -> int:
    from services.archive.processor import ArchiveProcessor
    from services.runtime import SettingsError, run_service, settings_from_args
    from symae.data.archive import ArchiveError, ArchiveStore

    try:
        settings = settings_from_args(ArchiveSettings, args)
        store = ArchiveStore(
            settings.archive_url, settings.archive_max_bytes, settings.archive_max_days
        )
    except (SettingsError, ArchiveError) as exc:
        print(f"symae serve archive: {exc}")
        return 2
    return run_service("archive", settings, ArchiveProcessor(store, settings.archive_quiet_s))
