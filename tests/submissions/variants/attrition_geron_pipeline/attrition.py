"""A correct attrition.py in the style of Geron's "Hands-On Machine Learning": numeric and
categorical pipelines (SimpleImputer then StandardScaler / OneHotEncoder) chosen by
make_column_selector, the ColumnTransformer's default (possibly sparse) output made dense,
the target with np.where, a Sequential with input_shape on its first layer, and a validation
split while fitting with balanced class weights."""
import numpy as np
from scipy import sparse
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.class_weight import compute_class_weight
from tensorflow import keras

DROP = ["Attrition", "EmployeeCount", "EmployeeNumber", "Over18", "StandardHours"]


def encode_target(df):
    return np.where(df["Attrition"] == "Yes", 1, 0)


def _dense(X):
    return (X.toarray() if sparse.issparse(X) else np.asarray(X)).astype(np.float64)


def preprocess(train_df, test_df):
    num_pipeline = Pipeline([
        ("impute", SimpleImputer(strategy="median")),
        ("standardize", StandardScaler()),
    ])
    cat_pipeline = make_pipeline(SimpleImputer(strategy="most_frequent"),
                                 OneHotEncoder(handle_unknown="ignore"))
    preprocessing = ColumnTransformer([
        ("num", num_pipeline, make_column_selector(dtype_include=np.number)),
        ("cat", cat_pipeline, make_column_selector(dtype_exclude=np.number)),
    ])
    train_df = train_df.drop(columns=DROP, errors="ignore")
    test_df = test_df.drop(columns=DROP, errors="ignore")
    X_train = preprocessing.fit_transform(train_df)
    X_test = preprocessing.transform(test_df)
    return _dense(X_train), _dense(X_test)


def build_model(n_features):
    model = keras.models.Sequential([
        keras.layers.Dense(16, activation="relu", input_shape=[n_features]),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(loss="binary_crossentropy", optimizer="adam",
                  metrics=["accuracy", keras.metrics.AUC(name="auc")])
    return model


def train(model, X, y, epochs=30, batch_size=32):
    classes = np.unique(y)
    weights = compute_class_weight(class_weight="balanced", classes=classes, y=y)
    return model.fit(X, y, epochs=epochs, batch_size=batch_size, validation_split=0.1,
                     class_weight={int(c): float(w) for c, w in zip(classes, weights)},
                     verbose=0)
