"""Instability analysis (Frankle, Dziugaite, Roy & Carbin, "Linear Mode Connectivity and the Lottery
Ticket Hypothesis", ICML 2020).

Train two copies of a network from the *same* starting weights, each on its own minibatch order
(the only difference between them is the noise of SGD). Then walk the straight line between their
final weights, ``(1 - a) * w_A + a * w_B`` for ``a`` from 0 to 1 (biases alike, masks shared), and
measure the test error along it. The **error barrier** is the highest error on the path minus the
mean error of the two ends. A barrier near zero means the two copies ended in one linearly
connected basin: training from that start is *stable* to SGD noise. Frankle et al. found that IMP
finds matching sparse networks exactly when they are stable in this sense.

:func:`instability` trains the two copies (with the companion's population trainer) and returns a
record; :func:`stability_records` runs it for many starts and keeps every finished result in a
cache file keyed like the results store (schedule, data, code version), so an interrupted analysis
resumes and a cached number is never reused for another configuration.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Callable, Mapping, Sequence

import torch

from .data import MNISTData
from .imp import RESULTS_VERSION, IMPConfig
from .models import LAYER_NAMES, lenet_logits
from .population import LeNetPopulation, train_population
from .store import atomic_write_text
from .strategies import derive_seed
from .training import evaluate_examples

__all__ = ["PATH_POINTS", "interpolate", "path_errors", "error_barrier", "instability", "stability_records"]

#: Points on the line between the two copies, ends included (the paper uses 30; 11 show the shape).
PATH_POINTS = 11

State = Mapping[str, torch.Tensor]


def interpolate(a: State, b: State, alpha: float) -> dict[str, torch.Tensor]:
    """The state ``(1 - alpha) * a + alpha * b`` (weights and biases; masks are taken from ``a``)."""
    out = {}
    for key, value in a.items():
        out[key] = value if key.endswith(".mask") else (1 - alpha) * value + alpha * b[key]
    return out


def path_errors(a: State, b: State, data: MNISTData, points: int = PATH_POINTS) -> tuple[list[float], list[float]]:
    """``(alphas, test errors)`` along the straight line from state ``a`` to state ``b``."""
    if points < 2:
        raise ValueError(f"points must be at least 2 (the two ends), got {points}")
    alphas = [i / (points - 1) for i in range(points)]
    errors = []
    with torch.no_grad():
        for alpha in alphas:
            state = interpolate(a, b, alpha)
            weights = {n: state[f"{n}.weight"] * state[f"{n}.mask"] for n in LAYER_NAMES}
            biases = {n: state[f"{n}.bias"] for n in LAYER_NAMES}
            _, correct = evaluate_examples(lambda x: lenet_logits(x, weights, biases), data.test_x, data.test_y)
            errors.append(1.0 - float(correct.double().mean()))
    return alphas, errors


def error_barrier(errors: Sequence[float]) -> float:
    """The highest error on the path minus the mean error of its two ends (Frankle et al. 2020, Sec. 2)."""
    return max(errors) - 0.5 * (errors[0] + errors[-1])


def instability(start: State, data: MNISTData, config: IMPConfig, batch_seeds: tuple[int, int],
                points: int = PATH_POINTS, device: str | torch.device = "cpu", progress: bool = False) -> dict:
    """Train two copies of ``start`` (a ``state_dict`` with masks) on the minibatch orders of
    ``batch_seeds`` for ``config.iterations``; return the path's errors and the error barrier."""
    if batch_seeds[0] == batch_seeds[1]:
        raise ValueError(f"the two copies need different minibatch orders, got seeds {batch_seeds}")
    finals = []
    for batch_seed in batch_seeds:
        population = LeNetPopulation([dict(start)], device=device)
        train_population(population, data.to(population.device), config.train_config, seed=batch_seed,
                         progress=progress, desc="instability: one copy")
        finals.append(population.member_state(0))
    alphas, errors = path_errors(finals[0], finals[1], data, points)
    return {"alphas": alphas, "errors": errors, "barrier": error_barrier(errors),
            "end_error": 0.5 * (errors[0] + errors[-1])}


def _cache_key(config: IMPConfig, data: MNISTData, points: int) -> str:
    settings = dict(config.schedule_settings(), data_fingerprint=data.fingerprint(), points=points,
                    analysis="instability", version=RESULTS_VERSION)
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def _read_cache(path: Path) -> dict:
    """The cached results, or nothing (with a warning) when the file is damaged: they are recomputed."""
    if not path.exists():
        return {}
    try:
        cache = json.loads(path.read_text())
        if isinstance(cache, dict) and all(isinstance(v, dict) and "barrier" in v for v in cache.values()):
            return cache
    except (OSError, ValueError):
        pass
    warnings.warn(f"ignoring the damaged instability cache {path}; recomputing it", RuntimeWarning, stacklevel=3)
    return {}


def stability_records(starts: Sequence[tuple[dict, Callable[[], State]]], data: MNISTData, config: IMPConfig,
                      cache_dir: str | Path, points: int = PATH_POINTS, device: str | torch.device = "cpu",
                      progress: bool = True) -> list[dict]:
    """Instability of each start; one record per start, cached in ``cache_dir``.

    ``starts`` pairs a label (a dict such as ``{"kind": "ticket", "seed": 0, "round": 7, "rewind": 0}``,
    which names the start and keys the cache) with a function that builds the start's ``state_dict``
    (called only when the result is not cached). The two copies' minibatch orders are derived from
    the label, so a result is reproducible from its label alone.
    """
    path = Path(cache_dir) / f"instability-{_cache_key(config, data, points)}.json"
    cache = _read_cache(path)
    records = []
    from .training import progress_bar

    with progress_bar(len(starts), "instability analyses", progress, unit="start") as bar:
        for label, build in starts:
            key = json.dumps(label, sort_keys=True)
            if key not in cache:
                seeds = (derive_seed("instability", key, "A"), derive_seed("instability", key, "B"))
                cache[key] = instability(build(), data, config, seeds, points, device)
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_text(path, json.dumps(cache))  # saved at once: an interruption loses one start
            records.append(dict(label, **cache[key]))
            bar.update(1)
    return records
