"""Train K masked LeNet-300-100 networks in lockstep on the same minibatches.

Why: an IMP round trains the winning ticket and its controls (random reinitialization,
random mask, ...) on the same data. On a CPU, one network at batch 60 leaves most of the
machine idle: the matrices are too small and Python's per-step overhead is paid per network.
Stacking the K members turns the first layer of all of them into one wide matrix multiply
``(60 x 784) @ (784 x K*300)`` and the other layers into batched multiplies (``bmm``), so
the per-step overhead is paid once for all K.

Each member keeps its own weights, mask, biases and Adam state; nothing is shared but the
minibatch. Adam is elementwise, so one Adam over the stacked tensors is exactly K
independent Adams.

The forward and backward passes are written out by hand (20 lines of matrix algebra, see
:meth:`LeNetPopulation._step`) rather than left to autograd: the gradients are written
straight into preallocated buffers, and the gradient of the input, which nobody needs, is
never computed. The single-network loop in :mod:`lth_helpers.training` is the reference;
``tests/test_population.py`` checks that both give each member the same numbers.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

from .data import MNISTData
from .fused_adam import PopulationAdam
from .history import History
from .models import LAYER_NAMES, LeNet300100
from .training import TrainConfig, fit

__all__ = ["LeNetPopulation", "train_population", "train_with_checkpoints"]


class LeNetPopulation:
    """K LeNet-300-100 networks held as stacked tensors.

    ``weights[l]`` has shape ``(K, out, in)``, ``biases[l]`` ``(K, out)`` and ``masks[l]``
    (float 0/1) the shape of ``weights[l]``, for the layers fc1, fc2, fc3.
    """

    def __init__(self, states: Sequence[dict[str, torch.Tensor]], device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32) -> None:
        """Stack members given as ``LeNet300100.state_dict()``-style dicts.

        Each dict has ``fc1.weight``, ``fc1.bias``, ``fc1.mask`` and so on (a missing mask
        means dense). Pruned weights are set to exactly 0.0. ``dtype=torch.float64`` makes the
        arithmetic exact enough to compare with the reference loop without float32 rounding.
        """
        if len(states) == 0:
            raise ValueError("a population needs at least one member")
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        self.size = len(states)
        self.device = torch.device(device)
        self.dtype = dtype
        self.weights: list[torch.Tensor] = []
        self.biases: list[torch.Tensor] = []
        self.masks: list[torch.Tensor] = []
        for name in LAYER_NAMES:
            w = torch.stack([s[f"{name}.weight"].detach() for s in states]).to(self.device, dtype)
            m = torch.stack([
                s[f"{name}.mask"].detach() if f"{name}.mask" in s else torch.ones_like(s[f"{name}.weight"])
                for s in states
            ]).to(self.device, dtype)
            b = torch.stack([s[f"{name}.bias"].detach() for s in states]).to(self.device, dtype)
            w.mul_(m)
            self.weights.append(w.contiguous())
            self.masks.append(m.contiguous())
            self.biases.append(b.contiguous())
        self._minus_one = torch.tensor(-1.0, device=self.device, dtype=dtype)

    @classmethod
    def from_models(cls, models: Sequence[LeNet300100], dtype: torch.dtype = torch.float32) -> "LeNetPopulation":
        """Stack existing models (their current weights, biases and masks)."""
        device = next(models[0].parameters()).device
        return cls([m.state_dict() for m in models], device=device, dtype=dtype)

    def member_state(self, k: int) -> dict[str, torch.Tensor]:
        """Member ``k`` as a ``state_dict`` for :class:`LeNet300100` (CPU copies)."""
        state = {}
        for name, w, b, m in zip(LAYER_NAMES, self.weights, self.biases, self.masks):
            state[f"{name}.weight"] = w[k].detach().cpu().float().clone()
            state[f"{name}.bias"] = b[k].detach().cpu().float().clone()
            state[f"{name}.mask"] = m[k].detach().cpu().float().clone()
        return state

    def member_model(self, k: int) -> LeNet300100:
        """Member ``k`` as a stand-alone :class:`LeNet300100`."""
        model = LeNet300100()
        model.load_state_dict(self.member_state(k))
        return model

    # -- forward pass ------------------------------------------------------------------

    def _hidden1(self, x: torch.Tensor) -> torch.Tensor:
        """First layer of all K members in one matmul: (n, 784) -> (K, n, 300)."""
        K, out, inp = self.weights[0].shape
        wide = torch.addmm(self.biases[0].view(-1), x, self.weights[0].view(K * out, inp).t())
        return wide.relu_().view(len(x), K, out).transpose(0, 1)

    def _layer(self, h: torch.Tensor, layer: int) -> torch.Tensor:
        """Layer ``layer`` (1 or 2) of all members as one batched matmul: (K, n, in) -> (K, n, out)."""
        return torch.baddbmm(self.biases[layer].unsqueeze(1), h, self.weights[layer].transpose(1, 2))

    @torch.no_grad()
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs of every member for inputs ``x`` of shape (n, 784): shape (K, n, 10)."""
        h1 = self._hidden1(x)
        h2 = self._layer(h1, 1).relu_()
        return self._layer(h2, 2)

    @torch.no_grad()
    def evaluate_examples(self, x: torch.Tensor, y: torch.Tensor, chunk: int = 2_500
                          ) -> tuple[torch.Tensor, torch.Tensor]:
        """Every member's mean cross-entropy loss (float64, shape (K,)) and which of the ``n``
        examples it classifies correctly (bool, shape (K, n)).

        Runs in chunks of ``chunk`` examples so that memory stays small (Binder has 2 GB).
        """
        loss = torch.zeros(self.size, device=self.device, dtype=torch.float64)
        correct = torch.empty(self.size, len(y), device=self.device, dtype=torch.bool)
        for start in range(0, len(y), chunk):
            logits = self.logits(x[start:start + chunk].to(self.dtype))
            target = y[start:start + chunk]
            log_probs = torch.log_softmax(logits, dim=2)
            index = target.view(1, -1, 1).expand(self.size, -1, 1)
            loss -= log_probs.gather(2, index).squeeze(2).sum(1).double()
            correct[:, start:start + chunk] = logits.argmax(2) == target
        return loss / len(y), correct

    def evaluate(self, x: torch.Tensor, y: torch.Tensor, chunk: int = 2_500) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean cross-entropy loss and accuracy of every member: two float64 tensors of shape (K,)."""
        loss, correct = self.evaluate_examples(x, y, chunk)
        return loss, correct.double().mean(1)

    # -- training ----------------------------------------------------------------------

    def _parameters(self) -> list[torch.Tensor]:
        return [t for pair in zip(self.weights, self.biases) for t in pair]

    def _step(self, x: torch.Tensor, y: torch.Tensor, grads: list[torch.Tensor]) -> torch.Tensor:
        """Forward and backward for one minibatch; writes gradients into ``grads``.

        Returns the K per-member mean losses. With ``d`` the gradient of a member's mean
        cross-entropy with respect to a layer's pre-activation, the layer's weight gradient is
        ``d^T @ input`` and its bias gradient is ``d`` summed over the batch.
        """
        B = len(y)
        K = self.size
        W1, W2, W3 = self.weights
        gW1, gb1, gW2, gb2, gW3, gb3 = grads
        # Forward. h1: (K, B, 300), h2: (K, B, 100), z3: (K, B, 10)
        h1 = self._hidden1(x)
        h2 = self._layer(h1, 1).relu_()
        z3 = self._layer(h2, 2)
        # Softmax cross-entropy: d(loss)/d(z3) = (softmax - onehot) / B for each member.
        log_probs = torch.log_softmax(z3, dim=2)
        label = y.view(1, B, 1).expand(K, B, 1)
        losses = -log_probs.gather(2, label).mean(dim=(1, 2))
        d3 = log_probs.exp_()
        # Subtract the one-hot labels with one scatter (half the time of an index_put here).
        d3.scatter_add_(2, label, self._minus_one.expand(K, B, 1))
        d3.div_(B)
        # Output layer.
        torch.bmm(d3.transpose(1, 2), h2, out=gW3)
        torch.sum(d3, 1, out=gb3)
        # Second layer: back through W3 and the ReLU (h2 > 0 where the unit was active).
        # threshold_backward is ReLU's own backward kernel: one pass instead of compare + multiply.
        d2 = _relu_backward(torch.bmm(d3, W3), h2, 0)
        torch.bmm(d2.transpose(1, 2), h1, out=gW2)
        torch.sum(d2, 1, out=gb2)
        # First layer: back through W2 and the ReLU, then one wide matmul for all K members.
        d1 = _relu_backward(torch.bmm(d2, W2), h1, 0)
        d1_wide = d1.transpose(0, 1).reshape(B, K * W1.shape[1])
        torch.mm(d1_wide.t(), x, out=gW1.view(K * W1.shape[1], W1.shape[2]))
        torch.sum(d1_wide, 0, out=gb1.view(-1))
        # Pruned weights get exactly zero gradient, so Adam never moves them off 0.0.
        torch._foreach_mul_([gW1, gW2, gW3], self.masks)
        return losses


_relu_backward = torch.ops.aten.threshold_backward


class _Lockstep:
    """A population with its gradient buffers and one fused Adam: :func:`fit`'s view of it."""

    def __init__(self, population: LeNetPopulation, config: TrainConfig) -> None:
        self.population = population
        self.size = population.size
        self.params = population._parameters()
        for p in self.params:
            p.requires_grad_(True)
            p.grad = torch.zeros_like(p)
        self.grads = [p.grad for p in self.params]
        # Adam is elementwise: one Adam over the stacked tensors is K independent Adams.
        self.optimizer = PopulationAdam(self.params, config.lr, config.weight_decay)
        self.kept: list[torch.Tensor] | None = None

    def step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            losses = self.population._step(x.to(self.population.dtype), y, self.grads)
        self.optimizer.step()
        return losses

    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.population.evaluate(x, y)

    def keep(self, members: list[int]) -> None:
        if self.kept is None:
            self.kept = [p.detach().clone() for p in self.params]
        for k in members:  # a copy of each improved member's weights, no evaluation
            for kept, current in zip(self.kept, self.params):
                kept[k].copy_(current[k])

    @torch.no_grad()
    def evaluate_kept(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        population = self.population
        saved = population.weights, population.biases
        kept = self.kept if self.kept is not None else self.params
        population.weights, population.biases = list(kept[0::2]), list(kept[1::2])
        try:
            return population.evaluate_examples(x, y)
        finally:
            population.weights, population.biases = saved

    def release(self) -> None:
        """Leave the population's tensors as plain tensors again (no autograd state)."""
        for p in self.params:
            p.grad = None
            p.requires_grad_(False)


def train_population(population: LeNetPopulation, data: MNISTData, config: TrainConfig = TrainConfig(),
                     seed: int = 0, progress: bool = True, desc: str = "training",
                     on_step: Callable[[int], None] | None = None) -> list[History]:
    """Train every member of ``population`` in place, in lockstep; one :class:`History` each.

    All members see the minibatches ``minibatch_indices(..., seed)`` gives, exactly as
    :func:`lth_helpers.training.train` with the same ``seed`` would, through the same loop
    (:func:`~lth_helpers.training.fit`, which calls ``on_step(iteration)`` after every step). Only
    Adam (the paper's optimizer, with optional L2 weight decay) is supported here; use
    :func:`~lth_helpers.training.train` for others.
    """
    if config.optimizer != "adam":
        raise ValueError(
            f"train_population supports optimizer 'adam' only, got {config.optimizer!r}; "
            "use lth_helpers.training.train for other optimizers"
        )
    if data.train_x.device != population.device:
        data = data.to(population.device)
    trainee = _Lockstep(population, config)
    try:
        return fit(trainee, data, config, seed, progress, desc, on_step)
    finally:
        trainee.release()


def train_with_checkpoints(population: LeNetPopulation, data: MNISTData, config: TrainConfig, seed: int,
                           checkpoints: Sequence[int], progress: bool = True, desc: str = "training"
                           ) -> tuple[list[History], dict[int, list[dict[str, torch.Tensor]]]]:
    """:func:`train_population`, also copying every member's ``state_dict`` right after each of the
    iterations in ``checkpoints``: ``(histories, {iteration: [member 0's state, ...]})``.

    Late rewinding resets a ticket to the dense network's weights at such an iteration.
    """
    wanted = set(checkpoints)
    bad = [k for k in wanted if isinstance(k, bool) or not isinstance(k, int) or not 0 < k <= config.iterations]
    if bad:
        raise ValueError(f"checkpoints must be iterations in 1..{config.iterations}, got {sorted(map(str, bad))}")
    captured: dict[int, list[dict[str, torch.Tensor]]] = {}

    def capture(iteration: int) -> None:
        if iteration in wanted:
            captured[iteration] = [population.member_state(k) for k in range(population.size)]

    return train_population(population, data, config, seed, progress, desc, on_step=capture), captured
