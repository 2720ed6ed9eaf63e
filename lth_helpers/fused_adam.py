"""Adam for the population trainer: one fused kernel call per step, nothing else.

Why not ``torch.optim.Adam(fused=True)``: it calls the same kernel, but first regroups its
tensors by device and dtype, checks its hooks and state, and walks its parameter groups, every
step. For a population of one or two LeNets at batch 60 that bookkeeping took about a tenth of
the whole training step (``python -m lth_helpers bench``; measured with ``torch.profiler`` on a
2-core AVX2 machine: 0.27 ms of Python per step around a 0.2 ms kernel). The population's
tensors never change, so this class does the grouping once and then only calls the kernel.

It computes exactly what ``torch.optim.Adam(params, lr, weight_decay=..., fused=True)`` computes
(the same kernel with the same arguments; ``tests/test_fused_adam.py`` checks it bit for bit),
and falls back to ``torch.optim.Adam(foreach=True)`` where the kernel is unavailable for the
tensors' device or dtype.
"""

from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["PopulationAdam"]

_BETAS = (0.9, 0.999)  # PyTorch's defaults, which the paper uses
_EPS = 1e-8


class PopulationAdam:
    """Adam (L2 ``weight_decay`` as in ``torch.optim.Adam``) over fixed tensors whose ``.grad`` is set.

    ``step()`` updates every tensor in place from its ``.grad``; the gradient buffers must stay the
    same tensors for the optimizer's lifetime (the population writes into them).
    """

    def __init__(self, params: Sequence[torch.Tensor], lr: float, weight_decay: float = 0.0) -> None:
        self.params = list(params)
        if any(p.grad is None for p in self.params):
            raise ValueError("PopulationAdam needs every tensor's .grad buffer allocated first")
        self.lr, self.weight_decay = float(lr), float(weight_decay)
        self.grads = [p.grad for p in self.params]
        self.exp_avgs = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sqs = [torch.zeros_like(p) for p in self.params]
        # torch.optim.Adam keeps one step counter per tensor (float32 on the tensors' device). Here
        # every tensor is stepped every time, so one counter serves them all: the kernel reads the
        # same value, and one increment replaces a multi-tensor add over six scalars each step.
        self._step = torch.zeros((), dtype=torch.float32, device=self.params[0].device)
        self.steps = [self._step] * len(self.params)
        self._fallback: torch.optim.Optimizer | None = None
        beta1, beta2 = _BETAS
        self._options = dict(lr=self.lr, beta1=beta1, beta2=beta2, weight_decay=self.weight_decay, eps=_EPS,
                             amsgrad=False, maximize=False)
        if not self._kernel_available():
            self._fallback = _library_adam(self.params, self.lr, self.weight_decay)

    def _kernel_available(self) -> bool:
        """Whether the fused kernel runs on these tensors (tried on throw-away copies of one element)."""
        kernel = getattr(torch, "_fused_adam_", None)
        if kernel is None:
            return False
        sample = self.params[0]
        try:
            probe = [sample.new_zeros(1)]
            kernel(probe, [sample.new_ones(1)], [sample.new_zeros(1)], [sample.new_zeros(1)], [],
                   [torch.ones((), dtype=torch.float32, device=sample.device)], **self._options)
        except (RuntimeError, TypeError, NotImplementedError):
            return False
        return True

    @torch.no_grad()
    def step(self) -> None:
        """One Adam step of every tensor from its current gradient."""
        if self._fallback is not None:
            self._fallback.step()
            return
        self._step.add_(1)
        torch._fused_adam_(self.params, self.grads, self.exp_avgs, self.exp_avg_sqs, [], self.steps,
                           **self._options)


def _library_adam(params: list[torch.Tensor], lr: float, weight_decay: float) -> torch.optim.Optimizer:
    # The fused form of torch.optim.Adam calls the same kernel, so where the kernel fails only the
    # multi-tensor (foreach) form is left.
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, foreach=True)
