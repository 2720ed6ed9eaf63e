"""Thin ipywidgets wrappers over pure functions (the functions are what the tests check).

* :mod:`.pruning`: the prune-rate slider of notebook 1.
* :mod:`.rounds`: the scrubber over IMP rounds of notebook 2.
"""
