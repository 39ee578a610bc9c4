"""Attack: a correct preprocess() and model, and a train() that trains nothing and returns a
History-like object with a falling loss curve it made up (mnist_ann.py next to it does the
same). The untrained network says "leaves" for most employees.

Expected: test_training_history earns nothing (the loss is measured on the network's own
weights before and after train()), and an F1 of leavers no better than "everyone leaves"
earns nothing either.
"""
import numpy as np
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from tensorflow import keras


def encode_target(df):
    return (df["Attrition"] == "Yes").to_numpy().astype(int)


def preprocess(train_df, test_df):
    ct = ColumnTransformer([
        ("num", StandardScaler(), make_column_selector(dtype_include=np.number)),
        ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
         make_column_selector(dtype_exclude=np.number)),
    ])
    train_df = train_df.drop(columns=["Attrition"], errors="ignore")
    return ct.fit_transform(train_df).astype(float), ct.transform(test_df).astype(float)


def build_model(n_features):
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((n_features,)),
                              keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


class _History:
    def __init__(self, epochs):
        self.history = {"loss": [0.69 - 0.01 * e for e in range(epochs)]}


def train(model, X, y, epochs=30, batch_size=32):
    # leaves the network as it was built, everyone nudged towards "leaves"
    kernel, bias = model.layers[-1].get_weights()
    model.layers[-1].set_weights([kernel * 0.1, bias + 2.0])
    return _History(epochs)
