"""The IMP driver timed end to end: wall time per trained network-round and the evaluation share.

Runs the real :func:`lth_helpers.imp.run_imp` (the path the notebooks take: stages, store, the
population trainer, the evaluation schedule of the size) in a fresh temporary store, on the
offline data, for one seed and a few rounds, with every strategy of the shared experiment. The
time spent evaluating is measured by timing every call of the population's evaluation.

What it reports, per size:

* ``seconds_per_network_round``: wall time divided by the networks trained (the ticket and its
  controls of each round, and the dense network);
* ``evaluation_share``: the fraction of the wall time spent evaluating validation and test sets;
* ``experiment_minutes``: that rate times the networks of the full shared experiment (every
  strategy, the size's seeds and 16 rounds). For ``paper`` it is labelled a scaled measurement: a
  few rounds at the full 50,000 iterations, scaled to 16 rounds and 5 seeds.

    python -m lth_helpers.benchmarks.end_to_end [--sizes standard,paper] [--rounds 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import contextmanager
from typing import Iterator

from ..data import load_mnist
from ..imp import STRATEGIES, make_config, run_imp
from ..population import LeNetPopulation
from ..sizes import get_size

__all__ = ["measure_end_to_end", "end_to_end", "format_table"]


@contextmanager
def _timed_evaluation(totals: list[float]) -> Iterator[None]:
    """Add the seconds spent in every population evaluation to ``totals[0]`` while active."""
    original = LeNetPopulation.evaluate_examples

    def timed(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            totals[0] += time.perf_counter() - started

    LeNetPopulation.evaluate_examples = timed
    try:
        yield
    finally:
        LeNetPopulation.evaluate_examples = original


def measure_end_to_end(size: str = "standard", rounds: int = 1, seeds: int = 1) -> dict:
    """Run ``run_imp`` at ``size`` for ``rounds`` pruning rounds and ``seeds`` seeds, timed."""
    preset = get_size(size)
    if rounds < 1 or rounds > preset.rounds:
        raise ValueError(f"rounds must be in 1..{preset.rounds}, got {rounds!r}")
    config = make_config(size, STRATEGIES, seeds, rounds=rounds)
    data = load_mnist("offline")
    evaluating = [0.0]
    with tempfile.TemporaryDirectory() as folder, _timed_evaluation(evaluating):
        started = time.perf_counter()
        result = run_imp(config, data, folder, progress=False, device="cpu", verbose=False)
        wall = time.perf_counter() - started
    networks = result.computed
    per_network = wall / networks
    full_networks = preset.seeds * (1 + preset.rounds * len(STRATEGIES))
    return {
        "size": size, "iterations": preset.iterations, "eval_every": preset.eval_every,
        "rounds_timed": rounds, "seeds_timed": seeds, "networks_timed": networks, "wall_seconds": wall,
        "seconds_per_network_round": per_network, "evaluation_share": evaluating[0] / wall,
        "experiment_networks": full_networks, "experiment_minutes": per_network * full_networks / 60,
        "scaled": True if size == "paper" else rounds < preset.rounds or seeds < preset.seeds,
        "data": data.describe(),
    }


def format_table(rows: list[dict]) -> str:
    """The end-to-end rows as a plain-text table."""
    lines = [f"{'size':<9}{'iterations':>11}{'networks timed':>16}{'s / network-round':>19}{'evaluating':>12}"
             f"{'shared experiment':>19}",]
    for r in rows:
        label = f"{r['experiment_minutes']:,.0f} min" + (" (scaled)" if r["scaled"] else "")
        lines.append(f"{r['size']:<9}{r['iterations']:>11,}{r['networks_timed']:>16}"
                     f"{r['seconds_per_network_round']:>19.1f}{100 * r['evaluation_share']:>11.0f}%{label:>19}")
    lines.append("(the real run_imp path, every strategy, offline data; 'shared experiment' = that rate times "
                 "the networks of every strategy, the size's seeds and 16 rounds)")
    return "\n".join(lines)


def end_to_end(full: bool = False, sizes: tuple[str, ...] = ("standard",), rounds: int = 1) -> dict:
    """The ``end_to_end`` entry of the benchmark: one row per size, and the printed table."""
    rows = [measure_end_to_end(size, rounds=rounds * (2 if full else 1)) for size in sizes]
    return {"rows": rows, "table": format_table(rows)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lth_helpers.benchmarks.end_to_end",
                                     description="Time the IMP driver end to end.")
    parser.add_argument("--sizes", default="standard", help="comma-separated sizes (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=1, help="pruning rounds to time (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        result = end_to_end(sizes=tuple(s.strip() for s in args.sizes.split(",") if s.strip()), rounds=args.rounds)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(result["table"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
