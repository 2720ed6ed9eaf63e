"""The learning curves of one training run, and the numbers the paper reads off them."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

__all__ = ["History"]


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
