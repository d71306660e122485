"""Regenerate the explorer's offline basemap from Natural Earth land polygons.

``services/publish/static/vendor/coastline-110m.json`` is made by this script from
``land-110m.json`` of the npm package ``world-atlas`` 2.0.2 (Natural Earth 4.1.0,
1:110m land, public domain; package ISC licence, Mike Bostock)::

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python -m services.devtools.coastline package/land-110m.json

The TopoJSON arcs (quantised, delta-encoded) are decoded to longitude/latitude
polylines rounded to 0.01 degree; every arc of the land topology is a piece of
coastline, so the lines are drawn as they are, without polygons.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "publish" / "static" / "vendor" / "coastline-110m.json"


def decode_arcs(topology: dict) -> list[list[float]]:
    """Every arc as a flat ``[lon0, lat0, lon1, lat1, ...]`` list."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    lines = []
    for arc in topology["arcs"]:
        x = y = 0
        flat: list[float] = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            flat += [round(x * sx + tx, 2), round(y * sy + ty, 2)]
        lines.append(flat)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("land_topojson", type=Path, help="world-atlas land-110m.json")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    lines = decode_arcs(json.loads(args.land_topojson.read_text()))
    doc = {
        "source": "Natural Earth 1:110m land (v4.1.0) via npm world-atlas 2.0.2",
        "licence": "Natural Earth: public domain; world-atlas packaging: ISC",
        "lines": lines,
    }
    args.out.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {args.out} ({len(lines)} lines, {args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
