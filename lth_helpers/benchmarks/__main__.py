"""``python -m lth_helpers.benchmarks [--json] [--full] [--populations 1,2,4,8,16]``.

The same benchmark as ``python -m lth_helpers bench``, runnable without the package's CLI.
"""

from __future__ import annotations

import argparse
import sys

from .report import run_benchmark
from .throughput import DEFAULT_POPULATIONS, parse_populations


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run :func:`~lth_helpers.benchmarks.report.run_benchmark`; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m lth_helpers.benchmarks",
                                     description="Measure training speed against the machine's matmul limit.")
    parser.add_argument("--json", action="store_true", help="print one JSON object on one line instead of a report")
    parser.add_argument("--full", action="store_true", help="longer measurements, more repeats (a few minutes)")
    parser.add_argument("--populations", default=",".join(map(str, DEFAULT_POPULATIONS)),
                        help="population sizes K to measure, 1..64 (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        return run_benchmark(as_json=args.json, full=args.full, populations=parse_populations(args.populations))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
