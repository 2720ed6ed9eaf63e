"""Thin ipywidgets wrappers: each wires pure functions (which the tests check) to a slider.

* :mod:`.pruning`: the prune-rate slider of notebook 1 (over :mod:`lth_helpers.sweeps`).
* :mod:`.rounds`: the scrubber over IMP rounds of notebook 2 (over
  :mod:`lth_helpers.comparisons` and :mod:`lth_helpers.plots.curves`).
"""

from .pruning import prune_rate_explorer
from .rounds import round_scrubber

__all__ = ["prune_rate_explorer", "round_scrubber"]
