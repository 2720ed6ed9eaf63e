"""Iterative magnitude pruning (IMP), its controls, and one-shot pruning.

The paper's algorithm (Section 1, "Identifying winning tickets"; Section 2 for LeNet):

1. Randomly initialize a network, theta_0, and train it.
2. Prune p% of the remaining weights of each layer, smallest magnitude first (LeNet: 20%
   of each hidden layer, 10% of the output layer), which gives a mask m.
3. Reset the surviving weights to their values in theta_0: the candidate ticket
   f(x; m * theta_0). Train it, and repeat from 2.

At every round the ticket's mask is also handed to the controls, trained side by side on
the same minibatches (see :mod:`lth_helpers.population`):

* ``original``: the winning ticket, survivors reset to theta_0.
* ``reinit``: the same mask, a fresh Gaussian Glorot initialization (paper, Figure 4).
* ``fan_corrected``: the same mask, fresh weights with the std Glorot prescribes for the
  sub-network's own per-unit fans (see :mod:`lth_helpers.initialization`).
* ``random_mask``: a random mask with the same per-layer density, theta_0's values.

Controls exist from round 1 on; at round 0 every strategy is the same dense network.
Every training is saved as soon as it finishes (see :mod:`lth_helpers.store`), so a run that
is interrupted, or run again, picks up where it stopped and ends with the same numbers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Iterable, Sequence

import torch

from .data import MNISTData, load_mnist
from .initialization import fan_corrected_weights, reinit_weights
from .models import LAYER_NAMES, LAYER_SHAPES, LeNet300100, glorot_weights
from .population import LeNetPopulation, train_population
from .pruning import full_masks, layerwise_magnitude_masks, mask_stats, one_shot_rates, random_masks_like
from .sizes import get_size
from .store import ResultStore, experiment_key
from .training import History, TrainConfig, progress_bar, train

__all__ = [
    "STRATEGIES",
    "IMPConfig",
    "IMPResult",
    "make_config",
    "run_imp",
    "run_one_shot",
    "derive_seed",
    "member_start",
    "default_device",
]

STRATEGIES: tuple[str, ...] = ("original", "reinit", "fan_corrected", "random_mask")
ONE_SHOT = "one_shot"
# Bump when a change to the code changes results, so that old stores are not reused.
RESULTS_VERSION = 1


def derive_seed(*parts: object) -> int:
    """A 60-bit seed derived from ``parts`` (e.g. ``("reinit", seed, round)``), stable across runs."""
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()
    return int(digest[:15], 16)


def _generator(*parts: object) -> torch.Generator:
    return torch.Generator().manual_seed(derive_seed(*parts))


def default_device() -> torch.device:
    """The GPU when there is one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass(frozen=True)
class IMPConfig:
    """Everything that defines an IMP experiment. Build one with :func:`make_config`.

    Attributes:
        size: ``quick``, ``standard`` or ``paper`` (see :mod:`lth_helpers.sizes`).
        strategies: which of :data:`STRATEGIES` to train; ``original`` is always included.
        seeds: seeds of independent runs (each its own theta_0, masks and minibatch order).
        iterations, eval_every, rounds: the schedule (defaults from ``size``).
        hidden_rate, output_rate: fraction of the remaining weights pruned per round.
        lr, batch_size: Adam's learning rate and the minibatch size.
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
    eval_precision: str = "float32"

    @property
    def rates(self) -> dict[str, float]:
        """Per-layer prune rates per round."""
        return {"fc1": self.hidden_rate, "fc2": self.hidden_rate, "fc3": self.output_rate}

    @property
    def train_config(self) -> TrainConfig:
        return TrainConfig(iterations=self.iterations, batch_size=self.batch_size, lr=self.lr,
                           eval_every=self.eval_every, test_every=self.test_every,
                           eval_precision=self.eval_precision)

    def schedule_settings(self) -> dict:
        """What a single training depends on (not which strategies, seeds or how many rounds)."""
        settings = {
            "iterations": self.iterations, "eval_every": self.eval_every, "lr": self.lr,
            "batch_size": self.batch_size, "hidden_rate": self.hidden_rate,
            "output_rate": self.output_rate, "version": RESULTS_VERSION,
        }
        # Listed only when they differ from the default, so that stores made before these
        # options existed keep their keys.
        if self.test_every is not None:
            settings["test_every"] = self.test_every
        if self.eval_precision != "float32":
            settings["eval_precision"] = self.eval_precision
        return settings


def _as_seeds(seeds: int | Iterable[int]) -> tuple[int, ...]:
    if isinstance(seeds, bool):
        raise ValueError(f"seeds must be a count >= 1 or a list of seeds, got {seeds!r}")
    if isinstance(seeds, int):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1 (how many independent runs), got {seeds}")
        return tuple(range(seeds))
    values = tuple(int(s) for s in seeds)
    if not values:
        raise ValueError("seeds must name at least one seed, got an empty list")
    if len(set(values)) != len(values):
        raise ValueError(f"seeds must not repeat, got {list(values)}")
    return values


def make_config(size: str = "standard", strategies: str | Sequence[str] = ("original",),
                seeds: int | Iterable[int] | None = None, **overrides) -> IMPConfig:
    """An :class:`IMPConfig` for ``size``, with any field overridden by keyword.

    ``strategies`` may be a comma-separated string. ``seeds`` is a count (``2`` means seeds 0
    and 1) or an explicit list; by default the size's own number of seeds.

    Raises ``ValueError`` naming the bad value for an unknown size or strategy, seeds < 1,
    prune rates outside [0, 1) and non-positive schedule numbers.
    """
    preset = get_size(size)
    if isinstance(strategies, str):
        strategies = [s.strip() for s in strategies.split(",") if s.strip()]
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown strategy {unknown[0]!r}: expected one of {', '.join(STRATEGIES)}")
    ordered = tuple(s for s in STRATEGIES if s == "original" or s in strategies)
    fields = {
        "size": preset.name, "strategies": ordered,
        "seeds": _as_seeds(preset.seeds if seeds is None else seeds),
        "iterations": preset.iterations, "eval_every": preset.eval_every, "rounds": preset.rounds,
        "test_every": preset.test_every, "eval_precision": preset.eval_precision,
    }
    bad = set(overrides) - set(IMPConfig.__dataclass_fields__) - {"size", "strategies", "seeds"}
    if bad:
        raise TypeError(f"make_config got unknown setting(s) {sorted(bad)}")
    fields.update(overrides)
    config = IMPConfig(**fields)
    for name in ("hidden_rate", "output_rate"):
        value = getattr(config, name)
        if not (0.0 <= value < 1.0):
            raise ValueError(f"{name} must be in [0, 1) (fraction of remaining weights pruned per round), got {value!r}")
    if not isinstance(config.rounds, int) or config.rounds < 0:
        raise ValueError(f"rounds must be an integer >= 0, got {config.rounds!r}")
    config.train_config  # validates iterations, eval_every, lr, batch_size
    return config


# ------------------------------------------------------------------------------ members


def _state(weights: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A LeNet ``state_dict`` with these weights and masks and zero biases (the paper's init)."""
    state = {}
    for name, (out_features, _) in LAYER_SHAPES.items():
        mask = masks[name].float()
        state[f"{name}.weight"] = weights[name] * mask
        state[f"{name}.bias"] = torch.zeros(out_features)
        state[f"{name}.mask"] = mask
    return state


def member_start(strategy: str, seed: int, round_: int, ticket_masks: dict[str, torch.Tensor],
                 theta0: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Initial ``(weights, masks)`` of one member, given the ticket's mask at that round.

    Deterministic in ``(strategy, seed, round_)``: this is how a control's initialization is
    regenerated for analysis without having been stored.
    """
    if strategy in ("original", ONE_SHOT):
        return theta0, ticket_masks
    if strategy == "reinit":
        return reinit_weights(ticket_masks, _generator("reinit", seed, round_)), ticket_masks
    if strategy == "fan_corrected":
        return fan_corrected_weights(ticket_masks, _generator("fan_corrected", seed, round_)), ticket_masks
    if strategy == "random_mask":
        return theta0, random_masks_like(ticket_masks, _generator("random_mask", seed, round_))
    raise ValueError(f"unknown strategy {strategy!r}: expected one of {', '.join(STRATEGIES)}")


def theta0_for(seed: int) -> dict[str, torch.Tensor]:
    """theta_0 of the run with this seed: Gaussian Glorot weights."""
    return glorot_weights(_generator("init", seed))


def _train_members(states: list[dict], data: MNISTData, config: IMPConfig, batch_seed: int,
                   device: torch.device, progress: bool, desc: str, use_population: bool
                   ) -> tuple[list[History], list[dict[str, torch.Tensor]]]:
    """Train members side by side (population) or one by one (reference loop)."""
    if use_population:
        population = LeNetPopulation(states, device=device)
        histories = train_population(population, data, config.train_config, seed=batch_seed,
                                     progress=progress, desc=desc)
        return histories, [population.member_state(k) for k in range(population.size)]
    histories, finals = [], []
    for state in states:
        model = LeNet300100().to(device)
        model.load_state_dict(state)
        histories.append(train(model, data, config.train_config, seed=batch_seed, progress=progress, desc=desc))
        finals.append({k: v.detach().cpu() for k, v in model.state_dict().items()})
    return histories, finals


def _final_weights(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: state[f"{name}.weight"] for name in LAYER_NAMES}


def _final_biases(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: state[f"{name}.bias"] for name in LAYER_NAMES}


def _record(strategy: str, seed: int, round_: int, masks: dict, history: History, config: IMPConfig,
            data: MNISTData) -> dict:
    stats = mask_stats(masks)
    return {
        "strategy": strategy, "seed": seed, "round": round_,
        "density": stats["density"],
        "layer_density": {name: v["density"] for name, v in stats["layers"].items()},
        **history.summary(),
        "iterations": config.iterations, "size": config.size,
        "data_source": data.source, "data": data.describe(),
    }


# -------------------------------------------------------------------------------- results


@dataclass
class IMPResult:
    """Everything an IMP run produced: one record and one history per trained network.

    Records are dicts with ``strategy``, ``seed``, ``round``, ``density`` (0-1),
    ``early_stop_iteration``, ``test_acc_at_early_stop``, ``final_test_acc`` (0-1) and
    ``data_source`` among others. Tensors (masks, weights) stay on disk and are read on demand.
    """

    config: IMPConfig
    data_source: str
    store: ResultStore
    records: list[dict] = field(default_factory=list)
    histories: dict[tuple[str, int, int], History] = field(default_factory=dict)
    computed: int = 0
    reused: int = 0

    def history(self, strategy: str, seed: int, round_: int) -> History:
        """Learning curves of one network."""
        if round_ == 0 and strategy != ONE_SHOT:
            strategy = "original"  # all strategies share the dense network
        try:
            return self.histories[(strategy, seed, round_)]
        except KeyError:
            raise KeyError(f"no run for strategy={strategy!r}, seed={seed}, round={round_}") from None

    def select(self, strategy: str | None = None, seed: int | None = None, round_: int | None = None) -> list[dict]:
        """Records matching the given fields."""
        return [r for r in self.records
                if (strategy is None or r["strategy"] == strategy)
                and (seed is None or r["seed"] == seed)
                and (round_ is None or r["round"] == round_)]

    def masks(self, seed: int, round_: int, strategy: str = "original") -> dict[str, torch.Tensor]:
        """The mask a network trained with (bool per layer)."""
        return self.store.tensors(seed, round_, strategy)["mask"]

    def theta0(self, seed: int) -> dict[str, torch.Tensor]:
        """The dense initialization theta_0 of this seed."""
        return self.store.tensors(seed, 0, "original")["init"]

    def final_weights(self, seed: int, round_: int) -> dict[str, torch.Tensor]:
        """Trained weights of the ticket (``original``) at ``round_`` (round 0: the dense network)."""
        return self.store.tensors(seed, round_, "original")["final"]

    def initial_weights(self, seed: int, round_: int, strategy: str = "original") -> dict[str, torch.Tensor]:
        """The weights a member started from (regenerated exactly for the controls)."""
        weights, masks = member_start(strategy, seed, round_, self.masks(seed, round_), self.theta0(seed))
        return {name: weights[name] * masks[name].float() for name in LAYER_NAMES}

    def summary(self) -> list[dict]:
        """Mean, min and max over seeds per (strategy, round)."""
        groups: dict[tuple[str, int], list[dict]] = {}
        for record in self.records:
            groups.setdefault((record["strategy"], record["round"]), []).append(record)
        rows = []
        for (strategy, round_), group in groups.items():
            row = {"strategy": strategy, "round": round_, "density": group[0]["density"], "n": len(group)}
            for key in ("early_stop_iteration", "test_acc_at_early_stop", "final_test_acc"):
                values = [g[key] for g in group]
                row[key] = sum(values) / len(values)
                row[key + "_min"], row[key + "_max"] = min(values), max(values)
            rows.append(row)
        order = {s: i for i, s in enumerate(STRATEGIES + (ONE_SHOT,))}
        return sorted(rows, key=lambda r: (order[r["strategy"]], r["round"]))

    def format_table(self) -> str:
        """The summary as a plain-text table (what the command line prints)."""
        header = f"{'strategy':<14}{'round':>6}{'weights left':>14}{'early stop':>12}{'test acc @ES':>14}{'final test acc':>16}{'seeds':>7}"
        lines = [header, "-" * len(header)]
        for r in self.summary():
            lines.append(
                f"{r['strategy']:<14}{r['round']:>6}{100 * r['density']:>13.1f}%{r['early_stop_iteration']:>12.0f}"
                f"{100 * r['test_acc_at_early_stop']:>13.2f}%{100 * r['final_test_acc']:>15.2f}%{r['n']:>7}"
            )
        return "\n".join(lines)

    def to_json(self, path: str | Path) -> Path:
        """Write the records (with the configuration) as JSON; return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        from .store import atomic_write_text

        atomic_write_text(path, json.dumps(self.records, indent=1))
        atomic_write_text(path.with_name("config.json"), json.dumps(asdict(self.config), indent=1))
        return path


# ------------------------------------------------------------------------------ drivers


def _open_store(config: IMPConfig, data: MNISTData, results_dir: str | Path) -> ResultStore:
    settings = dict(config.schedule_settings(), data_source=data.source, data_fingerprint=data.fingerprint(),
                    data_sizes=data.sizes)
    return ResultStore(results_dir, experiment_key(settings), settings)


def run_imp(config: IMPConfig, data: MNISTData | None = None, results_dir: str | Path = "results",
            progress: bool = True, device: str | torch.device | None = None, use_population: bool = True,
            verbose: bool = True) -> IMPResult:
    """Run (or resume) IMP with its controls; return every record and learning curve.

    Finished trainings found in ``results_dir`` for the same schedule and data are reused;
    everything newly trained is saved the moment it finishes. ``use_population=False`` trains
    the members one by one with the reference loop instead (slower, same numbers up to float
    rounding).
    """
    data = data if data is not None else load_mnist()
    device = torch.device(device) if device is not None else default_device()
    store = _open_store(config, data, results_dir)
    result = IMPResult(config=config, data_source=data.source, store=store)
    device_data = data.to(device)
    total = len(config.seeds) * (config.rounds + 1)
    try:
        with progress_bar(total, "IMP rounds", progress, unit="round") as bar:
            for seed in config.seeds:
                theta0 = theta0_for(seed)
                parent = None
                for round_ in range(config.rounds + 1):
                    if round_ == 0:
                        ticket_masks = full_masks(theta0)
                    else:
                        previous = store.tensors(seed, round_ - 1, "original")
                        ticket_masks = layerwise_magnitude_masks(previous["final"], config.rates, previous["mask"])
                    wanted = [s for s in config.strategies if round_ > 0 or s == "original"]
                    found = {s: store.load(seed, round_, s, parent) for s in wanted}
                    missing = [s for s in wanted if found[s] is None]
                    if missing:
                        # Retrain the whole round even if only part of it is missing: a member's
                        # numbers depend (at float rounding) on the population it is trained in, and
                        # a resumed or repaired run must match an uninterrupted one bit for bit.
                        starts = [member_start(s, seed, round_, ticket_masks, theta0) for s in wanted]
                        density = mask_stats(ticket_masks)["density"]
                        desc = f"seed {seed} round {round_} ({100 * density:.1f}%): {', '.join(missing)}"
                        histories, finals = _train_members(
                            [_state(w, m) for w, m in starts], device_data, config, derive_seed("batches", seed, round_),
                            device, progress, desc, use_population)
                        for strategy, (_, masks), history, final in zip(wanted, starts, histories, finals):
                            if strategy not in missing:
                                continue  # found intact: keep the saved entry
                            tensors = {"mask": {n: m.bool() for n, m in masks.items()}}
                            if strategy == "original":
                                tensors["final"] = _final_weights(final)
                                tensors["final_bias"] = _final_biases(final)
                                tensors["init"] = theta0 if round_ == 0 else None
                            meta = {"record": _record(strategy, seed, round_, masks, history, config, data),
                                    "history": history.to_dict()}
                            found[strategy] = store.save(seed, round_, strategy, tensors, meta, parent)
                        result.computed += len(missing)
                    result.reused += len(wanted) - len(missing)
                    for strategy in wanted:
                        result.records.append(found[strategy]["record"])
                        result.histories[(strategy, seed, round_)] = History.from_dict(found[strategy]["history"])
                    parent = found["original"]["sha256"]
                    bar.update(1)
    except KeyboardInterrupt:
        print(f"Interrupted. Every finished training is saved in {store.directory}; "
              "run the same command again to resume.")
        raise
    if verbose:
        print(f"IMP on {data.describe()}: {result.computed} network(s) trained, "
              f"{result.reused} reused from {store.directory}")
    return result


def run_one_shot(config: IMPConfig, rounds: Sequence[int], data: MNISTData | None = None,
                 results_dir: str | Path = "results", progress: bool = True,
                 device: str | torch.device | None = None, verbose: bool = True) -> IMPResult:
    """One-shot pruning: train the dense network once, prune straight to the density IMP reaches
    after ``n`` rounds (for each ``n`` in ``rounds``), reset to theta_0 and train.

    Uses the same store as :func:`run_imp` (the dense network is shared); records carry
    ``strategy="one_shot"`` and the IMP round whose density they match.
    """
    data = data if data is not None else load_mnist()
    device = torch.device(device) if device is not None else default_device()
    rounds = sorted(set(int(r) for r in rounds))
    if not rounds or rounds[0] < 1:
        raise ValueError(f"rounds must be IMP rounds >= 1 to match, got {list(rounds)}")
    dense = run_imp(replace(config, rounds=0, strategies=("original",)), data, results_dir,
                    progress=False, device=device, verbose=False)
    store = dense.store
    result = IMPResult(config=config, data_source=data.source, store=store)
    for seed in config.seeds:
        parent = dense.select(seed=seed, round_=0)[0]
        parent_sha = store.load(seed, 0, "original")["sha256"]
        theta0 = dense.theta0(seed)
        dense_final = dense.final_weights(seed, 0)
        found = {n: store.load(seed, n, ONE_SHOT, parent_sha) for n in rounds}
        missing = [n for n in rounds if found[n] is None]
        if missing:
            # All requested rounds train together, as in an uninterrupted run (see run_imp).
            masks = [layerwise_magnitude_masks(dense_final, one_shot_rates(n, config.rates)) for n in rounds]
            histories, _ = _train_members([_state(theta0, m) for m in masks], data.to(device), config,
                                          derive_seed("one_shot batches", seed), device, progress,
                                          f"seed {seed} one-shot rounds {missing}", True)
            for n, m, history in zip(rounds, masks, histories):
                if n not in missing:
                    continue
                meta = {"record": _record(ONE_SHOT, seed, n, m, history, config, data), "history": history.to_dict()}
                found[n] = store.save(seed, n, ONE_SHOT, {"mask": m}, meta, parent_sha)
            result.computed += len(missing)
        result.reused += len(rounds) - len(missing)
        result.records.append(parent)
        result.histories[("original", seed, 0)] = dense.history("original", seed, 0)
        for n in rounds:
            result.records.append(found[n]["record"])
            result.histories[(ONE_SHOT, seed, n)] = History.from_dict(found[n]["history"])
    if verbose:
        print(f"one-shot pruning on {data.describe()}: {result.computed} network(s) trained, "
              f"{result.reused} reused from {store.directory}")
    return result
