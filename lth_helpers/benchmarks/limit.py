"""The machine's own limit: its dense float32 matmul rate, converted into network-samples/s.

A *network-sample* is one training example passed forward and backward through one
LeNet-300-100, with that network's share of the Adam step. It costs ``6 x 266,200`` FLOPs
(266,200 weights; 2 FLOPs per weight forward, 4 backward: the input gradient and the weight
gradient), so a machine that multiplies matrices at ``R`` FLOP/s can train at most
``R / 1,597,200`` network-samples per second, whatever the code. Throughput is summed over the
networks trained together, because the limit is machine-wide.

Only float32 is measured: training runs in float32, and a lower precision is a speed trick to be
chosen by measurement, never part of the yardstick (``benchmarks/README.md``).
"""

from __future__ import annotations

from typing import Callable

import torch

from ..models import LAYER_SHAPES

__all__ = [
    "LENET_WEIGHTS",
    "TRAIN_FLOPS_PER_SAMPLE",
    "DEFINITION",
    "matmul_run",
    "matmul_gflops_from_seconds",
    "limit_samples_per_s",
    "fraction_of_limit",
]

#: Weights of LeNet-300-100: 784*300 + 300*100 + 100*10 = 266,200 multiply-adds per example.
LENET_WEIGHTS = sum(out * inp for out, inp in LAYER_SHAPES.values())
#: FLOPs of one training example: forward 2 per weight, backward 4 (input and weight gradients).
TRAIN_FLOPS_PER_SAMPLE = 6 * LENET_WEIGHTS

DEFINITION = (
    "network-samples/s: training examples (forward + backward + Adam step) through one network "
    "per second, summed over the networks trained together (K x batch x steps / seconds); "
    f"a LeNet-300-100 training sample costs 6 x {LENET_WEIGHTS:,} FLOPs, so the machine's limit is "
    f"matmul FLOP/s / {TRAIN_FLOPS_PER_SAMPLE:,}"
)


def matmul_run(size: int = 2048) -> Callable[[], object]:
    """A function that multiplies two random float32 ``size x size`` matrices (``2 size^3`` FLOPs).

    The product is written into one preallocated output: the allocator is not what is measured.
    """
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator)
    b = torch.randn(size, size, generator=generator)
    out = torch.empty(size, size)
    return lambda: torch.mm(a, b, out=out)


def matmul_gflops_from_seconds(size: int, seconds: float) -> float:
    """GFLOP/s of one ``size x size`` product that took ``seconds``."""
    return 2 * size ** 3 / seconds / 1e9


def limit_samples_per_s(gflops: float) -> float:
    """The most network-samples/s a machine multiplying at ``gflops`` GFLOP/s can train."""
    if not gflops > 0:
        raise ValueError(f"the matmul rate must be positive, got {gflops!r}")
    return gflops * 1e9 / TRAIN_FLOPS_PER_SAMPLE


def fraction_of_limit(samples_per_s: float, gflops: float) -> float:
    """Measured throughput (network-samples/s) as a fraction of the machine's limit."""
    return samples_per_s / limit_samples_per_s(gflops)
