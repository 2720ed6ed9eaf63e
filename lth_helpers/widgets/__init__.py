"""Thin ipywidgets wrappers over pure functions (the functions are what the tests check).

* :mod:`.pruning`: the prune-rate slider of notebook 1.
* :mod:`.rounds`: the scrubber over IMP rounds of notebook 2.
"""

from .rounds import round_scrubber, round_view

__all__ = ["round_scrubber", "round_view"]
from .pruning import prune_rate_explorer
__all__ += ["prune_rate_explorer"]
