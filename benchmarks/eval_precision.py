"""How much do the evaluation numbers move when the hidden layers are evaluated in bfloat16?

Trains a population of real IMP members (the dense network, and the ticket, its random
reinitialization and its random-mask control at several rounds) on MNIST digits and, at every
evaluation point, evaluates each member twice: in float32 (what ``train_population`` does) and
with ``LeNetPopulation.evaluate(..., precision="bfloat16")``. Reports how far the losses and
accuracies move, and whether the early-stopping iteration (minimum validation loss) or the
test accuracy there changes.

    python benchmarks/eval_precision.py                       # 2,000 iterations, eval every 50
    python benchmarks/eval_precision.py --iterations 10000 --eval-every 100 --out results/precision_10k.json

Masks come from the cached standard-size run in ``notebooks/results/runs`` (seed 0) when it
exists, else from magnitude pruning of the initial weights (same densities). Training uses
the offline 4,120 training digits; the evaluation sets are the genuine MNIST test set split
5,000 / 5,000 (validation / test) when ``../shared/data/mnist-t10k`` exists, else the
offline 380 / 500.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from lth_helpers.data import MNIST_MEAN, MNIST_STD, MNISTData, load_mnist, read_idx
from lth_helpers.imp import _state, member_start, theta0_for
from lth_helpers.models import LAYER_NAMES, LeNet300100
from lth_helpers.population import LeNetPopulation, prepare_training

try:
    from lth_helpers.population import EVAL_PRECISIONS
except ImportError:  # a version without the bfloat16 options
    EVAL_PRECISIONS = ("float32",)
from lth_helpers.pruning import PAPER_RATES, full_masks, layerwise_magnitude_masks
from lth_helpers.training import History, TrainConfig, minibatch_indices, train

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
T10K = PROJECT.parent / "shared" / "data" / "mnist-t10k"
RUNS = PROJECT / "notebooks" / "results" / "runs"
CONTROLS = ("original", "reinit", "random_mask")
#: Evaluation precisions compared; the first is the reference.
MODES = ("float32",) + tuple(p for p in EVAL_PRECISIONS if p != "float32")


def eval_sets(data) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Validation and test sets: genuine t10k digits split in two when available."""
    images = T10K / "t10k-images-idx3-ubyte.gz"
    if images.exists():
        x = torch.as_tensor(read_idx(images).reshape(-1, 784).astype("float32"))
        x = (x / 255.0 - MNIST_MEAN) / MNIST_STD
        y = torch.as_tensor(read_idx(T10K / "t10k-labels-idx1-ubyte.gz").astype("int64"))
        return {"source": "MNIST t10k split 5,000 / 5,000", "val": (x[:5000], y[:5000]), "test": (x[5000:], y[5000:])}
    return {"source": "offline 380 / 500", "val": (data.val_x, data.val_y), "test": (data.test_x, data.test_y)}


def ticket_masks(seed: int, round_: int) -> tuple[dict[str, torch.Tensor], str]:
    """The ticket's mask at ``round_`` from the cached run, or magnitude pruning of theta_0."""
    for folder in sorted(RUNS.glob("*/")):
        path = folder / f"seed_{seed}" / f"round_{round_:02d}" / "original.pt"
        if path.exists():
            saved = torch.load(path, map_location="cpu", weights_only=True)
            return {n: saved["mask"][n].bool() for n in LAYER_NAMES}, f"cached run {folder.name}"
    theta0 = theta0_for(seed)
    masks = full_masks(theta0)
    for _ in range(round_):
        masks = layerwise_magnitude_masks(theta0, PAPER_RATES, masks)
    return masks, "magnitude pruning of theta_0"


def first_min(values: list[float]) -> int:
    return min(range(len(values)), key=lambda i: (values[i], i))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=2_000)
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--rounds", default="0,4,8,12,16", help="IMP rounds whose members are trained")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(HERE / "results" / "eval_precision.json"))
    parser.add_argument("--reference", action="store_true",
                        help="also train every member with the autograd reference loop (float32 evaluation) "
                             "to show how far float rounding in *training* already moves the same numbers")
    args = parser.parse_args(argv)

    data = load_mnist(PROJECT / "data", download=False, verbose=False)
    sets = eval_sets(data)
    bf16_inputs = {name: sets[name][0].bfloat16() for name in ("val", "test")}
    theta0 = theta0_for(args.seed)
    members, states, mask_source = [], [], ""
    for round_ in [int(r) for r in args.rounds.split(",")]:
        masks, mask_source = ticket_masks(args.seed, round_)
        for strategy in (CONTROLS if round_ > 0 else ("original",)):
            weights, member_masks = member_start(strategy, args.seed, round_, masks, theta0)
            states.append(_state(weights, member_masks))
            members.append(f"round {round_} {strategy}")

    config = TrainConfig(iterations=args.iterations, eval_every=args.eval_every)
    population = LeNetPopulation(states)
    params, grads, optimizer = prepare_training(population, config)
    histories = {mode: [History() for _ in members] for mode in MODES}
    x_train, y_train = data.train_x, data.train_y
    eval_seconds = {mode: 0.0 for mode in MODES}
    start = time.perf_counter()
    for iteration, idx in enumerate(minibatch_indices(len(y_train), 60, args.iterations, args.seed), start=1):
        with torch.no_grad():
            population._step(x_train[idx], y_train[idx], grads)
        optimizer.step()
        if iteration % args.eval_every == 0 or iteration == args.iterations:
            for mode in MODES:
                t = time.perf_counter()
                if mode == "float32":
                    results = [population.evaluate(*sets[s]) for s in ("val", "test")]
                else:
                    results = [population.evaluate(bf16_inputs[s], sets[s][1], precision=mode)
                               for s in ("val", "test")]
                eval_seconds[mode] += time.perf_counter() - t
                (vl, va), (tl, ta) = results
                for k, history in enumerate(histories[mode]):
                    history.append(iteration, 0.0, (float(vl[k]), float(va[k])), (float(tl[k]), float(ta[k])))
    for p in params:
        p.grad = None

    comparisons = [(mode, "float32") for mode in MODES[1:]]
    if args.reference:
        # Same members, same minibatches, trained by lth_helpers.training.train: differs from the
        # population only by float rounding in the forward/backward kernels.
        eval_data = MNISTData("reference", data.source, x_train, y_train, *sets["val"], *sets["test"])
        histories["reference"] = []
        for state in states:
            model = LeNet300100()
            model.load_state_dict(state)
            histories["reference"].append(train(model, eval_data, config, seed=args.seed, progress=False))
        comparisons.append(("reference", "float32"))

    n_val, n_test = len(sets["val"][1]), len(sets["test"][1])
    report = {}
    for other, base in comparisons:
        rows, summary = compare(histories[base], histories[other], members, n_val, n_test)
        report[f"{other}_vs_{base}"] = {"summary": summary, "members": rows}
    evaluations = len(histories["float32"][0].iterations)
    header = {
        "iterations": args.iterations,
        "eval_every": args.eval_every,
        "evaluations": evaluations,
        "members": len(members),
        "mask_source": mask_source,
        "eval_sets": sets["source"],
        "eval_seconds": eval_seconds,
        "total_seconds": time.perf_counter() - start,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"run": header, **report}, indent=2) + "\n")
    print(json.dumps(header, indent=2))
    for title, part in report.items():
        print(f"\n{title}:")
        print(json.dumps(part["summary"], indent=2))
        print(f"{'member':<24}{'|dL val|':>10}{'dAcc val':>9}{'dAcc test':>10}{'stop a':>8}{'stop b':>8}"
              f"{'gap':>10}{'dTest@stop':>11}")
        for r in part["members"]:
            print(f"{r['member']:<24}{r['max_abs_val_loss_diff']:>10.1e}{r['max_val_acc_diff_examples']:>9}"
                  f"{r['max_test_acc_diff_examples']:>10}{r['early_stop_a']:>8}{r['early_stop_b']:>8}"
                  f"{r['a_val_loss_gap_between_minima']:>10.1e}{r['test_acc_at_early_stop_diff_examples']:>11}")
    print(f"written to {out}")
    return 0


def compare(base: list[History], other: list[History], members: list[str], n_val: int, n_test: int
            ) -> tuple[list[dict], dict]:
    """Per-member and overall differences of ``other`` from ``base`` (a = base, b = other)."""
    rows = []
    for k, name in enumerate(members):
        a, b = base[k], other[k]
        ia, ib = first_min(a.val_loss), first_min(b.val_loss)
        rows.append({
            "member": name,
            "max_abs_val_loss_diff": max(abs(p - q) for p, q in zip(a.val_loss, b.val_loss)),
            "max_abs_test_loss_diff": max(abs(p - q) for p, q in zip(a.test_loss, b.test_loss)),
            "max_val_acc_diff_examples": round(max(abs(p - q) for p, q in zip(a.val_acc, b.val_acc)) * n_val),
            "max_test_acc_diff_examples": round(max(abs(p - q) for p, q in zip(a.test_acc, b.test_acc)) * n_test),
            "evals_with_any_acc_diff": sum((p != q) or (r != s) for p, q, r, s in
                                           zip(a.val_acc, b.val_acc, a.test_acc, b.test_acc)),
            "early_stop_a": a.iterations[ia],
            "early_stop_b": b.iterations[ib],
            # How close the two candidate minima are in a's own losses: a near tie, or a real change?
            "a_val_loss_gap_between_minima": a.val_loss[ib] - a.val_loss[ia],
            "test_acc_at_early_stop_diff_examples": round((b.test_acc[ib] - a.test_acc[ia]) * n_test),
            "final_test_acc_diff_examples": round((b.test_acc[-1] - a.test_acc[-1]) * n_test),
        })
    summary = {
        "max_abs_val_loss_diff": max(r["max_abs_val_loss_diff"] for r in rows),
        "max_abs_test_loss_diff": max(r["max_abs_test_loss_diff"] for r in rows),
        "max_val_acc_diff_examples": max(r["max_val_acc_diff_examples"] for r in rows),
        "max_test_acc_diff_examples": max(r["max_test_acc_diff_examples"] for r in rows),
        "early_stop_changed": sum(r["early_stop_a"] != r["early_stop_b"] for r in rows),
        "max_abs_early_stop_shift": max(abs(r["early_stop_a"] - r["early_stop_b"]) for r in rows),
        "max_abs_test_acc_at_early_stop_diff_examples": max(abs(r["test_acc_at_early_stop_diff_examples"]) for r in rows),
        "max_abs_final_test_acc_diff_examples": max(abs(r["final_test_acc_diff_examples"]) for r in rows),
    }
    return rows, summary

if __name__ == "__main__":
    sys.exit(main())
