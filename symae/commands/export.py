"""``symae export MODEL_DIR``: add the ONNX graphs the serving path needs."""

from __future__ import annotations

import argparse

HELP = "export a trained model directory's ONNX graphs (coherent, nuisance, decoder, ...)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", help="model directory written by `symae train`")


def run(args: argparse.Namespace) -> int:
    from symae.export.onnx import export_model_dir

    for path in export_model_dir(args.model_dir):
        print(path)
    return 0
