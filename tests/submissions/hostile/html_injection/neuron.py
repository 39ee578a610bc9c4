"""Hostile submission: puts markup wherever student-controlled text reaches the report -- printed
output (<script>), an exception message (<img onerror>), an exception class whose name is
markup, an object whose class name is markup, and a "</pre>" that tries to close the report's
own block, and a <style> that would hide the page. (The test also gives the submission folder a
name that is markup.)

Expected: report.html shows all of it as text: no element or event-handler attribute comes from
the student. The tests using the attacked functions earn nothing. Everything but the attack is
the reference solution, so any points lost come from the attack alone.
"""

import numpy as np

SvgError = type("<svg onload=alert(2)>", (ValueError,), {})


class Sneaky:
    pass


Sneaky.__qualname__ = "<iframe src=javascript:alert(3)>"
Sneaky.__module__ = "<body onload=alert(6)>"


def relu(z):
    print("<script>alert(1)</script>", flush=True)
    raise ValueError("<img src=x onerror=alert(1)>")


def sigmoid(z):
    raise SvgError("<a href=javascript:alert(7)>click</a>")


def tanh(z):
    return Sneaky()


def step(z):
    print("</pre></code></div><script>alert(4)</script>\x1b[31m", flush=True)
    raise RuntimeError("</textarea><style>body{display:none}</style>")


def softmax(z):
    z = np.asarray(z, dtype=float)
    exps = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return exps / np.sum(exps, axis=-1, keepdims=True)


def neuron_forward(x, w, b, activation="sigmoid"):
    functions = {"relu": relu, "sigmoid": sigmoid, "tanh": tanh, "step": step,
                 "linear": lambda z: np.asarray(z, dtype=float)}
    if activation not in functions:
        raise ValueError(f"unknown activation {activation!r}; choose one of: "
                         f"{', '.join(functions)}")
    z = np.asarray(x, dtype=float) @ np.asarray(w, dtype=float) + b
    out = functions[activation](z)
    return float(out) if np.ndim(out) == 0 else out


def dense_forward(X, W, b, activation="relu"):
    if activation == "softmax":
        return softmax(np.asarray(X, dtype=float) @ np.asarray(W, dtype=float) + b)
    return neuron_forward(X, W, b, activation)
