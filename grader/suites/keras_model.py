"""Reading a student's Keras model through its remote handle, without importing Keras here.

The model lives in the student's worker; the grader only sees plain data it sends back. Every
fact comes from calls that return plain data: ``layer.get_config()`` (a dict of names and
numbers), ``model.get_compile_config()`` (the compile arguments, serialised),
``model.count_params()``, ``model.layers`` (handles) and ``model.predict(x)`` on a probe batch.
No isinstance checks against Keras classes, and no TensorFlow import in the grader (see
docs/SUITES.md).

The equivalence rule (docs/SUITES.md): a model is read as the computation it performs, so
every common way of writing the same network reads the same.

- ``read_model`` flattens nested models (``keras.Sequential([model, layers.Softmax()])``, a
  functional model holding a Sequential) through their ``layers``; skips what is the identity
  at prediction time (``InputLayer``, ``Dropout`` and the other noise/regularisation layers)
  and reshaping layers (``Flatten``, ``Reshape``: the probe judges the input shape); and folds
  activation layers (``Activation("softmax")``, ``Softmax()``, ``ReLU()``) into the Dense layer
  before them, so ``Dense(10) + Softmax()`` reads as ``Dense(10, softmax)``. Activation names
  are canonical: ``tf.nn.softmax`` (serialised ``softmax_v2``), ``keras.activations.softmax``
  and ``"softmax"`` are one name.
- ``probe`` calls ``model.predict`` on a small batch of the documented input shape: it builds a
  model declared without an input shape (Keras builds it at its first call, as ``fit`` would)
  and shows what the model computes: its output shape, and whether its rows are probabilities
  (a softmax applied anywhere, even inside a subclassed model's ``call``).
- ``loss_spec`` reads the compiled loss whatever form it was given in (a string, a loss class
  instance, a loss function; a custom ``name=`` does not matter), with its ``from_logits`` flag:
  ``from_logits=True`` on a linear output is the softmax moved into the loss.
- ``output_verdict`` joins the last two: a softmax output with a plain cross-entropy and a linear
  output with ``from_logits=True`` are the same classifier; anything else is named.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader.checks import CheckFailed, describe
from grader.proxy import RemoteHandle, StudentError
from grader.safe_text import short

# Layers that compute the identity when the model predicts (training-time noise, markers).
IDENTITY_AT_INFERENCE = frozenset({
    "InputLayer", "Dropout", "AlphaDropout", "GaussianDropout", "GaussianNoise",
    "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "ActivityRegularization",
})
# Layers that only change the shape; whether the input fits is judged by the probe.
RESHAPING = frozenset({"Flatten", "Reshape"})
MAX_LAYERS = 200
MAX_DEPTH = 8


def canonical(name: Any) -> str:
    """'CategoricalCrossentropy', 'categorical_crossentropy' -> 'categoricalcrossentropy';
    TensorFlow's versioned function names ('softmax_v2') lose their version."""
    text = str(name).replace("_", "").replace(" ", "").lower()
    if text.endswith("v2") and len(text) > 2:
        text = text[:-2]
    return text


def _serialised_name(value: Any) -> str:
    """The name inside a Keras-serialised object: a string, a function ({'class_name':
    'function', 'config': 'relu'}) or an object ({'class_name': 'CategoricalCrossentropy',
    'config': {'name': <any name the student chose>, ...}}): for objects the class counts."""
    if value is None:
        return "linear"
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        config, class_name = value.get("config"), value.get("class_name")
        if isinstance(config, str):       # a plain function: {'config': 'relu', ...}
            return config
        if isinstance(class_name, str) and class_name != "function":
            return class_name             # an object, e.g. a Loss with a custom name
        if isinstance(config, dict) and isinstance(config.get("name"), str):
            return config["name"]
    return describe(value)


def _full_type(obj: Any) -> str:
    """'module.Class' of a (remote) object, as the worker reported it."""
    full = obj._type_name if isinstance(obj, RemoteHandle) else getattr(obj, "_type_name", None)
    if not isinstance(full, str):
        full = f"{type(obj).__module__}.{type(obj).__qualname__}"
    return full


def type_name(obj: Any) -> str:
    """The class name of a (remote) object, without its module: 'Dense', 'Sequential'."""
    return _full_type(obj).rsplit(".", 1)[-1]


def _type_module(obj: Any) -> str:
    return _full_type(obj).rsplit(".", 1)[0]


def _activation_of_layer(kind: str, config: dict) -> str | None:
    """The activation an activation layer applies (canonical), or None if it is not one."""
    if kind == "Activation" or (kind not in ("Dense",) and set(config) & {"activation"}
                                and "units" not in config and kind not in IDENTITY_AT_INFERENCE
                                and kind not in RESHAPING):
        return canonical(_serialised_name(config.get("activation")))
    if kind == "Softmax":
        return "softmax"
    if kind == "ReLU":
        default = (config.get("max_value") is None and not config.get("negative_slope")
                   and not config.get("threshold"))
        return "relu" if default else "modifiedrelu"
    if kind in ("LeakyReLU", "ELU", "PReLU"):
        return canonical(kind)
    if kind == "Lambda":
        return "lambda"
    return None


@dataclass
class ModelReading:
    """What a model computes, read from its layers: Dense layers with folded activations."""
    dense: list[tuple[int, str]] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)   # other layers, by class name
    subclassed: bool = False      # a keras.Model subclass (or a student class) somewhere
    nested: bool = False          # a model inside the model
    dense_layers: list = field(default_factory=list, repr=False)   # their handles, in order

    def describe_dense(self) -> str:
        return ", ".join(f"Dense({u}, {a})" for u, a in self.dense) or "no Dense layers"


def _compose(first: str, then: str) -> str:
    if first == "linear":
        return then
    if then == "linear" or (then == first and then in ("relu",)):   # relu(relu(x)) = relu(x)
        return first
    return f"{first} then {then}"


def sublayers(obj: Any) -> list | None:
    """``obj.layers`` as a list (a model, or a model nested in one), or None when ``obj``
    has no list of layers (a plain layer, or not a Keras object at all)."""
    try:
        value = obj.layers
    except (AttributeError, TypeError, StudentError):
        return None
    return list(value) if isinstance(value, (list, tuple)) else None


def read_model(model: Any, call: str) -> ModelReading:
    """The model as a chain of Dense layers with their activations (see the module doc)."""
    reading = ModelReading()
    state = {"count": 0, "open": False}  # open: an activation may still fold into dense[-1]

    def walk(obj: Any, depth: int) -> None:
        children = sublayers(obj)
        if children is None:
            raise CheckFailed(f"{call}: did not return a Keras model (it has no list of "
                              f"layers: {short(describe(obj), 80)})")
        if _type_module(obj).split(".")[0] not in ("keras", "tf_keras", "tensorflow"):
            reading.subclassed = True
        for layer in children:
            state["count"] += 1
            if state["count"] > MAX_LAYERS or depth > MAX_DEPTH:
                raise CheckFailed(f"{call}: the model has more than {MAX_LAYERS} layers (or "
                                  f"models nested more than {MAX_DEPTH} deep)")
            kind = type_name(layer)
            if kind in IDENTITY_AT_INFERENCE or kind in RESHAPING:
                continue
            if sublayers(layer) is not None:           # a model inside the model
                reading.nested = True
                walk(layer, depth + 1)
                continue
            try:
                config = layer.get_config()
            except StudentError:
                config = None
            if not isinstance(config, dict):
                config = {}
            units = config.get("units")
            if isinstance(units, int) and not isinstance(units, bool):
                reading.dense_layers.append(layer)
                reading.dense.append([units,
                                      canonical(_serialised_name(config.get("activation")))])
                state["open"] = True
                continue
            activation = _activation_of_layer(kind, config)
            if activation is not None and state["open"]:
                reading.dense[-1][1] = _compose(reading.dense[-1][1], activation)
                continue
            reading.extras.append(kind if activation is None else f"{kind}({activation})")
            state["open"] = False

    walk(model, 0)
    reading.dense = [(units, activation) for units, activation in reading.dense]
    return reading


def dense_stack(model: Any, call: str) -> list[tuple[int, str]]:
    """The model's Dense layers in order, as (units, activation name), activation layers
    folded in and nested models flattened (``read_model``)."""
    return read_model(model, call).dense


# --------------------------------------------------------------------------------------------
# behaviour: a probe batch through model.predict
# --------------------------------------------------------------------------------------------
def probe_inputs(shape: tuple[int, ...], rows: int = 4, seed: int = 0) -> np.ndarray:
    """A float32 batch of ``rows`` inputs of ``shape`` with values in [0, 1]."""
    return np.random.default_rng(seed).random((rows, *shape)).astype(np.float32)


def probe(model: Any, shape: tuple[int, ...], call: str, hint: str = "") -> np.ndarray:
    """``model.predict`` on a probe batch of inputs of ``shape``: what the model computes.

    Also builds a model declared without an input shape, as its first ``fit`` would.
    """
    batch = probe_inputs(shape)
    try:
        out = model.predict(batch, verbose=0)
    except StudentError as exc:
        raise CheckFailed(
            f"{call}: the model could not predict on a batch of {len(batch)} inputs of shape "
            f"{tuple(shape)} ({exc.type_name}: {short(str(exc), 240)})"
            + (f" — {hint}" if hint else "")) from None
    except AttributeError:
        raise CheckFailed(f"{call}: did not return a Keras model (it has no predict method)"
                          ) from None
    if isinstance(out, (list, tuple)) and len(out) == 1:
        out = out[0]
    if not isinstance(out, np.ndarray) or out.dtype.kind not in "fiu":
        raise CheckFailed(f"{call}: model.predict(...) returned {describe(out)}; expected "
                          "an array of numbers")
    return out.astype(np.float64)


def to_numpy(value: Any) -> Any:
    """A tensor (tf.one_hot(...), keras.ops.one_hot(...)) that came back as a remote handle,
    as the numpy array its ``.numpy()`` gives; anything else unchanged."""
    if not isinstance(value, RemoteHandle):
        return value
    try:
        out = value.numpy()
    except (StudentError, AttributeError, TypeError):
        return value
    return out if isinstance(out, np.ndarray) else value


_ACTIVATIONS = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60))),
    "tanh": np.tanh,
    "softmax": lambda z: softmax(z),
}
MAX_INFERRED_LAYERS = 4


def infer_activations(reading: ModelReading, shape: tuple[int, ...], out: np.ndarray,
                      call: str) -> ModelReading:
    """For a subclassed model, whose ``call()`` may apply activations its layers cannot show:
    recompute the Dense chain here from the layers' weights (``get_weights()``) on the probe
    batch, with each layer's read activation or, where it reads 'linear', each common one,
    and keep the activations that reproduce the model's own output. Unchanged when none do
    (a computation that is not a plain Dense chain) or the model is not subclassed."""
    if not reading.subclassed or not reading.dense or len(reading.dense) > MAX_INFERRED_LAYERS:
        return reading
    weights = []
    for layer in reading.dense_layers:
        try:
            values = layer.get_weights()
        except (StudentError, AttributeError):
            return reading
        if not (isinstance(values, (list, tuple)) and 1 <= len(values) <= 2
                and all(isinstance(v, np.ndarray) and v.dtype.kind == "f" for v in values)):
            return reading
        W = values[0].astype(np.float64)
        b = values[1].astype(np.float64) if len(values) == 2 else np.zeros(W.shape[-1])
        weights.append((W, b))
    x = probe_inputs(shape).reshape(len(out), -1).astype(np.float64)
    choices = [[a] if a in _ACTIVATIONS and a != "linear" else list(_ACTIVATIONS)
               for _, a in reading.dense]
    if any(a not in _ACTIVATIONS and a != "linear" for _, a in reading.dense):
        return reading
    for combo in itertools.product(*choices):
        h = x
        try:
            with np.errstate(all="ignore"):
                for (W, b), name in zip(weights, combo):
                    h = _ACTIVATIONS[name](h @ W + b)
        except ValueError:                      # shapes that do not chain
            return reading
        if h.shape == out.shape and np.allclose(h, out, rtol=1e-3, atol=1e-4):
            reading.dense = [(units, name) for (units, _), name in zip(reading.dense, combo)]
            return reading
    return reading


def gives_probabilities(out: np.ndarray, atol: float = 1e-4) -> bool:
    """Whether every row of ``out`` is a probability distribution (a softmax output)."""
    out = np.asarray(out, dtype=np.float64)
    return bool(out.size and np.all(np.isfinite(out)) and np.all(out >= -atol)
                and np.all(out <= 1 + atol)
                and np.allclose(out.sum(axis=-1), 1.0, atol=atol * out.shape[-1]))


def softmax(scores: np.ndarray) -> np.ndarray:
    """The softmax the loss applies to logits (``from_logits=True``), row by row."""
    z = np.asarray(scores, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


# --------------------------------------------------------------------------------------------
# compile settings
# --------------------------------------------------------------------------------------------
def compile_config(model: Any, call: str) -> dict:
    """``model.get_compile_config()``; a failure saying 'compile the model' when there is
    none (Keras 3 returns {} for a model that was never compiled)."""
    try:
        config = model.get_compile_config()
    except StudentError as exc:
        raise CheckFailed(f"{call}: the model's compile settings could not be read "
                          f"({exc.type_name}: {short(str(exc), 200)}) — pass the optimizer and "
                          "loss to model.compile as strings or Keras objects") from None
    except AttributeError:
        raise CheckFailed(f"{call}: did not return a Keras model (no compile settings)"
                          ) from None
    if not isinstance(config, dict) or not config or config.get("loss") is None:
        raise CheckFailed(f"{call}: the model is not compiled with a loss — call "
                          "model.compile(optimizer=..., loss=..., metrics=[...]) before "
                          "returning it")
    return config


@dataclass(frozen=True)
class LossSpec:
    name: str            # canonical: 'categoricalcrossentropy'
    from_logits: bool    # the loss applies the softmax (or sigmoid) itself


def loss_spec(model: Any, call: str) -> LossSpec:
    """The compiled loss, whatever form it was given in, and its from_logits flag."""
    loss = compile_config(model, call).get("loss")
    if isinstance(loss, (list, tuple)) and len(loss) == 1:
        loss = loss[0]
    if isinstance(loss, dict) and len(loss) == 1 and "class_name" not in loss:
        loss = next(iter(loss.values()))          # {output_name: loss}
    config = loss.get("config") if isinstance(loss, dict) else None
    from_logits = bool(config.get("from_logits", False)) if isinstance(config, dict) else False
    return LossSpec(canonical(_serialised_name(loss)), from_logits)


def loss_name(model: Any, call: str) -> str:
    """The compiled loss as a canonical name ('binarycrossentropy'), whatever form was given."""
    return loss_spec(model, call).name


def optimizer_name(model: Any, call: str) -> str:
    """The compiled optimizer's class name, canonical ('adam'), whatever its settings."""
    optimizer = compile_config(model, call).get("optimizer")
    return canonical(_serialised_name(optimizer))


def output_verdict(activation: str, out: np.ndarray, loss: LossSpec | None) -> str:
    """How the last layer and the loss together turn scores into class probabilities.

    'softmax': the model outputs probabilities and the loss takes them as they are;
    'logits': a linear last layer, the loss applies the softmax (from_logits=True);
    'double-softmax': probabilities fed to a loss that applies the softmax again;
    'no-softmax': neither the model nor the loss turns the scores into probabilities.
    ``activation`` is the read (folded) activation of the last Dense layer; ``out`` the probe
    output, which decides when the softmax is applied where layers cannot show it.
    """
    from_logits = bool(loss and loss.from_logits)
    probabilities = gives_probabilities(out) and activation != "sigmoid"
    if probabilities:
        return "double-softmax" if from_logits else "softmax"
    if from_logits and activation == "linear":
        return "logits"
    return "no-softmax"


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


# --------------------------------------------------------------------------------------------
# the network's forward pass, computed here (numpy): what a score measures
# --------------------------------------------------------------------------------------------
@dataclass
class DenseForward:
    """The model's computation as read by ``read_model`` (Dense chain with folded activations,
    nested models flattened, identity-at-inference and reshaping layers skipped) with the
    weights from each Dense layer's ``get_weights()``. ``scores(x)`` is what ``model.predict``
    of the same network returns, computed in the grader: a score built on it measures the
    network, not whatever a model class's ``predict`` says."""
    layers: list[tuple[np.ndarray, np.ndarray, tuple[str, ...]]]
    reading: ModelReading

    def scores(self, x: Any) -> np.ndarray:
        h = np.asarray(x, dtype=np.float64)
        h = h.reshape(len(h), -1)
        with np.errstate(all="ignore"):
            for W, b, activations in self.layers:
                h = h @ W + b
                for name in activations:
                    h = _ACTIVATIONS[name](h)
        return h


def dense_forward(model: Any, call: str, shape: tuple[int, ...]) -> DenseForward:
    """``DenseForward`` of ``model``; CheckFailed when it is not a chain of Dense layers whose
    weights and activations the grader can read (the message says what it found)."""
    reading = read_model(model, call)
    if reading.extras:
        raise CheckFailed(f"{call}: the model holds layers other than Dense and activations "
                          f"({short(', '.join(reading.extras), 120)}); the grader scores the "
                          "Dense network the instructions ask for")
    if not reading.dense:
        raise CheckFailed(f"{call}: the model has no Dense layers")
    if reading.subclassed:      # call() may apply activations its layers do not show
        reading = infer_activations(reading, shape, probe(model, shape, call), call)
    layers = []
    for layer, (units, activation) in zip(reading.dense_layers, reading.dense):
        try:
            values = layer.get_weights()
        except (StudentError, AttributeError, TypeError):
            values = None
        if not (isinstance(values, (list, tuple)) and 1 <= len(values) <= 2
                and all(isinstance(v, np.ndarray) and v.dtype.kind == "f" for v in values)
                and values[0].ndim == 2 and values[0].shape[1] == units
                and (len(values) == 1 or values[1].shape == (units,))):
            raise CheckFailed(f"{call}: the weights of a Dense({units}) layer could not be read "
                              "(layer.get_weights() should give [kernel, bias])")
        W = values[0].astype(np.float64)
        b = values[1].astype(np.float64) if len(values) == 2 else np.zeros(units)
        names = tuple(a for a in activation.split(" then ") if a != "linear")
        unknown = [a for a in names if a not in _ACTIVATIONS]
        if unknown:
            raise CheckFailed(f"{call}: the activation {short(unknown[0], 40)!r} is not one the "
                              "grader computes (relu, sigmoid, tanh, softmax, linear)")
        layers.append((W, b, names))
    for (W, _, _), (W2, _, _) in zip(layers, layers[1:]):
        if W.shape[1] != W2.shape[0]:
            raise CheckFailed(f"{call}: the Dense layers do not chain ({W.shape} then "
                              f"{W2.shape})")
    return DenseForward(layers, reading)


def network_scores(model: Any, x: np.ndarray, call: str, shape: tuple[int, ...],
                   probe_rows: int = 32) -> np.ndarray:
    """The network's output for ``x`` computed here (``dense_forward``), cross-checked with
    ``model.predict`` on the first ``probe_rows`` rows: if they disagree, predict() is not
    the network's computation and the check fails saying so."""
    forward = dense_forward(model, call, shape)
    ours = forward.scores(x)
    if ours.shape[-1] != forward.layers[-1][0].shape[1] or ours.shape[0] != len(x):
        raise CheckFailed(f"{call}: the network's output has shape {ours.shape}")
    return cross_checked(model, x, ours, call, "its Dense layers' weights and activations",
                         probe_rows=probe_rows)


def cross_checked(model: Any, x: np.ndarray, ours: np.ndarray, call: str, computed_from: str,
                  probe_rows: int = 32, items: str = "rows") -> np.ndarray:
    """``ours`` (the network's output for ``x``, computed in the grader from its weights),
    once ``model.predict`` agrees with it on the first ``probe_rows`` items: if it does not,
    predict() is not the network's computation (a lookup table, another model) and the check
    fails saying so. ``computed_from`` names what the grader computed, for the message."""
    rows = np.asarray(x)[:probe_rows]
    try:
        theirs = model.predict(rows, verbose=0)
    except StudentError as exc:
        raise CheckFailed(f"{call}: model.predict failed on {len(rows)} {items} "
                          f"({exc.type_name}: {short(str(exc), 200)})") from None
    if isinstance(theirs, (list, tuple)) and len(theirs) == 1:
        theirs = theirs[0]
    agree = (isinstance(theirs, np.ndarray) and theirs.dtype.kind in "fiu"
             and theirs.shape == ours[:len(rows)].shape
             and bool(np.allclose(theirs.astype(np.float64), ours[:len(rows)],
                                  rtol=1e-3, atol=1e-3)))
    if not agree:
        raise CheckFailed(f"{call}: model.predict(X) does not match the network's own forward "
                          f"pass ({computed_from}, computed by the grader) — predict() is not "
                          "the network's computation; use the Keras model's own predict")
    return ours


# --------------------------------------------------------------------------------------------
# training, measured here: the loss of the network's own weights before and after train()
# --------------------------------------------------------------------------------------------
def training_loss(model: Any, x: Any, labels: np.ndarray, call: str, kind: str,
                  rows: int = 1000) -> float:
    """The loss of the network on its first ``rows`` training rows, computed HERE from its
    Dense layers' weights (``dense_forward``), with the trusted ``labels``: what ``fit``
    lowers, measured, not the History ``train()`` reports (which is the student's word).

    ``kind`` is ``"categorical"`` (integer class labels; the scores are taken as they are
    when they are probabilities, else through a softmax, as a logits model's loss does) or
    ``"binary"`` (0/1 labels; a sigmoid output, or logits through a sigmoid), with the
    classes balanced as ``compute_class_weight("balanced")`` weighs them in training. A
    model declared without an input shape is built first by a probe batch, as ``fit`` would
    build it. CheckFailed when the network cannot be read (``dense_forward``)."""
    x = to_numpy(x)
    if not isinstance(x, np.ndarray) or x.ndim < 2 or x.dtype.kind not in "fiu" \
            or len(x) != len(labels):
        raise CheckFailed(f"{call}: the training rows are not a numeric array, so the grader "
                          "cannot measure the model's loss on them")
    x, labels = x[:rows], np.asarray(labels)[:rows]
    probe(model, tuple(x.shape[1:]), call)
    scores = dense_forward(model, call, tuple(x.shape[1:])).scores(x)
    with np.errstate(all="ignore"):
        if kind == "categorical":
            if scores.ndim != 2 or not 0 <= int(labels.max()) < scores.shape[1]:
                raise CheckFailed(f"{call}: the network's output has shape {scores.shape}")
            probs = scores if gives_probabilities(scores) else softmax(scores)
            loss = -np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, 1.0))
            return float(np.mean(loss))
        p = scores.reshape(len(scores), -1)
        if p.shape[1] != 1:
            raise CheckFailed(f"{call}: the network's output has shape {scores.shape}")
        p = p[:, 0]
        if p.min() < 0 or p.max() > 1:
            p = 1.0 / (1.0 + np.exp(-np.clip(p, -60, 60)))
        p = np.clip(p, 1e-7, 1 - 1e-7)
        y = (labels == 1)
        loss = np.where(y, -np.log(p), -np.log(1 - p))
        weights = np.where(y, 0.5 / max(y.mean(), 1e-12), 0.5 / max(1 - y.mean(), 1e-12))
        return float(np.mean(weights * loss))


def expect_training_lowered_loss(measured: dict, call: str) -> None:
    """Fails unless the loss ``training_loss`` measured on the model it was given fell during
    ``train()``: ``measured`` holds ``before`` and ``after`` or the ``error`` (a CheckFailed
    message) that kept the grader from reading the network."""
    if "error" in measured:
        raise CheckFailed(f"{call}: the grader measures training on the network's own weights "
                          f"and could not: {measured['error']}")
    before, after = measured.get("before"), measured.get("after")
    if not (isinstance(before, float) and isinstance(after, float)
            and np.isfinite(before) and np.isfinite(after)):
        raise CheckFailed(f"{call}: the model's loss on its training rows, computed from its "
                          "weights, is not a finite number after train()")
    if not after < before:
        raise CheckFailed(f"{call}: the History says the loss fell, but the model's own loss on "
                          f"its training rows, computed from its weights, went {before:.3f} -> "
                          f"{after:.3f} — train() must fit the model it is given "
                          "(return model.fit(...))")
