"""The notebook's grid search as a plain keras-tuner script: what dlexp search is measured against.

keras-tuner's GridSearch over first_neuron x hidden_layers x kernel_initializer x
optimizer x activation, each trial the notebook's Talos model (a Dense first layer,
hidden_layers more of the same width, a sigmoid output), binary cross-entropy,
accuracy and F1, batch 30, validation on the same split dlexp uses. Keras' default
backend (TensorFlow). Prints the best trial's validation accuracy as JSON.

    python bench/plain_keras_tuner_grid.py --epochs 100            # all 72 points
    python bench/plain_keras_tuner_grid.py --first-neuron 9 11 --hidden-layers 0 2
"""

import argparse
import json
import tempfile
import time

import keras
import keras_tuner as kt
from sklearn.datasets import make_moons
from sklearn.model_selection import train_test_split

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=100)
parser.add_argument("--first-neuron", type=int, nargs="+", default=[9, 10, 11])
parser.add_argument("--hidden-layers", type=int, nargs="+", default=[0, 1, 2])
parser.add_argument("--kernel-initializer", nargs="+", default=["uniform", "normal"])
parser.add_argument("--optimizer", nargs="+", default=["nadam", "adam"])
parser.add_argument("--activation", nargs="+", default=["relu", "elu"])
args = parser.parse_args()

keras.utils.set_random_seed(42)
x, y = make_moons(2000, noise=0.2, random_state=42)
x, y = x.astype("float32"), y.astype("float32").reshape(-1, 1)
x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=0.2, random_state=42, stratify=y)
x_train, x_val, y_train, y_val = train_test_split(
    x_rest, y_rest, test_size=0.2, random_state=42, stratify=y_rest
)


def build(hp):
    first = hp.Choice("first_neuron", args.first_neuron)
    init = hp.Choice("kernel_initializer", args.kernel_initializer)
    activation = hp.Choice("activation", args.activation)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(first, activation=activation, kernel_initializer=init),
        ]
    )
    for _ in range(hp.Choice("hidden_layers", args.hidden_layers)):
        model.add(keras.layers.Dense(first, activation=activation, kernel_initializer=init))
    model.add(keras.layers.Dense(1, activation="sigmoid", kernel_initializer=init))
    model.compile(
        loss="binary_crossentropy",
        optimizer=hp.Choice("optimizer", args.optimizer),
        metrics=["accuracy", keras.metrics.F1Score(threshold=0.5, name="f1")],
    )
    return model


with tempfile.TemporaryDirectory() as tmp:
    tuner = kt.GridSearch(
        build, objective="val_accuracy", directory=tmp, project_name="grid", overwrite=True
    )
    start = time.perf_counter()
    tuner.search(
        x_train,
        y_train,
        epochs=args.epochs,
        batch_size=30,
        validation_data=(x_val, y_val),
        verbose=0,
    )
    seconds = time.perf_counter() - start
    best = tuner.oracle.get_best_trials(1)[0]
    print(
        json.dumps(
            {
                "trials": len(tuner.oracle.trials),
                "best_val_accuracy": best.score,
                "best": best.hyperparameters.values,
                "search_seconds": seconds,
            }
        )
    )
