"""Iterative magnitude pruning (IMP), its controls, and one-shot pruning.

The paper's algorithm (Section 1, "Identifying winning tickets"; Section 2 for LeNet):

1. Randomly initialize a network, theta_0, and train it.
2. Prune p% of the remaining weights of each layer, smallest magnitude first (LeNet: 20%
   of each hidden layer, 10% of the output layer), which gives a mask m.
3. Reset the surviving weights to their values in theta_0: the candidate ticket
   f(x; m * theta_0). Train it, and repeat from 2.

At every round the ticket's mask is also handed to the controls (:mod:`lth_helpers.strategies`),
trained side by side on the same minibatches. Controls exist from round 1 on; at round 0 every
strategy is the same dense network. Every training is saved as soon as it finishes and reused
when asked for again (:mod:`lth_helpers.stages`, :mod:`lth_helpers.store`), so a run that is
interrupted, or run again, picks up where it stopped and ends with the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import torch

from .data import MNISTData, load_mnist
from .history import History
from .pruning import full_masks, layerwise_magnitude_masks
from .results import IMPResult, closest_round
from .sizes import get_size
from .stages import Stages
from .store import Entry, ResultStore, experiment_key
from .strategies import CONTROLS, STRATEGIES, check_strategies, derive_seed, member_start, theta0_for
from .training import TrainConfig, progress_bar

__all__ = [
    "STRATEGIES",
    "IMPConfig",
    "make_config",
    "run_imp",
    "run_one_shot",
    "resolve_device",
    "check_one_shot_rounds",
    "RESULTS_VERSION",
    "REWIND_STRATEGIES",
    "rewind_point",
    "round_groups",
    "train_stage",
    "PAPER_CHECKPOINTS",
    "EVERY_ROUND",
    # re-exported from lth_helpers.strategies for readers of older notebooks
    "derive_seed",
    "member_start",
    "theta0_for",
]

# Bump when a change to the code changes results or the store's format, so that old stores
# are not reused. 2: entries carry their identity and a checksum of their numbers; tickets are
# trained in a population of their own; the data key hashes the images. 3: records carry which
# test digits each network gets right (for paired intervals); offline data is 15,000 digits.
RESULTS_VERSION = 3
#: The paper's checkpoint densities (Figures 3-5): where the notebooks compare strategies.
PAPER_CHECKPOINTS: tuple[float, ...] = (0.513, 0.211, 0.135, 0.07, 0.036, 0.029)
#: Trained at every round, as in the paper's Figure 4. Every other strategy answers a question the
#: notebooks ask at the checkpoints, so it is trained at the checkpoint rounds only (unless ``all_rounds``).
EVERY_ROUND: tuple[str, ...] = ("original", "reinit", "random_mask")
#: What a late-rewinding chain trains: the ticket (reset to theta_k) and the random reinit control.
REWIND_STRATEGIES: tuple[str, ...] = ("original", "reinit")
#: The most seeds one run takes (the paper averages five); more are split over jobs and merged.
MAX_SEEDS = 1_000


@dataclass(frozen=True)
class IMPConfig:
    """Everything that defines an IMP experiment. Build one with :func:`make_config`.

    Attributes:
        size: ``quick``, ``standard`` or ``paper`` (see :mod:`lth_helpers.sizes`).
        strategies: which of :data:`STRATEGIES` (and the opt-in ticket-content strategies) to
            train; ``original`` is always included.
        seeds: seeds of independent runs (each its own theta_0, masks and minibatch order).
        iterations, eval_every, rounds: the schedule (defaults from ``size``).
        hidden_rate, output_rate: fraction of the remaining weights pruned per round.
        lr, batch_size: Adam's learning rate and the minibatch size.
        test_every: evaluate the test set only this often (see :class:`TrainConfig`).
        rewind: late rewinding (Frankle et al. 2019): reset survivors to the dense network's
            weights and biases after this many iterations instead of theta_0 (0: the paper's reset).
        all_rounds: train every strategy at every round; by default those beyond
            :data:`EVERY_ROUND` are trained at the :attr:`checkpoint_rounds` only.
    """

    size: str
    strategies: tuple[str, ...]
    seeds: tuple[int, ...]
    iterations: int
    eval_every: int
    rounds: int
    hidden_rate: float = 0.2
    output_rate: float = 0.1
    lr: float = 1.2e-3
    batch_size: int = 60
    test_every: int | None = None
    rewind: int = 0
    all_rounds: bool = False

    @property
    def checkpoint_rounds(self) -> tuple[int, ...]:
        """The rounds nearest :data:`PAPER_CHECKPOINTS` (a short run: the rounds it has)."""
        if self.rounds < 1:
            return ()
        return tuple(sorted({closest_round(d, range(1, self.rounds + 1), self.rates) for d in PAPER_CHECKPOINTS}))

    def trains(self, strategy: str, round_: int) -> bool:
        """Whether ``strategy`` is trained at ``round_`` (see :data:`EVERY_ROUND`)."""
        return (strategy in self.strategies and
                (strategy in EVERY_ROUND or self.all_rounds or round_ in self.checkpoint_rounds))

    @property
    def rates(self) -> dict[str, float]:
        """Per-layer prune rates per round."""
        return {"fc1": self.hidden_rate, "fc2": self.hidden_rate, "fc3": self.output_rate}

    @property
    def train_config(self) -> TrainConfig:
        return TrainConfig(iterations=self.iterations, batch_size=self.batch_size, lr=self.lr,
                           eval_every=self.eval_every, test_every=self.test_every)

    def schedule_settings(self) -> dict:
        """What a single training depends on (not which strategies, seeds or how many rounds)."""
        settings = {"iterations": self.iterations, "eval_every": self.eval_every, "lr": self.lr,
                    "batch_size": self.batch_size, "hidden_rate": self.hidden_rate,
                    "output_rate": self.output_rate, "test_every": self.test_every, "version": RESULTS_VERSION}
        if self.rewind:  # absent at 0, so that the paper's reset keeps its store (and k = 0 *is* it)
            settings["rewind"] = self.rewind
        return settings


def _as_seeds(seeds: object) -> tuple[int, ...]:
    """``seeds`` as a tuple of distinct non-negative ints: a count, or an explicit list of seeds."""
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if not 1 <= seeds <= MAX_SEEDS:
            raise ValueError(f"seeds must be a count in 1..{MAX_SEEDS} (how many independent runs), got {seeds}")
        return tuple(range(seeds))
    if isinstance(seeds, (str, bytes, float, bool)) or not isinstance(seeds, Iterable):
        raise ValueError(f"seeds must be a count >= 1 or a list of seeds (ints >= 0), got {seeds!r}")
    values = tuple(seeds)
    if not values or any(not isinstance(s, int) or isinstance(s, bool) or s < 0 for s in values):
        raise ValueError(f"seeds must be a count >= 1 or a non-empty list of ints >= 0, got {list(values)!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"seeds must not repeat, got {list(values)}")
    if len(values) > MAX_SEEDS:
        raise ValueError(f"at most {MAX_SEEDS} seeds per run, got {len(values)}; split them over several jobs")
    return values


def make_config(size: str = "standard", strategies: str | Sequence[str] = ("original",),
                seeds: int | Iterable[int] | None = None, **overrides) -> IMPConfig:
    """An :class:`IMPConfig` for ``size``, with any field overridden by keyword.

    ``strategies`` may be a comma-separated string. ``seeds`` is a count (``2`` means seeds 0
    and 1) or an explicit list; by default the size's own number of seeds.

    Raises ``ValueError`` naming the bad value for an unknown size or strategy, bad seeds,
    prune rates outside [0, 1) and non-positive or non-finite schedule numbers.
    """
    preset = get_size(size)
    strategies = check_strategies(strategies)
    bad = set(overrides) - set(IMPConfig.__dataclass_fields__) - {"size", "strategies", "seeds"}
    if bad:
        raise TypeError(f"make_config got unknown setting(s) {sorted(bad)}")
    fields = {
        "size": preset.name, "strategies": strategies,
        "seeds": _as_seeds(preset.seeds if seeds is None else seeds),
        "iterations": preset.iterations, "eval_every": preset.eval_every, "rounds": preset.rounds,
        "test_every": preset.test_every, "all_rounds": preset.all_rounds, **overrides,
    }
    config = IMPConfig(**fields)
    for name in ("hidden_rate", "output_rate"):
        value = getattr(config, name)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not (0.0 <= value < 1.0):
            raise ValueError(f"{name} must be in [0, 1) (fraction of remaining weights pruned per round), got {value!r}")
    if not isinstance(config.rounds, int) or isinstance(config.rounds, bool) or config.rounds < 0:
        raise ValueError(f"rounds must be an integer >= 0, got {config.rounds!r}")
    config.train_config  # validates iterations, eval_every, lr, batch_size, test_every
    if isinstance(config.rewind, bool) or not isinstance(config.rewind, int) or not 0 <= config.rewind < config.iterations:
        raise ValueError(f"rewind must be an iteration in 0..{config.iterations - 1}, got {config.rewind!r}")
    if config.rewind and set(config.strategies) - set(REWIND_STRATEGIES):
        raise ValueError(f"rewinding (rewind={config.rewind}) trains {' and '.join(REWIND_STRATEGIES)} only, "
                         f"got strategies {list(config.strategies)}")
    return config


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """The device to train on: the GPU when there is one (``None``), else as asked; checked before any work."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}: expected 'cpu' or 'cuda' (or 'cuda:N')") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for, but this machine has no usable CUDA GPU; use --device cpu")
    if chosen.type not in ("cpu", "cuda"):
        raise ValueError(f"unsupported device {device!r}: expected 'cpu' or 'cuda'")
    return chosen


def open_experiment(config: IMPConfig, data: MNISTData, results_dir: str | Path, device: torch.device,
                    use_population: bool, progress: bool) -> Stages:
    """The results store for this configuration, data, trainer and device type, and its stages."""
    settings = dict(config.schedule_settings(), data_source=data.source, data_fingerprint=data.fingerprint(),
                    data_sizes=data.sizes, trainer="population" if use_population else "reference",
                    device=device.type)
    store = ResultStore(results_dir, experiment_key(settings), settings)
    stages = Stages(store, data, config.train_config, config.size, device, use_population, progress)
    if config.rewind:
        stages.record_extra = {"rewind_iteration": config.rewind}
    return stages


def rewind_point(store: ResultStore, seed: int, iteration: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The dense network's ``(weights, biases)`` right after ``iteration`` (saved while it trained)."""
    saved = store.tensors(seed, 0, "original").get("rewind") or {}
    if iteration not in saved:
        raise ValueError(f"the dense network of seed {seed} in {store.directory} has no weights saved at iteration "
                         f"{iteration}; delete that folder to retrain it")
    return saved[iteration]["weight"], saved[iteration]["bias"]


def _collect(result: IMPResult, entries: dict[tuple[int, str], Entry]) -> None:
    for entry in entries.values():
        result.records.append(entry.record)
        result.histories[(entry.strategy, entry.seed, entry.round)] = History.from_dict(entry.history)


def round_groups(config: IMPConfig, round_: int) -> list[tuple[str, ...]]:
    """What round ``round_`` trains, group by group: the ticket alone first, then its controls.

    Two fixed groups beside the ticket: the paper's controls, and the opt-in ticket-content
    strategies (so asking for the latter never changes the former's numbers). Round 0 is the
    dense network alone.
    """
    groups = [("original",)]
    if round_ > 0:
        groups += [g for g in (tuple(s for s in CONTROLS if config.trains(s, round_)),
                               tuple(s for s in config.strategies if s not in STRATEGIES and config.trains(s, round_)))
                   if g]
    return groups


def round_masks(store: ResultStore, config: IMPConfig, seed: int, round_: int) -> dict[str, torch.Tensor]:
    """The mask every network of round ``round_`` starts from: the previous round's ticket, with
    p% of each layer's surviving weights pruned by their trained magnitude (round 0: everything)."""
    if round_ == 0:
        return full_masks(theta0_for(seed))
    previous = store.tensors(seed, round_ - 1, "original")
    return layerwise_magnitude_masks(previous["final"], config.rates, previous["mask"])


def train_stage(stages: Stages, config: IMPConfig, seed: int, round_: int, group: tuple[str, ...],
                parent: str | None) -> dict[tuple[int, str], Entry]:
    """Train (or reuse) one group of round ``round_``; ``parent`` is the previous ticket's checksum.

    Everything a stage needs is read from the store (the previous ticket's mask and trained
    weights), so stages of different seeds, or a round's ticket and its controls, can run in
    separate processes (:mod:`lth_helpers.parallel`) and give the same entries.
    """
    theta0 = theta0_for(seed)
    masks, batches = round_masks(stages.store, config, seed, round_), derive_seed("batches", seed, round_)
    # What survivors are reset to: theta_0 (the paper), or the dense network after `rewind` iterations.
    reset_weights, reset_biases = theta0, None
    if round_ > 0 and config.rewind:
        reset_weights, reset_biases = rewind_point(stages.store, seed, config.rewind)
    if group == ("original",):
        return stages.run(seed, [(round_, "original")], {round_: masks}, reset_weights, parent, batches,
                          keep_final=True, checkpoints=[config.rewind] if round_ == 0 and config.rewind else (),
                          ticket_biases=reset_biases)
    # The controls: the same mask and the same minibatches as the ticket.
    return stages.run(seed, [(round_, s) for s in group], {round_: masks}, reset_weights, parent, batches,
                      keep_final=True)


def run_imp(config: IMPConfig, data: MNISTData | None = None, results_dir: str | Path = "results",
            progress: bool = True, device: str | torch.device | None = None, use_population: bool = True,
            verbose: bool = True, workers: int | str = "auto") -> IMPResult:
    """Run (or resume) IMP with its controls; return every record and learning curve.

    Finished trainings found in ``results_dir`` for the same schedule, data, trainer and device
    type are reused; everything newly trained is saved the moment it finishes.
    ``use_population=False`` trains the members one by one with the reference loop instead
    (slower, same numbers up to float rounding). ``workers`` processes train independent stages
    at once (``"auto"``: one per CPU core when that pays, see :func:`lth_helpers.parallel.choose_workers`);
    each stage is trained exactly as one process with the worker's thread count would train it.
    Worker processes are spawned, so a script that calls this must guard the call with
    ``if __name__ == "__main__":`` (Python's rule for spawned processes), or pass ``workers=1``.
    """
    device = resolve_device(device)
    data = data if data is not None else load_mnist()
    stages = open_experiment(config, data, results_dir, device, use_population, progress)
    result = IMPResult(config=config, data_source=data.source, store=stages.store)
    try:
        from .parallel import fill_store

        filled = fill_store(config, data, results_dir, device, use_population, workers, progress, stages)
        with progress_bar(len(config.seeds) * (config.rounds + 1), "IMP rounds", progress, unit="round") as bar:
            for seed in config.seeds:
                parent = None
                for round_ in range(config.rounds + 1):
                    # The ticket: the survivors of the previous ticket, reset (round 0: the dense network) ...
                    ticket = train_stage(stages, config, seed, round_, ("original",), parent)
                    _collect(result, ticket)
                    # ... and its controls, on the same mask and minibatches.
                    for group in round_groups(config, round_)[1:]:
                        _collect(result, train_stage(stages, config, seed, round_, group, parent))
                    parent = ticket[(round_, "original")].checksum
                    bar.update(1)
    except KeyboardInterrupt:
        print(f"Interrupted. Every finished training is saved in {stages.store.directory}; "
              "run the same command again to resume.")
        raise
    # What the worker processes trained is read back here, counted as reused: count it as trained.
    result.computed, result.reused = stages.computed + filled, stages.reused - filled
    if verbose:
        print(f"IMP: {result.computed} network(s) trained, {result.reused} reused from {stages.store.directory}")
    return result


# One-shot pruning builds on the driver above; re-exported here, where readers look for it.
from .one_shot import check_one_shot_rounds, run_one_shot  # noqa: E402
