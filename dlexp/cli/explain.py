"""``dlexp explain``: views inside the network (backpropagation step by step,
activation functions, optimizers' paths), each checked against Keras."""

from __future__ import annotations

from pathlib import Path

import click

from dlexp.cli.common import (
    DlexpGroup,
    check_out,
    echo_json,
    format_option,
    json_stdout_only,
    wide_console,
    write_out,
)


@click.group(cls=DlexpGroup)
def explain():
    """Look inside the network: backpropagation worked step by step and checked against
    Keras' autodiff, activation functions and their derivatives, the optimizers' paths.

    \b
    Examples:
      dlexp explain backprop
      dlexp explain activations --out activations.png
      dlexp explain optimizers --surface rosenbrock --out paths.png
    """


@explain.command("activations")
@click.argument("names", nargs=-1, metavar="[NAMES]...")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("activations.png"),
    show_default=True,
    help="Where the picture goes (PNG).",
)
@format_option("text", "json")
def explain_activations(names, out, fmt):
    """Keras' activation functions and their derivatives over [-5, 5], drawn as a
    grid of panels (f solid, f' dashed) into --out, with a table: the range, f(0),
    f'(0), the largest |f'| and f' at -5 and 5, where the gradient vanishes.

    Each function is keras.activations.get(NAME); its derivative comes from JAX's
    autodiff through that function (jax.grad). Without NAMES, the notebook's set:
    sigmoid, tanh, relu, leaky_relu, elu, selu, softplus, softsign, swish, gelu,
    linear, hard_sigmoid. --format json prints the table as JSON on stdout.

    \b
    Examples:
      dlexp explain activations
      dlexp explain activations sigmoid tanh relu --out three.png
      dlexp explain activations mish hard_silu --format json | jq '.[].vanishes'
    """
    from dlexp.core.files import jsonable
    from dlexp.explain import activations as act

    names = act.check_names(names)  # a typo is refused before Keras is imported
    check_out(out)
    with json_stdout_only(fmt):
        curves = act.compute(names)
        png = act.draw(curves)
    write_out(out, png)
    if fmt == "json":
        echo_json(jsonable(act.records(curves)))
    else:
        wide_console().print(act.table(curves))
    click.echo(f"wrote {out}", err=True)


@explain.command("optimizers")
@click.option(
    "--surface",
    default="rosenbrock",
    show_default=True,
    help="beale, rosenbrock, saddle (x² - y²) or ravine (0.1 x² + 10 y²).",
)
@click.option(
    "--optimizers",
    "optimizer_names",
    metavar="A,B,...",
    default=None,
    help="Which, comma-separated (default: all): sgd, momentum, nesterov, adagrad, "
    "adadelta, rmsprop, adam, adamax, nadam.",
)
@click.option(
    "--steps",
    type=int,
    default=None,
    help="Steps of each optimizer, 1 to 100,000 (default: the surface's, 100 to 1,000).",
)
@click.option(
    "--lr",
    type=float,
    default=None,
    help="One learning rate for every optimizer (default: each its own, per surface).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where the picture goes (PNG; default optimizers-SURFACE.png).",
)
@format_option("text", "json")
def explain_optimizers(surface, optimizer_names, steps, lr, out, fmt):
    """The paths of Keras' optimizers minimising a function of (x, y) from the same
    start, drawn over its contours into --out, and where each ended as a table.

    Each path is the real keras.optimizers class (SGD, SGD with momentum 0.9 and
    Nesterov, Adagrad, Adadelta, RMSprop, Adam, Adamax, Nadam) updating a
    keras.Variable of shape (2,) with gradients from jax.grad. Each surface has its
    start, steps and a learning rate per optimizer chosen so that each moves
    visibly (the table shows them); --lr gives all the same rate. A path that
    overflows is drawn up to its last finite point and reported as diverged.

    \b
    Examples:
      dlexp explain optimizers
      dlexp explain optimizers --surface saddle        # who escapes a saddle point
      dlexp explain optimizers --surface ravine --optimizers sgd,momentum --lr 0.02
      dlexp explain optimizers --surface beale --steps 2000 --format json | jq .optimizers
    """
    from dlexp.core.files import jsonable
    from dlexp.explain import optimizers as opt

    opt.check(surface, optimizer_names, steps, lr)  # bad options fail before Keras loads
    out = out or Path(f"optimizers-{surface}.png")
    check_out(out)
    with json_stdout_only(fmt):
        result = opt.run(surface, optimizer_names, steps, lr)
        png = opt.draw(result)
    write_out(out, png)
    if fmt == "json":
        echo_json(jsonable({**opt.records(result), "out": str(out)}))
    else:
        wide_console().print(opt.table(result))
    click.echo(f"wrote {out}", err=True)


@explain.command("backprop")
@click.argument("spec_file", metavar="[FILE.yaml]", required=False)
@click.option(
    "--steps",
    type=int,
    default=1,
    show_default=True,
    help="Gradient-descent steps, 1 to 100,000.",
)
@format_option("text", "json")
def explain_backprop(spec_file, steps, fmt):
    """Backpropagation worked step by step on a small dense network, layer by layer:
    each unit's net input, output and delta, the loss, every weight's and bias's
    gradient and the updated weights.

    Without FILE.yaml, Matt Mazur's "A Step by Step Backpropagation Example": 2-2-2
    sigmoid units, inputs 0.05/0.10, targets 0.01/0.99, learning rate 0.5, biases
    fixed. FILE.yaml gives inputs, targets, learning_rate, loss (half_sse, mse,
    binary_crossentropy), train_biases and layers: {weights, biases, activation}
    each, weights[i][j] joining input i to unit j (Keras' layout); activations
    sigmoid, tanh, relu, linear, softmax.

    Every figure is computed by the chain rule in NumPy and again by Keras' autodiff
    (jax.grad through keras.layers.Dense, float64); they must agree within 1e-6, or
    the command fails (exit 1). Text shows step 1 in full, then for --steps N the
    loss at a few steps and the final weights. A step's loss is its forward pass's,
    before its update (Mazur's "after 10,000 steps" is step 10,000's). JSON holds
    every step up to 100 steps; beyond, the first and the last, with "loss_curve"
    and "loss_after" (after the last update).

    \b
    Exit codes: 0 agreed, 1 Keras disagreed or the steps diverged, 2 bad input.

    \b
    Examples:
      dlexp explain backprop
      dlexp explain backprop --steps 10000
      dlexp explain backprop my_net.yaml --steps 3 --format json
      dlexp explain backprop --format json | jq '.steps[0].layers[1].grad_weights'
    """
    from dlexp.explain import backprop

    spec, source = backprop.load(spec_file)
    steps = backprop.check_steps(steps)
    try:
        with json_stdout_only(fmt):
            result = backprop.run(spec, steps, source)
    except backprop.BackpropFailed as exc:
        raise click.ClickException(str(exc)) from None
    if fmt == "json":
        echo_json(backprop.as_json(result))
    else:
        from rich.console import Console

        backprop.print_text(Console(), result)
