"""Training one masked network: the reference loop, its configuration and its history.

The loop draws minibatches straight from tensors in memory, evaluates the validation and
test sets every ``eval_every`` iterations, and reads the early-stopping iteration off the
history afterwards (the iteration of minimum validation loss, as in the paper); early
stopping never changes how long a network trains.

:mod:`lth_helpers.population` trains many networks at once and is what the IMP driver
uses; this loop is the readable reference it is tested against, and the one to use with an
optimizer other than Adam.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Iterable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from .data import MNISTData

__all__ = [
    "TrainConfig",
    "History",
    "OPTIMIZERS",
    "minibatch_indices",
    "make_optimizer",
    "evaluate",
    "train",
    "progress_bar",
]

OPTIMIZERS = ("adam", "adamw", "sgd")


@dataclass(frozen=True)
class TrainConfig:
    """How one network is trained. Defaults are the paper's LeNet settings (Figure 2).

    Attributes:
        iterations: number of minibatches (optimizer steps).
        batch_size: examples per minibatch (paper: 60).
        lr: learning rate (paper: Adam at 1.2e-3).
        eval_every: evaluate validation and test every this many iterations (paper: 100).
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"``.
        momentum: SGD momentum (ignored by Adam).
        weight_decay: L2 penalty (decoupled for ``adamw``).
        test_every: evaluate the test set only every this many iterations and at the end
            (other entries of the test curves are NaN). ``None`` (the default, and the
            paper's protocol) evaluates it at every evaluation. The test accuracy at early
            stopping is exact either way: the weights at each new validation minimum are
            kept, and the test set is evaluated on the best of them after training.
        eval_precision: ``"float32"`` or ``"bfloat16"``: the precision of the validation pass
            (population trainer only; test evaluation is always float32). bfloat16 makes
            evaluation about 3.5x cheaper and moves validation losses by < 1e-3
            (``benchmarks/README.md``).
    """

    iterations: int = 50_000
    batch_size: int = 60
    lr: float = 1.2e-3
    eval_every: int = 100
    optimizer: str = "adam"
    momentum: float = 0.0
    weight_decay: float = 0.0
    test_every: int | None = None
    eval_precision: str = "float32"

    def __post_init__(self) -> None:
        for name in ("iterations", "batch_size", "eval_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}: expected one of {OPTIMIZERS}")
        if not (0.0 <= self.momentum < 1.0):
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if self.test_every is not None and (not isinstance(self.test_every, int) or self.test_every < 1):
            raise ValueError(f"test_every must be None or a positive integer, got {self.test_every!r}")
        if self.eval_precision not in ("float32", "bfloat16"):
            raise ValueError(f"eval_precision must be 'float32' or 'bfloat16', got {self.eval_precision!r}")

    def test_due(self, iteration: int) -> bool:
        """Whether the test set is evaluated at this evaluation (see ``test_every``)."""
        return self.test_every is None or iteration % self.test_every == 0 or iteration == self.iterations

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class History:
    """Learning curves of one training run, and the numbers the paper reports from them.

    Every list has one entry per evaluation; ``iterations[i]`` is when entry ``i`` was taken.
    ``train_loss[i]`` is the mean training loss over the iterations since the last evaluation.
    Accuracies are fractions in 0-1.
    """

    iterations: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)

    def append(self, iteration: int, train_loss: float, val: tuple[float, float], test: tuple[float, float]) -> None:
        self.iterations.append(int(iteration))
        self.train_loss.append(float(train_loss))
        self.val_loss.append(float(val[0]))
        self.val_acc.append(float(val[1]))
        self.test_loss.append(float(test[0]))
        self.test_acc.append(float(test[1]))

    def _best(self) -> int:
        if not self.val_loss:
            raise ValueError("this history has no evaluations yet")
        # The first minimum: ties go to the earlier iteration.
        return min(range(len(self.val_loss)), key=lambda i: (self.val_loss[i], i))

    @property
    def early_stop_iteration(self) -> int:
        """Iteration of minimum validation loss (the paper's early-stopping criterion)."""
        return self.iterations[self._best()]

    @property
    def test_acc_at_early_stop(self) -> float:
        """Test accuracy at the early-stopping iteration."""
        return self.test_acc[self._best()]

    @property
    def val_acc_at_early_stop(self) -> float:
        return self.val_acc[self._best()]

    @property
    def final_test_acc(self) -> float:
        """Test accuracy after the last iteration."""
        return self.test_acc[-1]

    def set_test_at_early_stop(self, test: tuple[float, float]) -> None:
        """Record the test loss and accuracy of the weights at the early-stopping iteration."""
        best = self._best()
        self.test_loss[best], self.test_acc[best] = float(test[0]), float(test[1])

    def evaluated(self, metric: str) -> tuple[list[int], list[float]]:
        """``(iterations, values)`` of ``metric`` where it was evaluated (NaN entries dropped)."""
        values = getattr(self, metric)
        pairs = [(i, v) for i, v in zip(self.iterations, values) if not math.isnan(v)]
        return [i for i, _ in pairs], [v for _, v in pairs]

    def summary(self) -> dict:
        """The headline numbers as a dict."""
        return {
            "early_stop_iteration": self.early_stop_iteration,
            "test_acc_at_early_stop": self.test_acc_at_early_stop,
            "val_acc_at_early_stop": self.val_acc_at_early_stop,
            "final_test_acc": self.final_test_acc,
        }

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "History":
        return cls(**{k: list(data[k]) for k in cls.__dataclass_fields__})


def minibatch_indices(n: int, batch_size: int, iterations: int, seed: int) -> Iterator[torch.Tensor]:
    """Indices of ``iterations`` minibatches: shuffled epochs, one after the other.

    A minibatch may straddle two epochs, so every example is seen equally often. The order
    depends only on ``seed``: every network given the same seed sees the same minibatches.
    """
    if batch_size > n:
        raise ValueError(f"batch_size {batch_size} is larger than the training set ({n} examples)")
    generator = torch.Generator().manual_seed(int(seed))
    pending = torch.empty(0, dtype=torch.long)
    for _ in range(iterations):
        if len(pending) < batch_size:
            pending = torch.cat([pending, torch.randperm(n, generator=generator)])
        yield pending[:batch_size]
        pending = pending[batch_size:]


def make_optimizer(params: Iterable[torch.Tensor], config: TrainConfig) -> torch.optim.Optimizer:
    """A fresh optimizer as ``config`` describes it."""
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk: int = 10_000) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy (0-1) of ``model`` on ``(x, y)``."""
    was_training = model.training
    model.eval()
    total_loss = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device, dtype=torch.long)
    for start in range(0, len(y), chunk):
        logits = model(x[start:start + chunk])
        target = y[start:start + chunk]
        total_loss += F.cross_entropy(logits, target, reduction="sum")
        correct += (logits.argmax(1) == target).sum()
    model.train(was_training)
    return float(total_loss) / len(y), float(correct) / len(y)


def progress_bar(total: int, desc: str, enabled: bool = True, **kwargs):
    """A ``tqdm.auto`` progress bar (a widget in notebooks, text in a terminal)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, leave=False, **kwargs)


def train(model: nn.Module, data: MNISTData, config: TrainConfig = TrainConfig(), seed: int = 0,
          progress: bool = True, desc: str = "training") -> History:
    """Train ``model`` in place and return its :class:`History`.

    ``seed`` fixes the minibatch order (see :func:`minibatch_indices`); the model's
    initialization is whatever it holds. Runs on the device the model is on; ``data`` is
    moved there if needed.
    """
    if config.eval_precision != "float32":
        raise ValueError(f"train() evaluates in float32 only, got eval_precision={config.eval_precision!r}; "
                         "use lth_helpers.population.train_population for bfloat16 evaluation")
    device = next(model.parameters()).device
    if data.train_x.device != device:
        data = data.to(device)
    optimizer = make_optimizer(model.parameters(), config)
    best_val_loss = math.inf
    best_state = None  # weights at the validation minimum, kept when the test set is evaluated sparsely
    history = History()
    running_loss = torch.zeros((), device=device)
    steps_since_eval = 0
    model.train()
    with progress_bar(config.iterations, desc, progress) as bar:
        batches = minibatch_indices(len(data.train_y), config.batch_size, config.iterations, seed)
        for iteration, idx in enumerate(batches, start=1):
            idx = idx.to(device)
            loss = F.cross_entropy(model(data.train_x[idx]), data.train_y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            running_loss += loss.detach()
            steps_since_eval += 1
            if iteration % config.eval_every == 0 or iteration == config.iterations:
                val = evaluate(model, data.val_x, data.val_y)
                test = evaluate(model, data.test_x, data.test_y) if config.test_due(iteration) else (math.nan, math.nan)
                if val[0] < best_val_loss:
                    best_val_loss = val[0]
                    if config.test_every is not None:
                        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                history.append(iteration, float(running_loss) / steps_since_eval, val, test)
                running_loss.zero_()
                steps_since_eval = 0
                bar.set_postfix(val_acc=f"{history.val_acc[-1]:.4f}", refresh=False)
            bar.update(1)
    if best_state is not None:
        final_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model.load_state_dict(best_state)
        history.set_test_at_early_stop(evaluate(model, data.test_x, data.test_y))
        model.load_state_dict(final_state)
    return history
