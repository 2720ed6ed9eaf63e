"""Run the training-speed benchmark and keep its JSON report in ``benchmarks/results/latest.json``.

    python benchmarks/bench_training.py                 # full run, about a minute
    python benchmarks/bench_training.py --quick         # a few seconds, rough numbers
    python benchmarks/bench_training.py --populations 1,4 --out results/mine.json

This is ``python -m lth_helpers bench --json`` in a subprocess (so that nothing else in this
process disturbs the timings), followed by the readable table built from the saved JSON.
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short measurements (rough numbers)")
    parser.add_argument("--populations", default="1,2,4,8,16", help="population sizes K (default: 1,2,4,8,16)")
    parser.add_argument("--out", default=str(HERE / "results" / "latest.json"),
                        help="where to write the JSON report (default: benchmarks/results/latest.json)")
    args = parser.parse_args(argv)

    command = [sys.executable, "-m", "lth_helpers", "bench", "--json", "--populations", args.populations]
    if args.quick:
        command.append("--quick")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        return done.returncode
    report = json.loads(done.stdout)  # fails loudly if the output is not one JSON object
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")

    from lth_helpers.bench import format_report

    print(format_report(report))
    print(f"\nJSON report written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
