"""A multi-layer perceptron on concentric circles, with scikit-learn.

make_circles draws two noisy rings, one inside the other: class 0 on the outer
ring, class 1 on the inner one. No straight line separates them, so a perceptron
(or logistic regression) is stuck near chance. A hidden layer fixes that: each
hidden ReLU unit computes relu(w . x + b), a "fold" along one straight line, and
the output unit adds the folds up, y = f(sum_j v_j relu(w_j . x + b_j) + c).
With enough units the folds bend into a closed boundary around the inner ring.

How many are enough? Roughly, the boundary is a polygon with one side per hidden
unit: 1-3 units cannot enclose the inner ring (accuracy stays around 0.5-0.75);
with 8 or more the network fits the data almost perfectly. You will measure this
curve yourself with accuracy_by_hidden.

MLPClassifier trains by gradient descent on the cross-entropy (the lbfgs solver
is a quasi-Newton method: it also uses the gradient dL/dw, plus curvature
estimates, to choose each step). Results depend on the random initial weights,
so we always pass random_state=seed: the same seed gives the same model.

decision_grid evaluates the model on a fine grid of points covering the data, so
the boundary can be drawn as a coloured map under the scatter plot.
"""
import numpy as np
from sklearn.datasets import make_circles
from sklearn.neural_network import MLPClassifier


def make_data(n_samples=300, noise=0.1, factor=0.5, seed=0):
    """Two concentric noisy circles: returns (X, y), X (n_samples, 2), y in {0, 1}.

    Use sklearn.datasets.make_circles with random_state=seed. factor is the radius of
    the inner circle relative to the outer one; noise the standard deviation of the
    Gaussian noise added to each point.
    """
    # BEGIN SOLUTION
    return make_circles(n_samples=n_samples, noise=noise, factor=factor, random_state=seed)
    # END SOLUTION


def fit_mlp(X, y, hidden, seed=0):
    """A fitted MLPClassifier with one hidden layer of `hidden` ReLU units.

    MLPClassifier(hidden_layer_sizes=(hidden,), activation="relu", solver="lbfgs",
    max_iter=2000, random_state=seed), fitted on (X, y). Note the trailing comma:
    (hidden,) is a tuple with one layer; (hidden) is just a number, which MLPClassifier
    also reads as one layer, like the list [hidden]. A Pipeline whose last step is that
    MLPClassifier (make_pipeline(StandardScaler(), MLPClassifier(...))) is fine too.
    """
    # BEGIN SOLUTION
    model = MLPClassifier(
        hidden_layer_sizes=(hidden,),
        activation="relu",
        solver="lbfgs",
        max_iter=2000,
        random_state=seed,
    )
    return model.fit(X, y)
    # END SOLUTION


def decision_grid(model, X, steps=100):
    """The model's predictions on a grid covering the data: returns (xx, yy, Z).

    Span each axis from its minimum to its maximum in X, widened by a margin of 10%
    of the range on both sides; np.linspace(lo, hi, steps) per axis and np.meshgrid
    give xx, yy of shape (steps, steps) (indexing="xy", the default, or "ij": either
    works, as long as Z[i, j] is the prediction at the point (xx[i, j], yy[i, j])).
    Predict on the grid points as one (steps**2, 2) array
    (np.column_stack([xx.ravel(), yy.ravel()])) and reshape the labels to
    Z (steps, steps).
    """
    # BEGIN SOLUTION
    X = np.asarray(X, dtype=float)
    low, high = X.min(axis=0), X.max(axis=0)
    margin = 0.1 * (high - low)
    xx, yy = np.meshgrid(
        np.linspace(low[0] - margin[0], high[0] + margin[0], steps),
        np.linspace(low[1] - margin[1], high[1] + margin[1], steps),
    )
    Z = np.asarray(model.predict(np.column_stack([xx.ravel(), yy.ravel()])))
    return xx, yy, Z.reshape(xx.shape)
    # END SOLUTION


def accuracy_by_hidden(X, y, sizes=(1, 2, 3, 4, 5, 6), seed=0):
    """Training accuracy for each hidden-layer size: {size: accuracy}.

    Fit one MLP per size with fit_mlp(X, y, size, seed) and score it on the same data
    (model.score(X, y)). Keys are ints, values floats in [0, 1].
    """
    # BEGIN SOLUTION
    return {int(size): float(fit_mlp(X, y, size, seed).score(X, y)) for size in sizes}
    # END SOLUTION
