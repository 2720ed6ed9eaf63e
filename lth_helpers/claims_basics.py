"""Notebook 1's evidence: every comparison with its 95% interval, and the paper vs. this run.

Notebook 1 trains one dense network (one seed), prunes it, and retrains the pruned architecture
three ways (:mod:`lth_helpers.retraining`). With one dense network there is no seed-to-seed
variation to resample, so its intervals are over what the run does have: the **test digits**
(every network is tested on the same ones, so comparisons are paired digit by digit) and, for
the fresh initialization, its **draws**. :func:`lth_helpers.intervals.accuracy_interval` does the
resampling. Such an interval says how sure we are about *this* dense network's pruned
architectures, not about dense networks in general: notebook 3 repeats the comparison over seeds.
The early-stopping iteration has no test digits and, with one dense network, nothing to resample:
it gets no interval, and no sentence draws a conclusion from it.

A sentence states an effect only when its interval excludes zero; otherwise it says "not resolved
at this size" and quotes the interval. Everything here returns text (Markdown) built from the run,
so nothing a notebook prints can go stale when the size, the data or a seed changes. Paper
references are to Frankle & Carbin, ICLR 2019 (arXiv v5).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from .claims import FAILS, HOLDS, UNRESOLVED, Claim, claims_table
# Part 1 (pruning without retraining) is re-exported, so that notebook 1 imports one module.
from .basics_evidence import (NOT_COMPARED, Comparison, _accuracy_text, _as_bool, _pct, border_range, compare,
                              pixel_text, pruned_comparison_text, pruned_correct, sweep_text)
from .data import MNISTData
from .history import History
from .pruning import expected_density, mask_stats
from .retraining import DenseRun, RetrainResult
from .sweeps import prune_net

__all__ = ["Comparison", "compare", "pruned_correct", "compare_retrained", "sweep_text", "pruned_comparison_text",
           "border_range", "pixel_text", "puzzle_text", "puzzle_summary", "basics_summary",
           "pruning_basics_claims", "pruning_basics_table", "NOT_COMPARED"]


def _networks(retrain: RetrainResult, variant: str, density: float) -> list[dict]:
    rows = sorted(retrain.select(variant, density), key=lambda r: r["draw"])
    if not rows:
        raise ValueError(f"no {variant!r} network at density {density!r}: trained {retrain.densities}")
    return rows


def _correct_of(row: Mapping, key: str = "test_correct") -> str:
    packed = row.get(key)
    if not packed:
        raise ValueError(f"retraining record {row.get('variant')!r} at {row.get('density')} has no per-digit test "
                         f"results ({key!r}); re-run retraining_experiment with this version")
    return packed


def compare_retrained(retrain: RetrainResult, ours: str, theirs: str, density: float,
                      dense: History | None = None, before_training: bool = False) -> Comparison:
    """``ours`` minus ``theirs`` at ``density``: variants of :data:`~lth_helpers.retraining.RETRAIN_VARIANTS`,
    or ``"dense"`` (then ``dense``, the dense network's history, is needed). Test accuracy at early
    stopping, or with ``before_training`` at iteration 0 (variants only)."""
    sides, late = [], 0
    for name in (ours, theirs):
        if name == "dense":
            if before_training:
                raise ValueError("before_training compares the retrained variants only, not the dense network")
            if dense is None or not dense.test_correct_at_early_stop:
                raise ValueError("comparing with the dense network needs its History with test_correct_at_early_stop")
            sides.append([dense.test_correct_at_early_stop])
            late += int(dense.early_stop_iteration > 0.9 * dense.iterations[-1])
        else:
            rows = _networks(retrain, name, density)
            sides.append([_correct_of(r, "start_test_correct" if before_training else "test_correct") for r in rows])
            late += 0 if before_training else sum(bool(r.get("late_minimum")) for r in rows)
    return compare(sides[0], sides[1], ours, theirs, density, late)


def _iterations(retrain: RetrainResult, variant: str, density: float) -> str:
    values = [r["early_stop_iteration"] for r in _networks(retrain, variant, density)]
    text = f"{sum(values) / len(values):,.0f}"
    return text + (f" (draws: {', '.join(f'{v:,}' for v in values)})" if len(values) > 1 else "")


def puzzle_text(retrain: RetrainResult, dense: History, seed: int = 0) -> str:
    """Section 4's findings as Markdown: at each density, fresh init vs. fine-tuned (the puzzle),
    reset to theta_0 vs. fresh init and vs. fine-tuned, with intervals; then the early-stopping
    iterations, which have no interval."""
    draws = len(_networks(retrain, "reinit", retrain.densities[0]))
    digits = len(_as_bool(dense.test_correct_at_early_stop))
    lines = [f"Test accuracy at early stopping, differences in points with 95% intervals over the {draws} "
             f"fresh-init draw(s) and the {digits:,} test digits, for one dense network (seed {seed}):", ""]
    fresh = "the fresh initialization"
    for d in retrain.densities:
        puzzle = compare_retrained(retrain, "reinit", "fine_tune", d)
        glimpse = compare_retrained(retrain, "ticket", "reinit", d)
        level = compare_retrained(retrain, "ticket", "fine_tune", d)
        lines.append(
            f"* **{_pct(d)}**: fresh init minus fine-tuned: "
            f"{puzzle.sentence(f'{fresh} is the more accurate', f'{fresh} is less accurate')}; "
            f"reset to θ<sub>0</sub> minus fresh init: "
            f"{glimpse.sentence('the reset network is more accurate', 'the reset network is less accurate')}; "
            f"reset to θ<sub>0</sub> minus fine-tuned: "
            f"{level.sentence('the reset network is more accurate', 'the reset network is less accurate')}.")
    start = "; ".join(
        f"{_pct(d)}: " + compare_retrained(retrain, "ticket", "reinit", d, before_training=True).sentence(
            "the reset network already gets more digits right", "the reset network gets fewer digits right")
        for d in retrain.densities)
    lines += ["", f"Before any training (iteration 0), reset to θ<sub>0</sub> minus fresh init: {start}."]
    its = "; ".join(f"{_pct(d)}: fresh init {_iterations(retrain, 'reinit', d)}, reset to θ<sub>0</sub> "
                    f"{_iterations(retrain, 'ticket', d)}" for d in retrain.densities)
    lines += ["", f"Early-stopping iterations: {its}; dense network {dense.early_stop_iteration:,}. With one dense "
              "network these iterations have no interval (there is nothing to resample), so this notebook draws no "
              "conclusion about which learns faster; notebook 3 compares them over seeds."]
    return "\n".join(lines)


def _grouped(comparisons: Sequence[Comparison], higher: str, lower: str) -> str:
    """``less accurate at 21.1% (...) and 7.0% (...); not resolved at this size at 3.6% (...)``."""
    parts = []
    for verdict, words in (("lower", lower), ("higher", higher), ("unresolved", "not resolved at this size")):
        chosen = [c for c in comparisons if c.verdict == verdict]
        if chosen:
            parts.append(f"{words} at " + ", ".join(f"{_pct(c.density)} ({c.text()})" for c in chosen))
    return "; ".join(parts)


def puzzle_summary(retrain: RetrainResult, dense: History, seed: int = 0) -> str:
    """The Summary's puzzle bullet, with its caveat: one dense network, N draws, test-digit intervals."""
    puzzle = [compare_retrained(retrain, "reinit", "fine_tune", d) for d in retrain.densities]
    glimpse = [compare_retrained(retrain, "ticket", "reinit", d) for d in retrain.densities]
    draws = len(_networks(retrain, "reinit", retrain.densities[0]))
    digits = len(_as_bool(dense.test_correct_at_early_stop))
    return (f"* **The puzzle.** Trained from a fresh random initialization, the pruned architecture is, next to the "
            f"pruned and fine-tuned network (fresh init minus fine-tuned): "
            f"{_grouped(puzzle, 'more accurate', 'less accurate')}. Reset to the dense network's own θ<sub>0</sub> "
            f"instead (a one-shot ticket), it is, next to the fresh initialization (reset minus fresh init): "
            f"{_grouped(glimpse, 'more accurate', 'less accurate')}. *Caveat:* one dense network (seed {seed}) and "
            f"{draws} fresh-init draw(s) per size; the intervals are over those draws and the {digits:,} test digits, "
            "not over dense networks, and the early-stopping iterations have none. Notebook 3 asks the same "
            "question over several seeds.")


def basics_summary(dense: DenseRun, retrain: RetrainResult, data: MNISTData, sweep_densities: Sequence[float]) -> str:
    """The Summary of notebook 1 as Markdown bullets, every number and every effect from this run."""
    net = dense.net
    d21, d36 = expected_density(7), expected_density(15)
    stats = mask_stats(prune_net(net, 1 - d21, "global")[0])
    kept = ", ".join(f"{name} {_pct(v['density'])}" for name, v in stats["layers"].items())
    hardest = min(stats["layers"], key=lambda name: stats["layers"][name]["density"])
    why = (": it cuts the first layer hardest, whose Glorot-initialized weights are the smallest" if hardest == "fc1"
           else f": it cuts {hardest} hardest")
    border = pixel_text({f"layer-wise, {_pct(d36)}": prune_net(net, 1 - d36, "layerwise")[0]["fc1"]},
                        data.train_x.std(0)).removeprefix("* ")
    fine = [compare_retrained(retrain, "fine_tune", "dense", d, dense.history) for d in retrain.densities]
    acc = _accuracy_text(dense.history.test_correct_at_early_stop)
    bullets = [
        f"* **The dense network** (seed {dense.seed}, the same network as notebook 2's seed {dense.seed}): test "
        f"accuracy {acc} at early stopping, iteration {dense.history.early_stop_iteration:,} of "
        f"{dense.history.iterations[-1]:,}.",
        "* **Pruning without retraining**, pruned minus unpruned:\n"
        + "\n".join("  " + line for line in sweep_text(net, data, sweep_densities).splitlines()),
        f"* **Global vs. layer-wise.** A single global threshold at {_pct(d21)} keeps {kept}{why}. "
        + pruned_comparison_text(net, data, d21),
        f"* **First-layer masks**, {border}",
        "* **Fine-tuning** the pruned network, fine-tuned minus dense: "
        + _grouped(fine, "more accurate than the dense network", "less accurate than the dense network") + ".",
        puzzle_summary(retrain, dense.history, dense.seed),
    ]
    return "\n".join(bullets)


# -------------------------------------------------------------------- paper vs. this notebook


def _verdicts(comparisons: Sequence[Comparison], expected: str, no_loss: bool = False) -> str:
    """One verdict per density, merged where they agree: ``holds`` or ``holds at 21.1%; unresolved at 3.6%``.

    ``expected`` is the direction the paper reports ("higher"/"lower"). With ``no_loss`` the claim is
    "not less accurate": it does not hold where a loss is resolved, and holds elsewhere.
    """
    def one(c: Comparison) -> str:
        if no_loss:
            return FAILS if c.verdict == "lower" else HOLDS
        return UNRESOLVED if c.verdict == "unresolved" else HOLDS if c.verdict == expected else FAILS
    found = [(one(c), c.density) for c in comparisons]
    kinds = list(dict.fromkeys(v for v, _ in found))
    if len(kinds) == 1:
        return kinds[0]
    return "; ".join(f"{v} at " + ", ".join(_pct(d) for w, d in found if w == v) for v in kinds)


def _each(comparisons: Sequence[Comparison]) -> str:
    return "; ".join(f"{_pct(c.density)}: {c.text()}" for c in comparisons)


def pruning_basics_claims(dense: DenseRun, retrain: RetrainResult, data: MNISTData,
                          compare_density: float | None = None) -> list[Claim]:
    """Notebook 1's "paper vs. this notebook" rows, each with this run's intervals and a verdict.

    Args:
        dense: the dense network (:func:`~lth_helpers.retraining.train_dense`).
        retrain: the retraining experiment on its pruned architectures.
        data: the data the run used.
        compare_density: where to compare layer-wise and global pruning without retraining
            (default: the paper's round 12, 7.0%).
    """
    h = dense.history
    compare_density = expected_density(12) if compare_density is None else compare_density
    ds = retrain.densities
    vs = lambda ours, theirs, chosen=ds: [compare_retrained(retrain, ours, theirs, d, h) for d in chosen]  # noqa: E731
    in_4c = [d for d in ds if 0.0517 - 1e-9 <= d <= 0.950 + 1e-9]
    fast_4c = [d for d in ds if 0.176 - 1e-9 <= d <= 0.675 + 1e-9]
    fine_iterations = _networks(retrain, "fine_tune", ds[0])[0]["iterations"]
    over_90 = [d for d in ds if d <= 0.10 + 1e-9] or ds   # "over 90% of the weights removed"
    claims = [
        Claim("Fig. 3", "Dense LeNet-300-100 reaches about 98% test accuracy (55,000 training digits, 50,000 "
              "iterations)",
              f"{_accuracy_text(h.test_correct_at_early_stop)} at iteration {h.early_stop_iteration:,} of "
              f"{h.iterations[-1]:,}; {len(data.train_y):,} training digits; notebook 2's seed-{dense.seed} network",
              f"{NOT_COMPARED} (fewer digits, shorter training)"),
        Claim("Section 1; Han et al. 2015", "Pruned and retrained, a network keeps its accuracy with over 90% of "
              "its weights removed (LeNet-300-100 at about 1/12)",
              f"fine-tuned ({fine_iterations:,} iterations) minus dense: {_each(vs('fine_tune', 'dense', over_90))}",
              _verdicts(vs("fine_tune", "dense", over_90), "higher", no_loss=True)),
        Claim("Section 1", "The pruned architecture trained from a fresh initialization ends less accurate than "
              "the pruned, retrained one (the puzzle)",
              f"fresh init minus fine-tuned: {_each(vs('reinit', 'fine_tune'))}",
              _verdicts(vs("reinit", "fine_tune"), "lower")),
        Claim("Section 1; Fig. 4", "Reinitialized, the pruned architecture is less accurate than the original "
              "network (reinit falls off from about 21.1%)",
              f"fresh init minus dense: {_each(vs('reinit', 'dense'))}", _verdicts(vs("reinit", "dense"), "lower")),
        Claim("Fig. 4", "Reset to θ<sub>0</sub>, the architecture is more accurate than reinitialized (IMP tickets: "
              "0.5 points at 21.1%; here one-shot)",
              f"reset to θ<sub>0</sub> minus fresh init: {_each(vs('ticket', 'reinit'))}",
              _verdicts(vs("ticket", "reinit"), "higher")),
    ]
    if in_4c:
        chosen = vs("ticket", "dense", in_4c)
        claims.append(Claim("Fig. 4c", "One-shot tickets are more accurate than the dense network for "
                            "95.0% ≥ P<sub>m</sub> ≥ 5.17%",
                            f"reset to θ<sub>0</sub> minus dense: {_each(chosen)}", _verdicts(chosen, "higher")))
    if fast_4c:
        its = "; ".join(f"{_pct(d)}: it. {_iterations(retrain, 'ticket', d)}" for d in fast_4c)
        claims.append(Claim("Fig. 4c", "One-shot tickets reach minimum validation loss sooner than the dense "
                            "network for 67.5% ≥ P<sub>m</sub> ≥ 17.6%",
                            f"{its} vs. dense it. {h.early_stop_iteration:,}; one dense seed: no interval",
                            f"{UNRESOLVED} (one seed)"))
    net = dense.net
    masks = prune_net(net, 1 - compare_density, "global")[0]
    layers = ", ".join(f"{n} {_pct(v['density'])}" for n, v in mask_stats(masks)["layers"].items())
    c = compare([pruned_correct(net, data, compare_density, "global")],
                [pruned_correct(net, data, compare_density, "layerwise")], "global", "layerwise", compare_density)
    claims.append(Claim("Section 4", "Layer-wise pruning for LeNet; global for VGG-19 and ResNet-18, where "
                        "layer-wise pruning makes the small layers bottlenecks",
                        f"no retraining, at {_pct(compare_density)}, global minus layer-wise: {c.text()}; global "
                        f"keeps {layers}", f"{NOT_COMPARED} (no claim about LeNet)"))
    return claims


def pruning_basics_table(dense: DenseRun, retrain: RetrainResult, data: MNISTData,
                         compare_density: float | None = None) -> str:
    """Notebook 1's "paper vs. this notebook" table as Markdown (:func:`lth_helpers.claims.claims_table`)."""
    return claims_table(pruning_basics_claims(dense, retrain, data, compare_density))
