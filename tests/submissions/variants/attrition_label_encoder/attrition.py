"""Attrition as in many Kaggle kernels on IBM's WA_Fn-UseC_-HR-Employee-Attrition.csv:
LabelEncoder on every two-valued text column, one-hot encoding (OneHotEncoder) for the other
text columns and for the ordinal codes (Education, the satisfaction scales, ...), MinMaxScaler
on the numbers, a Keras Sequential network.
"""
import numpy as np
import pandas as pd
from sklearn.preprocessing import LabelEncoder, MinMaxScaler, OneHotEncoder
from tensorflow import keras

DROP = ["EmployeeCount", "EmployeeNumber", "Over18", "StandardHours", "Attrition"]
ORDINAL = ["Education", "EnvironmentSatisfaction", "JobInvolvement", "JobSatisfaction",
           "PerformanceRating", "RelationshipSatisfaction", "WorkLifeBalance"]


def encode_target(df):
    return LabelEncoder().fit(["No", "Yes"]).transform(df["Attrition"])


def preprocess(train_df, test_df):
    train = train_df.drop(columns=[c for c in DROP if c in train_df.columns])
    test = test_df.drop(columns=[c for c in DROP if c in test_df.columns])
    text = [c for c in train.columns if not pd.api.types.is_numeric_dtype(train[c])]
    binary = [c for c in text if train[c].nunique() == 2]       # Gender, OverTime
    multi = [c for c in text if c not in binary] + ORDINAL
    numbers = [c for c in train.columns if c not in text and c not in ORDINAL]

    parts_train, parts_test = [], []
    for col in binary:
        le = LabelEncoder().fit(train[col])
        parts_train.append(le.transform(train[col]).reshape(-1, 1))
        parts_test.append(le.transform(test[col]).reshape(-1, 1))
    ohe = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(train[multi])
    parts_train.append(ohe.transform(train[multi]))
    parts_test.append(ohe.transform(test[multi]))
    scaler = MinMaxScaler().fit(train[numbers])
    parts_train.append(scaler.transform(train[numbers]))
    parts_test.append(scaler.transform(test[numbers]))
    X_train = np.hstack(parts_train).astype(np.float64)
    X_test = np.hstack(parts_test).astype(np.float64)
    return X_train, X_test


def build_model(n_features):
    model = keras.models.Sequential([
        keras.layers.Input(shape=(n_features,)),
        keras.layers.Dense(24, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy",
                  metrics=["accuracy", keras.metrics.AUC(name="auc")])
    return model


def train(model, X, y, epochs=30, batch_size=32):
    counts = pd.Series(y).value_counts()
    weights = {0: 1.0, 1: counts[0] / counts[1]}
    return model.fit(X, y, epochs=epochs, batch_size=batch_size, class_weight=weights,
                     verbose=0)
