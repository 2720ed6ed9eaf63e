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
  strategy at the rounds it is trained at, the size's seeds and 16 rounds, and the one-shot
  tickets), divided among one process per core as :mod:`lth_helpers.parallel` trains them. It is
  labelled *scaled*: a few rounds of one seed, scaled up.

``--experiment`` instead runs the whole shared experiment of notebooks 2-5 (``run_imp`` with one
process per core, then the one-shot tickets) in a fresh store and reports its wall time: measured,
not scaled. ``--one-seed`` times one seed of the paper's comparison (the ticket, random reinit and
random sparse network) for the dense network and a few rounds, as the driver trains them, and
scales it to every round by replaying the measured stage times through the driver's schedule
(:mod:`.schedule`); ``--experiment`` prints the same replay next to its measured wall time, the
check that the replay is right.

    python -m lth_helpers.benchmarks.end_to_end [--sizes standard,paper] [--rounds N] [--experiment | --one-seed]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import contextmanager
from typing import Iterator

import torch

from ..data import load_mnist
from ..imp import (EVERY_ROUND, STRATEGIES, make_config, open_experiment, round_groups, run_imp, run_one_shot,
                   train_stage)
from ..parallel import choose_workers, fill_store, usable_cores
from ..population import LeNetPopulation
from ..sizes import get_size
from .schedule import replay_seconds, typical_seconds
from .timing import torch_threads

__all__ = ["measure_end_to_end", "measure_experiment", "measure_one_seed", "end_to_end", "format_table",
           "format_one_seed", "experiment_networks"]

#: The one-shot rounds of the shared experiment (as lth_helpers.notebook.ONE_SHOT_ROUNDS).
_ONE_SHOT_ROUNDS = (3, 7, 12, 15)


def experiment_networks(size: str) -> int:
    """How many networks the shared experiment of notebooks 2-5 trains at ``size``."""
    config = make_config(size, STRATEGIES)
    per_seed = sum(len(g) for r in range(config.rounds + 1) for g in round_groups(config, r))
    one_shot = len([n for n in _ONE_SHOT_ROUNDS if n <= config.rounds] or [config.rounds])
    return len(config.seeds) * (per_seed + one_shot)


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
    # Every strategy at every timed round, in one process, so that evaluation can be timed here.
    config = make_config(size, STRATEGIES, seeds, rounds=rounds, all_rounds=True)
    data = load_mnist("offline")
    evaluating = [0.0]
    # Timed with the threads each of the driver's processes gets, and shared among that many.
    processes = choose_workers("auto", make_config(size, STRATEGIES), torch.device("cpu"))
    with tempfile.TemporaryDirectory() as folder, _timed_evaluation(evaluating), \
            torch_threads(max(1, usable_cores() // processes)):
        started = time.perf_counter()
        result = run_imp(config, data, folder, progress=False, device="cpu", verbose=False, workers=1)
        wall = time.perf_counter() - started
    networks = result.computed
    per_network = wall / networks
    full_networks = experiment_networks(size)
    return {
        "size": size, "iterations": preset.iterations, "eval_every": preset.eval_every,
        "rounds_timed": rounds, "seeds_timed": seeds, "networks_timed": networks, "wall_seconds": wall,
        "seconds_per_network_round": per_network, "evaluation_share": evaluating[0] / wall,
        "experiment_networks": full_networks, "processes": processes,
        "experiment_minutes": per_network * full_networks / processes / 60, "scaled": True,
        "data": data.describe(),
    }


def measure_experiment(size: str = "standard") -> dict:
    """Run the whole shared experiment of notebooks 2-5 at ``size`` in a fresh store, as the notebooks
    run it (one process per core, then the one-shot tickets), and time it: measured, not scaled.

    The IMP part's stage times are also replayed through the driver's schedule (:mod:`.schedule`),
    next to its measured wall time: the check that backs the scaled paper-size figure."""
    config = make_config(size, STRATEGIES)
    device = torch.device("cpu")
    processes = choose_workers("auto", config, device)
    data = load_mnist("offline")
    timings: list = []
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        stages = open_experiment(config, data, folder, device, True, False)
        filled = fill_store(config, data, folder, device, True, processes, False, stages, timings)
        result = run_imp(config, data, folder, progress=False, device="cpu", verbose=False)  # reads them back
        imp_wall = time.perf_counter() - started
        one_shot = run_one_shot(config, [n for n in _ONE_SHOT_ROUNDS if n <= config.rounds] or [config.rounds],
                                data, folder, progress=False, device="cpu", verbose=False)
        wall = time.perf_counter() - started
    row = {"size": size, "networks": filled + result.computed + one_shot.computed, "wall_minutes": wall / 60,
           "imp_wall_minutes": imp_wall / 60, "processes": processes, "data": data.describe()}
    if timings:
        took = {(seed, round_, group): seconds for seed, round_, group, seconds in timings}
        row["stage_seconds"] = {"+".join(kind): s for kind, s in typical_seconds(timings).items()}
        row["imp_replayed_minutes"] = replay_seconds(
            config, lambda task: took[(task.seed, task.round, task.group)], processes) / 60
    return row


def measure_one_seed(size: str = "paper", rounds: int = 2) -> dict:
    """One seed of the paper's own comparison (:data:`lth_helpers.imp.EVERY_ROUND`: the ticket, random
    reinit and random sparse networks) at ``size``, as the driver trains it, timed and, unless all of the
    size's rounds ran, scaled to all of them.

    The dense network trains first, alone, in this process with one thread (as a worker would; its
    evaluation is timed, which gives ``evaluation_share``). Then ``rounds`` pruning rounds train
    through :func:`lth_helpers.parallel.fill_store` (one process per core, pipelined), which records
    every stage's seconds. Those seconds are replayed through the driver's schedule
    (:mod:`.schedule`): for the rounds that ran, as a check against their measured wall time, and for
    all the size's rounds (``minutes_all_rounds``, labelled scaled unless ``rounds`` is all of them, when
    the measured wall time is the whole run). With one core, stages run one after the other and the
    replay is a sum.
    """
    preset = get_size(size)
    if isinstance(rounds, bool) or not isinstance(rounds, int) or not 1 <= rounds <= preset.rounds:
        raise ValueError(f"rounds must be an integer in 1..{preset.rounds}, got {rounds!r}")
    full = make_config(size, EVERY_ROUND, 1)
    timed = make_config(size, EVERY_ROUND, 1, rounds=rounds)
    processes = choose_workers("auto", full, torch.device("cpu"))
    data = load_mnist("offline")
    timings: list = []
    evaluating = [0.0]
    with tempfile.TemporaryDirectory() as folder:
        with _timed_evaluation(evaluating), torch_threads(max(1, usable_cores() // processes)):
            started = time.perf_counter()
            run_imp(make_config(size, EVERY_ROUND, 1, rounds=0), data, folder, progress=False, device="cpu",
                    verbose=False, workers=1)
            dense = time.perf_counter() - started
        timings.append((0, 0, ("original",), dense))
        stages = open_experiment(timed, data, folder, torch.device("cpu"), True, False)
        started = time.perf_counter()
        if processes > 1:
            fill_store(timed, data, folder, torch.device("cpu"), True, processes, False, stages, timings)
        else:  # one core: the driver trains stage after stage; time each of them here
            parent = stages.store.load(0, 0, "original", ["original@0"], None).checksum
            for round_ in range(1, rounds + 1):
                for group in round_groups(timed, round_):
                    before = time.perf_counter()
                    entries = train_stage(stages, timed, 0, round_, group, parent)
                    timings.append((0, round_, group, time.perf_counter() - before))
                    if group == ("original",):
                        ticket_checksum = entries[(round_, "original")].checksum
                parent = ticket_checksum
        rounds_wall = time.perf_counter() - started
        run_imp(timed, data, folder, progress=False, device="cpu", verbose=False, workers=1)  # all stored: reads back
    typical = typical_seconds(timings)
    return {"size": size, "strategies": list(EVERY_ROUND), "rounds_timed": rounds, "processes": processes,
            "dense_seconds": dense, "evaluation_share": evaluating[0] / dense,
            "stage_seconds": {"+".join(kind): seconds for kind, seconds in typical.items()},
            "wall_seconds_timed": dense + rounds_wall,
            "replayed_seconds_timed": replay_seconds(timed, typical, processes),
            "rounds_all": full.rounds, "minutes_all_rounds": replay_seconds(full, typical, processes) / 60,
            "scaled": rounds < full.rounds,
            "data": data.describe()}


def format_one_seed(row: dict) -> str:
    """A :func:`measure_one_seed` result in a few lines."""
    stages = ", ".join(f"{kind} {seconds:.0f} s" for kind, seconds in row["stage_seconds"].items())
    return "\n".join([
        f"{row['size']}: one seed of {', '.join(row['strategies'])}, {row['processes']} process(es)",
        f"  measured: {stages} per stage (the dense network spends {row['evaluation_share']:.0%} of its time "
        f"evaluating)",
        f"  dense + {row['rounds_timed']} round(s): {row['wall_seconds_timed'] / 60:.1f} min wall, measured; "
        f"{row['replayed_seconds_timed'] / 60:.1f} min replayed from the stage times (a check of the replay)",
        f"  dense + {row['rounds_all']} rounds: " + (
            f"{row['minutes_all_rounds']:.1f} min (scaled: the measured stage times replayed through the "
            "driver's schedule)" if row["scaled"] else
            f"{row['wall_seconds_timed'] / 60:.1f} min wall (measured: every round ran)"),
    ])


def format_table(rows: list[dict]) -> str:
    """The end-to-end rows as a plain-text table."""
    lines = [f"{'size':<9}{'iterations':>11}{'networks timed':>16}{'s / network-round':>19}{'evaluating':>12}"
             f"{'shared experiment':>19}",]
    for r in rows:
        label = f"{r['experiment_minutes']:,.0f} min" + (" (scaled)" if r["scaled"] else "")
        lines.append(f"{r['size']:<9}{r['iterations']:>11,}{r['networks_timed']:>16}"
                     f"{r['seconds_per_network_round']:>19.1f}{100 * r['evaluation_share']:>11.0f}%{label:>19}")
    lines.append("(the real run_imp path, every strategy, offline data; 'shared experiment' = that rate times the "
                 "networks of notebooks 2-5's experiment, shared among one process per core: scaled, not run)")
    return "\n".join(lines)


def end_to_end(full: bool = False, sizes: tuple[str, ...] = ("standard",), rounds: int = 1) -> dict:
    """The ``end_to_end`` entry of the benchmark: one row per size, and the printed table."""
    rows = [measure_end_to_end(size, rounds=rounds * (2 if full else 1)) for size in sizes]
    return {"rows": rows, "table": format_table(rows)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lth_helpers.benchmarks.end_to_end",
                                     description="Time the IMP driver end to end.")
    parser.add_argument("--sizes", default="standard", help="comma-separated sizes (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="pruning rounds to time (default: 1, or 2 with --one-seed; "
                             "--one-seed --rounds 16 at paper size runs the whole seed, nothing scaled)")
    parser.add_argument("--one-seed", action="store_true",
                        help="time one seed of the ticket, reinit and random sparse networks (dense + --rounds "
                             "rounds, replayed through the driver's schedule for all rounds) instead")
    parser.add_argument("--experiment", action="store_true",
                        help="run and time the whole shared experiment of each size instead (standard: minutes)")
    args = parser.parse_args(argv)
    sizes = tuple(s.strip() for s in args.sizes.split(",") if s.strip())
    try:  # bad sizes or rounds: one line and exit code 2, before anything is trained
        for size in sizes or ("",):
            get_size(size)
        return _run(args, sizes)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, sizes: tuple[str, ...]) -> int:
    if args.one_seed:
        for size in sizes:
            print(format_one_seed(measure_one_seed(size, 2 if args.rounds is None else args.rounds)))
        return 0
    if args.experiment:
        for size in sizes:
            row = measure_experiment(size)
            print(f"{size}: the shared experiment of notebooks 2-5, {row['networks']} networks with "
                  f"{row['processes']} process(es): {row['wall_minutes']:.1f} min wall (measured)")
            if "imp_replayed_minutes" in row:
                print(f"  its IMP part: {row['imp_wall_minutes']:.1f} min measured, {row['imp_replayed_minutes']:.1f} "
                      "min replayed from its own stage times (the check behind --one-seed's scaling)")
        return 0
    print(end_to_end(sizes=sizes, rounds=1 if args.rounds is None else args.rounds)["table"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
