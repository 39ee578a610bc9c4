"""The student edition: public tests only, frozen reference values, same verdicts as the grader.

The cutting and the freezing are tested on small made-up inputs; the built edition is checked
against the real suites (exactly their public tests, nothing else) and, on every single-bug
submission of the numpy exercises, against the full grader's public checks: same outcome and
same message for every public test.
"""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from helpers_core import PROJECT_ROOT

from grader import assignment, student_edition
from grader.pytest_plugin import NUMPY_REFERENCES
from grader.frozen_reference import (
    FreezeError,
    FrozenReference,
    FrozenTable,
    FrozenValueMissing,
    RecordingReference,
    arguments_digest,
)

SUITE = textwrap.dedent('''\
    """Hidden suite: a made-up exercise."""
    import numpy as np
    import pytest

    LIMIT = 3          # only the hidden test uses it
    SHARED = np.arange(4)


    def helper_for_hidden(x):
        return x * LIMIT


    def helper_for_public(x):
        return x + SHARED


    @pytest.fixture
    def data():
        return SHARED


    @pytest.fixture
    def secret_data(data):
        return helper_for_hidden(data)


    @pytest.mark.public
    def test_visible(student, data):
        """kept"""
        assert helper_for_public(data) is not None


    # a comment about the hidden test
    @pytest.mark.points(2)
    def test_secret_threshold(student, secret_data):
        """removed"""
        assert secret_data.sum() > LIMIT


    @pytest.mark.public
    @pytest.mark.points(2)
    def test_visible_two(student):
        assert True
    ''')


# ---- cutting a suite -------------------------------------------------------------------------

def test_public_only_keeps_public_tests_and_what_they_use():
    text, kept, removed = student_edition.public_only(SUITE)
    assert kept == ["test_visible", "test_visible_two"]
    assert removed == ["LIMIT", "helper_for_hidden", "secret_data", "test_secret_threshold"]
    for gone in ("test_secret_threshold", "LIMIT", "helper_for_hidden", "secret_data",
                 "a comment about the hidden test", "removed"):
        assert gone not in text, gone
    for kept_name in ("helper_for_public", "SHARED", "def data", "import numpy"):
        assert kept_name in text
    ast.parse(text)
    assert "\n\n\n\n" not in text


def test_public_only_keeps_fixtures_other_files_need():
    conftest = "import pytest\n\n\n@pytest.fixture\ndef used():\n    return 1\n\n\n" \
               "@pytest.fixture\ndef unused():\n    return 2\n\n\n" \
               "@pytest.fixture(autouse=True)\ndef always():\n    yield\n"
    text, _, removed = student_edition.public_only(conftest, used_elsewhere={"used"})
    assert "def used" in text and "def always" in text and "def unused" not in text
    assert removed == ["unused"]


def test_public_suite_cuts_every_file_of_a_real_exercise():
    files = student_edition.public_suite(assignment.SUITES_DIR / "attrition")
    assert set(files) == {"test_attrition.py", "conftest.py"}
    assert "def trained" not in files["conftest.py"]          # only hidden tests train
    assert "def attrition" in files["conftest.py"]            # a public test needs the data
    assert files["test_attrition.py"].startswith('"""Public checks')


# ---- freezing the reference ------------------------------------------------------------------

class _Model:
    def __init__(self, scale):
        self.scale, self.weights_ = scale, None

    def fit(self, X):
        self.weights_ = np.asarray(X, dtype=float).sum(axis=0) * self.scale
        return self


class _Solutions:
    Model = _Model

    @staticmethod
    def double(x):
        return np.asarray(x) * 2.0

    @staticmethod
    def pair(a, b=1):
        return a + b, {"a": a}


def test_recorded_values_replay_exactly_and_only_from_data(tmp_path):
    table = FrozenTable("made_up")
    ref = RecordingReference(_Solutions, table)
    x = np.arange(6.0).reshape(2, 3)
    doubled = ref.double(x)
    fitted = ref.Model(scale=0.5).fit(x).weights_
    pair = ref.pair(3, b=4)
    np.testing.assert_array_equal(doubled, x * 2)
    assert pair == (7, {"a": 3})
    path = tmp_path / "expected.json"
    path.write_text(table.dumps())
    text = path.read_text()
    assert "def " not in text and "pickle" not in text

    frozen = FrozenReference(FrozenTable.load(path))
    np.testing.assert_array_equal(frozen.double(x.copy()), doubled)
    np.testing.assert_array_equal(frozen.Model(scale=0.5).fit(x).weights_, fitted)
    assert frozen.pair(3, b=4) == (7, {"a": 3}) and type(frozen.pair(3, b=4)) is tuple
    with pytest.raises(FrozenValueMissing, match=r"made_up reference\.double\("):
        frozen.double(x + 1)                                   # other arguments
    with pytest.raises(FrozenValueMissing):
        frozen.Model(scale=0.25)
    with pytest.raises(FrozenValueMissing):
        frozen.triple


def test_digest_depends_on_values_dtypes_and_keywords_only():
    x = np.arange(3.0)
    assert arguments_digest((x,), {}) == arguments_digest((x.copy(),), {})
    assert arguments_digest((x,), {}) != arguments_digest((x.astype(np.float32),), {})
    assert arguments_digest((x,), {}) != arguments_digest((x + 1e-12,), {})
    assert arguments_digest((1,), {"b": 2, "c": 3}) == arguments_digest((1,), {"c": 3, "b": 2})
    assert arguments_digest((1,), {"b": 2}) != arguments_digest((1, 2), {})
    with pytest.raises(FreezeError, match="not plain data"):
        arguments_digest((object(),), {})


def test_a_value_that_changes_between_reads_cannot_be_frozen():
    table = FrozenTable("made_up")
    ref = RecordingReference(_Solutions, table)
    model = ref.Model(scale=1.0)
    model.weights_                                             # None before fit
    model.fit(np.ones((2, 2)))
    with pytest.raises(FreezeError, match="two different values"):
        model.weights_


def test_unreadable_frozen_file_names_the_file_and_the_fix(tmp_path):
    bad = tmp_path / "expected.json"
    bad.write_text("{not json")
    with pytest.raises(FrozenValueMissing, match=r"expected\.json.*reinstall"):
        FrozenTable.load(bad)
    bad.write_text(json.dumps({"format": 99}))
    with pytest.raises(FrozenValueMissing, match="format 99"):
        FrozenTable.load(bad)


def test_solutions_failing_a_public_test_stop_the_build_and_name_it(tmp_path, monkeypatch):
    """Frozen values from a broken reference would mark correct students wrong. (A public test
    compares student and reference, so only its independent checks can catch the reference:
    here, that softmax rows sum to 1.)"""
    from test_buggy_submissions import buggy_source

    from grader import pytest_plugin

    broken = tmp_path / "solutions"
    broken.mkdir()
    for path in (PROJECT_ROOT / "solutions").glob("*.py"):
        (broken / path.name).write_bytes(path.read_bytes())
    (broken / "neuron.py").write_text(buggy_source("neuron__softmax_axis0"))
    monkeypatch.setattr(pytest_plugin, "SOLUTIONS_DIR", broken)
    with pytest.raises(student_edition.EditionError,
                       match=r"(?s)fail public tests.*neuron::softmax\(\) gives rows"):
        student_edition.build_student_edition(tmp_path / "edition", sandbox="reduced")
    assert not (tmp_path / "edition").exists()


# ---- the built edition -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    root = tmp_path_factory.mktemp("edition") / "grader-student"
    built = student_edition.build_student_edition(root)
    return built


def suite_tests(path: Path) -> tuple[set[str], set[str]]:
    """(public, hidden) test names of a suite file, read independently of the edition's code."""
    public, hidden = set(), set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            marks = "".join(map(ast.unparse, node.decorator_list))
            (public if "mark.public" in marks else hidden).add(node.name)
    return public, hidden


def test_edition_holds_exactly_the_public_tests(edition):
    suites = edition.root / "grader" / "suites"
    for name in assignment.EXERCISE_NAMES:
        public, hidden = suite_tests(assignment.SUITES_DIR / name / f"test_{name}.py")
        kept, none = suite_tests(suites / name / f"test_{name}.py")
        assert kept == public and not none, name
        assert sorted(public) == edition.public_tests[name]
        text = "".join(p.read_text() for p in (suites / name).glob("*.py"))
        assert not [h for h in hidden if h in text], name
    assert (suites / "STUDENT_EDITION").is_file()
    assert sorted(edition.frozen_values) == ["backprop", "circles", "cnn", "lstm", "neuron",
                                             "optimizers", "perceptron"]
    assert not list(edition.root.rglob("solutions")) and not list(edition.root.rglob("tests"))


def test_edition_is_an_installable_package_without_hidden_tests(edition, tmp_path):
    """pip builds a wheel of it; the wheel carries the frozen values, stubs and templates."""
    import zipfile

    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                           "--no-build-isolation", "-w", str(tmp_path), str(edition.root)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = tmp_path.glob("dl_grader_student-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("grader/suites/STUDENT_EDITION", "grader/suites/neuron/expected.json",
                   "grader/suites/neuron/test_neuron.py", "grader/stubs/circles.ipynb",
                   "grader/templates/report.html.j2", "grader/data/attrition.csv.gz"):
        assert needed in names, needed
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "grader = grader.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


# ---- same verdicts as the full grader --------------------------------------------------------

# Exercises whose public tests read `reference` (frozen in the edition) and need no training:
# the numpy ones, and the numpy functions of cnn and lstm (pytest_plugin.NUMPY_REFERENCES).
EDITION_COMPARED = tuple(e.name for e in assignment.EXERCISES
                         if not e.uses_tensorflow or e.name in NUMPY_REFERENCES)
WORK_DIR = r"/tmp/grader-[a-z_]+-\w+/"   # the worker's copy of the submission (reduced mode)
EDITION_CHECK = """
import json, re, sys
from grader import assignment
from grader.check import run_public_tests
assert assignment.STUDENT_EDITION, "the edition was not the grader imported"
out = {}
for submission, exercise in json.loads(sys.argv[1]):
    report = run_public_tests(submission, [exercise], sandbox="reduced")
    out[submission + ":" + exercise] = [(t.name, t.outcome, re.sub(WORK_DIR, "", t.message)) for t in report.result.exercises[0].tests]
print(json.dumps(out))
""".replace("WORK_DIR", repr(WORK_DIR))


@pytest.mark.slow
def test_edition_gives_the_full_graders_verdicts_on_every_single_bug(edition, tmp_path):
    """Every single-bug submission of an exercise in EDITION_COMPARED, checked by the full
    grader (reference = the solutions) and by the edition (frozen values): same outcome and
    message per test."""
    from test_buggy_submissions import BUGS, buggy_source

    from grader.check import run_public_tests

    jobs = []
    for bug, spec in BUGS.items():
        exercise = spec["exercise"]
        if exercise not in EDITION_COMPARED:
            continue
        folder = tmp_path / bug
        folder.mkdir()
        (folder / f"{exercise}.py").write_text(buggy_source(bug))
        jobs.append((str(folder), exercise))
    solved = tmp_path / "solved"
    solved.mkdir()
    for exercise in EDITION_COMPARED:
        (solved / f"{exercise}.py").write_bytes((PROJECT_ROOT / "solutions" /
                                                 f"{exercise}.py").read_bytes())
        jobs.append((str(solved), exercise))
    assert len(jobs) >= 20
    env = {**os.environ, "PYTHONPATH": str(edition.root)}
    done = subprocess.run([sys.executable, "-c", EDITION_CHECK, json.dumps(jobs)], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    frozen = json.loads(done.stdout.splitlines()[-1])
    mismatches = []
    for submission, exercise in jobs:
        report = run_public_tests(submission, [exercise], sandbox="reduced")
        full = [[t.name, t.outcome, re.sub(WORK_DIR, "", t.message)] for t in report.result.exercises[0].tests]
        if submission == str(solved):
            assert all(outcome == "passed" for _, outcome, _ in full), full
        edition_said = frozen[f"{submission}:{exercise}"]
        if full != edition_said:
            mismatches.append((Path(submission).name, exercise, full, edition_said))
    assert not mismatches, "\n".join(map(repr, mismatches))


@pytest.mark.parametrize("platform", [
    {"sys_platform": "linux", "platform_machine": "x86_64", "platform_system": "Linux"},
    {"sys_platform": "darwin", "platform_machine": "arm64", "platform_system": "Darwin"},
    {"sys_platform": "darwin", "platform_machine": "x86_64", "platform_system": "Darwin"},
    {"sys_platform": "win32", "platform_machine": "AMD64", "platform_system": "Windows"},
], ids=lambda p: f"{p['sys_platform']}-{p['platform_machine']}")
def test_edition_dependencies_install_on_every_os(platform):
    """The edition's pyproject asks each OS students use for exactly one TensorFlow and for
    nothing that exists on Linux only (the system-call filter's libseccomp binding)."""
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads(student_edition._pyproject(PROJECT_ROOT / "pyproject.toml"))
    env = {"python_version": "3.11", "python_full_version": "3.11.7", "os_name":
           "nt" if platform["sys_platform"] == "win32" else "posix",
           "implementation_name": "cpython", **platform}
    wanted = [Requirement(d) for d in project["project"]["dependencies"]]
    chosen = {r.name for r in wanted if r.marker is None or r.marker.evaluate(env)}
    assert len(chosen & {"tensorflow", "tensorflow-cpu"}) == 1, chosen
    assert {"numpy", "keras", "pytest", "tqdm", "scikit-learn"} <= chosen
    assert ("pyseccomp" in chosen) == (platform["sys_platform"] == "linux")


def test_a_replayed_read_only_value_digests_like_the_recorded_one():
    """Frozen values come back read-only; passed back into ``reference`` they must name the
    same recorded call as the writable value did when it was recorded."""
    import numpy as np

    from grader.frozen_reference import arguments_digest

    writable = np.arange(6.0).reshape(2, 3)
    replayed = writable.copy()
    replayed.flags.writeable = False
    assert arguments_digest((replayed, {"W": replayed}), {"b": replayed}) == \
        arguments_digest((writable, {"W": writable}), {"b": writable})
    assert arguments_digest((writable + 1,), {}) != arguments_digest((writable,), {})
