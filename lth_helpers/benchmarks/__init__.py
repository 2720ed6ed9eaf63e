"""Speed benchmarks of the training loops, kept apart from the teaching code.

Nothing in the rest of :mod:`lth_helpers` imports this subpackage; it only measures. One job
per module:

* :mod:`.timing`: how long each measurement runs (:class:`BenchPlan`) and best-of-repeats timing;
* :mod:`.limit`: FLOPs per training sample and the machine's float32 matmul limit;
* :mod:`.throughput`: network-samples/s of ``train`` and ``train_population`` at several K;
* :mod:`.report`: ``python -m lth_helpers bench``: the report, its one-line JSON, and the
  seam (``end_to_end``) for an end-to-end benchmark of the IMP driver;
* :mod:`.autograd_vs_manual`: the population's hand-written backward against autograd over the
  same stacked tensors (``python -m lth_helpers.benchmarks.autograd_vs_manual``).

``python -m lth_helpers.benchmarks [--json] [--full]`` runs the same benchmark as
``python -m lth_helpers bench``. See ``benchmarks/README.md`` for how to read the numbers.
"""

from .report import measure, run_benchmark

__all__ = ["measure", "run_benchmark"]
