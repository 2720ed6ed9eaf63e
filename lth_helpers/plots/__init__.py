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
from .imp import (plot_imp_overview, plot_learning_curves, plot_one_shot_vs_iterative,
                  plot_strategy_curves, plot_vs_density)

__all__ = ["PERCENT_TICKS", "STRATEGY_COLORS", "STRATEGY_LABELS", "percent_axis"]
__all__ += ["plot_imp_overview", "plot_learning_curves", "plot_one_shot_vs_iterative",
            "plot_strategy_curves", "plot_vs_density"]
from .weights import (plot_fan_histograms, plot_initial_values, plot_paired_differences, plot_scale_vs_density,
                      plot_strategy_comparison, plot_survival_prediction, plot_trained_magnitudes, plot_weight_changes)
__all__ += ["plot_fan_histograms", "plot_initial_values", "plot_paired_differences", "plot_scale_vs_density",
            "plot_strategy_comparison", "plot_survival_prediction", "plot_trained_magnitudes", "plot_weight_changes"]
from .basics import (plot_accuracy_vs_density, plot_dense_training, plot_explorer, plot_layer_densities,
                     plot_pixel_survival, plot_retraining, plot_retraining_curves, plot_unit_masks,
                     plot_weight_histograms)
__all__ += ["plot_accuracy_vs_density", "plot_dense_training", "plot_explorer", "plot_layer_densities",
            "plot_pixel_survival", "plot_retraining", "plot_retraining_curves", "plot_unit_masks",
            "plot_weight_histograms"]
