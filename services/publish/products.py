"""Product files of every published event: SCARDEC-style text, QuakeML, result, PNG.

The writers live in the library, ``symae.extract.products`` (documented there); this
module writes their output into one folder per event. The result JSON itself is written
as received; see ``docs/streaming-products.md``. The figure (``stf.png``) is not written
here: it is rendered on its first request (``services.publish.figures``).
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from symae.data.events import scalar_moment
from symae.extract.products import (
    QUAKEML_NAMESPACE,
    StfProduct,
    figure_png,
    moment_rate,
    quakeml_bytes,
    scardec_text,
)

__all__ = [
    "PRODUCT_FILES",
    "QUAKEML_NAMESPACE",
    "StfProduct",
    "figure_png",
    "moment_rate",
    "quakeml_bytes",
    "scalar_moment",
    "scardec_text",
    "write_atomic",
    "write_products",
]

PRODUCT_FILES = {
    "result": "result.json",
    "scardec": "stf_scardec.txt",
    "quakeml": "event.xml",
    "figure": "stf.png",
}


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, so readers never see half."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_products(
    product: StfProduct,
    result_json: bytes,
    folder: Path,
    lock: AbstractContextManager[object] | None = None,
) -> dict[str, Path]:
    """Write the product files of one event into ``folder``; result JSON last.

    The result JSON marks a complete set: a reader that finds it finds the rest. The
    figure of the previous result is removed with it, under ``lock`` (the
    :class:`~services.publish.figures.Figures` lock), and made again when asked for.
    """
    folder.mkdir(parents=True, exist_ok=True)
    paths = {kind: folder / name for kind, name in PRODUCT_FILES.items()}
    write_atomic(paths["scardec"], scardec_text(product).encode())
    write_atomic(paths["quakeml"], quakeml_bytes(product))
    with lock if lock is not None else nullcontext():
        paths["figure"].unlink(missing_ok=True)
        write_atomic(paths["result"], result_json)
    return paths
