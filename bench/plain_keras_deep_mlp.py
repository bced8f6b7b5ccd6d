"""The notebook's deep MLP as a plain Keras script: what dlexp train is measured against.

Same work as `dlexp train configs/deep_mlp.yaml`: 2,000 moons points (noise 0.2),
the same 64/16/20 train/validation/test split, the 9-layer ReLU network (145,561
parameters), Adamax, binary cross-entropy, 50 epochs at batch 32 with validation
each epoch, then evaluation on every split and the model saved. Keras' default
backend (TensorFlow) unless KERAS_BACKEND says otherwise.
"""

import sys
import tempfile
import time

import keras
from sklearn.datasets import make_moons
from sklearn.model_selection import train_test_split

keras.utils.set_random_seed(42)
x, y = make_moons(2000, noise=0.2, random_state=42)
x = x.astype("float32")
y = y.astype("float32")
x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=0.2, random_state=42, stratify=y)
x_train, x_val, y_train, y_val = train_test_split(
    x_rest, y_rest, test_size=0.2, random_state=42, stratify=y_rest
)

model = keras.Sequential(
    [keras.Input((2,))]
    + [keras.layers.Dense(w, activation="relu") for w in (8, 32, 128, 256, 256, 128, 64, 16)]
    + [keras.layers.Dense(1, activation="sigmoid")]
)
model.compile(loss="binary_crossentropy", optimizer="adamax", metrics=["accuracy"])
start = time.perf_counter()
model.fit(x_train, y_train, epochs=50, batch_size=32, validation_data=(x_val, y_val), verbose=0)
print(f"fit: {time.perf_counter() - start:.2f} s on {keras.backend.backend()}")
for name, (xs, ys) in {
    "train": (x_train, y_train),
    "val": (x_val, y_val),
    "test": (x_test, y_test),
}.items():
    loss, acc = model.evaluate(xs, ys, verbose=0)
    print(f"{name}: loss {loss:.4f} accuracy {acc:.4f}")
with tempfile.TemporaryDirectory() as tmp:
    model.save(f"{tmp}/model.keras")
print(keras.backend.backend(), model.count_params(), file=sys.stderr)
