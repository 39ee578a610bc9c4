"""Attrition the way most notebooks on IBM's WA_Fn-UseC_-HR-Employee-Attrition.csv do it:
drop the useless columns, pd.get_dummies on the text columns, LabelEncoder on the target,
StandardScaler on everything, a small Keras network with class weights.
"""
import numpy as np
import pandas as pd
from sklearn.preprocessing import LabelEncoder, StandardScaler
from tensorflow import keras
from tensorflow.keras.layers import Dense
from tensorflow.keras.models import Sequential

# constant or id columns: EmployeeCount is always 1, Over18 always "Y", StandardHours 80
USELESS = ["EmployeeCount", "EmployeeNumber", "Over18", "StandardHours"]


def encode_target(df):
    le = LabelEncoder()  # No -> 0, Yes -> 1 (alphabetical)
    return le.fit_transform(df["Attrition"])


def preprocess(train_df, test_df):
    train = train_df.drop(USELESS + ["Attrition"], axis=1, errors="ignore")
    test = test_df.drop(USELESS + ["Attrition"], axis=1, errors="ignore")
    cat_cols = train.select_dtypes(include="object").columns
    train = pd.get_dummies(train, columns=cat_cols, drop_first=True)
    # no drop_first here: the test rows may lack the first category; reindex keeps exactly
    # the training columns (a category missing from the test rows becomes a zero column)
    test = pd.get_dummies(test, columns=cat_cols)
    test = test.reindex(columns=train.columns, fill_value=0)
    sc = StandardScaler()
    X_train = sc.fit_transform(train.astype(float))
    X_test = sc.transform(test.astype(float))
    return X_train, X_test


def build_model(n_features):
    model = Sequential()
    model.add(keras.Input(shape=(n_features,)))
    model.add(Dense(16, activation="relu"))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def train(model, X, y, epochs=30, batch_size=32):
    n_yes = np.sum(y == 1)
    n_no = np.sum(y == 0)
    class_weight = {0: len(y) / (2 * n_no), 1: len(y) / (2 * n_yes)}
    history = model.fit(X, y, epochs=epochs, batch_size=batch_size,
                        class_weight=class_weight, verbose=0)
    return history
