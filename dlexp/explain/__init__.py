"""Views inside the network: the notebook's lessons (backpropagation worked by hand,
activation functions, the optimizers' paths) as commands, checked against Keras."""
