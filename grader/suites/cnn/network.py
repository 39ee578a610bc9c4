"""A student's Keras CNN read layer by layer through its remote handle, and its forward pass
recomputed here in numpy from the layers' weights (no TensorFlow in the grader).

``read_layers`` flattens nested models and returns each layer's class name, config and
weights (plain data: ``get_config()``, ``get_weights()``). ``ConvNetwork.scores`` computes what
``model.predict`` returns from them. The convolution and pooling arithmetic is passed in
(``conv``, ``pool``: the reference solution's ``conv2d_forward`` / ``maxpool_forward``), so this
file holds none of it; what it adds is Keras's bookkeeping: "same" padding (split with the
extra row at the bottom / right, as Keras does), activations, Flatten, Dense,
BatchNormalization at inference. Layers it cannot compute raise CheckFailed naming them, as
keras_model.dense_forward does for a layer outside a Dense network.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from grader.checks import CheckFailed
from grader.proxy import StudentError
from grader.safe_text import short
from grader.suites.keras_model import (IDENTITY_AT_INFERENCE, canonical, cross_checked, softmax,
                                       sublayers, type_name)

MAX_LAYERS = 100
MAX_DEPTH = 6
CONV = ("Conv2D", "Convolution2D")
POOL = ("MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D")
GLOBAL_POOL = ("GlobalMaxPooling2D", "GlobalMaxPool2D", "GlobalAveragePooling2D",
               "GlobalAvgPool2D")
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60))),
    "tanh": np.tanh,
    "softmax": softmax,
}


@dataclass
class Layer:
    kind: str                      # class name: 'Conv2D', 'MaxPooling2D', 'Dense', ...
    config: dict = field(repr=False)
    handle: Any = field(repr=False, default=None)

    def weights(self, call: str) -> list[np.ndarray]:
        try:
            values = self.handle.get_weights()
        except (StudentError, AttributeError, TypeError):
            values = None
        if not (isinstance(values, (list, tuple))
                and all(isinstance(v, np.ndarray) and v.dtype.kind == "f" for v in values)):
            raise CheckFailed(f"{call}: the weights of a {self.kind} layer could not be read "
                              "(layer.get_weights() should give a list of arrays)")
        return [v.astype(np.float64) for v in values]


def _name(value: Any) -> str:
    """An activation as Keras serialises it ('relu', {'config': 'relu', ...}), canonical."""
    if value is None:
        return "linear"
    if isinstance(value, dict):
        value = value.get("config") if isinstance(value.get("config"), str) else \
            value.get("class_name")
    return canonical(value)


def read_layers(model: Any, call: str) -> list[Layer]:
    """The model's layers in order, nested models flattened, identity-at-inference layers
    (InputLayer, Dropout, ...) skipped."""
    found: list[Layer] = []

    def walk(obj: Any, depth: int) -> None:
        inner = sublayers(obj)
        if inner is None:
            raise CheckFailed(f"{call}: did not return a Keras model (it has no list of "
                              "layers)")
        for layer in inner:
            if len(found) > MAX_LAYERS or depth > MAX_DEPTH:
                raise CheckFailed(f"{call}: the model has more than {MAX_LAYERS} layers (or "
                                  f"models nested more than {MAX_DEPTH} deep)")
            kind = type_name(layer)
            if kind in IDENTITY_AT_INFERENCE:
                continue
            if sublayers(layer) is not None:
                walk(layer, depth + 1)
                continue
            try:
                config = layer.get_config()
            except StudentError:
                config = None
            found.append(Layer(kind, config if isinstance(config, dict) else {}, layer))

    walk(model, 0)
    return found


def _pair(value: Any, what: str, call: str) -> int:
    """A square size or stride: 3 or (3, 3) -> 3; anything else cannot be computed here."""
    if isinstance(value, (list, tuple)) and len(value) == 2 and value[0] == value[1]:
        value = value[0]
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise CheckFailed(f"{call}: a layer has {what} {short(repr(value), 40)}; the grader computes "
                      "square windows and equal strides along rows and columns (e.g. 3 or "
                      "(3, 3))")


def _same_padding(h: np.ndarray, k: int, stride: int, fill: float) -> np.ndarray:
    """Keras's "same": pad so that out = ceil(in / stride), the extra row/column at the end."""
    pads = []
    for size in h.shape[1:3]:
        out = -(-size // stride)
        total = max((out - 1) * stride + k - size, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(h, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=fill)


@dataclass
class ConvNetwork:
    """The model's computation with its weights read: a list of numpy steps."""
    steps: list[tuple[str, Callable[[np.ndarray], np.ndarray]]]
    units_out: int

    def scores(self, x: np.ndarray) -> np.ndarray:
        h = np.asarray(x, dtype=np.float64)
        with np.errstate(all="ignore"):
            for _, step in self.steps:
                h = step(h)
        return h


def _activation_step(name: str, call: str):
    names = [n for n in name.split(" then ") if n != "linear"]
    unknown = [n for n in names if n not in ACTIVATIONS]
    if unknown:
        raise CheckFailed(f"{call}: the activation {short(unknown[0], 40)!r} is not one the "
                          "grader computes (relu, sigmoid, tanh, softmax, linear)")

    def apply(h: np.ndarray) -> np.ndarray:
        for n in names:
            h = ACTIVATIONS[n](h)
        return h
    return apply


def conv_network(model: Any, call: str, conv: Callable, pool: Callable) -> ConvNetwork:
    """``ConvNetwork`` of ``model``; CheckFailed when a layer is not one the grader computes."""
    steps: list = []
    units_out = 0
    for layer in read_layers(model, call):
        kind, cfg = layer.kind, layer.config
        if cfg.get("data_format") not in (None, "channels_last"):
            raise CheckFailed(f"{call}: a {kind} layer has data_format="
                              f"{short(repr(cfg.get('data_format')), 30)}; the images are "
                              "channels last (28, 28, 1), Keras's default")
        if kind in CONV:
            values = layer.weights(call)
            k = _pair(cfg.get("kernel_size"), "kernel_size", call)
            s = _pair(cfg.get("strides", 1), "strides", call)
            if _pair(cfg.get("dilation_rate", 1), "dilation_rate", call) != 1:
                raise CheckFailed(f"{call}: a Conv2D layer has dilation_rate > 1, which the "
                                  "grader does not compute")
            if cfg.get("groups", 1) not in (1, None):
                raise CheckFailed(f"{call}: a Conv2D layer has groups > 1, which the grader "
                                  "does not compute")
            W = values[0]
            b = values[1] if len(values) > 1 else np.zeros(W.shape[-1])
            same = str(cfg.get("padding", "valid")).lower() == "same"

            def step(h, W=W, b=b, k=k, s=s, same=same):
                if same:
                    h = _same_padding(h, k, s, 0.0)
                return conv(h, W, b, stride=s, padding=0)
            steps.append((kind, step))
            steps.append(("activation", _activation_step(_name(cfg.get("activation")), call)))
        elif kind in POOL:
            size = _pair(cfg.get("pool_size", 2), "pool_size", call)
            stride = cfg.get("strides")
            s = size if stride is None else _pair(stride, "strides", call)
            same = str(cfg.get("padding", "valid")).lower() == "same"
            if kind.startswith(("Max",)):
                def step(h, size=size, s=s, same=same):
                    if same:
                        h = _same_padding(h, size, s, -np.inf)
                    return pool(h, size=size, stride=s)
            else:
                if same:
                    raise CheckFailed(f"{call}: AveragePooling2D with padding='same' is not "
                                      "computed by the grader; use padding='valid' or "
                                      "MaxPooling2D")

                def step(h, size=size, s=s):
                    c = h.shape[-1]
                    mean = np.zeros((size, size, c, c))
                    mean[:, :, np.arange(c), np.arange(c)] = 1.0 / (size * size)
                    return conv(h, mean, np.zeros(c), stride=s, padding=0)
            steps.append((kind, step))
        elif kind in GLOBAL_POOL:
            reduce = np.max if "Max" in kind else np.mean
            steps.append((kind, lambda h, reduce=reduce: reduce(h, axis=(1, 2))))
        elif kind == "Flatten":
            steps.append((kind, lambda h: h.reshape(len(h), -1)))
        elif kind == "Rescaling":
            scale, offset = cfg.get("scale", 1.0), cfg.get("offset", 0.0)
            if not all(isinstance(v, (int, float)) for v in (scale, offset)):
                raise CheckFailed(f"{call}: a Rescaling layer with per-channel factors is not "
                                  "computed by the grader")
            steps.append((kind, lambda h, a=float(scale), c=float(offset): h * a + c))
        elif kind == "BatchNormalization":
            values = layer.weights(call)
            eps = float(cfg.get("epsilon", 1e-3))
            axis = cfg.get("axis", -1)
            if axis not in (-1, [-1], 3, [3], 1, [1]):
                raise CheckFailed(f"{call}: a BatchNormalization layer normalises axis "
                                  f"{short(repr(axis), 20)}; the grader computes the last axis")
            center, scale_on = cfg.get("center", True), cfg.get("scale", True)
            it = iter(values)
            gamma = next(it) if scale_on else None
            beta = next(it) if center else None
            mean, var = next(it), next(it)

            def step(h, gamma=gamma, beta=beta, mean=mean, var=var, eps=eps):
                out = (h - mean) / np.sqrt(var + eps)
                if gamma is not None:
                    out = out * gamma
                return out + beta if beta is not None else out
            steps.append((kind, step))
        elif isinstance(cfg.get("units"), int) and not isinstance(cfg.get("units"), bool):
            values = layer.weights(call)
            W = values[0]
            b = values[1] if len(values) > 1 else np.zeros(W.shape[-1])
            if W.ndim != 2:
                raise CheckFailed(f"{call}: a Dense layer's kernel has shape {W.shape}")
            steps.append((kind, lambda h, W=W, b=b: h.reshape(len(h), -1) @ W + b))
            steps.append(("activation", _activation_step(_name(cfg.get("activation")), call)))
            units_out = W.shape[-1]
        elif kind == "Activation":
            steps.append((kind, _activation_step(_name(cfg.get("activation")), call)))
        elif kind == "Softmax":
            if cfg.get("axis", -1) not in (-1, [-1]):
                raise CheckFailed(f"{call}: a Softmax layer over axis {cfg.get('axis')!r}; the "
                                  "grader computes the last axis")
            steps.append((kind, softmax))
        elif kind == "ReLU" and cfg.get("max_value") is None and not cfg.get("negative_slope") \
                and not cfg.get("threshold"):
            steps.append((kind, ACTIVATIONS["relu"]))
        else:
            raise CheckFailed(f"{call}: the model holds a {short(kind, 40)} layer, which the "
                              "grader cannot compute; it scores networks of Conv2D, "
                              "MaxPooling2D / AveragePooling2D, Flatten, Dense, Dropout, "
                              "BatchNormalization and activation layers")
    if not units_out:
        raise CheckFailed(f"{call}: the model has no Dense layer")
    return ConvNetwork(steps, units_out)


def network_scores(model: Any, x: np.ndarray, call: str, conv: Callable, pool: Callable,
                   probe_rows: int = 32) -> np.ndarray:
    """The CNN's output for ``x`` computed here, cross-checked with ``model.predict`` on the
    first ``probe_rows`` images (as keras_model.network_scores does for Dense networks): if
    they disagree, predict() is not the network's computation and the check fails saying so."""
    network = conv_network(model, call, conv, pool)
    ours = network.scores(x)
    if ours.ndim != 2 or ours.shape != (len(x), network.units_out):
        raise CheckFailed(f"{call}: the network's output has shape {ours.shape}; expected "
                          f"({len(x)}, 10) — is Flatten between the convolutions and Dense?")
    return cross_checked(model, x, ours, call, "its layers' weights and settings",
                         probe_rows=probe_rows, items="images")
