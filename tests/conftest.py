"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from symae.data.reference import real_waveforms_dir, scardec_dir


@pytest.fixture(scope="session")
def scardec_root() -> Path:
    path = scardec_dir()
    if not path.is_dir():
        pytest.fail(f"SCARDEC reference data missing at {path} (set SYMAE_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def bfo_dir() -> Path:
    path = real_waveforms_dir() / "gulf_of_alaska_2018"
    if not path.is_dir():
        pytest.fail(f"real II.BFO record missing at {path} (set SYMAE_SHARED_DATA)")
    return path
