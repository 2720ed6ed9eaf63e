"""The learning curves of one training run, and the numbers the paper reads off them."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np
import torch

__all__ = ["History", "pack_bits", "unpack_bits"]


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
    # Which test examples the weights at early stopping get right, packed (see pack_bits).
    test_correct_at_early_stop: str = ""

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

    def set_test_at_early_stop(self, loss: float, correct: Sequence[bool] | np.ndarray | torch.Tensor) -> None:
        """Record the test loss of the weights at the early-stopping iteration, and which test
        examples they classify correctly (the accuracy is the fraction of those)."""
        correct = np.asarray(correct.cpu() if isinstance(correct, torch.Tensor) else correct, dtype=bool)
        best = self._best()
        self.test_loss[best] = float(loss)
        self.test_acc[best] = float(correct.mean(dtype=np.float64)) if len(correct) else math.nan
        self.test_correct_at_early_stop = pack_bits(correct)

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
        curves = {k: list(data[k]) for k in cls.__dataclass_fields__ if k != "test_correct_at_early_stop"}
        return cls(**curves, test_correct_at_early_stop=str(data.get("test_correct_at_early_stop", "")))


def pack_bits(flags: Sequence[bool] | np.ndarray) -> str:
    """``n`` booleans as the text ``"n:hex"`` (one bit each): compact enough for a JSON record."""
    flags = np.asarray(flags, dtype=bool)
    return f"{len(flags)}:{np.packbits(flags).tobytes().hex()}"


def unpack_bits(text: str) -> np.ndarray:
    """The booleans :func:`pack_bits` packed; raises ``ValueError`` on malformed text."""
    try:
        count, digits = text.split(":")
        n = int(count)
        bits = np.unpackbits(np.frombuffer(bytes.fromhex(digits), dtype=np.uint8))
    except ValueError:
        raise ValueError(f"malformed packed booleans {text[:40]!r}: expected 'n:hex'") from None
    if n < 0 or len(bits) < n or len(bits) - n >= 8:
        raise ValueError(f"packed booleans {text[:40]!r} do not hold {n} values")
    return bits[:n].astype(bool)
