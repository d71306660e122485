"""Shared helpers of the deploy/ checks: paths, kustomize builds, the services' settings.

The environment variable names the services accept are read from the code, never from a
list kept here: each ``symae`` command module adds one ``--flag`` per settings field
(``services.runtime.settings.add_settings_arguments``), so building its argument parser
yields exactly the ``SYMAE_<FIELD>`` names it reads.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.runtime.settings import ServiceSettings
from symae.cli import COMMANDS

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
MONITORING = DEPLOY / "monitoring"
COMPOSE_FILE = DEPLOY / "compose" / "docker-compose.yml"
RULES_FILE = MONITORING / "rules" / "symae-alerts.yml"
DASHBOARD_FILE = MONITORING / "grafana" / "dashboards" / "symae-pipeline.json"
TRAINER_ENTRYPOINT = DEPLOY / "docker" / "trainer-entrypoint.sh"


def require_tool(name: str) -> str:
    """Path of a system validator, or a failure that says how to install it."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found on PATH; `make tools` installs it from Debian packages")
    return path


def kustomize(path: Path, *extra: str) -> list[dict[str, Any]]:
    """Objects of ``kubectl kustomize PATH`` (fails the test with kubectl's message)."""
    kubectl = require_tool("kubectl")
    proc = subprocess.run(
        [kubectl, "kustomize", *extra, str(path)], capture_output=True, text=True, timeout=60
    )
    if proc.returncode != 0:
        pytest.fail(f"kubectl kustomize {path} failed:\n{proc.stderr}")
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def command_module(argv: list[str]) -> Any:
    """The module that implements ``symae ARGV...`` (longest command path that matches)."""
    for length in (2, 1):
        module = COMMANDS.get(tuple(argv[:length]))
        if module is not None:
            return importlib.import_module(module)
    raise KeyError(f"no symae command for {argv!r}; known: {sorted(COMMANDS)}")


def settings_env_names(argv: list[str]) -> set[str]:
    """``SYMAE_*`` names that ``symae ARGV...`` reads, from its settings flags."""
    module = command_module(argv)
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    names = {
        f"SYMAE_{action.dest.upper()}"
        for group in parser._action_groups
        if (group.title or "").startswith("settings")
        for action in group._group_actions
    }
    if not names:
        raise AssertionError(f"{module.__name__} declares no settings flags")
    return names


def common_env_names() -> set[str]:
    """Names every service reads (fields of the shared ``ServiceSettings``)."""
    return {f"SYMAE_{name.upper()}" for name in ServiceSettings.model_fields}
