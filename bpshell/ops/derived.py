"""The built-in elementwise ops' local derivatives, as the backward pass runs them.

Generated from the op table through SymPy by `python3 -m bpshell.symbolic.generate`; do not
edit. tests/test_derived.py fails when this file differs from what SymPy derives now.
Each rule is (kind, payload): "pass" (the gradient as it is), "neg", "scale" (times a
constant), "none" (no gradient), "local": a function of the op's inputs and its output y
that the upstream gradient is multiplied by, or "gate" with two: where the derivative is 0
(whatever the upstream gradient, as PyTorch), and the slope elsewhere (None: 1).
"""

# ruff: noqa: E501

import numpy
from numpy import greater, less, logical_and


def _mul_d0(x0, x1, y):
    return x1


def _mul_d1(x0, x1, y):
    return x0


def _div_d0(x0, x1, y):
    return x1**(-1.0)


def _div_d1(x0, x1, y):
    return -x0/x1**2


def _pow_zero0(x0, x1, y):
    return (x1 == 0)


def _pow_d0(x0, x1, y):
    return x0**(x1 - 1)*x1


def _pow_zero1(x0, x1, y):
    return logical_and((x0 == 0), (x1 >= 0))


def _pow_d1(x0, x1, y):
    return x0**x1*numpy.log(x0)


def _exp_d0(x0, y):
    return y


def _log_d0(x0, y):
    return x0**(-1.0)


def _sqrt_d0(x0, y):
    return (1/2)/y


def _abs_d0(x0, y):
    return (greater(x0, 0) * 1.0 - less(x0, 0))


def _sin_d0(x0, y):
    return numpy.cos(x0)


def _cos_d0(x0, y):
    return -numpy.sin(x0)


def _tanh_d0(x0, y):
    return 1 - y**2


def _sigmoid_d0(x0, y):
    return y*(1 - y)


def _relu_zero0(x0, y):
    return (x0 <= 0)


def _leaky_relu_d0(x0, x1, y):
    return numpy.where((x0 > 0), 1, x1)


def _leaky_relu_zero1(x0, x1, y):
    return (x0 > 0)


def _leaky_relu_d1(x0, x1, y):
    return numpy.where((x0 > 0), 0, x0)


def _softplus_d0(x0, y):
    return -numpy.expm1(-y)


def _where_zero1(x0, x1, x2, y):
    return (x0 == 0)


def _where_zero2(x0, x1, x2, y):
    return (x0 != 0)


def _maximum_d0(x0, x1, y):
    return (numpy.where((x0 - x1 < 0), 0, numpy.where((x0 - x1 == 0), 1/2, 1)))


def _maximum_d1(x0, x1, y):
    return (numpy.where((x0 - x1 > 0), 0, numpy.where((x0 - x1 == 0), 1/2, 1)))


def _minimum_d0(x0, x1, y):
    return (numpy.where((x0 - x1 > 0), 0, numpy.where((x0 - x1 == 0), 1/2, 1)))


def _minimum_d1(x0, x1, y):
    return (numpy.where((x0 - x1 < 0), 0, numpy.where((x0 - x1 == 0), 1/2, 1)))


RULES = {
    "add": (("pass", None), ("pass", None),),
    "sub": (("pass", None), ("neg", None),),
    "mul": (("local", _mul_d0), ("local", _mul_d1),),
    "div": (("local", _div_d0), ("local", _div_d1),),
    "pow": (("gate", _pow_zero0, _pow_d0), ("gate", _pow_zero1, _pow_d1),),
    "neg": (("neg", None),),
    "exp": (("local", _exp_d0),),
    "log": (("local", _log_d0),),
    "sqrt": (("local", _sqrt_d0),),
    "abs": (("local", _abs_d0),),
    "sin": (("local", _sin_d0),),
    "cos": (("local", _cos_d0),),
    "tanh": (("local", _tanh_d0),),
    "sigmoid": (("local", _sigmoid_d0),),
    "relu": (("gate", _relu_zero0, None),),
    "leaky_relu": (("local", _leaky_relu_d0), ("gate", _leaky_relu_zero1, _leaky_relu_d1),),
    "softplus": (("local", _softplus_d0),),
    "lt": (("none", None), ("none", None),),
    "le": (("none", None), ("none", None),),
    "gt": (("none", None), ("none", None),),
    "ge": (("none", None), ("none", None),),
    "eq": (("none", None), ("none", None),),
    "ne": (("none", None), ("none", None),),
    "where": (("none", None), ("gate", _where_zero1, None), ("gate", _where_zero2, None),),
    "maximum": (("local", _maximum_d0), ("local", _maximum_d1),),
    "minimum": (("local", _minimum_d0), ("local", _minimum_d1),),
}
