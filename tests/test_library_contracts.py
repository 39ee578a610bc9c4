"""Every library claim the stubs make, executed against the installed libraries.

The docstrings of solutions/*.py become the stubs and notebooks students read. When they say
"keras.utils.to_categorical does this (it returns float64)" or "MLPClassifier also reads a
number as one layer", a new Keras or scikit-learn release can make that false without any
other test noticing. Here each claim runs (fast: no training, small inputs), and a scan of
the docstrings fails when one names a library function or class no test below covers, so
the next claim comes with its check.
"""
from __future__ import annotations

import ast
import importlib
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"

keras = pytest.importorskip("keras")
# the claims run on tiny fits (max_iter=50): convergence is not what they check
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# ---- which library names the docstrings mention ------------------------------------------------
# Dotted names resolve from these roots; bare names (Dense(, OneHotEncoder() from these modules
# (numpy's bare functions are left out: exp(, log(, max( in a docstring are mathematics).
ROOTS = {"np": "numpy", "numpy": "numpy", "keras": "keras", "layers": "keras.layers",
         "sklearn": "sklearn", "pd": "pandas", "pandas": "pandas"}
BARE_NAMESPACES = ["keras.layers", "keras.losses", "keras.optimizers", "keras.metrics",
                   "keras.utils", "sklearn.datasets", "sklearn.neural_network",
                   "sklearn.preprocessing", "sklearn.pipeline", "sklearn.compose",
                   "sklearn.metrics", "sklearn.utils.class_weight"]
# Dotted names anywhere (np.meshgrid); bare names only as calls (Dense(...)), since prose
# says "ReLU units" or "Pipeline" without naming a call.
MENTION = re.compile(r"(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+|[A-Za-z_]\w*(?=\())")


def docstrings(path: Path) -> list[tuple[str, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [(f"{path.name} (module)", ast.get_docstring(tree) or "")]
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found.append((f"{path.name}: {node.name}", ast.get_docstring(node) or ""))
    return found


def resolve(name: str) -> str | None:
    """'np.linspace' -> 'numpy.linspace', 'Dense' -> 'keras.layers.Dense'; None if not a
    library function or class."""
    head, _, rest = name.partition(".")
    if head in ROOTS and rest:
        module, parts = ROOTS[head], rest.split(".")
        obj = importlib.import_module(module)
        for i, part in enumerate(parts):
            if not hasattr(obj, part):
                try:  # a submodule not imported yet (sklearn.compose)
                    obj = importlib.import_module(f"{module}.{'.'.join(parts[:i + 1])}")
                    continue
                except ImportError:
                    return None
            obj = getattr(obj, part)
        return f"{module}.{rest}" if callable(obj) else None
    if "." not in name and name[:1].isalpha():
        for module in BARE_NAMESPACES:
            obj = getattr(importlib.import_module(module), name, None)
            if callable(obj) and (name[0].isupper() or "_" in name):
                return f"{module}.{name}"
    return None


def notebook_texts() -> list[tuple[str, str]]:
    """What students read: the solutions' docstrings (stubs and notebooks) and the written
    questions the notebooks end with."""
    from grader.authoring import QUESTIONS_FILE, load_questions
    texts = [pair for path in sorted(SOLUTIONS.glob("*.py")) for pair in docstrings(path)]
    for exercise, questions in load_questions(SOLUTIONS / QUESTIONS_FILE).items():
        texts += [(f"{QUESTIONS_FILE}: {exercise}/{q['id']}", str(q["prompt"]))
                  for q in questions]
    return texts


def mentioned() -> dict[str, list[str]]:
    """{library name: [where the stubs and notebooks mention it]}."""
    names: dict[str, list[str]] = {}
    for where, text in notebook_texts():
        for match in MENTION.finditer(text):
            full = resolve(match.group(1))
            if full:
                names.setdefault(full, []).append(where)
    return names


# ---- the claims, each executed ------------------------------------------------------------------
def onehot_from_to_categorical():
    """mnist_ann: keras.utils.to_categorical(labels, 10) gives one-hot rows, float64."""
    labels = np.array([3, 0, 9, 3])
    Y = keras.utils.to_categorical(labels, 10)
    assert Y.shape == (4, 10)
    assert Y.dtype == np.float64, f"to_categorical now returns {Y.dtype}: update the mnist_ann " \
                                  "docstring (it says float64) and the notebook"
    assert np.array_equal(Y, np.eye(10)[labels])


def mnist_network():
    """mnist_ann: Input((784,)) -> Dense(128, relu) -> Dense(10, softmax) has 101,770
    parameters, each Dense computes f(X W + b), the softmax survives large scores, and
    the same network as Dense(10) + Softmax layer, nested in an outer Sequential, or with
    ReLU / Activation layers and Dropout between them."""
    layers = keras.layers
    model = keras.Sequential([keras.Input((784,)), layers.Dense(128, activation="relu"),
                              layers.Dense(10, activation="softmax")])
    assert model.input_shape == (None, 784) and model.output_shape == (None, 10)
    assert model.count_params() == 784 * 128 + 128 + 128 * 10 + 10 == 101_770
    assert tuple(model.layers[0].kernel.shape) == (784, 128)       # X W: W is (in, out)
    x = np.random.default_rng(0).random((3, 784)).astype("float32")
    W, b = (np.asarray(v) for v in model.layers[0].get_weights())
    hidden = keras.Model(model.inputs, model.layers[0].output)
    assert np.allclose(hidden.predict(x, verbose=0), np.maximum(x @ W + b, 0), atol=1e-5)
    big = np.asarray(keras.activations.softmax(np.array([[1000.0, 0.0, -1000.0]])))
    assert np.all(np.isfinite(big)) and np.isclose(big.sum(), 1.0)

    inner = keras.Sequential([keras.Input((784,)), layers.Dense(128, activation="relu"),
                              layers.Dense(10)])
    outer = keras.Sequential([inner, layers.Softmax()])
    probs = outer.predict(x, verbose=0)
    assert probs.shape == (3, 10) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert outer.count_params() == 101_770

    spelled_out = keras.Sequential([keras.Input((784,)), layers.Dense(128), layers.ReLU(),
                                    layers.Dropout(0.5), layers.Dense(10),
                                    layers.Activation("softmax")])
    spelled_out.set_weights(outer.get_weights())    # Dropout: the identity when predicting
    assert np.allclose(spelled_out.predict(x, verbose=0), probs, atol=1e-6)

    unbuilt = keras.Sequential([layers.Dense(128, activation="relu"),
                                layers.Dense(10, activation="softmax")])
    unbuilt.predict(x, verbose=0)                   # "or no input shape": built at first call
    assert unbuilt.count_params() == 101_770


def logits_loss():
    """mnist_ann: a linear Dense(10) with CategoricalCrossentropy(from_logits=True) is the
    softmax output with the plain loss (the softmax moved into the loss); the loss may be
    given as a string, an object or a function, and Adam with any learning rate."""
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(5, 10)).astype("float32")
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, 5)]
    probs = np.asarray(keras.activations.softmax(logits))
    with_logits = float(keras.losses.CategoricalCrossentropy(from_logits=True)(y, logits))
    plain = float(keras.losses.CategoricalCrossentropy()(y, probs))
    function = float(np.mean(keras.losses.categorical_crossentropy(y, probs)))
    assert np.isclose(with_logits, plain, rtol=1e-4) and np.isclose(plain, function, rtol=1e-4)
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
    for loss in ("categorical_crossentropy", keras.losses.CategoricalCrossentropy(),
                 keras.losses.categorical_crossentropy):
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss=loss)
        config = model.get_compile_config()
        assert config["optimizer"]["class_name"] == "Adam"
        assert config["loss"] is not None


def functional_and_subclassed():
    """mnist_ann: the functional API builds the same network; a keras.Model subclass lists
    the layers it creates in the order it creates them (what the grader reads)."""
    inputs = keras.Input((784,))
    outputs = keras.layers.Dense(10, activation="softmax")(
        keras.layers.Dense(128, activation="relu")(inputs))
    assert keras.Model(inputs, outputs).count_params() == 101_770

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.first = keras.layers.Dense(128, activation="relu", name="first")
            self.drop = keras.layers.Dropout(0.2, name="drop")
            self.last = keras.layers.Dense(10, activation="softmax", name="last")

        def call(self, x):
            return self.last(self.drop(self.first(x)))

    assert [layer.name for layer in Net().layers] == ["first", "drop", "last"]


def circles_data():
    """circles: make_circles(n_samples, noise, factor, random_state) gives X (n, 2) and
    y in {0, 1}, class 0 on the outer ring, class 1 on the inner one (radius ~ factor);
    the same seed gives the same points."""
    from sklearn.datasets import make_circles
    X, y = make_circles(n_samples=300, noise=0.0, factor=0.5, random_state=0)
    assert X.shape == (300, 2) and set(np.unique(y)) == {0, 1}
    radius = np.hypot(X[:, 0], X[:, 1])
    assert np.allclose(radius[y == 0], 1.0) and np.allclose(radius[y == 1], 0.5)
    again = make_circles(n_samples=300, noise=0.1, factor=0.5, random_state=3)
    assert np.array_equal(again[0], make_circles(300, noise=0.1, factor=0.5,
                                                 random_state=3)[0])


def circles_mlp():
    """circles: MLPClassifier(hidden_layer_sizes=(h,)) has one hidden layer of h units, and
    reads a number h and a list [h] the same way; relu is its default activation; the same
    random_state gives the same model; inside make_pipeline(StandardScaler(), ...) it is
    the last step."""
    from sklearn.datasets import make_circles
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = make_circles(80, noise=0.1, factor=0.5, random_state=0)
    fitted = {}
    for sizes in ((4,), 4, [4]):
        net = MLPClassifier(hidden_layer_sizes=sizes, solver="lbfgs", max_iter=50,
                            random_state=0).fit(X, y)
        assert [w.shape for w in net.coefs_] == [(2, 4), (4, 1)]
        fitted[str(sizes)] = net.predict_proba(X)
    first, *others = fitted.values()
    assert all(np.array_equal(first, other) for other in others)
    assert MLPClassifier().activation == "relu"
    pipeline = make_pipeline(StandardScaler(), MLPClassifier((4,), solver="lbfgs",
                                                             max_iter=50, random_state=0))
    pipeline.fit(X, y)
    assert isinstance(pipeline.steps[-1][1], MLPClassifier)
    assert set(np.unique(pipeline.predict(X))) <= {0, 1}
    assert 0.0 <= pipeline.score(X, y) <= 1.0


def circles_grid():
    """circles: np.linspace(lo, hi, steps) per axis and np.meshgrid give (steps, steps)
    arrays; indexing="xy" (default) varies x along the columns, "ij" along the rows; the
    grid points np.column_stack([xx.ravel(), yy.ravel()]) are (steps**2, 2), and Z
    reshaped to xx.shape puts the prediction for (xx[i, j], yy[i, j]) at Z[i, j]."""
    xs, ys = np.linspace(-1, 1, 7), np.linspace(0, 2, 7)
    assert xs.shape == (7,) and xs[0] == -1 and xs[-1] == 1
    for indexing in ("xy", "ij"):
        xx, yy = np.meshgrid(xs, ys, indexing=indexing)
        assert xx.shape == yy.shape == (7, 7)
        points = np.column_stack([xx.ravel(), yy.ravel()])
        assert points.shape == (49, 2)
        Z = (points[:, 0] + 10 * points[:, 1]).reshape(xx.shape)
        assert np.allclose(Z, xx + 10 * yy)
    xx, _ = np.meshgrid(xs, ys)
    assert np.allclose(xx, xx[:1, :])                       # "xy": x changes along columns


def attrition_table():
    """attrition: the table students receive has the documented columns in order, int64
    where documented, and text columns holding str that df.select_dtypes(exclude="number")
    and pd.api.types.is_string_dtype find (pandas 2 or 3); pd.read_csv of the same table as
    a CSV gives pandas' text dtype ("str" from pandas 3 on), never object, under pandas 3."""
    from grader.datasets import load_attrition
    doc = ast.get_docstring(ast.parse((SOLUTIONS / "attrition.py").read_text("utf-8")))
    table = re.findall(r"^    ([A-Z]\w+)\s+(int64|object|str)\b", doc, flags=re.M)
    given = load_attrition()                        # what student code receives
    buffer = io.StringIO()
    given.to_csv(buffer, index=False)
    df = pd.read_csv(io.StringIO(buffer.getvalue()))  # the same table as a CSV, read back
    assert len(table) == 35 and df.shape == (1470, 35)
    documented_text = [name for name, dtype in table if dtype != "int64"]
    for frame in (given, df):
        assert list(frame.columns) == [name for name, _ in table]
        for name, dtype in table:
            if dtype == "int64":
                assert frame[name].dtype == np.int64, name
            else:
                assert not pd.api.types.is_numeric_dtype(frame[name]), name
                assert pd.api.types.is_string_dtype(frame[name]), name
                assert all(isinstance(v, str) for v in frame[name]), name
        text = frame.select_dtypes(exclude="number").columns.tolist()
        assert text == documented_text and len(text) == 9
    if int(pd.__version__.split(".")[0]) >= 3:
        assert all(df[name].dtype == "str" and df[name].dtype != "object"
                   for name in documented_text)


def attrition_preprocessing():
    """attrition: OneHotEncoder(handle_unknown="ignore") does not crash on a category unseen
    in training; ColumnTransformer scales numeric columns (StandardScaler) and one-hot
    encodes text ones; compute_class_weight("balanced") weighs the rare class more;
    keras.metrics.AUC is a metric; Dense(1, sigmoid) outputs probabilities."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from sklearn.utils.class_weight import compute_class_weight

    train = pd.DataFrame({"n": [1.0, 2.0, 3.0, 4.0], "t": ["a", "b", "a", "b"]})
    test = pd.DataFrame({"n": [2.5], "t": ["never seen"]})
    transformer = ColumnTransformer([("numeric", StandardScaler(), ["n"]),
                                     ("categorical", OneHotEncoder(handle_unknown="ignore"),
                                      ["t"])], sparse_threshold=0.0)
    fitted = transformer.fit_transform(train)
    assert fitted.shape == (4, 3) and np.isclose(fitted[:, 0].mean(), 0)
    assert np.array_equal(transformer.transform(test)[0, 1:], [0.0, 0.0])
    y = np.array([0] * 8 + [1] * 2)
    weights = compute_class_weight("balanced", classes=np.array([0, 1]), y=y)
    assert weights[1] > weights[0]
    assert keras.metrics.AUC(name="auc").name == "auc"
    out = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    probs = out.predict(np.random.default_rng(0).normal(size=(5, 3)) * 100, verbose=0)
    assert probs.shape == (5, 1) and np.all((probs >= 0) & (probs <= 1))


def backprop_numpy():
    """backprop: np.random.default_rng(seed) gives the same numbers for the same seed;
    probs[np.arange(m), y] picks each row's probability of its own class."""
    a = np.random.default_rng(7).normal(size=5)
    assert np.array_equal(a, np.random.default_rng(7).normal(size=5))
    probs = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert np.array_equal(probs[np.arange(3), np.array([1, 0, 0])], [0.9, 0.8, 0.3])


def cnn_layers():
    """cnn: keras.layers.Conv2D stores its kernel as (kh, kw, C_in, C_out) and its bias as
    (C_out,) in get_weights(); padding="same" at stride 1 keeps the height and width, "valid"
    gives H - k + 1; MaxPooling2D(2) halves them; Input(28, 28, 1) -> Conv2D(16, 3) has
    16 * (3*3*1 + 1) = 160 parameters."""
    model = keras.Sequential([keras.layers.Input((28, 28, 1)),
                              keras.layers.Conv2D(16, 3, activation="relu")])
    kernel, bias = model.layers[0].get_weights()
    assert kernel.shape == (3, 3, 1, 16) and bias.shape == (16,)
    assert model.count_params() == 160
    assert model.output_shape == (None, 26, 26, 16)
    same = keras.layers.Conv2D(4, 5, padding="same")
    assert same.compute_output_shape((None, 28, 28, 1)) == (None, 28, 28, 4)
    assert keras.layers.MaxPooling2D(2).compute_output_shape((None, 26, 26, 16)) == \
        (None, 13, 13, 16)


def lstm_layer():
    """lstm: keras.layers.LSTM(n_h) keeps [kernel (n_x, 4 n_h), recurrent_kernel (n_h, 4 n_h),
    bias (4 n_h,)] in get_weights(), gates in the order i, f, c, o (unit_forget_bias puts
    ones in the forget block only); it returns the last hidden state (m, n_h), and with
    return_sequences=True every step's (m, T, n_h); np.concatenate([h, x], axis=1) puts h's
    columns first; BinaryCrossentropy(from_logits=True) applies the sigmoid itself."""
    layer = keras.layers.LSTM(3)
    last = layer(np.zeros((2, 5, 4), dtype="float32"))
    kernel, recurrent, bias = layer.get_weights()
    assert kernel.shape == (4, 12) and recurrent.shape == (3, 12) and bias.shape == (12,)
    assert np.array_equal(bias, np.r_[np.zeros(3), np.ones(3), np.zeros(6)])   # i f c o
    assert tuple(last.shape) == (2, 3)
    every = keras.layers.LSTM(3, return_sequences=True)(np.zeros((2, 5, 4), dtype="float32"))
    assert tuple(every.shape) == (2, 5, 3)
    z = np.concatenate([np.ones((2, 3)), np.zeros((2, 4))], axis=1)
    assert z.shape == (2, 7) and np.all(z[:, :3] == 1)
    y, logit = np.array([[1.0]]), np.array([[0.3]])
    with_logits = float(keras.losses.BinaryCrossentropy(from_logits=True)(y, logit))
    assert np.isclose(with_logits, -np.log(1 / (1 + np.exp(-0.3))), rtol=1e-5)


# Every library name the docstrings mention -> the claim check that executes it.
CLAIMS = {
    "keras.utils.to_categorical": onehot_from_to_categorical,
    "keras.Input": mnist_network,
    "keras.Sequential": mnist_network,
    "keras.layers.Dense": mnist_network,
    "keras.layers.Softmax": mnist_network,
    "keras.Model": functional_and_subclassed,
    "keras.losses.CategoricalCrossentropy": logits_loss,
    "keras.optimizers.Adam": logits_loss,
    "keras.metrics.AUC": attrition_preprocessing,
    "sklearn.datasets.make_circles": circles_data,
    "sklearn.neural_network.MLPClassifier": circles_mlp,
    "sklearn.pipeline.make_pipeline": circles_mlp,
    "sklearn.preprocessing.StandardScaler": circles_mlp,
    "sklearn.preprocessing.OneHotEncoder": attrition_preprocessing,
    "sklearn.compose.ColumnTransformer": attrition_preprocessing,
    "sklearn.utils.class_weight.compute_class_weight": attrition_preprocessing,
    "numpy.linspace": circles_grid,
    "numpy.meshgrid": circles_grid,
    "numpy.column_stack": circles_grid,
    "numpy.random.default_rng": backprop_numpy,
    "numpy.arange": backprop_numpy,
    "pandas.read_csv": attrition_table,
    "pandas.api.types.is_string_dtype": attrition_table,
    "keras.layers.Conv2D": cnn_layers,
    "keras.layers.Input": cnn_layers,
    "keras.layers.MaxPooling2D": cnn_layers,
    "keras.layers.LSTM": lstm_layer,
    "keras.losses.BinaryCrossentropy": lstm_layer,
    "numpy.concatenate": lstm_layer,
}
CHECKS = sorted(set(CLAIMS.values()), key=lambda f: f.__name__)


def test_every_library_name_in_a_docstring_has_a_claim_check():
    found = mentioned()
    unchecked = {name: where for name, where in found.items() if name not in CLAIMS}
    assert unchecked == {}, (
        "stubs or notebooks (solutions/) name library calls no test executes — add a check to "
        f"tests/test_library_contracts.py for: {unchecked}")
    assert {"keras.utils.to_categorical", "sklearn.neural_network.MLPClassifier",
            "numpy.meshgrid"} <= set(found), sorted(found)


@pytest.mark.parametrize("check", CHECKS, ids=lambda f: f.__name__)
def test_library_claim(check):
    """Each check's docstring is the claim, as the stub words it."""
    check()


def test_mnist_stub_states_the_installed_to_categorical_dtype():
    """The stub says which dtype to_categorical returns; it must be the installed one."""
    dtype = keras.utils.to_categorical([1], 10).dtype
    text = (SOLUTIONS / "mnist_ann.py").read_text(encoding="utf-8")
    said = re.search(r"to_categorical\(labels, 10\) does this \(it returns (\w+);", text)
    assert said is not None, "the mnist_ann docstring no longer says what to_categorical returns"
    assert said.group(1) == str(dtype), (said.group(1), str(dtype))
