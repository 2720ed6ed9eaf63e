"""Is the population's hand-written backward worth keeping? Autograd over the same stacked tensors, timed.

:meth:`lth_helpers.population.LeNetPopulation._step` writes the backward pass out by hand. The
rule is that it stays only if autograd, given *the same* stacked tensors and
the same operations, is more than 10% slower. This module builds that rival and times both:

* the same forward: one wide ``addmm`` for the first layer of all K members, ``baddbmm`` for
  the other two, on the population's own stacked weight tensors (``requires_grad=True``);
* the same loss: each member's mean cross-entropy, summed over members (so each member's
  gradient is its own);
* the same mask multiply, in two placements: ``autograd_mask_forward`` multiplies weights by
  masks in the forward pass (autograd then masks the gradient itself);
  ``autograd_mask_grad`` multiplies the gradients after ``backward()``, as ``_step`` does;
* the same fused Adam step over the same stacked tensors.

Every variant runs the same loop over the same pre-drawn minibatches; the runs take turns
(:func:`~lth_helpers.benchmarks.timing.timed_rounds`), and the verdict is the median over rounds
of the ratio of times taken moments apart, which a shared machine disturbs less than best-of rates.
Before timing, one step of each variant is checked to give the same gradients as ``_step``.

    python -m lth_helpers.benchmarks.autograd_vs_manual                  # K = 1, 4, 8; 1 and default threads
    python -m lth_helpers.benchmarks.autograd_vs_manual --out benchmarks/results/autograd_vs_manual.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from ..models import LAYER_NAMES, LeNet300100
from ..population import LeNetPopulation
from ..training import TrainConfig, make_optimizer, minibatch_indices
from .report import machine_info
from .throughput import parse_populations, random_mnist_like, validate_populations
from .timing import BATCH_SIZE, timed_rounds, torch_threads

__all__ = ["VARIANTS", "stacked_loss", "member_states", "make_step", "step_gradients", "compare",
           "format_table", "main"]

VARIANTS = ("manual", "autograd_mask_forward", "autograd_mask_grad")
Step = Callable[[torch.Tensor, torch.Tensor], None]


def stacked_loss(weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor],
                 masks: Sequence[torch.Tensor] | None, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Sum over the K members of each member's mean cross-entropy on ``(x, y)``, for autograd.

    ``weights[l]`` is ``(K, out, in)`` and ``biases[l]`` ``(K, out)`` as in
    :class:`~lth_helpers.population.LeNetPopulation`; ``masks`` (same shapes as ``weights``)
    multiply the weights first, or ``None`` to use them as they are. The operations are the
    population's own: one wide ``addmm`` for the first layer of every member, then ``baddbmm``.
    """
    if masks is not None:
        weights = [w * m for w, m in zip(weights, masks)]
    w1, w2, w3 = weights
    K, out, inp = w1.shape
    B = len(y)
    h1 = torch.addmm(biases[0].reshape(-1), x, w1.reshape(K * out, inp).t()).relu()
    h1 = h1.view(B, K, out).transpose(0, 1)
    h2 = torch.baddbmm(biases[1].unsqueeze(1), h1, w2.transpose(1, 2)).relu()
    z3 = torch.baddbmm(biases[2].unsqueeze(1), h2, w3.transpose(1, 2))
    # Summed over K x B examples, then divided by B: the sum of the K per-member means.
    return F.cross_entropy(z3.reshape(K * B, -1), y.repeat(K), reduction="sum") / B


def member_states(k: int, density: float = 0.8, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    """``k`` LeNet-300-100 members with random masks keeping ``density`` of each layer (a round-1 ticket).

    Speed does not depend on which weights are kept; masks that are not all ones make the
    gradient check below test the mask handling too.
    """
    generator = torch.Generator().manual_seed(seed)
    states = []
    for i in range(k):
        state = LeNet300100(seed=seed + i).state_dict()
        for name in LAYER_NAMES:
            weight = state[f"{name}.weight"]
            state[f"{name}.mask"] = (torch.rand(weight.shape, generator=generator) < density).float()
        states.append(state)
    return states


def _adam(params: list[torch.Tensor]) -> torch.optim.Optimizer:
    """Fused Adam at the paper's learning rate, through ``torch.optim`` for every variant (the population
    calls the same kernel directly, :mod:`lth_helpers.fused_adam`; here only the backward passes differ)."""
    return make_optimizer(params, TrainConfig(), fused=True)


def _parameters(population: LeNetPopulation) -> list[torch.Tensor]:
    return [t for pair in zip(population.weights, population.biases) for t in pair]


def make_step(variant: str, population: LeNetPopulation) -> Step:
    """One training step (forward, backward, Adam) of ``variant`` that updates ``population`` in place."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    params = _parameters(population)
    for p in params:
        p.requires_grad_(True)
    optimizer = _adam(params)
    if variant == "manual":
        manual = getattr(population, "_step", None)
        if manual is None:
            raise RuntimeError("LeNetPopulation has no hand-written _step any more: nothing to compare against")
        # Preallocated gradient buffers that _step writes into, as train_population sets them up.
        grads = [torch.zeros_like(p) for p in params]
        for p, g in zip(params, grads):
            p.grad = g

        def step(x: torch.Tensor, y: torch.Tensor) -> None:
            with torch.no_grad():
                manual(x, y, grads)
            optimizer.step()
        return step

    mask_forward = variant == "autograd_mask_forward"

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        loss = stacked_loss(population.weights, population.biases, population.masks if mask_forward else None, x, y)
        loss.backward()
        if not mask_forward:
            # Pruned weights get exactly zero gradient, so Adam never moves them off 0.0.
            torch._foreach_mul_([w.grad for w in population.weights], population.masks)
        optimizer.step()
        # set_to_none (autograd's usual way): backward then hands over its gradient tensors without a copy.
        optimizer.zero_grad(set_to_none=True)
    return step


def step_gradients(variant: str, states: list[dict[str, torch.Tensor]], x: torch.Tensor, y: torch.Tensor
                   ) -> list[torch.Tensor]:
    """The gradients ``variant`` computes for one minibatch, before its Adam step: ``[gW1, gb1, ..., gb3]``."""
    population = LeNetPopulation(states)
    params = _parameters(population)
    if variant == "manual":
        grads = [torch.zeros_like(p) for p in params]
        with torch.no_grad():
            population._step(x, y, grads)
        return grads
    for p in params:
        p.requires_grad_(True)
    loss = stacked_loss(population.weights, population.biases,
                        population.masks if variant == "autograd_mask_forward" else None, x, y)
    loss.backward()
    grads = [p.grad.detach().clone() for p in params]
    if variant == "autograd_mask_grad":
        torch._foreach_mul_(grads[0::2], population.masks)
    return grads


def _relative_difference(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    """Largest ``||a - b|| / ||b||`` over the tensors (a difference of rounding, not of algebra, is ~1e-7)."""
    return max(float((p - q).norm() / q.norm().clamp_min(1e-30)) for p, q in zip(a, b))


def compare(ks: Sequence[int] = (1, 4, 8), threads: Sequence[int | None] = (1, None), samples: int = 9_600,
            repeats: int = 15, min_iterations: int = 10, n_train: int = 55_000) -> list[dict]:
    """Network-samples/s of every variant at each K and thread count; one row per (threads, K).

    ``threads`` entries are intra-op thread counts (``None``: torch's default). Each timed run
    trains ``max(min_iterations, samples / (K * 60))`` iterations; many short runs in turns
    give many pairs of runs taken moments apart. Each row holds the best rate of each variant,
    and ``autograd_slower_by``: how much longer the faster autograd variant takes than
    ``manual``, as the median over rounds of the ratio of their times in the same round
    (0.10 means 10% slower). On a shared machine this paired median is steadier than the ratio
    of best-of rates, which is also given (``autograd_slower_by_best_of``).
    ``max_gradient_difference`` is the gradient check's largest relative difference.
    """
    ks = validate_populations(list(ks))
    data = random_mnist_like(n_train)
    rows = []
    for thread_count in threads:
        with torch_threads(thread_count) as used:
            for k in ks:
                states = member_states(k)
                x, y = data.train_x[:BATCH_SIZE], data.train_y[:BATCH_SIZE]
                reference = step_gradients("manual", states, x, y)
                difference = max(_relative_difference(step_gradients(v, states, x, y), reference)
                                 for v in VARIANTS[1:])
                iterations = max(min_iterations, samples // (k * BATCH_SIZE))
                batches = list(minibatch_indices(len(data.train_y), BATCH_SIZE, iterations, seed=1))
                steps = {v: make_step(v, LeNetPopulation(states)) for v in VARIANTS}

                def run(step: Step) -> None:
                    for idx in batches:
                        step(data.train_x[idx], data.train_y[idx])

                times = timed_rounds({v: (lambda s=s: run(s)) for v, s in steps.items()}, repeats)
                row: dict = {"threads": used, "k": k, "iterations": iterations, "rounds": len(times["manual"])}
                row.update({v: k * iterations * BATCH_SIZE / min(times[v]) for v in VARIANTS})
                row["autograd_slower_by"] = min(
                    statistics.median(a / m for a, m in zip(times[v], times["manual"])) for v in VARIANTS[1:]) - 1
                row["autograd_slower_by_best_of"] = row["manual"] / max(row[v] for v in VARIANTS[1:]) - 1
                row["max_gradient_difference"] = difference
                rows.append(row)
    return rows


def format_table(rows: list[dict]) -> str:
    """The rows of :func:`compare` as a Markdown table (best network-samples/s of each variant)."""
    lines = [
        "| threads | K | manual `_step` | autograd, mask in forward | autograd, mask on gradients "
        "| autograd slower by (paired median) | (ratio of bests) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(f"| {r['threads']} | {r['k']} | {r['manual']:,.0f} | {r['autograd_mask_forward']:,.0f} | "
                     f"{r['autograd_mask_grad']:,.0f} | {r['autograd_slower_by']:+.0%} | "
                     f"{r['autograd_slower_by_best_of']:+.0%} |")
    return "\n".join(lines)


def _parse_threads(text: str) -> list[int | None]:
    """``"1,default"`` as ``[1, None]`` (``None``: torch's own thread count)."""
    try:
        threads = [None if t.strip() == "default" else int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        threads = []
    if not threads or any(t is not None and t < 1 for t in threads):
        raise ValueError(f"--threads must list positive thread counts or 'default', got {text!r}")
    return threads


def main(argv: list[str] | None = None) -> int:
    """Command line: time the variants, print the table (or one JSON line), optionally save JSON."""
    parser = argparse.ArgumentParser(prog="python -m lth_helpers.benchmarks.autograd_vs_manual",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--populations", default="1,4,8", help="population sizes K (default: %(default)s)")
    parser.add_argument("--threads", default="1,default",
                        help="comma-separated thread counts; 'default' is torch's own (default: %(default)s)")
    parser.add_argument("--samples", type=int, default=9_600,
                        help="network-samples per timed run (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=15, help="timed rounds (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on one line")
    parser.add_argument("--out", default=None, help="also write the JSON result to this file")
    parser.add_argument("--note", default="", help="a note stored with the result (e.g. 'shared machine')")
    args = parser.parse_args(argv)
    try:
        ks = parse_populations(args.populations)
        threads = _parse_threads(args.threads)
        if args.samples < 1 or args.repeats < 1:
            raise ValueError(f"--samples and --repeats must be positive, got {args.samples} and {args.repeats}")
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    rows = compare(ks, threads, args.samples, args.repeats)
    result = {"benchmark": "hand-written backward vs autograd on the population's stacked tensors: "
                           "best network-samples/s of each variant; autograd_slower_by is the median "
                           "over rounds of the paired time ratio (faster autograd variant / manual) - 1",
              "machine": machine_info(), "note": args.note, "samples_per_run": args.samples,
              "repeats": args.repeats, "rows": rows}
    line = json.dumps(result, allow_nan=False, separators=(",", ":"))
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(json.dumps(result, indent=2) + "\n")
    if args.json:
        print(line)
    else:
        print(format_table(rows))
        worst = max(r["max_gradient_difference"] for r in rows)
        print(f"\nGradients of every variant agree with _step to a relative difference of {worst:.1e}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
