"""Employee attrition (IBM HR data): will an employee leave? A binary classifier in Keras.

Each row describes one employee (age, income, job role, overtime, ...); the target
column "Attrition" is "Yes" (left) or "No". Only about 16% left, so a model that
always says "No" is 84% accurate and useless: we judge it by ROC-AUC instead, the
probability that a random leaver gets a higher score than a random stayer.

The data is IBM's HR attrition table in the layout of its published CSV,
WA_Fn-UseC_-HR-Employee-Attrition.csv (1,470 employees, 35 columns): if you have
that file, pd.read_csv("WA_Fn-UseC_-HR-Employee-Attrition.csv") gives this table.
Your functions receive pandas DataFrames with these columns, in this order (the
test rows come without "Attrition"):

    column                    dtype   values
    Age                       int64   18..60
    Attrition                 str     "Yes", "No" (the target)
    BusinessTravel            str     "Non-Travel", "Travel_Frequently", "Travel_Rarely"
    DailyRate                 int64
    Department                str     "Human Resources", "Research & Development", "Sales"
    DistanceFromHome          int64
    Education                 int64   1 Below College, 2 College, 3 Bachelor, 4 Master,
                                      5 Doctor
    EducationField            str     "Human Resources", "Life Sciences", "Marketing",
                                      "Medical", "Other", "Technical Degree"
    EmployeeCount             int64   always 1
    EmployeeNumber            int64   an id, one per employee
    EnvironmentSatisfaction   int64   1 Low, 2 Medium, 3 High, 4 Very High
    Gender                    str     "Female", "Male"
    HourlyRate                int64
    JobInvolvement            int64   1 Low, 2 Medium, 3 High, 4 Very High
    JobLevel                  int64   1..5
    JobRole                   str     "Healthcare Representative", "Human Resources",
                                      "Laboratory Technician", "Manager",
                                      "Manufacturing Director", "Research Director",
                                      "Research Scientist", "Sales Executive",
                                      "Sales Representative"
    JobSatisfaction           int64   1 Low, 2 Medium, 3 High, 4 Very High
    MaritalStatus             str     "Divorced", "Married", "Single"
    MonthlyIncome             int64
    MonthlyRate               int64
    NumCompaniesWorked        int64
    Over18                    str     always "Y"
    OverTime                  str     "No", "Yes"
    PercentSalaryHike         int64
    PerformanceRating         int64   1 Low, 2 Good, 3 Excellent, 4 Outstanding
    RelationshipSatisfaction  int64   1 Low, 2 Medium, 3 High, 4 Very High
    StandardHours             int64   always 80
    StockOptionLevel          int64   0..3
    TotalWorkingYears         int64
    TrainingTimesLastYear     int64
    WorkLifeBalance           int64   1 Bad, 2 Good, 3 Better, 4 Best
    YearsAtCompany            int64
    YearsInCurrentRole        int64
    YearsSinceLastPromotion   int64
    YearsWithCurrManager      int64

The 9 text columns have pandas' text dtype: "str" with pandas 3 (what pd.read_csv
gives and what your functions receive), object with pandas 2. Under pandas 3,
df[c].dtype == "object" is False for them: use df.select_dtypes(exclude="number")
or pd.api.types.is_string_dtype, which work with both. The coded answers
(Education, the satisfaction scales, ...) are int64, so they count as numeric. EmployeeCount, EmployeeNumber, Over18 and StandardHours carry no
information (constants and an id): you may drop them.

Networks need numbers of similar size, so we preprocess:
- text (categorical) columns -> one-hot columns, one 0/1 column per category;
- numeric columns -> standardised, (x - mean) / std.
The means, stds and category lists are FITTED ON THE TRAINING DATA ONLY and then
applied unchanged to the test data. Fitting on the test data too would leak
information about it into training and make the test score optimistic; at
prediction time a single new employee has no "test set" to fit on anyway.

The network: n_features -> Dense(16, relu) -> Dense(1, sigmoid). The sigmoid
output p = 1 / (1 + exp(-z)) is the predicted probability of leaving; training
minimises the binary cross-entropy -[y log p + (1 - y) log(1 - p)] with Adam
(w_new = w_old - lr * dL/dw, with adaptive step sizes). Class weights make each
rare "Yes" count as much, in total, as all the "No"s. build_model must return a
compiled Keras model (not a scikit-learn estimator or Pipeline): the scikit-learn
part of the exercise is preprocess().
"""
import keras
import numpy as np
from keras import layers
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.class_weight import compute_class_weight


def encode_target(df):
    """The target as integers: 1 where df["Attrition"] == "Yes", else 0; shape (m,)."""
    # BEGIN SOLUTION
    return (df["Attrition"] == "Yes").to_numpy().astype(int)
    # END SOLUTION


def preprocess(train_df, test_df):
    """Features for the network: returns (X_train, X_test), dense float64 arrays.

    The frames have the columns listed at the top of this file. Drop "Attrition" if
    present (it is the answer); dropping the id and constant columns (EmployeeCount,
    EmployeeNumber, Over18, StandardHours) is up to you. One-hot encode the
    non-numeric columns (OneHotEncoder(handle_unknown="ignore"), so a category unseen
    in training does not crash) and scale the numeric ones (StandardScaler). A
    sklearn.compose.ColumnTransformer does both. Fit it on train_df only, then
    transform both frames: same columns, in the same order, for both.
    """
    # BEGIN SOLUTION
    unused = ["Attrition", "EmployeeCount", "EmployeeNumber", "Over18", "StandardHours"]
    train_X = train_df.drop(columns=unused, errors="ignore")
    test_X = test_df.drop(columns=unused, errors="ignore")
    numeric = train_X.select_dtypes(include="number").columns.tolist()
    categorical = train_X.select_dtypes(exclude="number").columns.tolist()
    transformer = ColumnTransformer(
        [
            ("numeric", StandardScaler(), numeric),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
        ],
        sparse_threshold=0.0,  # always return a dense array
    )
    X_train = transformer.fit_transform(train_X)
    X_test = transformer.transform(test_X)
    return np.asarray(X_train, dtype=np.float64), np.asarray(X_test, dtype=np.float64)
    # END SOLUTION


def build_model(n_features):
    """A compiled Keras model: n_features -> Dense(16, relu) -> Dense(1, sigmoid).

    Compile with optimizer="adam" and loss="binary_crossentropy"; metrics can
    include "accuracy" and keras.metrics.AUC(). Returns the model.
    """
    # BEGIN SOLUTION
    model = keras.Sequential([
        keras.Input((n_features,)),
        layers.Dense(16, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(
        optimizer="adam",
        loss="binary_crossentropy",
        metrics=["accuracy", keras.metrics.AUC(name="auc")],
    )
    return model
    # END SOLUTION


def train(model, X, y, epochs=30, batch_size=32):
    """Fit the model on (X, y) and return the keras History (verbose=0).

    The classes are imbalanced; class_weight={0: w0, 1: w1} with "balanced" weights
    (sklearn.utils.class_weight.compute_class_weight) makes the rare class count more.
    """
    # BEGIN SOLUTION
    classes = np.unique(y)
    weights = compute_class_weight("balanced", classes=classes, y=y)
    class_weight = {int(c): float(w) for c, w in zip(classes, weights)}
    return model.fit(
        X, y, epochs=epochs, batch_size=batch_size, class_weight=class_weight, verbose=0
    )
    # END SOLUTION
