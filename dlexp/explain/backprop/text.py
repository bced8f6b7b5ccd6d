"""``print_text``: ``run``'s document for people, as rich tables, layer by layer.

The first step in full (forward pass, loss, backward pass, gradients and updates), then
for several steps the loss along the way and the final weights, then Keras' check. Units
and weights are named as in Mazur's post (i1, h1, o1; w1..w8, see ``unit_names`` and
``weight_names``); each section reads the step's figures as a ``LayerStep``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from dlexp.explain.backprop.chain import derivative, loss_terms
from dlexp.explain.backprop.records import LayerStep

_LOSS_TEXT = {
    "half_sse": ("E = Σ ½(target − out)²", "½(target − out)²", "out − target"),
    "mse": ("E = mean of (target − out)² (Keras' mse)", "(target − out)²/n", "2(out − target)/n"),
    "binary_crossentropy": (
        "E = mean of −[target·log out + (1 − target)·log(1 − out)] (Keras' binary cross-entropy)",
        "−(t·log out + (1 − t)·log(1 − out))/n",
        "(out − target)/(out(1 − out))/n",
    ),
}
_DERIVATIVE_TEXT = {
    "sigmoid": "out(1 − out)",
    "tanh": "1 − out²",
    "relu": "1 if net > 0 else 0",
    "linear": "1",
}


def num(value: float) -> str:
    """A figure as the post prints them: 9 decimals (0.593269992), small ones to 6
    significant digits (0.0000351085)."""
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    if value == 0 or abs(value) >= 1e-4:
        text = np.format_float_positional(value, precision=9, unique=False, trim="-")
    elif abs(value) >= 1e-12:
        text = np.format_float_positional(value, precision=6, fractional=False, trim="-")
    else:
        text = f"{value:.3e}"
    return "0" if text in ("-0", "0.") else text.rstrip(".")


def unit_names(sizes: list[int]) -> list[list[str]]:
    """i1, i2 for the inputs, h1, h2 for one hidden layer (h1.1, h2.1 for several), o1,
    o2 for the outputs: Mazur's names."""
    layers = len(sizes) - 1
    names = [[f"i{j + 1}" for j in range(sizes[0])]]
    for i in range(1, layers + 1):
        prefix = "o" if i == layers else ("h" if layers == 2 else f"h{i}.")
        names.append([f"{prefix}{j + 1}" for j in range(sizes[i])])
    return names


def weight_names(sizes: list[int]) -> list[list[list[str]]]:
    """w1, w2, ... numbered as in the post: layer by layer, unit by unit, input by input;
    ``names[layer][i][j]`` joins input i to unit j (Keras' layout)."""
    names, count = [], 0
    for fan_in, units in zip(sizes, sizes[1:], strict=False):
        layer = [[""] * units for _ in range(fan_in)]
        for j in range(units):
            for i in range(fan_in):
                count += 1
                layer[i][j] = f"w{count}"
        names.append(layer)
    return names


def _weighted_sum(weights: list, inputs: list, bias: float) -> str:
    """'0.15·0.05 + 0.2·0.1 + 0.35', with signs written out: '0.3·(-1) - 0.2·0.5 - 0.1'."""

    def factor(v: float) -> str:
        return f"({num(v)})" if v < 0 else num(v)

    text = ""
    for w, x in zip(weights, inputs, strict=True):
        if not text:
            text = f"{num(w)}·{factor(x)}"
        else:
            text += f" {'-' if w < 0 else '+'} {num(abs(w))}·{factor(x)}"
    return text + f" {'-' if bias < 0 else '+'} {num(abs(bias))}"


class Layer(NamedTuple):
    """One layer of the network as the file gave it (biases filled in)."""

    weights: list[list[float]]
    biases: list[float]
    activation: str


@dataclass(frozen=True)
class Network:
    """The network of ``run``'s document and the names the tables give its parts."""

    layers: list[Layer]
    inputs: list[float]
    targets: list[float]
    learning_rate: float
    loss: str
    train_biases: bool
    sizes: list[int]  # the inputs, then each layer's units
    units: list[list[str]]  # units[0]: the inputs' names; units[i + 1]: layer i's
    weight_names: list[list[list[str]]]  # weight_names[i][r][j]: input r to unit j of layer i

    @classmethod
    def of(cls, network: dict) -> Network:
        layers = [Layer(la["weights"], la["biases"], la["activation"]) for la in network["layers"]]
        sizes = [len(network["inputs"])] + [len(la.biases) for la in layers]
        return cls(
            layers=layers,
            inputs=list(network["inputs"]),
            targets=list(network["targets"]),
            learning_rate=network["learning_rate"],
            loss=network["loss"],
            train_biases=network["train_biases"],
            sizes=sizes,
            units=unit_names(sizes),
            weight_names=weight_names(sizes),
        )

    def is_output(self, i: int) -> bool:
        return i == len(self.layers) - 1

    def kind(self, i: int) -> str:
        return "output" if self.is_output(i) else "hidden"

    def weight_rows(self, i: int):
        """(name, "source → unit", r, j) of each weight of layer ``i``, unit by unit."""
        for j, name in enumerate(self.units[i + 1]):
            for r, source in enumerate(self.units[i]):
                yield self.weight_names[i][r][j], f"{source} → {name}", r, j

    def bias_rows(self, i: int):
        """(name, "bias → unit", j) of each bias of layer ``i``."""
        for j, name in enumerate(self.units[i + 1]):
            yield f"b({name})", f"bias → {name}", j


def _table(*columns: str):
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False)
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    return table


class _Out:
    """Lines and tables, printed as they come."""

    def __init__(self, console):
        self.console = console

    def line(self, text: str = "") -> None:
        self.console.print(text, highlight=False, soft_wrap=True)

    def table(self, table) -> None:
        self.console.print(table)


def _header(out: _Out, net: Network, source: str) -> None:
    from rich.markup import escape

    loss_line = _LOSS_TEXT[net.loss][0]
    out.line(f"[bold]Backpropagation, step by step[/]: {escape(source)}")
    shape = "-".join(map(str, net.sizes))
    acts = ", ".join(f"{net.kind(i)} {la.activation}" for i, la in enumerate(net.layers))
    biases = "" if net.train_biases else "; biases fixed (train_biases: false)"
    out.line(
        f"network {shape} ({acts}); {escape(loss_line)}; learning rate "
        f"{num(net.learning_rate)}{biases}"
    )
    out.line(
        "inputs "
        + ", ".join(f"{n} = {num(v)}" for n, v in zip(net.units[0], net.inputs, strict=True))
        + "; targets "
        + ", ".join(f"{n} = {num(v)}" for n, v in zip(net.units[-1], net.targets, strict=True))
    )
    out.line()


def _forward_pass(out: _Out, net: Network, layers: list[LayerStep]) -> None:
    inputs = net.inputs
    for i, (la, rec) in enumerate(zip(net.layers, layers, strict=True)):
        out.line(f"[bold]Step 1, forward pass, layer {i + 1}[/] ({net.kind(i)}, {la.activation})")
        table = _table("unit", "net = Σ weight·input + bias", "net", f"out = {la.activation}(net)")
        for j, name in enumerate(net.units[i + 1]):
            if len(inputs) <= 4:
                weights = [la.weights[r][j] for r in range(len(inputs))]
                formula = _weighted_sum(weights, inputs, la.biases[j])
            else:
                formula = "…"
            table.add_row(name, formula, num(rec.net[j]), num(rec.out[j]))
        out.table(table)
        out.line()
        inputs = rec.out


def _loss(out: _Out, net: Network, last: LayerStep, loss: float) -> None:
    from rich.markup import escape

    loss_line, term_text, _ = _LOSS_TEXT[net.loss]
    outputs = np.asarray(last.out)
    target = np.asarray(net.targets, float)
    terms = loss_terms(net.loss, outputs, target)
    out.line(f"[bold]Loss[/]: {escape(loss_line)}")
    table = _table("unit", "target", "out", escape(term_text))
    for j, name in enumerate(net.units[-1]):
        table.add_row(name, num(target[j]), num(outputs[j]), num(terms[j]))
    out.table(table)
    out.line(f"E = {num(loss)}")
    out.line()


def _deltas(out: _Out, net: Network, i: int, rec: LayerStep) -> None:
    """Layer ``i``'s ∂E/∂out, ∂out/∂net and delta: the backward pass through it."""
    act, names = net.layers[i].activation, net.units[i + 1]
    if net.is_output(i):
        dout_head = f"∂E/∂out = {_LOSS_TEXT[net.loss][2]}"
    else:
        dout_head = "∂E/∂out = Σ weight·delta (layer above)"
    d = derivative(act, np.asarray(rec.net), np.asarray(rec.out))
    span = names[0] if len(names) == 1 else f"{names[0]}..{names[-1]}"
    out.line(f"[bold]Step 1, backward pass, layer {i + 1}[/] ({span}, {act})")
    table = _table(
        "unit",
        dout_head,
        "∂out/∂net" + (f" = {_DERIVATIVE_TEXT[act]}" if d is not None else ""),
        "delta = ∂E/∂net",
    )
    above = None if net.is_output(i) else net.units[i + 2]
    for j, name in enumerate(names):
        dout = num(rec.dE_dout[j])
        if above is not None and len(above) <= 3:
            up = net.weight_names[i + 1][j]
            dout = " + ".join(f"{up[k]}·δ{above[k]}" for k in range(len(above))) + f" = {dout}"
        table.add_row(name, dout, num(d[j]) if d is not None else "(softmax)", num(rec.delta[j]))
    out.table(table)
    if d is None:
        out.line("softmax couples its units: delta = out·(∂E/∂out − Σ out·∂E/∂out)")
    out.line()


def _updates(out: _Out, net: Network, i: int, rec: LayerStep) -> None:
    """Layer ``i``'s gradients and its weights and biases before and after the update."""
    la = net.layers[i]
    kept = "" if net.train_biases else "; biases fixed"
    out.line(
        f"[bold]Step 1, gradients and updates, layer {i + 1}[/]: ∂E/∂w = delta × input, "
        f"w ← w − {num(net.learning_rate)}·∂E/∂w{kept}"
    )
    table = _table("weight", "joins", "∂E/∂w", "before", "after")
    for name, joins, r, j in net.weight_rows(i):
        table.add_row(
            name,
            joins,
            num(rec.grad_weights[r][j]),
            num(la.weights[r][j]),
            num(rec.weights_after[r][j]),
        )
    fixed = "" if net.train_biases else " (fixed)"
    for name, joins, j in net.bias_rows(i):
        table.add_row(
            name,
            joins,
            num(rec.grad_biases[j]),
            num(la.biases[j]),
            num(rec.biases_after[j]) + fixed,
        )
    out.table(table)
    out.line()


def _summary(out: _Out, net: Network, result: dict, last: list[LayerStep]) -> None:
    """For several steps: the loss along the way, the final weights and outputs."""
    steps = result["steps_run"]
    out.line()
    out.line(f"[bold]Loss over {steps:,} steps[/]")
    table = _table("step", "E (the step's forward pass)")
    for row in result["loss_curve"]:
        table.add_row(f"{row['step']:,}", num(row["loss"]))
    table.add_row(f"after step {steps:,}'s update", num(result["loss_after"]))
    out.table(table)
    out.line()
    out.line(f"[bold]Weights after {steps:,} steps[/]")
    table = _table("weight", "joins", "start", "now")
    for i, (la, rec) in enumerate(zip(net.layers, last, strict=True)):
        for name, joins, r, j in net.weight_rows(i):
            table.add_row(name, joins, num(la.weights[r][j]), num(rec.weights_after[r][j]))
        for name, joins, j in net.bias_rows(i):
            table.add_row(name, joins, num(la.biases[j]), num(rec.biases_after[j]))
    out.table(table)
    outputs = zip(net.units[-1], result["out_after"], net.targets, strict=True)
    out.line(
        "outputs now: " + ", ".join(f"{n} = {num(o)} (target {num(t)})" for n, o, t in outputs)
    )


def _layer_steps(step: dict) -> list[LayerStep]:
    """A step's layers from the JSON document, as records."""
    return [LayerStep(**layer) for layer in step["layers"]]


def print_text(console, result: dict) -> None:
    """The first step in full (forward pass, loss, backward pass, gradients and updates),
    then for several steps the loss along the way and the final weights, then the check."""
    from rich.markup import escape

    net = Network.of(result["network"])
    first = result["steps"][0]
    layers = _layer_steps(first)
    steps = result["steps_run"]
    out = _Out(console)
    _header(out, net, result["source"])
    _forward_pass(out, net, layers)
    _loss(out, net, layers[-1], first["loss"])
    for i in reversed(range(len(net.layers))):  # the backward pass, output layer first
        _deltas(out, net, i, layers[i])
        _updates(out, net, i, layers[i])
    after = result["loss_after"] if steps == 1 else result["losses"][1]
    out.line(f"After step 1's update: E = {num(after)} (before: {num(first['loss'])})")
    if steps > 1:
        _summary(out, net, result, _layer_steps(result["steps"][-1]))
    out.line()
    every = "every figure above" if steps == 1 else f"every figure of all {steps:,} steps"
    out.line(
        f"[green]✓ Keras' autodiff agrees[/]: {every} ({result['figures_compared']:,} in all) "
        f"computed again by {escape(result['autodiff'])}: max abs diff "
        f"{result['autodiff_max_abs_diff']:.2g} (tolerance {result['tolerance']:g})"
    )
