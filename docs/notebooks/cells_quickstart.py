"""The cells of quickstart.ipynb: dlexp from Python in ten cells (build.py writes it)."""

CELLS = [
    (
        "md",
        """
        # dlexp quickstart: train, look, search, predict

        dlexp's Python API is the command line's, in a notebook: `dlexp.train` and
        `dlexp.search` write the same run folders as `dlexp train` and `dlexp search`,
        and give back objects whose tables are pandas DataFrames and whose pictures are
        matplotlib figures. Everything here goes into `runs/` next to the notebook
        (or `$DLEXP_RUNS_DIR`) and takes about half a minute on two CPU cores.

        A config is a YAML file or, as here, a dict; every key it leaves out takes its
        default (`dlexp config` prints them all).
        """,
    ),
    (
        "code",
        """
        import dlexp

        config = {
            "name": "moons",
            "seed": 42,
            "data": {"kind": "moons", "n_samples": 1000, "noise": 0.2},
            "model": {"layers": [16, 16], "activation": "relu"},
            "train": {"optimizer": "adam", "learning_rate": 0.01, "epochs": 30},
        }
        run = dlexp.train(config)
        run
        """,
    ),
    (
        "md",
        """
        `run` is the run folder: `run.status`, `run.path`, `run.config` (the resolved
        config, every default filled in) and `run.metrics`, the final figures by split.
        """,
    ),
    (
        "code",
        """
        print(run.status, run.path)
        run.metrics["test"]
        """,
    ),
    (
        "md",
        """
        `run.history` is `history.csv`: one row per epoch.
        """,
    ),
    ("code", "run.history.tail()"),
    ("code", 'run.plot("curves")'),
    (
        "md",
        """
        The data has two features, so the decision boundary can be drawn over the plane:
        """,
    ),
    ("code", 'run.plot("boundary")'),
    (
        "md",
        """
        ## A small search

        A config with a `search` section is a grid (or random, bayesian, hyperband)
        search: here 2 widths × 2 activations = 4 trials, trained together as one
        program. Run the cell again and the search resumes: finished trials are kept.
        """,
    ),
    (
        "code",
        """
        grid = {
            **config,
            "name": "quick_grid",
            "search": {
                "objective": "val_accuracy",
                "params": {"model.layers": [[8], [16, 16]], "model.activation": ["relu", "tanh"]},
            },
        }
        s = dlexp.search(grid)
        s.results
        """,
    ),
    ("code", 's.plot("heatmap")  # the objective over the two searched keys'),
    (
        "md",
        """
        `s.best` is the best trial as a `Run`, and `s.best_config` its config, ready to
        train again (on more epochs, another seed ...).
        """,
    ),
    (
        "code",
        """
        best = s.best
        print(best.config["model"]["layers"], best.config["model"]["activation"])
        best.metrics["val"]
        """,
    ),
    (
        "md",
        """
        ## Use the model

        `run.predict` gives the model's answer for new points: the features, each
        class's probability and the predicted class. `run.model()` is the Keras model
        itself.
        """,
    ),
    ("code", "best.predict([[0.5, -0.2], [1.0, 0.0], [-1.0, 0.5]])"),
    ("code", "best.model().summary()"),
]
