"""The start-up check that kafka-python checksums record batches with the C crc32c."""

from __future__ import annotations

import subprocess
import sys

import pytest
from kafka.record import _crc32c, default_records

from services.runtime import Processor, ServiceApp
from services.runtime.kafka import crc32c_accelerated
from symae.data.reference import REPO_ROOT
from tests.services.conftest import unique_prefix
from tests.services.runtime.test_app import Running, metric, settings


def test_the_declared_c_package_is_what_kafka_python_uses() -> None:
    import crc32c

    assert crc32c_accelerated()
    data = bytes(range(256)) * 40
    assert crc32c.crc32c(data) == _crc32c.crc(data)  # same checksum, only faster


def test_a_missing_package_is_reported_with_one_warning() -> None:
    """A fresh interpreter in which ``import crc32c`` fails, as on a host without it."""
    code = (
        "import sys, logging\n"
        "sys.modules['crc32c'] = None  # makes `import crc32c` raise ImportError\n"
        "logging.basicConfig(format='%(levelname)s %(message)s')\n"
        "from services.runtime.kafka import check_crc32c\n"
        "print(check_crc32c())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True
    )
    assert done.stdout.strip() == "False"
    warnings = [line for line in done.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1 and "crc32c" in warnings[0], done.stderr


def _pure_python(memview: memoryview, _crc32c=_crc32c.crc) -> int:  # noqa: ANN001
    return _crc32c(memview)


@pytest.mark.kafka
@pytest.mark.parametrize("accelerated", [True, False])
def test_the_metric_reports_the_check(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch, accelerated: bool
) -> None:
    if not accelerated:
        monkeypatch.setattr(default_records, "calc_crc32c", _pure_python)
    app = ServiceApp("crc", settings(kafka_bootstrap, unique_prefix()), Processor())
    with Running(app) as running:
        text = running.get("/metrics")[1]
    assert app.crc32c_accelerated is accelerated
    assert 'symae_kafka_crc32c_accelerated{service="crc"}' in text
    assert metric(text, "symae_kafka_crc32c_accelerated", service="crc") == float(accelerated)
