"""The per-trace convolutional trunk shared in shape by both encoders.

conv k50 1->5, conv k20 5->10, avgpool 4, conv k20 10->20, conv k5 20->50, avgpool 4,
flatten ((nt/16) x 50 = 600 at nt = 192), dense -> width. Every layer is followed by a
LeakyReLU (slope 0.1). Convolutions use "same" padding, written as an explicit pad so
even kernels behave identically in PyTorch and in the exported ONNX graphs.
Average pooling is a reshape and a mean (see ``avg_pool4``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def init_weights(module: nn.Module) -> None:
    """Xavier-uniform weights and zero biases for every dense and conv layer."""
    for m in module.modules():
        if isinstance(m, nn.Linear | nn.Conv1d):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class SameConv1d(nn.Conv1d):
    """1-d convolution with "same" output length, also for even kernel sizes."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__(in_channels, out_channels, kernel_size)
        self.pad = ((kernel_size - 1) // 2, kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, self.pad))


def avg_pool4(h: torch.Tensor) -> torch.Tensor:
    """Average pooling by 4 along the last axis, (T, C, L) -> (T, C, L/4).

    Written as reshape + mean rather than ``nn.AvgPool1d`` so its gradient is made of
    plain ops and the latent-optimisation step exports to ONNX.
    """
    return h.reshape(h.shape[0], h.shape[1], -1, 4).mean(dim=-1)


class ConvTrunk(nn.Module):
    """Traces (..., nt) -> features (..., width); leading dimensions are kept."""

    def __init__(self, nt: int, width: int, slope: float = 0.1) -> None:
        super().__init__()
        self.nt = nt
        self.convs = nn.ModuleList(
            [
                SameConv1d(1, 5, 50),
                SameConv1d(5, 10, 20),
                SameConv1d(10, 20, 20),
                SameConv1d(20, 50, 5),
            ]
        )
        self.dense = nn.Linear((nt // 16) * 50, width)
        self.act = nn.LeakyReLU(slope)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        h = x.reshape(-1, 1, self.nt)  # (T, 1, nt)
        h = self.act(self.convs[0](h))  # (T, 5, nt)
        h = avg_pool4(self.act(self.convs[1](h)))  # (T, 10, nt/4)
        h = self.act(self.convs[2](h))  # (T, 20, nt/4)
        h = avg_pool4(self.act(self.convs[3](h)))  # (T, 50, nt/16)
        h = self.act(self.dense(h.flatten(1)))  # (T, width)
        return h.reshape(*lead, -1)
