"""The companion's standard figures. Every function returns a matplotlib ``Figure`` (or draws
on an ``Axes`` it is given) and takes plain data: records, histories, tensors, row dicts.

Figures only draw. The numbers they show are computed by the pure functions of
:mod:`lth_helpers.results`, :mod:`lth_helpers.comparisons`, :mod:`lth_helpers.movement` and
:mod:`lth_helpers.scaling`, and every colour, label and tick comes from :mod:`.style`.

* :mod:`.basics`: the dense network's training, accuracy vs. weights remaining when pruned once,
  weight histograms, first-layer masks as 28x28 receptive fields (notebook 1); :mod:`.explorer`:
  the prune-rate explorer's figure; :mod:`.retraining`: the pruned architecture retrained three
  ways (notebook 1).
* :mod:`.imp`: the paper's IMP figures vs. weights remaining, with their spread over seeds;
  :mod:`.curves`: learning curves (notebooks 2-3).
* :mod:`.weights`: weight movement, initial values, survival criteria (notebook 4);
  :mod:`.scaling`: fans, weight scales and the scaling experiment (notebook 5).
"""

from .style import PERCENT_TICKS, STRATEGY_COLORS, STRATEGY_LABELS, percent_axis
from .basics import (plot_accuracy_vs_density, plot_dense_training, plot_layer_densities, plot_pixel_survival,
                     plot_unit_masks, plot_weight_histograms)
from .explorer import plot_explorer
from .retraining import plot_retraining, plot_retraining_curves
from .imp import plot_imp_overview, plot_one_shot_vs_iterative, plot_vs_density
from .curves import plot_learning_curves, plot_round, plot_strategy_curves
from .weights import plot_initial_values, plot_survival_prediction, plot_trained_magnitudes, plot_weight_changes
from .scaling import plot_fan_histograms, plot_paired_differences, plot_scale_vs_density, plot_strategy_comparison

__all__ = [
    "PERCENT_TICKS", "STRATEGY_COLORS", "STRATEGY_LABELS", "percent_axis",
    "plot_accuracy_vs_density", "plot_dense_training", "plot_explorer", "plot_layer_densities",
    "plot_pixel_survival", "plot_unit_masks", "plot_weight_histograms",
    "plot_retraining", "plot_retraining_curves",
    "plot_imp_overview", "plot_one_shot_vs_iterative", "plot_vs_density",
    "plot_learning_curves", "plot_round", "plot_strategy_curves",
    "plot_initial_values", "plot_survival_prediction", "plot_trained_magnitudes", "plot_weight_changes",
    "plot_fan_histograms", "plot_paired_differences", "plot_scale_vs_density", "plot_strategy_comparison",
]
