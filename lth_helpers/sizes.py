"""Experiment sizes: ``quick`` (CI smoke test), ``standard`` (a reader's default) and ``paper``.

A size fixes the training schedule of one IMP round and how many rounds are run. Everything
else (optimizer, learning rate, batch size, pruning rates) follows the paper at every size, so
that the sizes differ only in how long they train, never in what they do.

The paper's LeNet schedule (Frankle & Carbin 2019, Figure 2 and Appendix G): Adam at learning
rate 1.2e-3, minibatches of 60, 50,000 iterations per round, validation and test evaluated
every 100 iterations, 20% of each hidden layer and 10% of the output layer pruned per round.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["Size", "SIZES", "get_size", "resolve_size", "PAPER_ITERATIONS"]

PAPER_ITERATIONS = 50_000


@dataclass(frozen=True)
class Size:
    """A named training schedule.

    Attributes:
        name: ``quick``, ``standard`` or ``paper``.
        iterations: training iterations (minibatches) per IMP round.
        eval_every: evaluate validation and test sets every this many iterations.
        rounds: pruning rounds after the dense run; round ``n`` keeps about ``0.8**n`` of
            each hidden layer.
        seeds: how many independent seeds a notebook runs by default at this size.
        test_every: evaluate the test set only every this many iterations, and once on the
            weights at the validation minimum (``None``: at every evaluation); see
            :class:`~lth_helpers.training.TrainConfig`.
        all_rounds: train every strategy at every round. Otherwise the strategies beyond the
            paper's Figure 4 (:data:`lth_helpers.imp.EVERY_ROUND`) are trained only at the rounds
            nearest the paper's checkpoints, which is where the notebooks compare them.
    """

    name: str
    iterations: int
    eval_every: int
    rounds: int
    seeds: int
    test_every: int | None = None
    all_rounds: bool = False

    @property
    def scale(self) -> float:
        """How many times fewer iterations than the paper's 50,000 this size trains for."""
        return PAPER_ITERATIONS / self.iterations

    def describe(self) -> str:
        """One line a notebook prints so that the reader knows what ran."""
        note = "the paper's schedule" if self.iterations == PAPER_ITERATIONS else (
            f"{self.scale:.0f}x fewer iterations than the paper's {PAPER_ITERATIONS:,}"
        )
        evaluation = f"evaluation every {self.eval_every}"
        if self.test_every is not None:
            evaluation = (f"validation every {self.eval_every}, test every {self.test_every:,} and on the "
                          "weights at the validation minimum (all in float32)")
        return (
            f"size '{self.name}': {self.iterations:,} iterations per round ({note}), "
            f"{evaluation}, {self.rounds} pruning round{'' if self.rounds == 1 else 's'}"
        )


SIZES: dict[str, Size] = {
    # Seconds: enough to exercise every code path, not enough to learn much.
    "quick": Size("quick", iterations=150, eval_every=50, rounds=2, seeds=1, all_rounds=True),
    # Minutes on a laptop: 16 rounds reach 2.9% of the weights, as the paper's plots do. 3,000
    # iterations let every network reach its validation minimum well before the end (measured on
    # 4,000-iteration runs of every strategy and round of notebooks 2-5: the latest minimum came at
    # iteration 2,300; the records' `late_minimum` flags any minimum in the last 10%). Validation every
    # 100 iterations as in the paper; the test set every 500 and on the weights at the validation
    # minimum, so the test accuracy at early stopping is exact.
    "standard": Size("standard", iterations=3_000, eval_every=100, rounds=16, seeds=3, test_every=500),
    # The paper's own schedule for LeNet-300-100, validation every 100 iterations as in the
    # paper. Testing as well at every one of those 500 evaluations would roughly double the
    # evaluation cost without changing a headline number: the test set is evaluated every
    # 1,000 iterations for the learning curves, and once on the weights kept at the validation
    # minimum, so the test accuracy at early stopping is exact.
    "paper": Size("paper", iterations=PAPER_ITERATIONS, eval_every=100, rounds=16, seeds=5, test_every=1_000),
}


def get_size(name: str) -> Size:
    """Return the :class:`Size` called ``name``; raise ``ValueError`` naming the choices."""
    try:
        return SIZES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown size {name!r}: expected one of {', '.join(repr(s) for s in SIZES)}"
        ) from None


def resolve_size(requested: str = "standard") -> Size:
    """The size a notebook should run at.

    ``LTH_QUICK=1`` in the environment (set by CI) forces ``quick`` whatever was requested,
    so that every notebook can be smoke-tested in seconds.
    """
    if os.environ.get("LTH_QUICK", "").strip() not in ("", "0", "false", "False"):
        return SIZES["quick"]
    return get_size(requested)
