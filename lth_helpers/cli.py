"""The command line: run IMP headless, or benchmark the training loop.

    python -m lth_helpers imp --size quick --strategies original,reinit,random_mask --seeds 2 --out results/quick
    python -m lth_helpers bench [--json]

``imp`` prints a summary table and writes ``results.json`` (one record per trained network)
and ``config.json`` in ``--out``; finished trainings are cached under ``--out/runs`` so that
running the same command again, or after an interruption, resumes instead of starting over.
The notebooks read the same records.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .sizes import SIZES

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lth_helpers", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    imp = commands.add_parser("imp", help="run iterative magnitude pruning with controls")
    imp.add_argument("--size", default="standard", help=f"one of {', '.join(SIZES)} (default: standard)")
    imp.add_argument("--strategies", default="original,reinit,random_mask",
                     help="comma-separated: original, reinit, fan_corrected, random_mask")
    imp.add_argument("--seeds", type=int, default=1, help="number of independent runs (seeds 0..N-1)")
    imp.add_argument("--rounds", type=int, default=None, help="pruning rounds (default: from --size)")
    imp.add_argument("--iterations", type=int, default=None, help="iterations per round (default: from --size)")
    imp.add_argument("--eval-every", type=int, default=None, help="evaluate every N iterations (default: from --size)")
    imp.add_argument("--one-shot", default="", help="also run one-shot pruning to these IMP rounds, e.g. 3,7,15")
    imp.add_argument("--out", default="results/cli", help="output folder (default: results/cli)")
    imp.add_argument("--data-dir", default="./data", help="where MNIST is, or is downloaded to (default: ./data)")
    imp.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    imp.add_argument("--no-progress", action="store_true", help="no progress bars")

    bench = commands.add_parser("bench", help="measure training speed against the machine's matmul rate")
    bench.add_argument("--json", action="store_true", help="print one JSON object instead of a report")
    bench.add_argument("--quick", action="store_true", help="shorter measurements (less accurate)")
    bench.add_argument("--populations", default="1,2,4,8,16", help="population sizes K to measure")
    return parser


def _run_imp(args: argparse.Namespace) -> int:
    from .data import load_mnist
    from .imp import make_config, run_imp, run_one_shot

    overrides = {k: v for k, v in (("rounds", args.rounds), ("iterations", args.iterations),
                                   ("eval_every", args.eval_every)) if v is not None}
    config = make_config(args.size, args.strategies, args.seeds, **overrides)
    one_shot = [int(r) for r in args.one_shot.split(",") if r.strip()]
    data = load_mnist(args.data_dir)
    out = Path(args.out)
    print(f"Data: {data.describe()}")
    print(f"Size: {SIZES[config.size].describe()}")
    result = run_imp(config, data, out / "runs", progress=not args.no_progress, device=args.device)
    records = list(result.records)
    if one_shot:
        extra = run_one_shot(config, one_shot, data, out / "runs", progress=not args.no_progress, device=args.device)
        records += [r for r in extra.records if r["strategy"] == "one_shot"]
        result.records = records
    path = result.to_json(out / "results.json")
    print()
    print(result.format_table())
    print(f"\n{len(records)} records written to {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "imp":
            return _run_imp(args)
        from .bench import run_benchmark

        populations = [int(k) for k in args.populations.split(",") if k.strip()]
        return run_benchmark(as_json=args.json, quick=args.quick, populations=populations)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
