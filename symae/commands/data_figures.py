"""``symae data figures``: record section and focal-sphere pixel occupancy of a data set."""

from __future__ import annotations

import argparse
import sys

HELP = "PNG figures of an HDF5 data set: record section of one event, pixel occupancy"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.h5", help="symae data set")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the PNG files")
    parser.add_argument(
        "--event-id",
        help="event to draw (default: the first); occupancy then covers this event only",
    )
    parser.add_argument(
        "--dpi",
        type=int,
        default=100,
        help="resolution; 100 gives 950 x 450 px, 300 the same figure for print",
    )
    parser.add_argument(
        "--max-traces",
        type=int,
        default=40,
        help="most traces in the record section, thinned evenly in azimuth",
    )


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from pathlib import Path

    from symae.data.dataset import Dataset, DatasetError
    from symae.data.figures import plot_pixel_occupancy, plot_record_section

    out = Path(args.out)
    try:
        with Dataset(args.file) as ds:
            ids = ds.event_ids()
            if not ids:
                raise DatasetError(f"{args.file}: no events")
            if args.event_id is not None and args.event_id not in ids:
                raise DatasetError(
                    f"{args.file}: no event {args.event_id!r}; it holds {len(ids)} events, "
                    f"first {ids[:5]}"
                )
            event_id = args.event_id or ids[0]
            section = plot_record_section(
                ds.event(event_id),
                ds.contract,
                out / f"record_section_{event_id}.png",
                dpi=args.dpi,
                max_traces=args.max_traces,
            )
            refs = ds.index()
            if args.event_id:
                refs = [r for r in refs if r.event_id == args.event_id]
                title, name = f"pixel occupancy of {event_id}", f"pixel_occupancy_{event_id}.png"
            else:
                title = f"pixel occupancy of {Path(args.file).name}: {len(ids)} events"
                name = "pixel_occupancy.png"
            occupancy = plot_pixel_occupancy(
                refs, ds.contract.nside, out / name, title, dpi=args.dpi
            )
    except (DatasetError, ValueError) as exc:
        print(f"symae data figures: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {section}")
    print(f"wrote {occupancy}")
    return 0
