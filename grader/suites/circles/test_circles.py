"""Hidden suite: an MLP on concentric circles (scikit-learn runs in the student's worker)."""
import numpy as np
import pytest
from sklearn.datasets import make_circles
from sklearn.metrics import accuracy_score

from grader.checks import (
    expect_array,
    expect_labels,
    expect_number,
    expect_responds,
    expect_shape,
    expect_true,
)
from grader.suites.circles.readers import grid_layout, mlp_of, network_predictions

SIZES = (1, 2, 3, 4, 5, 6)
GRID_HINT = "use the steps argument: np.linspace(low, high, steps) on each axis, then np.meshgrid"
FIGURE_CELLS = 60  # the report draws the decision boundary on at most 60 x 60 cells


def student_data(student):
    """The student's default data set, checked enough to use it for later tests."""
    call = "make_data()"
    result = student.make_data()
    expect_true(isinstance(result, (tuple, list)) and len(result) == 2,
                f"{call}: expected a pair (X, y)")
    X = expect_shape(result[0], (300, 2), call, name="X").astype(np.float64)
    y = expect_labels(result[1], 300, call, allowed=(0, 1), name="y")
    return X, y


def circles_data():
    """The default data set, made here so a make_data() bug costs points in its own tests only."""
    return make_circles(n_samples=300, noise=0.1, factor=0.5, random_state=0)


def downsample(values, cells=FIGURE_CELLS):
    """Every k-th row and column so the grid has at most ``cells`` per side."""
    step = max(1, int(np.ceil(values.shape[0] / cells)))
    return values[::step, ::step]


@pytest.mark.public
def test_make_data_default(student, reference):
    """make_data() returns the 300 points of make_circles with seed 0"""
    X, y = student_data(student)
    X_ref, y_ref = reference.make_data()
    expect_array(X, X_ref, "make_data()", name="X", check_dtype=False,
                 hints=["call sklearn.datasets.make_circles with n_samples, noise, factor "
                        "and random_state=seed"])
    expect_array(y, y_ref, "make_data()", name="y", check_dtype=False)


@pytest.mark.public
def test_make_data_parameters(student, reference):
    """make_data() passes n_samples, noise, factor and seed through to make_circles"""
    kwargs = dict(n_samples=80, noise=0.05, factor=0.3, seed=3)
    call = "make_data(n_samples=80, noise=0.05, factor=0.3, seed=3)"
    result = student.make_data(**kwargs)
    expect_true(isinstance(result, (tuple, list)) and len(result) == 2,
                f"{call}: expected a pair (X, y)")
    X_ref, y_ref = reference.make_data(**kwargs)
    expect_array(result[0], X_ref, call, name="X", check_dtype=False,
                 hints=["use every argument: n_samples=n_samples, noise=noise, "
                        "factor=factor, random_state=seed"])
    expect_array(result[1], y_ref, call, name="y", check_dtype=False)


@pytest.mark.public
def test_fit_mlp_structure(student):
    """fit_mlp() returns a fitted MLPClassifier with one hidden layer of ReLU units"""
    X, y = circles_data()
    call = "fit_mlp(X, y, hidden=5)"
    model = student.fit_mlp(X, y, 5)
    _, sizes, activation = mlp_of(model, call)
    expect_true(sizes == (5,),
                f"{call}: the fitted network has {len(sizes)} hidden layer(s) of sizes "
                f"{list(sizes)}; expected one hidden layer of 5 units — "
                "hidden_layer_sizes=(hidden,) (or hidden, or [hidden])")
    expect_true(activation == "relu",
                f'{call}: activation should be "relu", got {activation!r}')
    expect_labels(model.predict(X), len(X), f"{call}, then model.predict(X)", allowed=(0, 1))


@pytest.mark.points(3)
def test_fit_mlp_fits_the_circles(student, threshold, record):
    """an MLP with 8 hidden units separates the two circles"""
    X, y = circles_data()
    model = student.fit_mlp(X, y, 8)
    # Scored with the network's forward pass computed here, cross-checked with predict().
    predicted = network_predictions(model, X, "fit_mlp(X, y, 8)")
    accuracy = accuracy_score(y, predicted)
    record.metric("accuracy", accuracy)
    threshold("accuracy", accuracy)


@pytest.mark.public
def test_decision_grid_shape(student):
    """decision_grid() returns xx, yy, Z of shape (steps, steps)"""
    X, y = circles_data()
    model = student.fit_mlp(X, y, 8)
    for steps, call in ((100, "decision_grid(model, X)"),
                        (37, "decision_grid(model, X, steps=37)")):
        result = student.decision_grid(model, X) if steps == 100 else \
            student.decision_grid(model, X, steps=37)
        expect_true(isinstance(result, (tuple, list)) and len(result) == 3,
                    f"{call}: expected a triple (xx, yy, Z)")
        for name, value in zip(("xx", "yy", "Z"), result):
            expect_shape(value, (steps, steps), call, name=name, hints=[GRID_HINT])
    # arrays of the right shape that ignore X (zeros) are not a grid over the data
    expect_responds(student.decision_grid, [model, X], [model, 2.0 * X],
                    call="decision_grid(model, X)", why="the grid must span the data X")


@pytest.mark.public
@pytest.mark.points(2)
def test_decision_grid_covers_the_data(student, record):
    """decision_grid() spans the data with a margin and holds the model's predictions"""
    X, y = circles_data()
    model = student.fit_mlp(X, y, 8)
    call = "decision_grid(model, X)"
    xx, yy, Z = (expect_shape(v, (100, 100), call, name=n, hints=[GRID_HINT])
                 for n, v in zip(("xx", "yy", "Z"), student.decision_grid(model, X)))
    layout = grid_layout(xx, yy)
    expect_true(layout is not None,
                f"{call}: xx and yy are not a grid — each should change along one axis only, "
                "as np.meshgrid(x_values, y_values) gives them")
    for name, grid, column in (("xx", xx, X[:, 0]), ("yy", yy, X[:, 1])):
        span = column.max() - column.min()
        expect_true(grid.min() < column.min() and grid.max() > column.max(),
                    f"{call}: {name} must reach beyond the data on both sides (a margin), "
                    f"but it spans {grid.min():.2f} .. {grid.max():.2f} while the data spans "
                    f"{column.min():.2f} .. {column.max():.2f}")
        expect_true(grid.max() - grid.min() < 3 * span,
                    f"{call}: {name} spans {grid.max() - grid.min():.2f}, far wider than the "
                    f"data ({span:.2f}); keep the margin small (e.g. 10% of the range)")
    points = np.column_stack([xx.ravel(), yy.ravel()])
    # The model's predictions computed here from its fitted weights: a predict() that says
    # something else on grid-sized inputs cannot stand in for the grid.
    expected = network_predictions(model, points, "fit_mlp(X, y, 8)", probe=X).reshape(xx.shape)
    Z = expect_array(Z, expected, call, name="Z", check_dtype=False,
                     hints=["Z should be model.predict on the grid points "
                            "np.column_stack([xx.ravel(), yy.ravel()]), reshaped to xx.shape"])
    if layout == "ij":            # the figure is drawn with x along the columns
        xx, yy, Z = xx.T, yy.T, Z.T
    small_x, small_y, small_z = downsample(xx), downsample(yy), downsample(Z)
    record.figure("decision_boundary", {
        "x": small_x[0, :].tolist(), "y": small_y[:, 0].tolist(),
        "Z": small_z.astype(int).tolist(), "points": X.round(4).tolist(),
        "labels": y.astype(int).tolist(),
        "title": "Decision boundary of fit_mlp(X, y, 8) on make_data()"})


@pytest.mark.points(3)
def test_accuracy_rises_with_hidden_units(student, threshold, record):
    """accuracy_by_hidden() shows more hidden units fitting the circles better"""
    X, y = circles_data()
    call = "accuracy_by_hidden(X, y)"
    result = student.accuracy_by_hidden(X, y)
    expect_true(isinstance(result, dict), f"{call}: expected a dict {{size: accuracy}}")
    keys = sorted(int(k) for k in result)
    expect_true(keys == list(SIZES), f"{call}: the keys should be the sizes {list(SIZES)}, "
                                     f"got {keys}")
    acc = {int(k): expect_number(v, call, name=f"accuracy for {k} units")
           for k, v in result.items()}
    expect_true(all(0.0 <= a <= 1.0 for a in acc.values()),
                f"{call}: accuracies must lie between 0 and 1 (a fraction, not a percentage)")
    # The accuracies scored are measured here, from the networks fit_mlp() builds (its forward
    # pass computed in the grader); the reported numbers are checked for form above and against
    # fit_mlp() in test_accuracy_by_hidden_uses_fit_mlp.
    acc = {size: accuracy_score(y, network_predictions(student.fit_mlp(X, y, size), X,
                                                       f"fit_mlp(X, y, {size})"))
           for size in SIZES}
    for size, value in acc.items():
        record.metric(f"train_accuracy_{size}_units", value)
    best_large = max(acc[4], acc[5], acc[6])
    expect_true(acc[1] < 0.9,
                f"fit_mlp(X, y, 1): one hidden ReLU unit reaches {acc[1]:.2f}, which a single "
                "fold cannot do on circles — does fit_mlp() really use `hidden` units?")
    expect_true(best_large > acc[1] + 0.1,
                f"fit_mlp(X, y, size): 4-6 units do no better ({best_large:.2f}) than 1 unit "
                f"({acc[1]:.2f}) — fit a fresh model with `hidden` units each time")
    threshold("best_accuracy_4_to_6_units", best_large)


def test_accuracy_by_hidden_uses_fit_mlp(student):
    """accuracy_by_hidden() reports the training accuracy of fit_mlp() for each size"""
    X, y = circles_data()
    call = "accuracy_by_hidden(X, y, sizes=(3, 10), seed=1)"
    result = student.accuracy_by_hidden(X, y, sizes=(3, 10), seed=1)
    expect_true(isinstance(result, dict) and sorted(int(k) for k in result) == [3, 10],
                f"{call}: expected a dict with the keys 3 and 10 (use the sizes argument)")
    for size in (3, 10):
        value = expect_number(result.get(size, result.get(float(size))), call,
                              name=f"accuracy for {size} units")
        model = student.fit_mlp(X, y, size, seed=1)
        direct = accuracy_score(y, network_predictions(model, X, f"fit_mlp(X, y, {size}, "
                                                                 "seed=1)"))
        expect_true(abs(value - direct) < 1e-9,
                    f"{call}: for {size} units it reports {value:.3f}, but fit_mlp(X, y, "
                    f"{size}, seed=1) scores {direct:.3f} on the same data — build each model "
                    "with fit_mlp(X, y, size, seed) and score it on (X, y)")
