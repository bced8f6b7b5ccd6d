"""Putting a run's model to use: ``dlexp predict`` and ``dlexp export``."""

from __future__ import annotations

from pathlib import Path

import click

from dlexp.cli.common import BadInput, echo_json, json_stdout_only, warn, write_out


@click.command()
@click.argument("run_dir", metavar="RUN")
@click.option("--points", help='Points as "x1,x2;x1,x2" (the run\'s features, in order).')
@click.option(
    "--input",
    "input_csv",
    metavar="FILE.csv",
    help="A CSV file whose columns named as the run's features are read.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json"]),
    default="csv",
    show_default=True,
    help="csv or json (a list of records) on stdout.",
)
def predict(run_dir, points, input_csv, fmt):
    """Predict with the model of the run in RUN: one row per point.

    Each row holds the point's features, proba_<class> for each class and the
    predicted class; for regression, predicted (predicted_<target> for each of
    several targets) in the target's units. Points are in the data's own units: the
    model carries its preprocessing (data.standardize is its first layer).

    \b
    Examples:
      dlexp predict runs/20260101-000000-moons-1a2b3c --points "0.5,-0.2;1,0"
      dlexp predict runs/my-run --input new_points.csv --format json
    """
    from dlexp.use import predict as predict_mod

    with json_stdout_only("json"):  # stdout holds the predictions and nothing else
        records = predict_mod.predict(run_dir, points, input_csv)
    if fmt == "json":
        echo_json(records)
    else:
        click.echo(predict_mod.to_csv(records), nl=False)


@click.command()
@click.argument("run_dir", metavar="RUN")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["python", "savedmodel", "tflite", "playground"]),
    default="python",
    show_default=True,
    help="python: a standalone Keras script; savedmodel: for TF Serving; tflite; "
    "playground: the run's TensorFlow Playground URL.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Where: python and playground, a file (default stdout); savedmodel, a new folder; "
    "tflite, a file.",
)
def export(run_dir, fmt, out):
    """Export the run in RUN: a standalone Keras script that rebuilds its data, model
    and training (plain keras, NumPy and scikit-learn; no dlexp), or its model as a
    TensorFlow SavedModel (TF Serving) or a TensorFlow Lite file. The two TensorFlow
    formats are the one place dlexp imports TensorFlow.

    --format playground prints the URL of the run's settings on
    playground.tensorflow.org, for a run on Playground's data (data.kind:
    playground), and says on stderr what Playground has no place for (an optimizer
    other than SGD, dropout, a schedule...). `dlexp config --from-playground URL`
    goes the other way.

    \b
    Examples:
      dlexp export runs/<run-id> --format python --out my_run.py && python my_run.py 5
      dlexp export runs/<run-id> --format savedmodel --out serving/my_model
      dlexp export runs/<run-id> --format tflite --out my_model.tflite
      dlexp export runs/<run-id> --format playground
    """
    from dlexp.use import export as export_mod

    if fmt in ("savedmodel", "tflite") and out is None:
        raise BadInput(f"--format {fmt}: needs --out")
    if out is not None:
        export_mod.check_destination(fmt, out)  # every format, before any work
    if fmt == "playground":
        from dlexp.use import playground

        url, notes = playground.playground_url(run_dir)
        for note in notes:
            warn(note)
        text = url + "\n"
    elif fmt != "python":
        with json_stdout_only("json"):  # TensorFlow's chatter goes to stderr
            done = getattr(export_mod, fmt)(run_dir, out)
        click.echo(f"wrote {done}", err=True)
        return
    else:
        text = export_mod.python_script(run_dir, out)
    if out is None:
        click.echo(text, nl=False)
        return
    write_out(out, text)
    click.echo(f"wrote {out}", err=True)
