"""Hidden suite: the employee-attrition classifier (pandas / scikit-learn / Keras).

The model is built and trained in the student's worker and reached through a remote handle;
this module never imports TensorFlow. Held-out metrics are computed here with scikit-learn.
"""
import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    roc_auc_score,
    roc_curve,
)

from grader.checks import expect_array, expect_dtype, expect_shape, expect_true, matches
from grader.suites.keras_model import (dense_stack, expect_training_lowered_loss, history_series,
                                       loss_name)

EPOCHS = 30          # train()'s default; the suite relies on it
MAX_CURVE_POINTS = 200
# IBM's id and constant columns: the stub lets students drop them (tutorials do).
OPTIONAL_COLUMNS = ("EmployeeCount", "EmployeeNumber", "Over18", "StandardHours")


def column_kinds(frame, required_only=False):
    """(numeric columns, {categorical column: number of levels}) of the feature columns;
    with ``required_only``, without the id and constant columns a student may drop."""
    drop = ["Attrition", *(OPTIONAL_COLUMNS if required_only else ())]
    features = frame.drop(columns=drop, errors="ignore")
    numeric = features.select_dtypes(include="number").columns.tolist()
    levels = {c: features[c].nunique() for c in features.columns if c not in numeric}
    return numeric, levels


def held_out_scores(trained, attrition):
    """The model's score for every held-out employee, as a 1-D float array.

    Not required to be a probability here (test_predictions_are_probabilities checks that),
    so a wrong output activation costs points once, not in every metric.
    """
    _, _, probs = trained.get()
    n = len(attrition.test)
    call = "model.predict(X_test)"
    if isinstance(probs, np.ndarray) and probs.shape == (n, 1):
        probs = probs[:, 0]
    probs = expect_shape(probs, (n,), call)
    expect_true(np.all(np.isfinite(probs)), f"{call}: the predictions contain NaN or inf")
    return probs.astype(np.float64)


def downsample_curve(fpr, tpr, limit=MAX_CURVE_POINTS):
    if len(fpr) <= limit:
        return fpr, tpr
    keep = np.unique(np.linspace(0, len(fpr) - 1, limit).round().astype(int))
    return fpr[keep], tpr[keep]


@pytest.mark.public
def test_encode_target(student, attrition):
    """encode_target() gives 1 for "Yes" (left) and 0 for "No", as integers"""
    frame = attrition.train
    expected = (frame["Attrition"] == "Yes").to_numpy().astype(int)
    call = "encode_target(df)"
    got = expect_dtype(student.encode_target(frame), "i", call)
    expect_array(got, expected, call,
                 diagnose=[matches(1 - expected, 'the target is inverted: 1 must mean "Yes" '
                                                 "(the employee left)")])


MIN_BALANCED_ACCURACY = 0.55  # 0.5 for always-No or a coin: no credit near it
MIN_DISTINCT_ROWS = 10  # IBM's employees differ; features that ignore the rows do not


def expect_features_of_the_rows(student, X_train, attrition, call):
    """The features are computed from the rows: different employees get different features,
    and shuffling the training rows shuffles their features the same way. Zeros, a row
    number or noise of the right shape pass a test of a side property (finite, no target
    column, values of order 1) without encoding anything; they fail here."""
    distinct = len(np.unique(np.round(X_train, 9), axis=0))
    expect_true(distinct >= min(MIN_DISTINCT_ROWS, len(X_train)),
                f"{call}: X_train has {distinct} distinct row(s) for {len(X_train)} employees "
                "— the features must be computed from each employee's columns")
    order = np.random.default_rng(0).permutation(len(attrition.train))
    shuffled = student.preprocess(attrition.train.iloc[order], attrition.test_features)
    expect_true(isinstance(shuffled, (tuple, list)) and len(shuffled) == 2,
                f"{call}: expected a pair (X_train, X_test)")
    expect_array(shuffled[0], X_train[order], f"{call} with the training rows shuffled",
                 name="X_train", check_dtype=False, rtol=1e-6, atol=1e-8,
                 hints=["each row of X_train must be computed from the same row of train_df "
                        "(and the scaling fitted on all of them)"])


@pytest.mark.public
@pytest.mark.points(2)
def test_preprocess_shapes(student, student_features, attrition):
    """preprocess() returns float arrays with one row per employee and the same columns for both"""
    X_train, X_test = student_features.get()
    call = "preprocess(train_df, test_df)"
    for name, X in (("X_train", X_train), ("X_test", X_test)):
        expect_true(np.all(np.isfinite(X)),
                    f"{call}: {name} contains NaN or inf — a column with zero variance, or "
                    "an unseen category? use OneHotEncoder(handle_unknown='ignore')")
    expect_features_of_the_rows(student, X_train, attrition, call)


def test_preprocess_drops_the_target(student, student_features, attrition):
    """preprocess() drops the "Attrition" column, the answer, from the features"""
    X_train, _ = student_features.get()
    call = "preprocess(train_df without Attrition, test_df)"
    without = student.preprocess(attrition.train.drop(columns=["Attrition"]),
                                 attrition.test_features)
    expect_array(without[0], X_train, call, name="X_train",
                 hints=["X_train must not depend on whether train_df still holds the "
                        "Attrition column: drop it (errors='ignore') before encoding"])
    expect_features_of_the_rows(student, X_train, attrition, call)


@pytest.mark.public
@pytest.mark.points(3)
def test_preprocess_fitted_on_training_rows_only(student, student_features, attrition):
    """preprocess() learns scaling and categories from the training rows only"""
    X_train, X_test = student_features.get()
    numeric, _ = column_kinds(attrition.df)
    changed = attrition.test_features.copy()
    changed[numeric] = changed[numeric] * 3 + 7
    call = "preprocess(train_df, test_df)"
    moved = student.preprocess(attrition.train, changed)
    expect_array(moved[0], X_train, f"{call} with different test rows", name="X_train",
                 hints=["X_train changed when only the test rows changed: fit the scaler and "
                        "encoder on train_df alone, then transform test_df"])
    expect_true(not np.allclose(np.asarray(moved[1]), X_test),
                f"{call}: X_test did not change when the test rows were rescaled — the scaler "
                "seems to be fitted on the test rows; fit it on train_df and only "
                "transform test_df")
    few = student.preprocess(attrition.train, attrition.test_features.iloc[:5])
    expect_array(few[1], X_test[:5], f"{call} with only 5 test rows", name="X_test",
                 hints=["a test row must be transformed the same way however many test rows "
                        "there are: fit on train_df only"])


@pytest.mark.public
@pytest.mark.points(2)
def test_preprocess_scales_and_one_hot_encodes(student, student_features, attrition):
    """preprocess() scales the numeric columns and one-hot encodes the text columns"""
    X_train, _ = student_features.get()
    call = "preprocess(train_df, test_df)"
    expect_true(X_train.size > 0, f"{call}: X_train has no feature columns at all")
    expect_features_of_the_rows(student, X_train, attrition, call)
    largest = float(np.max(np.abs(X_train)))
    expect_true(largest <= 10,
                f"{call}: X_train holds values as large as {largest:.4g}; numeric columns "
                "should be scaled (StandardScaler) so they are of order 1")
    numeric, levels = column_kinds(attrition.train, required_only=True)
    least = len(numeric) + sum(n - 1 for n in levels.values())
    expect_true(X_train.shape[1] >= least,
                f"{call}: X_train has {X_train.shape[1]} columns; {len(numeric)} numeric columns "
                f"plus one 0/1 column per category of the {len(levels)} text columns give at "
                f"least {least} — one-hot encode the text columns (OneHotEncoder), do not "
                "number the categories or drop them")


@pytest.mark.public
@pytest.mark.points(2)
def test_model_structure(student, keras_model_check):
    """build_model(n) has ReLU hidden layer(s), a Dense(1, sigmoid) output and binary cross-entropy"""
    call = "build_model(20)"
    model = keras_model_check(student.build_model(20), call)
    stack = dense_stack(model, call)
    expect_true(len(stack) >= 2,
                f"{call}: found {len(stack)} Dense layer(s); expected at least one hidden "
                "Dense layer with ReLU and a Dense(1, sigmoid) output")
    expect_true(stack[-1] == (1, "sigmoid"),
                f"{call}: the output layer is Dense({stack[-1][0]}, {stack[-1][1]}); expected "
                "Dense(1, activation='sigmoid'), the probability of leaving")
    hidden = [activation for _, activation in stack[:-1]]
    expect_true(all(a == "relu" for a in hidden),
                f"{call}: hidden layer activations are {hidden}; use 'relu'")
    shape = model.input_shape
    expect_true(isinstance(shape, (tuple, list)) and len(shape) == 2 and shape[-1] == 20,
                f"{call}: the model takes inputs of shape {shape}; expected (None, 20) — "
                "use keras.Input((n_features,))")
    loss = loss_name(model, call)
    expect_true(loss == "binarycrossentropy",
                f"{call}: compiled with loss {loss!r}; a 0/1 target with a sigmoid output "
                "needs loss='binary_crossentropy'")


def test_training_history(trained, training_measured, record):
    """train() runs 30 epochs by default and the training loss goes down"""
    call = "train(model, X, y)"
    _, history, _ = trained.get()
    series = history_series(history, call)
    losses = series["loss"]
    record.figure("learning_curves", {"series": series,
                                      "title": "Training curves of train(model, X, y)"})
    expect_true(len(losses) == EPOCHS,
                f"{call}: the History has {len(losses)} epochs; the default is epochs=30 — "
                "pass epochs=epochs to model.fit")
    expect_true(all(np.isfinite(losses)) and losses[-1] < losses[0],
                f"{call}: the training loss did not fall ({losses[0]:.3f} -> {losses[-1]:.3f})")
    # the History is the student's report: the fall is measured on the network's weights
    expect_training_lowered_loss(training_measured, call)


def test_predictions_are_probabilities(trained, attrition):
    """the trained model outputs one probability of leaving per employee"""
    probs = held_out_scores(trained, attrition)
    expect_true(probs.min() >= 0 and probs.max() <= 1,
                "model.predict(X_test): outputs outside [0, 1] — the last layer should be "
                "Dense(1, activation='sigmoid')")


@pytest.mark.points(6)
def test_held_out_roc_auc(trained, attrition, threshold, record):
    """the model ranks held-out leavers above stayers (ROC-AUC)"""
    probs = held_out_scores(trained, attrition)
    auc = roc_auc_score(attrition.y_test, probs)
    fpr, tpr, _ = roc_curve(attrition.y_test, probs)
    fpr, tpr = downsample_curve(fpr, tpr)
    record.metric("roc_auc", auc)
    record.figure("roc_curve", {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "auc": float(auc),
                                "title": f"Held-out employees ({len(probs)})"})
    expect_true(auc > 0.5 or len(set(probs.round(6))) > 1,
                "model.predict(X_test): every employee gets the same score — the model has "
                "not learned anything (check the target and the features)")
    threshold("roc_auc", auc)


@pytest.mark.points(2)
def test_held_out_accuracy(trained, attrition, threshold, record):
    """the model classifies held-out employees correctly (threshold 0.5)"""
    probs = held_out_scores(trained, attrition)
    predicted = (probs >= 0.5).astype(int)
    accuracy = accuracy_score(attrition.y_test, predicted)
    record.metric("accuracy", accuracy)
    # "always No" is 84 % accurate: accuracy counts only for a model that tells the classes
    # apart better than chance (balanced accuracy 0.5 for any rule blind to the employee)
    balanced = balanced_accuracy_score(attrition.y_test, predicted)
    expect_true(balanced > MIN_BALANCED_ACCURACY,
                f"model.predict(X_test): balanced accuracy {balanced:.3f} (the mean of the "
                "share of leavers and of stayers found) — no better than a rule that ignores "
                "the employee, such as always answering No; accuracy is not scored for it")
    record.figure("confusion_matrix", {
        "labels": ["No", "Yes"],
        "matrix": confusion_matrix(attrition.y_test, predicted, labels=[0, 1]).tolist(),
        "title": "Held-out employees, predicted Yes where p >= 0.5"})
    threshold("accuracy", accuracy)


@pytest.mark.points(2)
def test_held_out_f1_of_leavers(trained, attrition, threshold, record):
    """the model finds the held-out employees who left (F1 of "Yes")"""
    probs = held_out_scores(trained, attrition)
    predicted = (probs >= 0.5).astype(int)
    f1 = f1_score(attrition.y_test, predicted, pos_label=1, zero_division=0.0)
    record.metric("f1_yes", f1)
    expect_true(predicted.any(),
                "model.predict(X_test): no employee is predicted to leave (p >= 0.5) — a model "
                "that always says No is useless here; class_weight can help")
    # A rule blind to the employee (Yes for everyone, or for a random share) reaches at most
    # the F1 of "everyone leaves", 2r / (1 + r) for a share r of leavers: no credit for that.
    rate = float(np.mean(attrition.y_test))
    expect_true(f1 > 2 * rate / (1 + rate),
                f"model.predict(X_test): F1 of leavers is {f1:.3f}, no better than predicting "
                f"that every employee leaves ({int(predicted.sum())} of {len(predicted)} "
                "predicted to leave) — the model has not learned who leaves")
    threshold("f1_yes", f1)
