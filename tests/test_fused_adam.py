"""The population's Adam: the fused kernel called directly computes what torch.optim.Adam computes."""

from __future__ import annotations

import pytest
import torch

from lth_helpers import fused_adam
from lth_helpers.fused_adam import PopulationAdam


def _tensors(dtype: torch.dtype) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return [torch.randn(3, 40, 20, generator=generator, dtype=dtype), torch.randn(3, 40, generator=generator, dtype=dtype)]


def _run(optimizer_of, dtype: torch.dtype, steps: int = 12) -> list[torch.Tensor]:
    """Apply ``steps`` Adam steps with the same sequence of gradients; return the final tensors."""
    params = [t.clone() for t in _tensors(dtype)]
    for p in params:
        p.grad = torch.zeros_like(p)
    optimizer = optimizer_of(params)
    generator = torch.Generator().manual_seed(1)
    for _ in range(steps):
        for p in params:
            p.grad.copy_(torch.randn(p.shape, generator=generator, dtype=dtype))
        optimizer.step()
    return params


@pytest.mark.parametrize("weight_decay", [0.0, 1e-2], ids=["adam", "adam+L2"])
def test_direct_kernel_is_bitwise_torch_fused_adam_in_float32(weight_decay):
    ours = _run(lambda ps: PopulationAdam(ps, lr=1.2e-3, weight_decay=weight_decay), torch.float32)
    library = _run(lambda ps: torch.optim.Adam(ps, lr=1.2e-3, weight_decay=weight_decay, fused=True), torch.float32)
    for a, b in zip(ours, library):
        assert torch.equal(a, b)


@pytest.mark.parametrize("weight_decay", [0.0, 1e-2], ids=["adam", "adam+L2"])
def test_direct_kernel_matches_plain_adam_in_float64(weight_decay):
    """Against the unfused reference implementation, in float64 (so no kernel's rounding matters)."""
    ours = _run(lambda ps: PopulationAdam(ps, lr=1.2e-3, weight_decay=weight_decay), torch.float64)
    plain = _run(lambda ps: torch.optim.Adam(ps, lr=1.2e-3, weight_decay=weight_decay, foreach=False), torch.float64)
    for a, b in zip(ours, plain):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def _unsupported(*args, **kwargs):
    raise RuntimeError("_fused_adam_ is not implemented for this device")


def test_without_the_kernel_it_falls_back_to_torch_adam(monkeypatch):
    monkeypatch.setattr(torch, "_fused_adam_", _unsupported)
    params = [t.clone() for t in _tensors(torch.float64)]
    for p in params:
        p.grad = torch.ones_like(p)
    optimizer = PopulationAdam(params, lr=1e-2)
    assert isinstance(optimizer._fallback, torch.optim.Adam)
    before = [p.clone() for p in params]
    optimizer.step()
    for p, old in zip(params, before):  # Adam's first step moves every entry by lr against the gradient's sign
        torch.testing.assert_close(p, old - 1e-2)


def test_gradient_buffers_must_exist():
    with pytest.raises(ValueError, match=r"\.grad buffer"):
        PopulationAdam([torch.zeros(3)], lr=1e-3)


def test_pruned_entries_with_zero_gradient_never_move():
    """The population zeroes pruned weights' gradients; Adam then leaves those weights at exactly 0.0."""
    weight = torch.randn(2, 30, 10)
    mask = (torch.rand(2, 30, 10) < 0.3).float()
    weight.mul_(mask)
    weight.grad = torch.zeros_like(weight)
    optimizer = PopulationAdam([weight], lr=1e-2, weight_decay=1e-3)
    for _ in range(20):
        weight.grad.copy_(torch.randn_like(weight) * mask)
        optimizer.step()
    assert torch.all(weight[mask == 0] == 0.0)
    assert fused_adam.__all__ == ["PopulationAdam"]
