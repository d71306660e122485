"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from symae.data.reference import example_event_dir, scardec_dir


@pytest.fixture(scope="session")
def scardec_root() -> Path:
    path = scardec_dir()
    if not path.is_dir():
        pytest.fail(f"SCARDEC reference data missing at {path} (set SYMAE_REFERENCE_DATA or reinstall)")
    return path


@pytest.fixture(scope="session")
def bfo_dir() -> Path:
    path = example_event_dir()
    if not path.is_dir():
        pytest.fail(f"real II.BFO record missing at {path} (set SYMAE_REFERENCE_DATA or reinstall)")
    return path
