"""Reading a student's Keras model through its remote handle, without importing Keras here.

The model lives in the student's worker; the grader only sees plain data it sends back. Every
fact comes from calls that return plain data: ``layer.get_config()`` (a dict of names and
numbers), ``model.get_compile_config()`` (the compile arguments, serialised) and
``model.count_params()``. No isinstance checks against Keras classes, and no TensorFlow import
in the grader (see docs/SUITES.md).
"""
from __future__ import annotations

from typing import Any

from grader.checks import CheckFailed, describe


def canonical(name: Any) -> str:
    """'CategoricalCrossentropy', 'categorical_crossentropy' -> 'categoricalcrossentropy'."""
    return str(name).replace("_", "").replace(" ", "").lower()


def _serialised_name(value: Any) -> str:
    """The name inside a Keras-serialised object: a string, or {'class_name', 'config'}."""
    if value is None:
        return "linear"
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        config = value.get("config")
        if isinstance(config, str):       # a plain function: {'config': 'relu', ...}
            return config
        if isinstance(config, dict) and isinstance(config.get("name"), str):
            return config["name"]        # an object with a name, e.g. a Loss
        if isinstance(value.get("class_name"), str):
            return value["class_name"]
    return describe(value)


def dense_stack(model: Any, call: str) -> list[tuple[int, str]]:
    """The model's Dense layers in order, as (units, activation name).

    A Dense layer with a linear activation directly followed by an Activation layer counts
    as one layer with that activation (Dense(128) + Activation("relu") == Dense(128, "relu")).
    """
    try:
        layers = list(model.layers)
    except (AttributeError, TypeError) as exc:
        raise CheckFailed(f"{call}: did not return a Keras model (no list of layers: "
                          f"{type(exc).__name__})") from None
    stack: list[list] = []
    for layer in layers:
        config = layer.get_config()
        if not isinstance(config, dict):
            continue
        if "units" in config:
            stack.append([int(config["units"]),
                          canonical(_serialised_name(config.get("activation")))])
        elif "activation" in config and stack and stack[-1][1] == "linear":
            stack[-1][1] = canonical(_serialised_name(config["activation"]))
    return [(units, activation) for units, activation in stack]


def compile_config(model: Any, call: str) -> dict:
    """``model.get_compile_config()``; a failure saying 'compile the model' when it is None."""
    config = model.get_compile_config()
    if not isinstance(config, dict):
        raise CheckFailed(f"{call}: the model is not compiled — call model.compile(optimizer=..., "
                          "loss=..., metrics=[...]) before returning it")
    return config


def loss_name(model: Any, call: str) -> str:
    """The compiled loss as a canonical name ('binarycrossentropy'), whatever form was given."""
    loss = compile_config(model, call).get("loss")
    if isinstance(loss, (list, tuple)) and len(loss) == 1:
        loss = loss[0]
    return canonical(_serialised_name(loss))


def optimizer_name(model: Any, call: str) -> str:
    """The compiled optimizer's class name, canonical ('adam')."""
    optimizer = compile_config(model, call).get("optimizer")
    if isinstance(optimizer, dict) and isinstance(optimizer.get("class_name"), str):
        return canonical(optimizer["class_name"])
    return canonical(_serialised_name(optimizer))


def history_series(history: Any, call: str) -> dict[str, list[float]]:
    """``history.history`` as {metric: [float per epoch]}, checked to be plain numbers."""
    try:
        data = history.history
    except AttributeError:
        raise CheckFailed(f"{call}: expected the keras History that model.fit(...) returns, "
                          f"got {describe(history)} — return model.fit(...)") from None
    if not isinstance(data, dict) or "loss" not in data:
        raise CheckFailed(f"{call}: the returned History has no 'loss' series — return the "
                          "History from model.fit(...)")
    series = {}
    for key, values in data.items():
        if isinstance(values, (list, tuple)) and all(isinstance(v, (int, float)) for v in values):
            series[str(key)] = [float(v) for v in values]
    return series
