"""Product files written for every published event: SCARDEC-style text, QuakeML, PNG.

The writers live in the library, ``symae.extract.products`` (documented there); this
module writes their output into one folder per event. The result JSON itself is written
as received; see ``docs/streaming-products.md``.
"""

from __future__ import annotations

import os
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


def write_products(product: StfProduct, result_json: bytes, folder: Path) -> dict[str, Path]:
    """Write every product file of one event into ``folder``; result JSON last.

    The result JSON marks a complete set: a reader that finds it finds the rest.
    """
    folder.mkdir(parents=True, exist_ok=True)
    paths = {kind: folder / name for kind, name in PRODUCT_FILES.items()}
    write_atomic(paths["scardec"], scardec_text(product).encode())
    write_atomic(paths["quakeml"], quakeml_bytes(product))
    write_atomic(paths["figure"], figure_png(product))
    write_atomic(paths["result"], result_json)
    return paths
