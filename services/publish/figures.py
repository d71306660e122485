"""The product figure (``stf.png``), made when it is first asked for, not when publishing.

Rendering the figure with matplotlib is about 95 % of the CPU of publishing a revision
(some 160 ms). Publishing writes the cheap products and sends the public STF message;
the figure of the current result is rendered on the first HTTP request for it, from the
event's ``result.json``, and kept beside it, so every later request reads the file.

Consistency: publishing a new result removes the old figure and writes the new
``result.json`` under :attr:`Figures.lock`; a rendered figure is kept only when, under
the same lock, ``result.json`` is still the one it was rendered from. A kept figure
therefore always shows the current result. Renders run one at a time (matplotlib is not
thread-safe, and a burst of requests then costs one core, not all of them).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from services.publish.products import PRODUCT_FILES, figure_png, write_atomic
from symae.extract.result import ExtractionResult

log = logging.getLogger(__name__)


class Figures:
    """``stf.png`` of each event folder, rendered on demand and kept."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # held while a folder's result.json is replaced
        self._render = threading.Lock()
        self.rendered = 0  # figures rendered (for tests and benchmarks)

    def png(self, folder: Path) -> bytes | None:
        """The figure of the result in ``folder``; None when the folder holds no result."""
        path = folder / PRODUCT_FILES["figure"]
        try:
            return path.read_bytes()
        except FileNotFoundError:
            pass
        with self._render:
            try:
                return path.read_bytes()  # rendered while this request waited
            except FileNotFoundError:
                pass
            source = folder / PRODUCT_FILES["result"]
            try:
                result = source.read_bytes()
            except OSError:
                return None
            png = figure_png(ExtractionResult.model_validate_json(result).product())
            self.rendered += 1
            with self.lock:
                try:
                    current = source.read_bytes() == result
                except OSError:
                    current = False
                if current:
                    write_atomic(path, png)
                else:
                    log.debug("%s replaced while its figure was rendered; not kept", folder)
            return png
