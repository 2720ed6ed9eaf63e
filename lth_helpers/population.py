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

import math
from typing import Sequence

import torch

from .data import MNISTData
from .models import LAYER_NAMES, LeNet300100
from .training import History, TrainConfig, minibatch_indices, progress_bar

__all__ = ["LeNetPopulation", "train_population", "prepare_training", "EVAL_PRECISIONS"]

#: Choices for :meth:`LeNetPopulation.evaluate`'s ``precision``.
EVAL_PRECISIONS = ("float32", "bfloat16")


class LeNetPopulation:
    """K LeNet-300-100 networks held as stacked tensors.

    ``weights[l]`` has shape ``(K, out, in)``, ``biases[l]`` ``(K, out)`` and ``masks[l]``
    (float 0/1) the shape of ``weights[l]``, for the layers fc1, fc2, fc3.
    """

    def __init__(self, states: Sequence[dict[str, torch.Tensor]], device: torch.device | str = "cpu") -> None:
        """Stack members given as ``LeNet300100.state_dict()``-style dicts.

        Each dict has ``fc1.weight``, ``fc1.bias``, ``fc1.mask`` and so on (a missing mask
        means dense). Pruned weights are set to exactly 0.0.
        """
        if len(states) == 0:
            raise ValueError("a population needs at least one member")
        self.size = len(states)
        self.device = torch.device(device)
        self.weights: list[torch.Tensor] = []
        self.biases: list[torch.Tensor] = []
        self.masks: list[torch.Tensor] = []
        for name in LAYER_NAMES:
            w = torch.stack([s[f"{name}.weight"].detach().float() for s in states]).to(self.device)
            m = torch.stack([
                s[f"{name}.mask"].detach().float() if f"{name}.mask" in s else torch.ones_like(s[f"{name}.weight"])
                for s in states
            ]).to(self.device)
            b = torch.stack([s[f"{name}.bias"].detach().float() for s in states]).to(self.device)
            w.mul_(m)
            self.weights.append(w.contiguous())
            self.masks.append(m.contiguous())
            self.biases.append(b.contiguous())

    @classmethod
    def from_models(cls, models: Sequence[LeNet300100]) -> "LeNetPopulation":
        """Stack existing models (their current weights, biases and masks)."""
        device = next(models[0].parameters()).device
        return cls([m.state_dict() for m in models], device=device)

    def member_state(self, k: int) -> dict[str, torch.Tensor]:
        """Member ``k`` as a ``state_dict`` for :class:`LeNet300100` (CPU copies)."""
        state = {}
        for name, w, b, m in zip(LAYER_NAMES, self.weights, self.biases, self.masks):
            state[f"{name}.weight"] = w[k].detach().cpu().clone()
            state[f"{name}.bias"] = b[k].detach().cpu().clone()
            state[f"{name}.mask"] = m[k].detach().cpu().clone()
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
    def evaluate(self, x: torch.Tensor, y: torch.Tensor, chunk: int = 2_500,
                 precision: str = "float32") -> tuple[torch.Tensor, torch.Tensor]:
        """Mean cross-entropy loss and accuracy of every member: two float64 tensors of shape (K,).

        Runs in chunks of ``chunk`` examples so that memory stays small (Binder has 2 GB).
        ``precision="bfloat16"`` runs the two hidden layers (99.6% of the work) in bfloat16
        (float32 accumulation, bfloat16 activations), about 3.5x faster on CPUs with bfloat16
        units; losses move by up to 7e-4 and up to 5 predictions in 5,000 flip (measured in
        ``benchmarks/README.md``). Pass ``x`` already in bfloat16 to skip converting it at every call.
        """
        if precision not in EVAL_PRECISIONS:
            raise ValueError(f"precision must be one of {EVAL_PRECISIONS}, got {precision!r}")
        if precision == "bfloat16":
            # Converted once per call, not per chunk; the output layer stays in float32.
            w1 = self.weights[0].flatten(0, 1).t().bfloat16()
            b1 = self.biases[0].view(-1).bfloat16()
            w2, b2 = self.weights[1].transpose(1, 2).bfloat16(), self.biases[1].unsqueeze(1).bfloat16()
        loss = torch.zeros(self.size, device=self.device, dtype=torch.float64)
        correct = torch.zeros(self.size, device=self.device, dtype=torch.long)
        for start in range(0, len(y), chunk):
            if precision == "float32":
                logits = self.logits(x[start:start + chunk])
            else:
                h1 = torch.addmm(b1, x[start:start + chunk].bfloat16(), w1).relu_()
                h1 = h1.view(len(h1), self.size, -1).transpose(0, 1)
                h2 = torch.baddbmm(b2, h1, w2).relu_().float()
                logits = self._layer(h2, 2)
            target = y[start:start + chunk]
            log_probs = torch.log_softmax(logits, dim=2)
            index = target.view(1, -1, 1).expand(self.size, -1, 1)
            loss -= log_probs.gather(2, index).squeeze(2).sum(1).double()
            correct += (logits.argmax(2) == target).sum(1)
        return loss / len(y), correct.double() / len(y)

    def evaluate_with(self, parameters: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`evaluate` with other stacked parameters (``[W1, b1, W2, b2, W3, b3]``)."""
        saved = self.weights, self.biases
        self.weights, self.biases = list(parameters[0::2]), list(parameters[1::2])
        try:
            return self.evaluate(x, y)
        finally:
            self.weights, self.biases = saved

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
        losses = -log_probs.gather(2, y.view(1, B, 1).expand(K, B, 1)).mean(dim=(1, 2))
        d3 = log_probs.exp_()
        d3[:, torch.arange(B, device=y.device), y] -= 1.0
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


def _make_adam(params: list[torch.Tensor], config: TrainConfig) -> torch.optim.Optimizer:
    """Adam over the stacked tensors; the fused kernel where this PyTorch build has it."""
    try:
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, foreach=True)


def prepare_training(population: LeNetPopulation, config: TrainConfig
                     ) -> tuple[list[torch.Tensor], list[torch.Tensor], torch.optim.Optimizer]:
    """The stacked parameters, their preallocated gradient buffers and a fresh Adam over them.

    :meth:`LeNetPopulation._step` writes into the gradient buffers; ``optimizer.step()`` then
    updates every member. Set ``p.grad = None`` and ``p.requires_grad_(False)`` afterwards.
    """
    params = population._parameters()
    for p in params:
        p.requires_grad_(True)
        p.grad = torch.zeros_like(p)
    return params, [p.grad for p in params], _make_adam(params, config)


def train_population(population: LeNetPopulation, data: MNISTData, config: TrainConfig = TrainConfig(),
                     seed: int = 0, progress: bool = True, desc: str = "training") -> list[History]:
    """Train every member of ``population`` in place, in lockstep; one :class:`History` each.

    All members see the minibatches ``minibatch_indices(..., seed)`` gives, exactly as
    :func:`lth_helpers.training.train` with the same ``seed`` would. Only Adam (the paper's
    optimizer, with optional L2 weight decay) is supported here; use
    :func:`~lth_helpers.training.train` for other optimizers.
    """
    if config.optimizer != "adam":
        raise ValueError(
            f"train_population supports optimizer 'adam' only, got {config.optimizer!r}; "
            "use lth_helpers.training.train for other optimizers"
        )
    device = population.device
    if data.train_x.device != device:
        data = data.to(device)
    params, grads, optimizer = prepare_training(population, config)

    # Converted once: the bfloat16 validation pass then reads half the bytes every time.
    val_x = data.val_x.bfloat16() if config.eval_precision == "bfloat16" else data.val_x
    best_val_loss = torch.full((population.size,), math.inf, dtype=torch.float64, device=device)
    histories = [History() for _ in range(population.size)]
    # With a sparse test schedule, the weights at each member's validation minimum are kept so
    # that its test accuracy at early stopping can be measured exactly after training.
    best = [p.detach().clone() for p in params] if config.test_every is not None else None
    running_loss = torch.zeros(population.size, device=device)
    steps_since_eval = 0
    try:
        with progress_bar(config.iterations, desc, progress, unit="it") as bar:
            batches = minibatch_indices(len(data.train_y), config.batch_size, config.iterations, seed)
            for iteration, idx in enumerate(batches, start=1):
                idx = idx.to(device)
                with torch.no_grad():
                    running_loss += population._step(data.train_x[idx], data.train_y[idx], grads)
                optimizer.step()
                steps_since_eval += 1
                if iteration % config.eval_every == 0 or iteration == config.iterations:
                    val_loss, val_acc = population.evaluate(val_x, data.val_y, precision=config.eval_precision)
                    if config.test_due(iteration):
                        test_loss, test_acc = population.evaluate(data.test_x, data.test_y)
                    else:
                        test_loss = test_acc = torch.full((population.size,), math.nan, dtype=torch.float64)
                    improved = (val_loss < best_val_loss).nonzero().flatten().tolist()
                    best_val_loss = torch.minimum(best_val_loss, val_loss)
                    if best is not None:
                        for k in improved:  # keep each improved member's weights: a copy, no evaluation
                            for kept, current in zip(best, params):
                                kept[k].copy_(current[k])
                    mean_train = (running_loss / steps_since_eval).tolist()
                    for k, history in enumerate(histories):
                        history.append(iteration, mean_train[k], (float(val_loss[k]), float(val_acc[k])),
                                       (float(test_loss[k]), float(test_acc[k])))
                    running_loss.zero_()
                    steps_since_eval = 0
                    bar.set_postfix(val_acc=f"{float(val_acc.mean()):.4f}", refresh=False)
                bar.update(1)
    finally:
        for p in params:
            p.grad = None
            p.requires_grad_(False)
    if best is not None:
        test_loss, test_acc = population.evaluate_with(best, data.test_x, data.test_y)
        for k, history in enumerate(histories):
            history.set_test_at_early_stop((float(test_loss[k]), float(test_acc[k])))
    return histories
