"""``search.where``: an expression over the searched keys that keeps some of a grid's
points, such as ``model.hidden_layers > 0 or model.activation == 'relu'``.

The text is parsed by ``ast.parse`` and walked over a whitelist of nodes; it is never
given to ``eval`` or ``exec``. Allowed: ``and or not``, comparisons (``== != < <= > >=
in``, ``not in``, chained as ``0 < x <= 3``), arithmetic on numbers (``+ - * / // %``,
``**`` with a bounded result), numbers, strings, true/false/None (``True``, ``true``),
lists and tuples, and the searched keys by their dotted names. Anything else (calls,
attributes that are not a searched key, subscripts, lambdas, comprehensions) is
refused when the grid is read. Plain Python: ``--dry-run`` uses it too."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Iterable, Sequence

from dlexp.core.errors import ConfigError, did_you_mean, show

KEY = "search.where"
MAX_CHARS = 1_000  # the text of an expression
MAX_NODES = 200  # its parsed nodes
MAX_POWER_BITS = 4_096  # the largest integer ** may make (a float overflows on its own)
EXPECTED = (
    "expected an expression over the searched keys such as "
    "\"model.hidden_layers > 0 or model.activation == 'relu'\" "
    "(and/or/not, comparisons, in [...], + - * / // % **, numbers and quoted strings)"
)
_LITERALS = {"true": True, "false": False, "null": None, "none": None}  # YAML's spellings

_COMPARE: dict[type, Callable] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_ARITHMETIC: dict[type, Callable] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}


def _number(value) -> bool:
    return isinstance(value, int | float)


def _power(base, exp):
    if not (_number(base) and _number(exp)):
        raise TypeError(f"** needs numbers, got {show(base)} and {show(exp)}")
    if isinstance(base, int) and isinstance(exp, int) and exp > 0 and abs(base) > 1:
        if base.bit_length() * exp > MAX_POWER_BITS:
            raise OverflowError(f"{base} ** {exp} is too large (over {MAX_POWER_BITS} bits)")
    try:
        out = base**exp
    except OverflowError:
        raise OverflowError(f"{base} ** {exp} is too large for a float") from None
    if isinstance(out, complex):
        raise ValueError(f"({base}) ** {exp} is not a real number")
    return out


def _arithmetic(op: Callable, symbol: str) -> Callable:
    def apply(a, b):
        if not (_number(a) and _number(b)):
            raise TypeError(f"{symbol} needs numbers, got {show(a)} and {show(b)}")
        return op(a, b)

    return apply


_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//"}


class Where:
    """A checked ``search.where``: ``keeps(point)`` says whether the point is kept.

    Args:
        text: the expression as the grid file gives it.
        keys: the searched keys, the only names it may use.

    Raises:
        ConfigError: at ``search.where``, for text that is not such an expression, too
            long, or naming a key that is not searched (with a did-you-mean).
    """

    def __init__(self, text, keys: Sequence[str]):
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"{EXPECTED}, got {show(text)}", KEY)
        if len(text) > MAX_CHARS:
            raise ConfigError(
                f"the expression has {len(text):,} characters, at most {MAX_CHARS:,}; {EXPECTED}",
                KEY,
            )
        self.text, self.keys = text, tuple(keys)
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise self._error(f"it does not parse ({exc.msg})") from None
        nodes = sum(1 for _ in ast.walk(tree))
        if nodes > MAX_NODES:
            raise self._error(f"it has {nodes} parts, at most {MAX_NODES}")
        self.used: list[str] = []  # the searched keys it reads, in order
        self._run = self._compile(tree.body)

    def _error(self, problem: str, expected: str = EXPECTED) -> ConfigError:
        return ConfigError(f"{show(self.text)}: {problem}; {expected}", KEY)

    def keeps(self, point: dict) -> bool:
        """Whether ``point`` (searched key -> value) is kept.

        Raises:
            ConfigError: an operation its values do not allow (``'relu' < 2``, a
                division by zero), naming the point.
        """
        try:
            return bool(self._run(point))
        except (TypeError, ArithmeticError, ValueError) as exc:
            shown = ", ".join(f"{k}={show(point[k])}" for k in self.used if k in point)
            at = f"on the point {shown}: " if shown else ""
            raise self._error(f"{at}{exc}", "expected one that every point can compute") from None

    # -- the whitelist: each node becomes a function of the point ---------------------

    def _compile(self, node: ast.AST) -> Callable[[dict], object]:
        if isinstance(node, ast.BoolOp):
            parts = [self._compile(v) for v in node.values]
            if isinstance(node.op, ast.And):
                return lambda p: all(f(p) for f in parts)
            return lambda p: any(f(p) for f in parts)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub | ast.UAdd):
            inner = self._compile(node.operand)
            if isinstance(node.op, ast.Not):
                return lambda p: not inner(p)
            sign = -1 if isinstance(node.op, ast.USub) else 1
            return lambda p: _arithmetic(operator.mul, "-")(sign, inner(p))
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.BinOp) and type(node.op) in (*_ARITHMETIC, ast.Pow):
            left, right = self._compile(node.left), self._compile(node.right)
            if isinstance(node.op, ast.Pow):
                return lambda p: _power(left(p), right(p))
            op = _arithmetic(_ARITHMETIC[type(node.op)], _SYMBOLS.get(type(node.op), "%"))
            return lambda p: op(left(p), right(p))
        if isinstance(node, ast.Constant):
            value = node.value
            if value is not None and not isinstance(value, bool | int | float | str):
                raise self._error(f"{show(value)} is not a number, string, true, false or None")
            return lambda p: value
        if isinstance(node, ast.List | ast.Tuple):
            items = [self._compile(e) for e in node.elts]
            return lambda p: [f(p) for f in items]
        if isinstance(node, ast.Name | ast.Attribute):
            return self._name(node)
        raise self._error(f"{_describe(node)} is not allowed")

    def _compare(self, node: ast.Compare) -> Callable[[dict], bool]:
        first = self._compile(node.left)
        steps = []
        for op, right in zip(node.ops, node.comparators, strict=True):
            if type(op) not in _COMPARE:
                raise self._error("is / is not are not allowed (use == or !=)")
            steps.append((_COMPARE[type(op)], self._compile(right)))

        def compare(p: dict) -> bool:
            left = first(p)
            for op, right_of in steps:
                right = right_of(p)
                if not op(left, right):
                    return False
                left = right
            return True

        return compare

    def _name(self, node: ast.AST) -> Callable[[dict], object]:
        whole, parts = node, []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            raise self._error(f"{ast.unparse(whole)}: an attribute of something not a searched key")
        name = ".".join([node.id, *reversed(parts)])
        if not parts and name not in self.keys and name.lower() in _LITERALS:
            value = _LITERALS[name.lower()]
            return lambda p: value
        if name not in self.keys:
            raise self._error(
                f"{name} is not a searched key{did_you_mean(name, self.keys)} "
                f"(searched: {', '.join(self.keys)}); a value is quoted: '{name}'"
            )
        if name not in self.used:
            self.used.append(name)
        return lambda p: p[name]


def _describe(node: ast.AST) -> str:
    """A refused node as a person reads it: its source text, or its kind."""
    try:
        text = ast.unparse(node)
    except Exception:  # noqa: BLE001 - only for the message
        text = ""
    kind = {
        ast.Call: "a call",
        ast.Lambda: "a lambda",
        ast.Subscript: "a subscript",
        ast.ListComp: "a comprehension",
        ast.SetComp: "a comprehension",
        ast.DictComp: "a comprehension",
        ast.GeneratorExp: "a comprehension",
    }.get(type(node), type(node).__name__)
    if isinstance(node, ast.BinOp | ast.UnaryOp):
        kind = f"the operator {type(node.op).__name__}"
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{kind} ({text})" if text else kind


def kept_indexes(where: Where, params: Sequence, total: int):
    """The indexes of the grid's points (the first key varying slowest, as
    ``SearchSpec.point`` orders them) that ``where`` keeps, as a numpy array.

    ``where`` is evaluated once per combination of the keys it reads (a sub-grid,
    usually a few points), not once per point; a key it does not read cannot change
    its answer. ``params`` are the grid's ``Param`` objects, ``total`` their product.
    """
    import numpy as np

    used = [i for i, p in enumerate(params) if p.key in where.used]
    counts = [params[i].count() for i in used]
    mask = np.zeros(math.prod(counts), dtype=bool)
    for flat, point in enumerate(_sub_points([params[i] for i in used], counts)):
        mask[flat] = where.keeps(point)
    # each point's sub-grid index from its digits in the full grid's mixed radix
    index = np.arange(total, dtype=np.int64)
    sub = np.zeros(total, dtype=np.int64)
    strides, stride = {}, total
    for i, p in enumerate(params):
        stride //= p.count()
        strides[i] = stride
    for i, count in zip(used, counts, strict=True):
        sub = sub * count + (index // strides[i]) % count
    kept = index[mask[sub]]
    if not kept.size:
        raise ConfigError(
            f"{show(where.text)} keeps none of the grid's {total:,} points; expected an "
            "expression that some point meets (loosen it, or add values)",
            KEY,
        )
    return kept


def _sub_points(params: Sequence, counts: Sequence[int]) -> Iterable[dict]:
    import itertools

    for digits in itertools.product(*(range(c) for c in counts)):
        yield {p.key: p.value(d) for p, d in zip(params, digits, strict=True)}
