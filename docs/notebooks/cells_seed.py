"""The cells of perceptron_to_mlp.ipynb: the notebook dlexp grew from ("From Perceptron
to MLP", Matteo Alberti, 2018), its sections rebuilt with dlexp's Python API (build.py
writes it). The configs are those of configs/lessons/, written out as dicts so that the
notebook runs anywhere dlexp is installed."""

CELLS = [
    (
        "md",
        r"""
        # From the perceptron to the multi-layer perceptron, with dlexp

        The notebook dlexp grew from (*From Perceptron to MLP*, Matteo Alberti, 2018),
        rebuilt with dlexp's Python API: each section states its idea, then trains what
        shows it and draws the picture. Its configs are those of `configs/lessons/`
        (the manual's page *The notebook's lessons*), written out as dicts so the
        notebook runs wherever dlexp is installed. Every run and search goes into
        `runs/` (or `$DLEXP_RUNS_DIR`); run the notebook again and each search resumes
        where it stopped, so finished ones cost nothing. The whole notebook takes about
        a minute and a half on two CPU cores.

        1. From one neuron to layers
        2. Activation functions
        3. The forward and the backward pass (a worked example, checked)
        4. Cost and accuracy
        5. Gradient descent: batch, mini-batch, stochastic
        6. The optimizers
        7. The learning rate
        8. Dropout and L1/L2 regularization
        9. Early stopping
        10. The grid search
        """,
    ),
    (
        "code",
        """
        %matplotlib inline
        import numpy as np
        import pandas as pd
        from matplotlib.figure import Figure

        import dlexp

        MOONS = {"kind": "moons", "n_samples": 1000, "noise": 0.2}  # the notebook's data, smaller


        def overlay(search, param, metrics=("val_loss",), title=""):
            \"\"\"One line per trial of ``search``: each metric by epoch, labelled by its
            ``param``.\"\"\"
            fig = Figure(figsize=(7, 3.6), layout="constrained")
            ax = fig.subplots()
            for run, value in zip(search.trials(), search.results[param], strict=True):
                for metric, style in zip(metrics, ("-", "--"), strict=False):
                    h = run.history
                    ax.plot(h["epoch"], h[metric], style, label=f"{value} {metric}")
            ax.set(xlabel="epoch", ylabel=" / ".join(metrics), title=title)
            ax.legend(fontsize=7, ncols=2)
            return fig
        """,
    ),
    (
        "md",
        r"""
        ## 1. From one neuron to layers

        A neuron computes $a = f\left(\sum_i w_i x_i + b\right)$. Without the activation
        $f$ a stack of layers is still linear,
        $L_T = W_T W_{T-1} \cdots W_1 L_0 = W L_0$, so one neuron and many draw the same
        straight line. The notebook's first model is logistic regression: one sigmoid
        unit, three parameters (`configs/logreg.yaml`).
        """,
    ),
    (
        "code",
        """
        line = dlexp.train(
            {
                "name": "logreg",
                "data": MOONS,
                "model": {"layers": []},
                "train": {"optimizer": "adam", "learning_rate": 0.05, "epochs": 60,
                          "early_stopping": False},
            }
        )
        line
        """,
    ),
    (
        "md",
        """
        A straight line gets 80 to 90% of the moons right. Two hidden layers of 16 ReLU
        units (`configs/moons.yaml`) bend the boundary around them:
        """,
    ),
    (
        "code",
        """
        mlp = dlexp.train(
            {
                "name": "mlp",
                "data": MOONS,
                "model": {"layers": [16, 16], "activation": "relu"},
                "train": {"optimizer": "adam", "learning_rate": 0.01, "epochs": 60},
            }
        )
        pd.DataFrame({"logistic regression": line.metrics["test"], "MLP": mlp.metrics["test"]})
        """,
    ),
    ("code", 'mlp.plot("boundary")'),
    (
        "md",
        r"""
        ## 2. Activation functions

        | | $f(x)$ | $f'(x)$ | range |
        |---|---|---|---|
        | sigmoid | $\frac{1}{1 + e^{-x}}$ | $f(x)\,(1 - f(x))$, at most 0.25 | (0, 1) |
        | tanh | $\frac{e^x - e^{-x}}{e^x + e^{-x}}$ | $1 - f(x)^2$ | (-1, 1) |
        | ReLU | $\max(0, x)$ | 0 for $x < 0$, 1 for $x > 0$ | [0, ∞) |

        `dlexp.explain.activations` draws Keras' own functions with their derivatives
        (by JAX's autodiff):
        """,
    ),
    (
        "code",
        """
        dlexp.explain.activations("sigmoid", "tanh", "relu", "elu")
        """,
    ),
    (
        "md",
        """
        Backpropagation multiplies one derivative per layer. Sigmoid's is at most 0.25,
        so through six layers the gradient shrinks by 0.25⁶ ≈ 0.0002 at best: the same
        deep, narrow network (six hidden layers of 8, plain SGD) learns nothing with
        sigmoid and well with the others (`configs/lessons/activations.yaml`).
        """,
    ),
    (
        "code",
        """
        activations = dlexp.search(
            {
                "name": "lesson_activations",
                "data": MOONS,
                "model": {"layers": [8, 8, 8, 8, 8, 8]},
                "train": {"optimizer": "sgd", "learning_rate": 0.1, "epochs": 40,
                          "early_stopping": False},
                "search": {
                    "objective": "val_loss",
                    "params": {"model.activation": ["sigmoid", "tanh", "relu", "elu", "selu"]},
                },
            }
        )
        activations.results[["model.activation", "val_loss", "test_accuracy"]]
        """,
    ),
    ("code", 'overlay(activations, "model.activation", title="six layers deep: validation loss")'),
    (
        "md",
        r"""
        ## 3. The forward and the backward pass

        Matt Mazur's worked example, the one the notebook follows: two inputs (0.05,
        0.10), two sigmoid hidden units, two sigmoid outputs with targets 0.01 and 0.99,
        $E = \sum \frac{1}{2}(\text{target} - \text{out})^2$, learning rate 0.5.

        **Forward:** $net_{h1} = w_1 x_1 + w_2 x_2 + b_1 = 0.15 \cdot 0.05 + 0.2 \cdot 0.1
        + 0.35 = 0.3775$, $out_{h1} = \frac{1}{1 + e^{-0.3775}} = 0.593269992$, and so on
        to the outputs and $E$.

        **Backward:** the chain rule,
        $\frac{\partial E}{\partial w_5} = \frac{\partial E}{\partial out_{o1}}
        \cdot \frac{\partial out_{o1}}{\partial net_{o1}}
        \cdot \frac{\partial net_{o1}}{\partial w_5}$, then
        $w_5^+ = w_5 - \eta \frac{\partial E}{\partial w_5}$.

        `dlexp.explain.backprop` works every figure out by the chain rule in NumPy and
        again by Keras' autodiff, and fails if they differ by more than 1e-6:
        """,
    ),
    (
        "code",
        """
        bp = dlexp.explain.backprop(steps=1)
        bp
        """,
    ),
    (
        "md",
        """
        The worked example's figures, checked (the seed notebook's own arithmetic
        slipped in places: it has 0.365 for $net_{h1}$ and 0.0754 for ∂E/∂w5):
        """,
    ),
    (
        "code",
        """
        step = bp.steps[0]
        hidden, output = step["layers"]
        checks = {
            "net h1": (hidden["net"][0], 0.3775),
            "out h1": (hidden["out"][0], 0.593269992),
            "out o1": (output["out"][0], 0.75136507),
            "E total": (step["loss"], 0.298371109),
            "dE/dw5": (output["grad_weights"][0][0], 0.082167041),
            "w5 after": (output["weights_after"][0][0], 0.35891648),
        }
        for name, (got, post) in checks.items():
            assert abs(got - post) < 1e-8, (name, got, post)
        assert bp.agreed  # and Keras' autodiff agrees with every figure
        pd.DataFrame(checks, index=["dlexp", "the worked example"]).T
        """,
    ),
    (
        "md",
        """
        Repeat the step 10,000 times and the error falls from 0.298 to 0.0000351, as in
        the post:
        """,
    ),
    (
        "code",
        """
        long = dlexp.explain.backprop(steps=10000)
        fig = Figure(figsize=(6, 3), layout="constrained")
        ax = fig.subplots()
        ax.loglog(np.arange(1, len(long.losses) + 1), long.losses)
        ax.set(xlabel="step", ylabel="E", title="backpropagation, 10,000 steps")
        fig
        """,
    ),
    (
        "md",
        r"""
        ## 4. Cost and accuracy

        Training minimises the cost, here binary cross-entropy
        $-\frac{1}{m}\sum y \log \hat y + (1 - y)\log(1 - \hat y)$; accuracy is what a
        person reads, the share of points on the right side. The notebook's "deeper
        neural network", 8-32-128-256-256-128-64-16-1 with ReLU and Adamax
        (`configs/deep_mlp.yaml`, 145,561 parameters), trained for 20 epochs:
        """,
    ),
    (
        "code",
        """
        deep = dlexp.train(
            {
                "name": "deep_mlp",
                "data": MOONS,
                "model": {"layers": [8, 32, 128, 256, 256, 128, 64, 16], "activation": "relu"},
                "train": {"loss": "binary_crossentropy", "optimizer": "adamax", "epochs": 20,
                          "metrics": ["accuracy"], "early_stopping": False},
            }
        )
        print(f"{deep.model().count_params():,} parameters")
        deep.history.tail()
        """,
    ),
    ("code", 'deep.plot("curves")'),
    (
        "md",
        r"""
        ## 5. Gradient descent: batch, mini-batch, stochastic

        $\theta \leftarrow \theta - \eta \nabla_\theta J(\theta)$, with the gradient over
        the whole training set (batch), over $n$ examples (mini-batch) or over one
        (stochastic). The same network and plain SGD, one update per example, per 32,
        or per pass over the data (`configs/lessons/gradient_descent.yaml`); every
        batch's loss is kept (`log_every: batch`):
        """,
    ),
    (
        "code",
        """
        gd = dlexp.search(
            {
                "name": "lesson_gradient_descent",
                "data": MOONS,
                "model": {"layers": [8, 8], "activation": "tanh"},
                "train": {"optimizer": "sgd", "learning_rate": 0.05, "epochs": 20,
                          "log_every": "batch", "early_stopping": False},
                "search": {
                    "objective": "val_loss",
                    "params": {"train.batch_size": [1, 32, "full"]},
                },
            }
        )
        gd.results[["train.batch_size", "val_loss", "test_accuracy"]]
        """,
    ),
    (
        "md",
        """
        Stochastic steps are many and noisy; full-batch steps are smooth but one per
        epoch, so in the same 20 epochs it has barely started:
        """,
    ),
    ("code", 'overlay(gd, "train.batch_size", title="validation loss by batch size")'),
    ("code", 'gd.trials()[0].plot("batches")'),
    (
        "md",
        r"""
        ## 6. The optimizers

        Momentum adds a fraction of the last step, $v_t = \gamma v_{t-1} + \eta
        \nabla_\theta J(\theta)$, $\theta \leftarrow \theta - v_t$ ($\gamma \approx 0.9$);
        Adagrad divides each parameter's rate by the root of its summed squared
        gradients, so it only shrinks; RMSprop and Adadelta keep a decaying average
        instead; Adam adds momentum to that. Every optimizer the notebook lists, at
        Keras' default rate, 30 epochs (`configs/lessons/optimizers.yaml`):
        """,
    ),
    (
        "code",
        """
        optimizers = dlexp.search(
            {
                "name": "lesson_optimizers",
                "data": MOONS,
                "model": {"layers": [16, 16], "activation": "relu"},
                "train": {"epochs": 30, "early_stopping": False},
                "search": {
                    "objective": "val_loss",
                    "params": {
                        "train.optimizer": [
                            "sgd",
                            {"name": "sgd", "momentum": 0.9},
                            {"name": "sgd", "momentum": 0.9, "nesterov": True},
                            "adagrad", "adadelta", "rmsprop", "adam", "adamax", "nadam",
                        ]
                    },
                },
            }
        )
        optimizers.results.sort_values("val_loss")[["train.optimizer", "val_loss", "test_accuracy"]]
        """,
    ),
    ("code", 'overlay(optimizers, "train.optimizer", title="validation loss by optimizer")'),
    (
        "md",
        """
        The same optimizers on a function of two variables, Rosenbrock's banana-shaped
        valley, from the same start (`dlexp explain optimizers`):
        """,
    ),
    ("code", 'dlexp.explain.optimizers("rosenbrock")'),
    (
        "md",
        """
        ## 7. The learning rate

        The rate $\\eta$ scales every step. Plain SGD at five rates, 30 epochs: too small
        and it creeps, too large and it jumps out of the valley and stays lost.
        """,
    ),
    (
        "code",
        """
        rates = dlexp.search(
            {
                "name": "lesson_learning_rate",
                "data": MOONS,
                "model": {"layers": [16, 16], "activation": "relu"},
                "train": {"optimizer": "sgd", "epochs": 30, "early_stopping": False},
                "search": {
                    "objective": "val_loss",
                    "params": {"train.learning_rate": [0.001, 0.01, 0.1, 1.0, 10.0]},
                },
            }
        )
        rates.results[["train.learning_rate", "val_loss", "test_accuracy"]]
        """,
    ),
    ("code", 'overlay(rates, "train.learning_rate", title="validation loss by learning rate")'),
    (
        "md",
        r"""
        ## 8. Dropout and L1/L2 regularization

        A wide network (64-64) on few noisy points (200) overfits: the training loss
        falls while the validation loss rises. L2 adds
        $\frac{\lambda}{2m}\sum \|w\|^2$ to the cost and shrinks every weight; L1 adds
        $\frac{\lambda}{m}\sum |w|$ and drives most of them to zero
        (`configs/lessons/regularization.yaml`):
        """,
    ),
    (
        "code",
        """
        NOISY = {"kind": "moons", "n_samples": 200, "noise": 0.35}
        penalties = dlexp.search(
            {
                "name": "lesson_regularization",
                "data": NOISY,
                "model": {"layers": [64, 64], "activation": "relu"},
                "train": {"optimizer": {"name": "sgd", "momentum": 0.9}, "learning_rate": 0.05,
                          "epochs": 300, "early_stopping": False},
                "search": {"objective": "val_loss",
                           "params": {"model.l1": [0.0, 0.001], "model.l2": [0.0, 0.001]}},
            }
        )


        def weights(run):
            \"\"\"Every kernel weight of the run's model, flattened.\"\"\"
            layers = [layer for layer in run.model().layers if hasattr(layer, "kernel")]
            return np.concatenate([layer.get_weights()[0].ravel() for layer in layers])


        table = penalties.results[["model.l1", "model.l2", "train_loss", "val_loss"]].copy()
        w = [np.abs(weights(run)) for run in penalties.trials()]
        table["median |w|"] = [np.median(a) for a in w]
        table["share |w| < 0.001"] = [np.mean(a < 0.001) for a in w]
        table
        """,
    ),
    (
        "code",
        """
        l1_only = table.index[(table["model.l1"] > 0) & (table["model.l2"] == 0)][0]
        penalties.trials()[l1_only].plot("weights")  # nearly every weight at zero
        """,
    ),
    (
        "md",
        """
        Dropout switches off a random share of the hidden units at each step, so no unit
        can rely on another: the same network with dropout 0, 0.2 and 0.5
        (`configs/lessons/dropout.yaml`), training loss dashed, validation solid:
        """,
    ),
    (
        "code",
        """
        dropout = dlexp.search(
            {
                "name": "lesson_dropout",
                "data": NOISY,
                "model": {"layers": [64, 64], "activation": "relu"},
                "train": {"optimizer": "adam", "learning_rate": 0.01, "epochs": 300,
                          "early_stopping": False},
                "search": {"objective": "val_loss", "params": {"model.dropout": [0.0, 0.2, 0.5]}},
            }
        )
        overlay(dropout, "model.dropout", metrics=("val_loss", "loss"), title="dropout")
        """,
    ),
    (
        "md",
        """
        ## 9. Early stopping

        Keep part of the training data aside for validation and stop when its loss has
        not improved for `patience` epochs, restoring the best weights
        (`configs/lessons/early_stopping.yaml`): 1,000 epochs allowed, far fewer run.
        The curves mark the best epoch and the stop.
        """,
    ),
    (
        "code",
        """
        stopped = dlexp.train(
            {
                "name": "lesson_early_stopping",
                "data": NOISY,
                "model": {"layers": [64, 64], "activation": "relu"},
                "train": {
                    "optimizer": "adam",
                    "learning_rate": 0.002,
                    "epochs": 1000,
                    "early_stopping": {"monitor": "val_loss", "patience": 20,
                                       "restore_best_weights": True},
                },
            }
        )
        {k: stopped.info[k] for k in ("epochs_run", "best_epoch", "stopped_early")}
        """,
    ),
    ("code", 'stopped.plot("curves")'),
    (
        "md",
        """
        ## 10. The grid search

        The notebook's Talos grid, as it was: 3 widths × 0 to 2 hidden layers × 2
        initializers × 2 optimizers × 2 activations = 72 trials of 100 epochs
        (`configs/grid.yaml`), on the notebook's 2,000 points. dlexp trains compatible
        trials together as one compiled program, so the 72 take seconds.
        """,
    ),
    (
        "code",
        """
        grid = dlexp.search(
            {
                "name": "notebook_grid",
                "data": {**MOONS, "n_samples": 2000},
                "train": {"metrics": ["accuracy", "f1"], "early_stopping": False},
                "search": {
                    "tuner": "grid",
                    "objective": "val_accuracy",
                    "params": {
                        "model.first_neuron": [9, 10, 11],
                        "model.hidden_layers": [0, 1, 2],
                        "train.batch_size": [30],
                        "train.epochs": [100],
                        "model.kernel_initializer": ["uniform", "normal"],
                        "train.optimizer": ["nadam", "adam"],
                        "model.activation": ["relu", "elu"],
                    },
                },
            }
        )
        grid
        """,
    ),
    (
        "md",
        """
        Every trial is a row of `grid.results`; a pivot table shows what mattered, and
        `grid.importance` measures it (how much the objective suffers when a key's
        values are shuffled):
        """,
    ),
    (
        "code",
        """
        grid.results.pivot_table(
            index="model.hidden_layers", columns="model.first_neuron", values="val_accuracy"
        ).round(3)
        """,
    ),
    ("code", "grid.importance"),
    (
        "md",
        """
        `grid.plot` draws the report's pictures of a search: here the objective against
        each searched value (`"heatmap"`, `"importance"` and `"parallel"` are the
        others):
        """,
    ),
    ("code", 'grid.plot("params")'),
    (
        "md",
        """
        The best trial is a `Run` like any other, and `grid.best_config` trains it again:
        """,
    ),
    (
        "code",
        """
        best = grid.best
        print({k: best.config["model"][k] for k in ("first_neuron", "hidden_layers", "activation")})
        best.plot("boundary")
        """,
    ),
    ("code", "best.predict([[0.0, 0.5], [1.0, -0.5], [2.0, 0.5]])"),
]
