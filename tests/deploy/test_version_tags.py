"""The version has one source, ``symae.__version__``; image tags in deploy/ follow it."""

from __future__ import annotations

import re
from importlib import metadata

import symae

from .support import DEPLOY, REPO

TAG = re.compile(r"symae-(?:serving|trainer):([0-9][^\s\"'`]*?)(?:-cpu|-gpu)?(?=[\s\"'`|]|$)")


def _tagged_files():
    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file() and path.suffix in {".yaml", ".yml", ".md", ".Dockerfile", ".sh"}:
            yield path


def test_image_tags_follow_the_package_version():
    found = 0
    for path in _tagged_files():
        for match in TAG.finditer(path.read_text()):
            found += 1
            assert match.group(1) == symae.__version__, (
                f"{path.relative_to(REPO)}: image tag {match.group(0)} is not "
                f"{symae.__version__} (symae/version.py)"
            )
    assert found, "no symae image tags found under deploy/"


def test_installed_metadata_reads_the_same_version():
    assert metadata.version("symae") == symae.__version__
