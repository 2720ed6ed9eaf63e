"""The command line: run IMP headless, or benchmark the training loop.

    python -m lth_helpers imp --size quick --strategies original,reinit,random_mask --seeds 2 --out results/quick
    python -m lth_helpers imp --size quick --strategies original,same_sign_reinit,noisy_0.5 \
        --one-shot 1,2 --mask-criteria magnitude_increase,random --out results/contents
    python -m lth_helpers merge job0 job1 --out merged
    python -m lth_helpers bench [--json] [--full]

``imp`` prints a summary table and writes ``results.json`` (one record per trained network)
and ``config.json`` in ``--out``; finished trainings are cached under ``--out/runs`` so that
running the same command again, or after an interruption, resumes instead of starting over.
The notebooks read the same records. Every argument is checked before any work starts: bad
input is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .sizes import SIZES
from .strategies import KNOWN

if TYPE_CHECKING:
    from .imp import IMPConfig

__all__ = ["main", "build_parser", "parse_seeds"]


def parse_seeds(text: str) -> int | list[int]:
    """``"3"`` is a count (seeds 0, 1, 2); ``"3,4"`` (or ``"3,"``) an explicit list of seeds."""
    try:
        if "," not in text:
            return int(text)
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid seeds {text!r}: expected a count (e.g. 3) or a comma-separated list (e.g. 3,4)") from None


def parse_seed_range(text: str) -> list[int]:
    """``"3:5"`` is seeds 3 and 4 (Python's half-open range)."""
    from .imp import MAX_SEEDS

    try:
        start, stop = (int(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seed range {text!r}: expected START:STOP, e.g. 3:5") from None
    if not 0 <= start < stop:
        raise argparse.ArgumentTypeError(f"invalid seed range {text!r}: expected 0 <= START < STOP")
    if stop - start > MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"invalid seed range {text!r}: at most {MAX_SEEDS} seeds per run; "
                                         "split them over several jobs")
    return list(range(start, stop))


def parse_rounds(text: str) -> list[int]:
    """``"3,7,15"`` as a list of ints (checked for range later, with the rest of the input)."""
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid rounds {text!r}: expected IMP rounds like 3,7,15") from None


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default, except where there is none to show (None, an empty list, a flag)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, [], False, "", argparse.SUPPRESS) or "default:" in (action.help or ""):
            return action.help or ""
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line (``error: ...``) and exit code 2, no usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def parse_workers(text: str) -> int | str:
    """``--workers``: ``auto`` or an integer >= 1."""
    if text.strip() == "auto":
        return "auto"
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 'auto' or an integer >= 1 (processes), got {text!r}")
    return value


def build_parser(prog: str = "python -m lth_helpers") -> argparse.ArgumentParser:
    parser = _Parser(prog=prog, description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    defaults = _Formatter

    imp = commands.add_parser("imp", help="run iterative magnitude pruning with controls", formatter_class=defaults)
    imp.add_argument("--size", default="standard", help=f"the training schedule: {', '.join(SIZES)}")
    imp.add_argument("--strategies", default="original,reinit,random_mask",
                     help=f"comma-separated, any of: {', '.join(KNOWN)} (noisy_<s> for any s > 0)")
    seeds = imp.add_mutually_exclusive_group()
    # default None, not 1: argparse lets a value equal to the default slip past the exclusion.
    seeds.add_argument("--seeds", type=parse_seeds, default=None,
                       help="a count N (seeds 0..N-1) or a comma-separated list of seeds, e.g. 3,4 (default: 1)")
    seeds.add_argument("--seed-range", type=parse_seed_range, default=None,
                       help="seeds START..STOP-1, e.g. 3:5 (for one job of a job array)")
    imp.add_argument("--rounds", type=int, default=None, help="pruning rounds (default: from --size)")
    imp.add_argument("--iterations", type=int, default=None, help="iterations per round (default: from --size)")
    imp.add_argument("--eval-every", type=int, default=None,
                     help="evaluate every N iterations (default: from --size)")
    imp.add_argument("--one-shot", type=parse_rounds, default=[],
                     help="also run one-shot pruning to these IMP rounds, e.g. 3,7,15")
    imp.add_argument("--mask-criteria", default="",
                     help="also train one-shot tickets whose mask keeps the weights by these criteria, at the "
                          "--one-shot rounds: any of large_final, magnitude_increase, movement, large_init, random")
    imp.add_argument("--rewind", type=parse_rounds, default=[],
                     help="late rewinding: one IMP chain per iteration k, survivors reset to the dense network's "
                          "weights at k (0: the paper's theta_0), e.g. 0,100,500; chains with k > 0 train the ticket "
                          "(and reinit, if asked for) only")
    imp.add_argument("--out", default="results/cli", help="output folder")
    imp.add_argument("--data", default="offline", choices=("offline", "mnist"),
                     help="offline: 15,000 genuine digits shipped with the package (no network); "
                          "mnist: full MNIST, downloaded into --data-dir")
    imp.add_argument("--data-dir", default="./data", help="where full MNIST is, or is downloaded to (--data mnist)")
    imp.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    imp.add_argument("--no-progress", action="store_true", help="no progress bars")
    imp.add_argument("--workers", type=parse_workers, default="auto",
                     help="processes training at once (default: auto, one per CPU core for runs of 1,000+ "
                          "iterations; the numbers do not depend on it)")
    imp.add_argument("--all-rounds", action="store_true",
                     help="train every strategy at every round (default: all but original, reinit and "
                          "random_mask only at the rounds nearest the paper's checkpoints)")

    merge = commands.add_parser("merge", help="combine the results folders of jobs that ran different seeds",
                                formatter_class=defaults)
    merge.add_argument("folders", nargs="+", help="the --out folders of the jobs")
    merge.add_argument("--out", required=True, help="the folder to write the merged results to")

    bench = commands.add_parser("bench", help="measure training speed against the machine's matmul rate",
                                formatter_class=defaults)
    bench.add_argument("--json", action="store_true", help="print one JSON object on one line instead of a report")
    bench.add_argument("--full", action="store_true", help="longer, more accurate measurements")
    bench.add_argument("--populations", default="1,2,4,8,16", help="population sizes K to measure")
    bench.add_argument("--no-end-to-end", action="store_true",
                       help="skip timing the IMP driver end to end (one round of the standard experiment, ~1 min)")
    return parser


def _run_imp(args: argparse.Namespace, progress_note: list[str]) -> int:
    from dataclasses import asdict

    from .data import load_mnist
    from .imp import REWIND_STRATEGIES, check_one_shot_rounds, make_config, resolve_device, run_imp, run_one_shot
    from .mask_criteria import check_criteria, run_mask_criteria
    from .out_folder import check_out_folder

    overrides = {k: v for k, v in (("rounds", args.rounds), ("iterations", args.iterations),
                                   ("eval_every", args.eval_every)) if v is not None}
    seeds = args.seed_range if args.seed_range is not None else (1 if args.seeds is None else args.seeds)
    if args.all_rounds:
        overrides["all_rounds"] = True
    config = make_config(args.size, args.strategies, seeds, **overrides)
    one_shot = check_one_shot_rounds(args.one_shot) if args.one_shot else []
    criteria = check_criteria(args.mask_criteria) if args.mask_criteria else []
    if criteria and not one_shot:
        raise ValueError("--mask-criteria needs --one-shot ROUNDS: the densities the masks prune to")
    device = resolve_device(args.device)
    out = Path(args.out)
    rewinds = sorted(set(args.rewind))
    chains = {k: config if k == 0 else make_config(args.size, [s for s in config.strategies if s in REWIND_STRATEGIES],
                                                     seeds, rewind=k, **overrides) for k in rewinds}
    # Absent by default, so that older --out folders still match their configuration.
    extras = dict({"mask_criteria": criteria} if criteria else {}, **({"rewind": rewinds} if rewinds else {}))
    # all_rounds is written only where it differs from the size's own, as the extras below.
    settings = {k: v for k, v in asdict(config).items() if k != "all_rounds" or v != SIZES[config.size].all_rounds}
    config_json = json.dumps(dict(settings, one_shot=one_shot, data=args.data, **extras), indent=1)
    check_out_folder(out, json.loads(config_json))
    progress_note[0] = f"finished trainings are saved in {out / 'runs'}; run the same command again to resume"

    data = load_mnist(args.data, args.data_dir)
    print(f"Data: {data.describe()}")
    print(f"Size: {_describe_schedule(config, overrides)}; seeds {', '.join(map(str, config.seeds))}")
    progress = not args.no_progress
    result = run_imp(config, data, out / "runs", progress=progress, device=device, workers=args.workers)
    tables = []
    if rewinds:
        for record in result.records:
            record["rewind_iteration"] = 0
        tables.append(f"Reset to theta_0 (k = 0):\n{result.format_table()}")
        for k in [k for k in rewinds if k > 0]:
            print(f"Rewinding to iteration {k}:")
            chain = run_imp(chains[k], data, out / "runs", progress=progress, device=device, workers=args.workers)
            tables.append(f"Rewound to iteration {k}:\n{chain.format_table()}")
            result.records = list(result.records) + chain.records
    if one_shot:
        extra = run_one_shot(config, one_shot, data, out / "runs", progress=progress, device=device)
        result.records = list(result.records) + [r for r in extra.records if r["strategy"] == "one_shot"]
    if criteria:
        extra = run_mask_criteria(config, one_shot, criteria, data, out / "runs", progress=progress, device=device)
        result.records = list(result.records) + [r for r in extra.records if r["strategy"].startswith("mask_")]
    path = result.to_json(out / "results.json")
    (out / "config.json").write_text(config_json)
    print()
    print("\n\n".join(tables) if tables else result.format_table())
    print(f"\n{len(result.records)} records written to {path}")
    return 0


def _describe_schedule(config: "IMPConfig", overrides: dict) -> str:
    """The size's one-line description, with the schedule this run really uses (``--iterations`` etc.)."""
    from dataclasses import replace

    schedule = replace(SIZES[config.size], iterations=config.iterations, eval_every=config.eval_every,
                       rounds=config.rounds)
    changed = [f"--{k.replace('_', '-')}" for k in overrides if k != "all_rounds"]
    return schedule.describe() + (f" (set by {', '.join(changed)})" if changed else "")


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--seeds -1,2`` as ``--seeds=-1,2``: argparse takes a value like ``-1,2`` for an option and
    would say only "expected one argument"; joined, the value reaches its check and is named."""
    joined: list[str] = []
    for position, token in enumerate(argv):
        if token == "--":  # everything after it is positional, as given
            return joined + list(argv[position:])
        previous = joined[-1] if joined else ""
        if (previous.startswith("--") and previous != "--" and "=" not in previous
                and token[:1] == "-" and token[1:2].isdigit()):
            joined[-1] = f"{previous}={token}"
        else:
            joined.append(token)
    return joined


def _prog() -> str:
    """How the user called us: ``lth`` (the console script) or ``python -m lth_helpers``."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return name if name and name not in ("__main__.py", "-c") else "python -m lth_helpers"


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code (2 for bad input, 130 when interrupted)."""
    progress_note = ["nothing had started yet"]
    try:
        args = build_parser(_prog()).parse_args(_join_negative_values(sys.argv[1:] if argv is None else argv))
        if args.command == "imp":
            return _run_imp(args, progress_note)
        if args.command == "merge":
            from .merge import merge_results

            path = merge_results(args.folders, args.out)
            print(f"{len(args.folders)} results folders merged into {path}")
            return 0
        from .benchmarks import run_benchmark
        from .benchmarks.throughput import parse_populations

        populations = parse_populations(args.populations)
        from .benchmarks.end_to_end import end_to_end

        return run_benchmark(as_json=args.json, full=args.full, populations=populations,
                             end_to_end=None if args.no_end_to_end else end_to_end)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted: {progress_note[0]}", file=sys.stderr)
        return 130
