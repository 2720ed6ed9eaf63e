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
from dataclasses import asdict, dataclass
from typing import Callable, Iterable, Iterator, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from .data import MNISTData
from .history import History

__all__ = [
    "TrainConfig",
    "History",
    "OPTIMIZERS",
    "minibatch_indices",
    "make_optimizer",
    "evaluate",
    "evaluate_examples",
    "train",
    "fit",
    "Trainee",
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
    """

    iterations: int = 50_000
    batch_size: int = 60
    lr: float = 1.2e-3
    eval_every: int = 100
    optimizer: str = "adam"
    momentum: float = 0.0
    weight_decay: float = 0.0
    test_every: int | None = None

    def __post_init__(self) -> None:
        for name in ("iterations", "batch_size", "eval_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not _is_number(self.lr) or not (0 < self.lr < math.inf):
            raise ValueError(f"lr must be a positive finite number, got {self.lr!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}: expected one of {OPTIMIZERS}")
        if not _is_number(self.momentum) or not (0.0 <= self.momentum < 1.0):
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if not _is_number(self.weight_decay) or not (0.0 <= self.weight_decay < math.inf):
            raise ValueError(f"weight_decay must be a finite number >= 0, got {self.weight_decay!r}")
        if self.test_every is not None and (not isinstance(self.test_every, int) or isinstance(self.test_every, bool)
                                            or self.test_every < 1):
            raise ValueError(f"test_every must be None or a positive integer, got {self.test_every!r}")

    def test_due(self, iteration: int) -> bool:
        """Whether the test set is evaluated at this evaluation (see ``test_every``)."""
        return self.test_every is None or iteration % self.test_every == 0 or iteration == self.iterations

    def eval_due(self, iteration: int) -> bool:
        """Whether validation (and maybe test) is evaluated after this iteration."""
        return iteration % self.eval_every == 0 or iteration == self.iterations

    def to_dict(self) -> dict:
        return asdict(self)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


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


def make_optimizer(params: Iterable[torch.Tensor], config: TrainConfig, fused: bool = False) -> torch.optim.Optimizer:
    """A fresh optimizer as ``config`` describes it: the one place optimizers are built.

    ``fused=True`` asks for PyTorch's fused Adam kernel (one pass over all parameters); builds
    without it fall back to the ``foreach`` version. (The population trainer calls that kernel
    directly, :mod:`lth_helpers.fused_adam`.)
    """
    params = list(params)
    if config.optimizer == "adam":
        if fused:
            try:
                return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, fused=True)
            except (RuntimeError, TypeError, ValueError):
                return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, foreach=True)
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


@torch.no_grad()
def evaluate_examples(model: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, y: torch.Tensor,
                      chunk: int = 10_000) -> tuple[float, torch.Tensor]:
    """Mean cross-entropy loss of ``model`` on ``(x, y)``, and which examples it gets right (bool, (n,)).

    ``model`` is anything that maps inputs to logits: a :class:`~lth_helpers.models.LeNet300100`,
    or ``lambda x: lenet_logits(x, weights, biases, masks)`` for weights held in dicts. This is
    the one evaluation of a single network in the package.
    """
    was_training = isinstance(model, nn.Module) and model.training
    if isinstance(model, nn.Module):
        model.eval()
    total_loss = torch.zeros((), device=x.device, dtype=torch.float64)
    correct = torch.empty(len(y), device=x.device, dtype=torch.bool)
    for start in range(0, len(y), chunk):
        logits = model(x[start:start + chunk])
        target = y[start:start + chunk]
        total_loss += F.cross_entropy(logits, target, reduction="sum").double()
        correct[start:start + chunk] = logits.argmax(1) == target
    if was_training:
        model.train()
    return float(total_loss) / len(y), correct


def evaluate(model: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, y: torch.Tensor,
             chunk: int = 10_000) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy (0-1) of ``model`` on ``(x, y)`` (see :func:`evaluate_examples`)."""
    loss, correct = evaluate_examples(model, x, y, chunk)
    return loss, float(correct.double().mean())


def progress_bar(total: int, desc: str, enabled: bool = True, **kwargs):
    """A ``tqdm.auto`` progress bar (a widget in notebooks, text in a terminal) that disappears
    when it finishes.

    In a notebook the finished bar is hidden, not closed: a closed widget's saved output would
    read "Error displaying widget: model not found" in Voila and in a reopened notebook, while a
    hidden one renders as nothing everywhere.
    """
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, disable=not enabled, leave=False, **kwargs)
    container = getattr(bar, "container", None)
    if container is not None:  # the notebook's widget bar
        bar.leave = True       # so that closing it keeps the widget...
        close = bar.close

        def close_and_hide() -> None:
            close()
            container.layout.display = "none"  # ...and hides it instead

        bar.close = close_and_hide
    return bar


class Trainee(Protocol):
    """What :func:`fit` needs from a trainer: one network (:func:`train`) or K in lockstep.

    Every method works on all members at once and returns one value per member.
    """

    size: int

    def step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One optimizer step on the minibatch ``(x, y)``; the members' losses, shape (K,)."""

    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean loss and accuracy of every member, two float64 tensors of shape (K,)."""

    def keep(self, members: list[int]) -> None:
        """Remember the current weights of these members (their new validation minimum)."""

    def evaluate_kept(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """On the weights last kept for each member: the mean loss, shape (K,), and which
        examples each member classifies correctly, bool of shape (K, n)."""


def fit(trainee: Trainee, data: MNISTData, config: TrainConfig, seed: int = 0, progress: bool = True,
        desc: str = "training", on_step: Callable[[int], None] | None = None) -> list[History]:
    """The training loop both trainers share; one :class:`History` per member.

    Draws the minibatches ``minibatch_indices(..., seed)`` gives, steps every member on each,
    evaluates every ``config.eval_every`` iterations, and keeps the weights at each member's
    validation minimum. After training, the kept weights are tested once more: that gives the
    test accuracy at early stopping exactly (also when ``config.test_every`` skips the test set
    at most evaluations) and which test digits each network got right there, the raw material of
    the paired intervals in :mod:`lth_helpers.comparisons`. Early stopping is read off afterwards;
    it never shortens training. ``on_step(iteration)``, if given, is called after every optimizer
    step (e.g. to copy the weights at the iterations that late rewinding resets to).
    """
    size, device = trainee.size, data.train_x.device
    histories = [History() for _ in range(size)]
    best_val_loss = torch.full((size,), math.inf, dtype=torch.float64, device=device)
    running_loss = torch.zeros(size, device=device)
    steps_since_eval = 0
    with progress_bar(config.iterations, desc, progress, unit="it") as bar:
        batches = minibatch_indices(len(data.train_y), config.batch_size, config.iterations, seed)
        for iteration, idx in enumerate(batches, start=1):
            idx = idx.to(device)
            # index_select: the same rows as train_x[idx], about 3x faster for a batch of 60 (CPU).
            x, y = torch.index_select(data.train_x, 0, idx), torch.index_select(data.train_y, 0, idx)
            running_loss += trainee.step(x, y)
            steps_since_eval += 1
            if on_step is not None:
                on_step(iteration)
            if config.eval_due(iteration):
                val_loss, val_acc = trainee.evaluate(data.val_x, data.val_y)
                if config.test_due(iteration):
                    test_loss, test_acc = trainee.evaluate(data.test_x, data.test_y)
                else:
                    test_loss = test_acc = torch.full((size,), math.nan, dtype=torch.float64)
                improved = (val_loss < best_val_loss).nonzero().flatten().tolist()
                best_val_loss = torch.minimum(best_val_loss, val_loss)
                if improved:
                    trainee.keep(improved)
                mean_train = (running_loss / steps_since_eval).tolist()
                for k, history in enumerate(histories):
                    history.append(iteration, mean_train[k], (float(val_loss[k]), float(val_acc[k])),
                                   (float(test_loss[k]), float(test_acc[k])))
                running_loss.zero_()
                steps_since_eval = 0
                bar.set_postfix(val_acc=f"{float(val_acc.mean()):.4f}", refresh=False)
            bar.update(1)
    test_loss, test_correct = trainee.evaluate_kept(data.test_x, data.test_y)
    for k, history in enumerate(histories):
        history.set_test_at_early_stop(float(test_loss[k]), test_correct[k])
    return histories


class _OneNetwork:
    """A single ``nn.Module`` and its optimizer, seen as a population of one (see :class:`Trainee`)."""

    size = 1

    def __init__(self, model: nn.Module, config: TrainConfig) -> None:
        self.model = model
        self.optimizer = make_optimizer(model.parameters(), config)
        self.kept: dict[str, torch.Tensor] | None = None

    def step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = F.cross_entropy(self.model(x), y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach().view(1)

    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        loss, acc = evaluate(self.model, x, y)
        return torch.tensor([loss], dtype=torch.float64), torch.tensor([acc], dtype=torch.float64)

    def _evaluate_examples(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        loss, correct = evaluate_examples(self.model, x, y)
        return torch.tensor([loss], dtype=torch.float64), correct.unsqueeze(0)

    def keep(self, members: list[int]) -> None:
        self.kept = {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def evaluate_kept(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        current = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self.model.load_state_dict(self.kept if self.kept is not None else current)
        try:
            return self._evaluate_examples(x, y)
        finally:
            self.model.load_state_dict(current)


def train(model: nn.Module, data: MNISTData, config: TrainConfig = TrainConfig(), seed: int = 0,
          progress: bool = True, desc: str = "training") -> History:
    """Train ``model`` in place and return its :class:`History`: the readable reference loop.

    ``seed`` fixes the minibatch order (see :func:`minibatch_indices`); the model's
    initialization is whatever it holds. Runs on the device the model is on; ``data`` is
    moved there if needed. Any optimizer of :data:`OPTIMIZERS` works here.
    """
    device = next(model.parameters()).device
    if data.train_x.device != device:
        data = data.to(device)
    model.train()
    return fit(_OneNetwork(model, config), data, config, seed, progress, desc)[0]
