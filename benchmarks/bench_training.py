"""Run the training-speed benchmark and keep its JSON report in ``benchmarks/results/latest.json``.

    python benchmarks/bench_training.py                          # default run, under 2 minutes
    python benchmarks/bench_training.py --full                   # longer, more repeats
    python benchmarks/bench_training.py --note "shared machine"  # a note saved with the numbers
    python benchmarks/bench_training.py --populations 1,4 --out results/mine.json
    python benchmarks/bench_training.py --compare-autograd       # also save results/autograd_vs_manual.json

This is ``python -m lth_helpers.benchmarks --json`` in a subprocess (so that nothing else in
this process disturbs the timings), followed by the readable table built from the saved JSON.
Close other programs first: the numbers are the best of several repeats, but a busy machine
still lowers them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _run(command: list[str]) -> dict | None:
    """Run a benchmark command that prints one JSON line; its parsed object, or None if it failed."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        return None
    return json.loads(done.stdout)  # fails loudly if the output is not one JSON object


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="longer measurements, more repeats")
    parser.add_argument("--populations", default="1,2,4,8,16", help="population sizes K (default: 1,2,4,8,16)")
    parser.add_argument("--note", default="", help="saved with the report, e.g. 'shared 2-core machine'")
    parser.add_argument("--out", default=str(HERE / "results" / "latest.json"),
                        help="where to write the JSON report (default: benchmarks/results/latest.json)")
    parser.add_argument("--compare-autograd", action="store_true",
                        help="also time autograd against the hand-written backward "
                             "(saved in benchmarks/results/autograd_vs_manual.json)")
    args = parser.parse_args(argv)

    command = [sys.executable, "-m", "lth_helpers.benchmarks", "--json", "--populations", args.populations]
    if args.full:
        command.append("--full")
    report = _run(command)
    if report is None:
        return 1
    report["note"] = args.note
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")

    from lth_helpers.benchmarks.report import format_report

    print(format_report(report))
    print(f"\nJSON report written to {out}")

    if args.compare_autograd:
        compare_out = HERE / "results" / "autograd_vs_manual.json"
        rows = _run([sys.executable, "-m", "lth_helpers.benchmarks.autograd_vs_manual", "--json",
                     "--note", args.note, "--out", str(compare_out)])
        if rows is None:
            return 1
        from lth_helpers.benchmarks.autograd_vs_manual import format_table

        print("\n" + format_table(rows["rows"]))
        print(f"\nComparison written to {compare_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
