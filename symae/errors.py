"""The project's exceptions share one base, so a caller can catch them all.

Every error symae raises on purpose derives from :class:`SymaeError`; most also keep a
standard base (``ValueError``, ``RuntimeError``) for older callers. The command line
(``symae.cli``) prints any of them as one line, ``symae <command>: <message>``, and
exits with status 2.
"""

from __future__ import annotations


class SymaeError(Exception):
    """Base of every error symae raises on purpose (bad input, unusable data, a service fault)."""


class UsageError(SymaeError, ValueError):
    """Bad command input: a missing file, a nonsense option value, a wrong combination."""
