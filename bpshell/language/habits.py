"""Habits from Python, NumPy and PyTorch, and the bpshell spelling to type instead.

A learner coming from the book's code types `np.exp(x)`, `dot(X, W)`, `max(x, 0)` or
`y.backward()`; each of these is a syntax or name error here, and the error should say
what to write. The parser (attributes), the statement parser (a command called like a
function) and the graph builder (unknown functions) read these tables.
"""

from __future__ import annotations

# an unknown function name -> what to write instead
FUNCTIONS: dict[str, str] = {
    "max": "relu(x) for max(x, 0)",
    "maximum": "relu(x) for maximum(x, 0)",
    "dot": "X @ W (the matrix product)",
    "matmul": "X @ W (the matrix product)",
    "mm": "X @ W (the matrix product)",
    "pow": "x**2 (or x^2)",
    "power": "x**2 (or x^2)",
    "square": "x**2",
    "ln": "log(x) (the natural log)",
    "transpose": "X.T",
    "print": "the expression alone: a line with no command shows its value",
    "len": "the value alone: an array's shape is printed after it",
    "shape": "the value alone: an array's shape is printed after it",
    "backward": "grad NAME",
    "gradient": "grad NAME",
    "derivative": "diff EXPR wrt NAME",
    "ReLU": "relu(x)",
    "Relu": "relu(x)",
    "Sigmoid": "sigmoid(x)",
    "Tanh": "tanh(x)",
    "Softmax": "softmax(x)",
    "LeakyReLU": "leaky_relu(x)",
    "array": "an array literal: [[1, 2], [3, 4]]",
    "tensor": "an array literal: [[1, 2], [3, 4]]",
    "rand": "randn(2, 3)",
    "zeros_like": "zeros(2, 3) with the shape written out",
}

# an attribute after a value (x.dot, y.backward) -> what to write instead; {x} is the value
METHODS: dict[str, str] = {
    "dot": "{x} @ W",
    "matmul": "{x} @ W",
    "backward": "grad {x}",
    "grad": "grad {x}",
    "sum": "sum({x})",
    "mean": "mean({x})",
    "reshape": "reshape({x}, ...)",
    "transpose": "{x}.T",
    "t": "{x}.T",
    "exp": "exp({x})",
    "log": "log({x})",
    "shape": "{x} alone: its shape is printed after its value",
    "item": "{x} alone",
    "numpy": "{x} alone",
}

# module prefixes from Python code: `np.exp(x)` is `exp(x)` here
MODULES = frozenset({"np", "numpy", "math", "torch", "F", "nn", "sp", "sympy", "jnp", "jax",
                     "tf", "scipy"})


def method_hint(value_text: str, attr: str) -> str | None:
    """What to write for `value.attr`, or None when no habit matches."""
    if value_text in MODULES:
        from bpshell.ops.table import function_names

        if attr in function_names():
            return f"{attr}(...), with no module prefix"
        return FUNCTIONS.get(attr)
    form = METHODS.get(attr)
    return None if form is None else form.format(x=value_text)


def function_hint(name: str) -> str | None:
    """What to write for a call of an unknown function `name(...)`, or None."""
    return FUNCTIONS.get(name)
