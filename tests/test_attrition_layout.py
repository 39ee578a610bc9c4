"""The attrition table student code is given: IBM's published CSV layout, rebuilt from the
pinned vendored (modeldata) copy.

Courses hand out IBM's WA_Fn-UseC_-HR-Employee-Attrition.csv, so code written for that file
must work on what the grader sends. The expectations below are written out from IBM's
documented layout (column order, integer codes and their meaning, spellings), not taken from
grader.datasets, so a wrong constant there cannot confirm itself. The slow test grades
correct submissions written the way tutorials on IBM's file do it (tests/submissions/
variants/attrition_*) and expects full marks.
"""
from __future__ import annotations

import ast
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from grader import datasets

ROOT = Path(__file__).resolve().parent.parent
VARIANTS_DIR = ROOT / "tests" / "submissions" / "variants"
IBM_NAME = "WA_Fn-UseC_-HR-Employee-Attrition.csv"

# IBM's file: 1,470 rows x 35 columns, in this order.
IBM_COLUMNS = [
    "Age", "Attrition", "BusinessTravel", "DailyRate", "Department", "DistanceFromHome",
    "Education", "EducationField", "EmployeeCount", "EmployeeNumber", "EnvironmentSatisfaction",
    "Gender", "HourlyRate", "JobInvolvement", "JobLevel", "JobRole", "JobSatisfaction",
    "MaritalStatus", "MonthlyIncome", "MonthlyRate", "NumCompaniesWorked", "Over18", "OverTime",
    "PercentSalaryHike", "PerformanceRating", "RelationshipSatisfaction", "StandardHours",
    "StockOptionLevel", "TotalWorkingYears", "TrainingTimesLastYear", "WorkLifeBalance",
    "YearsAtCompany", "YearsInCurrentRole", "YearsSinceLastPromotion", "YearsWithCurrManager",
]
IBM_TEXT = {"Attrition", "BusinessTravel", "Department", "EducationField", "Gender", "JobRole",
            "MaritalStatus", "Over18", "OverTime"}
# IBM's documented codes, and the label modeldata (the vendored file) uses for each.
SCALE = {1: "Low", 2: "Medium", 3: "High", 4: "Very_High"}
IBM_CODES = {
    "Education": {1: "Below_College", 2: "College", 3: "Bachelor", 4: "Master", 5: "Doctor"},
    "EnvironmentSatisfaction": SCALE,
    "JobInvolvement": SCALE,
    "JobSatisfaction": SCALE,
    "RelationshipSatisfaction": SCALE,
    "PerformanceRating": {1: "Low", 2: "Good", 3: "Excellent", 4: "Outstanding"},
    "WorkLifeBalance": {1: "Bad", 2: "Good", 3: "Better", 4: "Best"},
}
IBM_LEVELS = {
    "Attrition": {"Yes", "No"},
    "BusinessTravel": {"Travel_Rarely", "Travel_Frequently", "Non-Travel"},
    "Department": {"Sales", "Research & Development", "Human Resources"},
    "EducationField": {"Life Sciences", "Medical", "Marketing", "Technical Degree",
                       "Human Resources", "Other"},
    "Gender": {"Female", "Male"},
    "JobRole": {"Sales Executive", "Research Scientist", "Laboratory Technician",
                "Manufacturing Director", "Healthcare Representative", "Manager",
                "Sales Representative", "Research Director", "Human Resources"},
    "MaritalStatus": {"Single", "Married", "Divorced"},
    "Over18": {"Y"},
    "OverTime": {"Yes", "No"},
}
# The first rows of IBM's file, verbatim (EmployeeNumber 1, 2, 4, 5 there).
IBM_HEAD = """\
Age,Attrition,BusinessTravel,DailyRate,Department,DistanceFromHome,Education,EducationField,EmployeeCount,EmployeeNumber,EnvironmentSatisfaction,Gender,HourlyRate,JobInvolvement,JobLevel,JobRole,JobSatisfaction,MaritalStatus,MonthlyIncome,MonthlyRate,NumCompaniesWorked,Over18,OverTime,PercentSalaryHike,PerformanceRating,RelationshipSatisfaction,StandardHours,StockOptionLevel,TotalWorkingYears,TrainingTimesLastYear,WorkLifeBalance,YearsAtCompany,YearsInCurrentRole,YearsSinceLastPromotion,YearsWithCurrManager
41,Yes,Travel_Rarely,1102,Sales,1,2,Life Sciences,1,1,2,Female,94,3,2,Sales Executive,4,Single,5993,19479,8,Y,Yes,11,3,1,80,0,8,0,1,6,4,0,5
49,No,Travel_Frequently,279,Research & Development,8,1,Life Sciences,1,2,3,Male,61,2,2,Research Scientist,2,Married,5130,24907,1,Y,No,23,4,4,80,1,10,3,3,10,7,1,7
37,Yes,Travel_Rarely,1373,Research & Development,2,2,Other,1,4,4,Male,92,2,1,Laboratory Technician,3,Single,2090,2396,6,Y,Yes,15,3,2,80,0,7,3,3,0,0,0,0
33,No,Travel_Frequently,1392,Research & Development,3,4,Life Sciences,1,5,4,Female,56,3,1,Research Scientist,3,Married,2909,23159,1,Y,Yes,11,3,3,80,0,8,3,3,8,7,3,0
"""


@pytest.fixture(scope="module")
def ibm() -> pd.DataFrame:
    return datasets.load_attrition()


@pytest.fixture(scope="module")
def original() -> pd.DataFrame:
    """The vendored file exactly as stored, read without grader.datasets."""
    return pd.read_csv(datasets.ATTRITION_CSV, compression="gzip")


@pytest.fixture(scope="module")
def ibm_head() -> pd.DataFrame:
    return pd.read_csv(io.StringIO(IBM_HEAD))


# ---------------------------------------------------------------- IBM's documented layout

def test_columns_rows_and_target_count(ibm):
    assert list(ibm.columns) == IBM_COLUMNS
    assert len(ibm) == 1470
    assert int((ibm["Attrition"] == "Yes").sum()) == 237
    assert not ibm.isna().any().any()


def test_dtypes_are_what_pandas_reads_from_ibms_file(ibm, ibm_head):
    """int64 for every numeric column (codes included); the text columns get the dtype
    pd.read_csv gives them (pandas 3: "str"), which is also what crosses into the worker."""
    assert ibm.dtypes.to_dict() == ibm_head.dtypes.to_dict()
    for column in IBM_COLUMNS:
        if column in IBM_TEXT:
            assert pd.api.types.is_string_dtype(ibm[column]), column
        else:
            assert ibm[column].dtype == np.int64, column
    assert datasets.IBM_ATTRITION_DTYPES == {
        c: ("str" if c in IBM_TEXT else "int64") for c in IBM_COLUMNS}


def test_codes_and_spellings_are_ibms(ibm):
    for column, codes in IBM_CODES.items():
        assert set(ibm[column].unique()) <= set(codes), column
    assert set(ibm["PerformanceRating"].unique()) == {3, 4}  # IBM's file has only these
    for column, levels in IBM_LEVELS.items():
        assert set(ibm[column].unique()) == levels, column
    assert (ibm["EmployeeCount"] == 1).all()
    assert (ibm["StandardHours"] == 80).all()


def test_employee_number_is_synthesised_and_marked(ibm):
    assert ibm["EmployeeNumber"].tolist() == list(range(1, 1471))
    assert ibm.attrs["synthesised"] == ["EmployeeNumber"]
    assert "EmployeeNumber synthesised" in ibm.attrs["source"]


def test_rows_are_ibms_rows_in_ibms_order(ibm, ibm_head):
    """The first rows equal IBM's verbatim, apart from the synthesised EmployeeNumber."""
    head = ibm.iloc[:len(ibm_head)]
    pd.testing.assert_frame_equal(head.drop(columns="EmployeeNumber"),
                                  ibm_head.drop(columns="EmployeeNumber"))


def test_ibms_own_file_is_given_unchanged(ibm, tmp_path):
    """A copy of IBM's file (here: the rebuilt table with IBM's gappy ids) loads as is."""
    path = tmp_path / IBM_NAME
    published = ibm.copy()
    published["EmployeeNumber"] = np.arange(1, 1471) + np.arange(1470) // 3  # 1, 2, 3, 5, ...
    published.to_csv(path, index=False)
    loaded = datasets.load_attrition(path)
    pd.testing.assert_frame_equal(loaded, pd.read_csv(path))
    assert loaded.attrs["synthesised"] == []


# ---------------------------------------------------------------- the mapping round-trips

def test_each_code_stands_for_its_documented_label(ibm, original):
    """Row by row, IBM's code maps to the label the vendored original has."""
    for column, codes in IBM_CODES.items():
        assert ibm[column].map(codes).tolist() == original[column].tolist(), column
    for column in ("Department", "EducationField", "JobRole"):
        relabelled = ibm[column].str.replace(" & ", "_").str.replace(" ", "_")
        assert relabelled.tolist() == original[column].tolist(), column


def test_round_trip_to_the_vendored_original(ibm, original, tmp_path):
    """IBM layout -> CSV -> back to the vendored layout gives the stored file's rows exactly."""
    path = tmp_path / IBM_NAME
    ibm.to_csv(path, index=False)
    back = datasets.load_attrition(path, layout="modeldata")
    pd.testing.assert_frame_equal(back, original, check_dtype=False)
    for column in original.columns:  # dtypes: int64 stays int64, text stays text
        assert (back[column].dtype.kind in "iu") == (original[column].dtype.kind in "iu")
    # and the other way: the rebuilt table from that round trip is the same IBM table
    again = datasets.to_ibm_layout(back)
    pd.testing.assert_frame_equal(again, ibm)


def test_the_vendored_file_stays_pinned():
    import hashlib

    digest = hashlib.sha256(datasets.ATTRITION_CSV.read_bytes()).hexdigest()
    assert digest == datasets.ATTRITION_SHA256


# ---------------------------------------------------------------- the stub tells students

def _documented_columns(text: str) -> dict[str, str]:
    """{column: dtype} from the column table of the stub's docstring."""
    table = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in IBM_COLUMNS and parts[1] in {"int64", "object",
                                                                        "str"}:
            table[parts[0]] = parts[1]
    return table


@pytest.mark.parametrize("relpath", ["solutions/attrition.py", "exercises/attrition.py"])
def test_stub_docstring_lists_every_column_and_dtype(relpath, ibm):
    doc = ast.get_docstring(ast.parse((ROOT / relpath).read_text(encoding="utf-8")))
    table = _documented_columns(doc)
    assert list(table) == IBM_COLUMNS
    for column, dtype in table.items():
        assert dtype == ("str" if column in IBM_TEXT else "int64"), column
        if dtype == "int64":
            assert ibm[column].dtype == np.int64
    assert IBM_NAME in doc


def test_notebook_intro_lists_every_column_and_dtype():
    notebook = json.loads((ROOT / "exercises" / "attrition.ipynb").read_text(encoding="utf-8"))
    intro = "".join(notebook["cells"][0]["source"])
    assert list(_documented_columns(intro)) == IBM_COLUMNS
    assert IBM_NAME in intro.replace("\\_", "_")  # Markdown escapes the "_" before "-"


# ---------------------------------------------------------------- suite messages

def test_scikit_learn_model_gets_a_sentence():
    from grader.checks import CheckFailed
    from grader.proxy import RemoteHandle
    from grader.suites.attrition.conftest import expect_keras_model

    pipeline = RemoteHandle(None, 1, "sklearn.pipeline.Pipeline", False, 0)
    with pytest.raises(CheckFailed) as info:
        expect_keras_model(pipeline, "build_model(20)")
    message = str(info.value)
    assert message.startswith("build_model(20): returned a scikit-learn Pipeline, not a Keras")
    assert "preprocess()" in message and "Traceback" not in message
    with pytest.raises(CheckFailed, match="expected a compiled Keras model, got None"):
        expect_keras_model(None, "build_model(20)")
    keras_model = RemoteHandle(None, 2, "keras.src.models.sequential.Sequential", False, 0)
    assert expect_keras_model(keras_model, "build_model(20)") is keras_model
    own = RemoteHandle(None, 3, "attrition.MyModel", False, 0)  # a keras.Model subclass
    assert expect_keras_model(own, "build_model(20)") is own


# A weak but honest submission: three numeric columns, a seeded network. On the suite's split
# it reaches roc_auc 0.701 and f1_yes 0.349, between floor and target of both.
WEAK_SUBMISSION = '''\
"""A weak but honest model: three numbers and overtime only (partial credit expected)."""
import keras
import numpy as np
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_class_weight

FEATURES = ["Age", "MonthlyIncome", "DistanceFromHome"]


def encode_target(df):
    return (df["Attrition"] == "Yes").to_numpy().astype(int)


def _numbers(df):
    return df[FEATURES].to_numpy(dtype=float)


def preprocess(train_df, test_df):
    scaler = StandardScaler().fit(_numbers(train_df))
    return scaler.transform(_numbers(train_df)), scaler.transform(_numbers(test_df))


def build_model(n_features):
    keras.utils.set_random_seed(0)  # the same network every run
    model = keras.Sequential([keras.Input((n_features,)),
                              keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def train(model, X, y, epochs=30, batch_size=32):
    w = compute_class_weight("balanced", classes=np.array([0, 1]), y=y)
    return model.fit(X, y, epochs=epochs, batch_size=batch_size,
                     class_weight={0: w[0], 1: w[1]}, verbose=0, shuffle=False)
'''
HELD_OUT_METRICS = {"test_held_out_roc_auc": "roc_auc", "test_held_out_accuracy": "accuracy",
                    "test_held_out_f1_of_leavers": "f1_yes"}


@pytest.mark.slow
def test_partial_credit_names_only_the_metric_its_value_and_target(tmp_path):
    from grader.grading import grade

    (tmp_path / "attrition.py").write_text(WEAK_SUBMISSION, encoding="utf-8")
    graded = grade(tmp_path, exercises=["attrition"]).exercise("attrition")
    partial = {t.id.split("::")[-1]: t.message for t in graded.tests if t.outcome == "partial"}
    assert {"test_held_out_roc_auc", "test_held_out_f1_of_leavers"} <= set(partial), \
        {t.id: (t.outcome, t.message) for t in graded.tests}
    for name, message in partial.items():
        metric = HELD_OUT_METRICS[name]
        assert re.fullmatch(rf"Partial credit: \d+% of the points: {metric} is \d\.\d{{3}}, "
                            rf"full credit from \d\.\d{{3}}\.", message), (name, message)
        others = set(HELD_OUT_METRICS.values()) - {metric}
        assert not any(other in message for other in others), message


def test_student_edition_keeps_every_fixture_of_the_public_tests():
    """The edition cuts the suite to its public tests; what they ask for must survive."""
    from grader import assignment, student_edition

    files = student_edition.public_suite(assignment.SUITES_DIR / "attrition")
    defined = set()  # fixture names: the function's, or the name= of its decorator
    for node in ast.parse(files["conftest.py"]).body:
        for decorator in getattr(node, "decorator_list", []):
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if ast.unparse(target) == "pytest.fixture":
                names = [k.value.value for k in getattr(decorator, "keywords", [])
                         if k.arg == "name" and isinstance(k.value, ast.Constant)]
                defined.add(names[0] if names else node.name)
    from_the_plugin = {"student", "data_source", "record", "threshold", "reference"}
    public = [node for node in ast.parse(files["test_attrition.py"]).body
              if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]
    assert {"test_encode_target", "test_model_structure"} <= {node.name for node in public}
    for node in public:
        missing = {a.arg for a in node.args.args} - defined - from_the_plugin
        assert not missing, (node.name, missing)


# ---------------------------------------------------------------- tutorial-style submissions

VARIANTS = sorted(p.name for p in VARIANTS_DIR.glob("attrition_*") if p.is_dir())


def variant_file(name: str) -> Path:
    """The variant's attrition.py, or its attrition.ipynb."""
    found = [p for p in (VARIANTS_DIR / name / "attrition.py",
                         VARIANTS_DIR / name / "attrition.ipynb") if p.is_file()]
    assert len(found) == 1, f"{name}: expected attrition.py or attrition.ipynb"
    return found[0]


def test_there_are_tutorial_style_variants():
    assert len(VARIANTS) >= 3, VARIANTS
    for name in VARIANTS:
        source = variant_file(name).read_text(encoding="utf-8")
        assert "NotImplementedError" not in source
    assert any(variant_file(name).suffix == ".ipynb" for name in VARIANTS)


@pytest.fixture(scope="module")
def ibm_csv_text(ibm) -> str:
    """IBM's file as a student keeps it next to their work (here: the rebuilt table)."""
    return ibm.to_csv(index=False, lineterminator="\n")


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
def test_tutorial_style_submission_scores_full_marks(variant, ibm_csv_text, tmp_path):
    """Each is graded with a copy of IBM's CSV in the submission, as students keep it: the
    notebook variant reads it at the top and derives its column lists from it."""
    from grader.grading import grade

    submission = tmp_path / variant
    shutil.copytree(VARIANTS_DIR / variant, submission)
    (submission / IBM_NAME).write_text(ibm_csv_text, encoding="utf-8")
    result = grade(submission, exercises=["attrition"])
    graded = result.exercise("attrition")
    assert graded.status == "graded", graded.message
    lost = [(t.id, t.points, t.max_points, t.message) for t in graded.tests
            if t.points < t.max_points]
    # full marks on the tests; a notebook's written answers wait for a hand grader
    earned = sum(t.points for t in graded.tests)
    assert lost == [] and earned == sum(t.max_points for t in graded.tests) > 0, lost
    assert graded.score == earned
