"""Attrition with scikit-learn's ColumnTransformer on column lists written out from IBM's
WA_Fn-UseC_-HR-Employee-Attrition.csv, the target mapped with a dict, and a Keras
network with dropout, built with the functional API.
"""
import keras
import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils import class_weight

CATEGORICAL = ["BusinessTravel", "Department", "EducationField", "Gender", "JobRole",
               "MaritalStatus", "OverTime"]
NUMERICAL = ["Age", "DailyRate", "DistanceFromHome", "Education", "EnvironmentSatisfaction",
             "HourlyRate", "JobInvolvement", "JobLevel", "JobSatisfaction", "MonthlyIncome",
             "MonthlyRate", "NumCompaniesWorked", "PercentSalaryHike", "PerformanceRating",
             "RelationshipSatisfaction", "StockOptionLevel", "TotalWorkingYears",
             "TrainingTimesLastYear", "WorkLifeBalance", "YearsAtCompany", "YearsInCurrentRole",
             "YearsSinceLastPromotion", "YearsWithCurrManager"]


def encode_target(df):
    return df["Attrition"].map({"Yes": 1, "No": 0}).values.astype("int64")


def preprocess(train_df, test_df):
    ct = ColumnTransformer([
        ("num", StandardScaler(), NUMERICAL),
        ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL),
    ])  # every other column (Attrition, EmployeeNumber, Over18, ...) is dropped
    X_train = ct.fit_transform(train_df)
    X_test = ct.transform(test_df)
    return X_train.astype("float64"), X_test.astype("float64")


def build_model(n_features):
    inputs = keras.Input(shape=(n_features,))
    x = keras.layers.Dense(32, activation="relu")(inputs)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001),
                  loss=keras.losses.BinaryCrossentropy(),
                  metrics=[keras.metrics.AUC()])
    return model


def train(model, X, y, epochs=30, batch_size=32):
    weights = class_weight.compute_class_weight("balanced", classes=np.unique(y), y=y)
    return model.fit(X, y, epochs=epochs, batch_size=batch_size,
                     class_weight=dict(enumerate(weights)), verbose=0)
