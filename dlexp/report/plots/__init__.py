"""The report's pictures, drawn with matplotlib from run folders (no TensorFlow).

Each drawing function returns PNG bytes, drawn from a ``..._figure`` twin that returns
the matplotlib Figure (the Python API's ``Run.plot``). Figures use matplotlib's object API with the
Agg canvas (no pyplot, no global state), so they can be drawn in worker processes.
``dlexp.report.images`` draws a picture of kind ``k`` as ``plots.k(...)``:

- :mod:`~dlexp.report.plots.curves`: learning curves, runs overlaid, every batch's loss;
- :mod:`~dlexp.report.plots.predictions`: the decision boundary, the test split's
  confusion matrix and ROC curve; for regression the prediction over the plane, and
  predicted against actual with the residuals;
- :mod:`~dlexp.report.plots.search`: a search's objective by value, heatmap, importance,
  parallel coordinates;
- :mod:`~dlexp.report.plots.strip`: the boundary epoch by epoch (from learning.npz);
- :mod:`~dlexp.report.plots.network`: the network with its units' outputs, and the
  weights' histogram (from learning.npz);
- :mod:`~dlexp.report.plots.style`: the colours, sizes and layout helpers they share.
"""

from dlexp.report.plots.curves import (
    batch_loss,
    batch_loss_figure,
    batch_x,
    learning_curves,
    learning_curves_figure,
    metric_names,
    overlay,
)
from dlexp.report.plots.network import (
    LINK_WIDTH,
    MOST_UNITS,
    NEAR_ZERO,
    layers,
    link_styles,
    near_zero,
    network,
    network_figure,
    shown_units,
    weights,
    weights_figure,
)
from dlexp.report.plots.predictions import (
    MOST_TARGETS,
    boundary,
    boundary_figure,
    evaluation,
    evaluation_figure,
    prediction_figure,
    regression_evaluation_figure,
    regression_scores,
)
from dlexp.report.plots.search import (
    heatmap,
    heatmap_figure,
    importance,
    importance_figure,
    objective_vs_params,
    objective_vs_params_figure,
    parallel,
    parallel_figure,
)
from dlexp.report.plots.strip import (
    MOST_FRAMES,
    is_regression,
    learning_strip,
    learning_strip_figure,
    plane_rgb,
    strip_frames,
)
from dlexp.report.plots.style import (
    BLUE,
    CLASS_COLOURS,
    DPI,
    ORANGE,
    PLAYGROUND,
    RUN_COLOURS,
    SAVE_DPI,
    SMALL,
    category_ticks,
    value_rgb,
    value_scale,
)

__all__ = [
    # the colours and sizes (style)
    "BLUE",
    "CLASS_COLOURS",
    "DPI",
    "ORANGE",
    "PLAYGROUND",
    "RUN_COLOURS",
    "SAVE_DPI",
    "SMALL",
    "category_ticks",
    "value_rgb",
    "value_scale",
    # one run's curves, runs overlaid, every batch's loss (curves)
    "batch_loss",
    "batch_loss_figure",
    "batch_x",
    "learning_curves",
    "learning_curves_figure",
    "metric_names",
    "overlay",
    # what a model predicts (predictions)
    "boundary",
    "boundary_figure",
    "evaluation",
    "evaluation_figure",
    "MOST_TARGETS",
    "prediction_figure",
    "regression_evaluation_figure",
    "regression_scores",
    # a search (search)
    "heatmap",
    "heatmap_figure",
    "importance",
    "importance_figure",
    "objective_vs_params",
    "objective_vs_params_figure",
    "parallel",
    "parallel_figure",
    # the boundary epoch by epoch (strip)
    "MOST_FRAMES",
    "learning_strip",
    "is_regression",
    "learning_strip_figure",
    "plane_rgb",
    "strip_frames",
    # the network and its weights (network)
    "LINK_WIDTH",
    "MOST_UNITS",
    "NEAR_ZERO",
    "layers",
    "link_styles",
    "near_zero",
    "network",
    "network_figure",
    "shown_units",
    "weights",
    "weights_figure",
]
