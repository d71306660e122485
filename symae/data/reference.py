"""Where symae finds things on disk: the repository, shipped data and shared reference data."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = PACKAGE_DIR.parent
DOCS_DIR = REPO_ROOT / "docs"
SCHEMAS_DIR = DOCS_DIR / "schemas"  # published JSON Schemas of every message and file format


def shared_data_dir() -> Path:
    """Reference data beside the checkout (SCARDEC STFs, real records).

    ``SYMAE_SHARED_DATA`` overrides the default ``<repo>/../shared/data``.
    """
    env = os.environ.get("SYMAE_SHARED_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def scardec_dir() -> Path:
    """The folder of SCARDEC event folders (``FCTs_*``)."""
    return shared_data_dir() / "scardec"


def real_waveforms_dir() -> Path:
    """The folder of real teleseismic records shipped beside the checkout."""
    return shared_data_dir() / "real_waveforms"
