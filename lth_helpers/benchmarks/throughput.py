"""Training throughput of the real training loops, on random tensors of MNIST's shape.

Two loops are timed exactly as the package runs them: :func:`lth_helpers.training.train` (the
readable autograd loop, one network) and :func:`lth_helpers.population.train_population` (K
networks in lockstep, what the IMP driver uses). Both timings include drawing the minibatches and
one evaluation at the end on one-minibatch validation and test sets, so that they measure
training, not evaluation.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import torch

from ..data import MNISTData
from ..models import LeNet300100
from ..population import LeNetPopulation, train_population
from ..training import TrainConfig, train
from .timing import BATCH_SIZE, BenchPlan

__all__ = ["MAX_POPULATION", "DEFAULT_POPULATIONS", "validate_populations", "parse_populations",
           "random_mnist_like", "training_runs", "rates"]

#: Largest population the benchmark accepts (memory and run time grow linearly with K).
MAX_POPULATION = 64
#: Population sizes measured by default, to find the fastest K (an IMP round of a ticket and two
#: controls trains K=3 per seed: ``--populations 3`` measures that).
DEFAULT_POPULATIONS = (1, 2, 4, 8, 16)


def validate_populations(populations: Sequence[int]) -> list[int]:
    """The population sizes, checked (integers in 1..64) and without repeats, in the given order."""
    if len(populations) == 0:
        raise ValueError("populations must list at least one population size K")
    ks: list[int] = []
    for k in populations:
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_POPULATION:
            raise ValueError(f"population size K must be an integer in 1..{MAX_POPULATION}, got {k!r}")
        if k not in ks:
            ks.append(k)
    return ks


def parse_populations(text: str) -> list[int]:
    """``"1,2,4"`` as checked population sizes (see :func:`validate_populations`)."""
    try:
        ks = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"population sizes must be comma-separated integers such as 1,2,4, got {text!r}") from None
    return validate_populations(ks)


def random_mnist_like(n_train: int = 55_000, n_val: int = BATCH_SIZE, n_test: int = BATCH_SIZE,
                      seed: int = 0) -> MNISTData:
    """Random normal ``(n, 784)`` inputs with labels 0-9: MNIST's shapes without MNIST.

    Speed does not depend on the values. The validation and test sets are one minibatch each
    by default, so that the training timings include almost no evaluation.
    """
    for name, n in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test)):
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"{name} must be a positive integer, got {n!r}")
    generator = torch.Generator().manual_seed(seed)

    def split(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.randn(n, 784, generator=generator), torch.randint(0, 10, (n,), generator=generator)

    (tx, ty), (vx, vy), (sx, sy) = split(n_train), split(n_val), split(n_test)
    return MNISTData("random MNIST-shaped tensors", "random normal (benchmark)", tx, ty, vx, vy, sx, sy)


def _config(iterations: int) -> TrainConfig:
    # Evaluate once, at the end: both loops always evaluate after the last iteration.
    return TrainConfig(iterations=iterations, batch_size=BATCH_SIZE, eval_every=iterations)


def training_runs(ks: Sequence[int], data: MNISTData, plan: BenchPlan) -> dict[str, Callable[[], object]]:
    """One timed run per loop: ``"single"`` (``train``) and ``"K=<k>"`` (``train_population``) for each K.

    Each call of a run continues training the same networks (speed does not depend on the
    weights), so no timed run pays for building its networks. Time them with
    :func:`~lth_helpers.benchmarks.timing.best_seconds`; :func:`rates` turns the seconds into
    network-samples/s.
    """
    ks = validate_populations(ks)
    model = LeNet300100(seed=0)
    runs: dict[str, Callable[[], object]] = {
        "single": lambda: train(model, data, _config(plan.single_iterations), seed=1, progress=False)}
    for k in ks:
        population = LeNetPopulation([LeNet300100(seed=i).state_dict() for i in range(k)])
        runs[f"K={k}"] = (lambda p=population, n=plan.population_iterations(k):
                          train_population(p, data, _config(n), seed=1, progress=False))
    return runs


def rates(seconds: Mapping[str, float], ks: Sequence[int], plan: BenchPlan) -> tuple[float, dict[int, float]]:
    """Network-samples/s from the best seconds of :func:`training_runs`: ``(single, {K: rate})``.

    A population's rate is summed over its K members: K x iterations x 60 / seconds.
    """
    single = plan.single_iterations * BATCH_SIZE / seconds["single"]
    return single, {k: k * plan.population_iterations(k) * BATCH_SIZE / seconds[f"K={k}"] for k in ks}
