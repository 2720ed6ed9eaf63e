"""The same code on a GPU: the population trainer on CUDA matches the CPU (skipped without a GPU)."""

from __future__ import annotations

import pytest
import torch

from lth_helpers.imp import resolve_device
from lth_helpers.models import LeNet300100
from lth_helpers.population import LeNetPopulation, train_population
from lth_helpers.training import TrainConfig

needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")


@needs_gpu
def test_population_on_cuda_matches_the_cpu(small_data):
    config = TrainConfig(iterations=30, eval_every=10)
    states = [LeNet300100(seed=s).state_dict() for s in range(3)]
    runs = {}
    for device in ("cpu", "cuda"):
        population = LeNetPopulation(states, device=device)
        histories = train_population(population, small_data, config, seed=2, progress=False)
        runs[device] = (histories, [population.member_state(k) for k in range(3)])
    (cpu_h, cpu_states), (gpu_h, gpu_states) = runs["cpu"], runs["cuda"]
    for a, b in zip(cpu_h, gpu_h):
        assert b.val_loss == pytest.approx(a.val_loss, rel=1e-3)
        assert b.val_acc == pytest.approx(a.val_acc, abs=2.01 / small_data.sizes["val"])
    for a, b in zip(cpu_states, gpu_states):
        for key in a:
            moved = (b[key] - a[key]).norm() / a[key].norm().clamp(min=1e-12)
            assert float(moved) < 1e-2, key


def test_asking_for_cuda_without_a_gpu_is_a_clear_error():
    if torch.cuda.is_available():
        assert resolve_device("cuda").type == "cuda"
        return
    with pytest.raises(ValueError, match="device 'cuda' was asked for, but this machine has no usable CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="unknown device 'tpu9'"):
        resolve_device("tpu9")
