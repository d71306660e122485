"""What every ONNX export of symae shares: the opset, the size bound of dynamic
dimensions, example sizes that equal no model dimension, quiet exporter logs."""

from __future__ import annotations

import logging

OPSET = 18
MAX_DIM = 1 << 20


def _free_sizes(taken: set[int], count: int) -> list[int]:
    """``count`` distinct sizes >= 2 that equal no model dimension in ``taken``.

    Symbolic tracing gives equal sizes one symbol, so an example batch of 3 traces with
    q = 3 would fix the batch dimension to 3 in the exported graph.
    """
    return [k for k in range(2, 2 + count + len(taken)) if k not in taken][:count]


def _quiet_exporter_logs() -> None:
    """The ONNX exporter logs every optimiser pass and every missing torchvision op."""
    for name in ("onnxscript", "onnx_ir", "torch._export", "torch.export"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
