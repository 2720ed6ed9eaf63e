"""The companion's standard figures. Every function returns a matplotlib ``Figure`` (or draws
on an ``Axes`` it is given) and takes plain data: records, histories, tensors.

* :mod:`.basics`: weight histograms, first-layer masks as 28x28 receptive fields,
  accuracy vs. weights remaining (notebook 1).
* :mod:`.imp`: the paper's IMP figures: accuracy and early-stopping iteration vs. weights
  remaining, learning curves, controls with their spread (notebooks 2-3).
* :mod:`.weights`: weight movement, initial-value distributions, fans and scaling
  (notebooks 4-5).
"""

from .style import PERCENT_TICKS, STRATEGY_COLORS, STRATEGY_LABELS, percent_axis

__all__ = ["PERCENT_TICKS", "STRATEGY_COLORS", "STRATEGY_LABELS", "percent_axis"]
