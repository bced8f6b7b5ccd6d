"""From a run to a model in use: predict, export, TensorBoard, compare."""
