"""The student-side check (grader/check.py): public tests only, sandboxed as in grading.

Fast tests check the numpy exercises through the command's add_parser/run; the slow ones run
every exercise (the Keras ones import TensorFlow in their worker) and a real Jupyter kernel.
"""
from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import io
import re
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

from grader import assignment
from grader.check import (EXIT_FAILED, EXIT_OK, EXIT_USAGE, CheckReport, ExerciseCheck,
                          _resolve_arguments, add_parser, github_annotations,
                          neutralize_workflow_commands, notebook_source, run, run_public_tests)
from grader.results import TestResult as Outcome
from helpers_core import SANDBOX_MODES

SOLUTIONS = assignment.PROJECT_ROOT / "solutions"
STUBS = assignment.PROJECT_ROOT / "exercises"
NUMPY_EXERCISES = ["neuron", "backprop", "perceptron", "circles"]


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def suite_titles() -> dict[str, dict[str, set[str]]]:
    """{exercise: {"public": titles, "hidden": titles}} read from the suites' source."""
    found: dict[str, dict[str, set[str]]] = {}
    for path in sorted(assignment.SUITES_DIR.glob("*/test_*.py")):
        kinds = found.setdefault(path.parent.name, {"public": set(), "hidden": set()})
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                public = any(ast.unparse(d) == "pytest.mark.public" for d in node.decorator_list)
                title = (ast.get_docstring(node) or node.name).strip().splitlines()[0]
                kinds["public" if public else "hidden"].add(title)
    return found


TITLES = suite_titles()
HIDDEN = {t for kinds in TITLES.values() for t in kinds["hidden"]}


def public_points(exercise: str) -> dict[str, float]:
    """{title: points} of the exercise's public tests, read from the suites' source (so the
    expected totals follow the suites when a test becomes public)."""
    points: dict[str, float] = {}
    for path in sorted((assignment.SUITES_DIR / exercise).glob("test_*.py")):
        for node in ast.parse(path.read_text()).body:
            if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
                continue
            marks = [ast.unparse(d) for d in node.decorator_list]
            if "pytest.mark.public" not in marks:
                continue
            worth = next((float(ast.literal_eval(m.split("(", 1)[1].rstrip(")")))
                          for m in marks if m.startswith("pytest.mark.points(")), 1.0)
            points[(ast.get_docstring(node) or node.name).strip().splitlines()[0]] = worth
    return points


def totals(*exercises: str) -> tuple[int, float]:
    """(number of public tests, their points) over ``exercises``."""
    found = [public_points(e) for e in exercises]
    return sum(len(f) for f in found), sum(sum(f.values()) for f in found)


NEURON_N, NEURON_POINTS = totals("neuron")
RELU_TITLE = "relu() zeroes negatives and keeps positives, for a 2-D array"
RELU_POINTS = public_points("neuron")[RELU_TITLE]
# partial_neuron: relu right, sigmoid wrong, the rest untouched ("Not implemented yet")
SIGMOID_TESTS = [t for t in public_points("neuron") if t.startswith("sigmoid()")]


def assert_no_hidden_titles(text: str) -> None:
    leaked = sorted(t for t in HIDDEN if t in text)
    assert not leaked, f"hidden test titles in the output: {leaked}"


class Terminal(io.StringIO):
    """A stdout that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def run_check(*argv: str, stdout: io.StringIO | None = None) -> tuple[int, str, str]:
    """``grader check ARGV`` through the module's own parser; (exit code, stdout, stderr)."""
    parser = argparse.ArgumentParser(prog="grader")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["check", *argv])
    out, err = stdout or io.StringIO(), io.StringIO()
    code = args.func(args, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def partial_neuron(folder: Path) -> Path:
    """The neuron stub with relu done right, sigmoid wrong (exp(z)) and the rest untouched.

    Later definitions win in Python, so appending keeps every other stub exactly as generated.
    """
    folder.mkdir(parents=True, exist_ok=True)
    stub = (STUBS / "neuron.py").read_text()
    (folder / "neuron.py").write_text(
        stub + "\n\ndef relu(z):\n    return np.maximum(0, z)\n\n\n"
               "def sigmoid(z):\n    return 1 / (1 + np.exp(z))\n")
    return folder


def rows(text: str, exercise: str) -> dict[str, str]:
    """{test title: mark} from the text table of one exercise."""
    block = text.split(f"\n{exercise}", 1)[1].split("\n\n", 1)[0]
    found = {}
    for line in block.splitlines():
        m = re.match(r"^  (\S+) +[\d.]+/[\d.]+  (.*)$", line)
        if m:
            found[m.group(2)] = m.group(1)
    return found


# --------------------------------------------------------------------------------------------
# the suites: what is public
# --------------------------------------------------------------------------------------------
def test_every_exercise_has_public_tests():
    for name in assignment.EXERCISE_NAMES:
        assert TITLES[name]["public"], f"{name} has no public test for students to run"
        assert not TITLES[name]["public"] & TITLES[name]["hidden"]


def test_public_tests_never_train_a_model():
    """A check must stay fast: no public test may use the fixtures that train (conftest.py)."""
    training = {"trained", "held_out_probs", "threshold"}
    for path in sorted(assignment.SUITES_DIR.glob("*/test_*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and any(
                    ast.unparse(d) == "pytest.mark.public" for d in node.decorator_list):
                used = {a.arg for a in node.args.args} & training
                assert not used, f"{path.parent.name}::{node.name} is public but uses {used}"


# --------------------------------------------------------------------------------------------
# grader check on folders
# --------------------------------------------------------------------------------------------
def test_untouched_stubs_are_not_attempted_and_fail():
    for name in ("neuron", "perceptron"):
        code, out, err = run_check(name, str(STUBS))
        assert code == EXIT_FAILED, out + err
        assert re.search(rf"^{name}  \({name}\.py\)  not attempted yet$", out, re.MULTILINE), out
        assert "✗" not in out and "✓" not in out       # one line, not a failure per test
        assert "Not attempted yet: " + name in out
        assert "--allow-unattempted" in out
        assert_no_hidden_titles(out)


def test_allow_unattempted_accepts_untouched_stubs_only(tmp_path):
    code, out, _ = run_check("neuron", str(STUBS), "--allow-unattempted")
    assert code == EXIT_OK and "not attempted yet" in out
    code, out, _ = run_check("neuron", str(partial_neuron(tmp_path / "sub")),
                             "--allow-unattempted")
    assert code == EXIT_FAILED                            # a real failure still fails


def test_solutions_pass_every_public_test():
    code, out, err = run_check("neuron", str(SOLUTIONS))
    assert code == EXIT_OK, out + err
    marks = rows(out, "neuron")
    assert set(marks) == TITLES["neuron"]["public"]
    assert set(marks.values()) == {"✓"}
    assert f"Public tests: {NEURON_N} of {NEURON_N} passed " \
           f"({NEURON_POINTS:g}/{NEURON_POINTS:g} points)." in out
    assert_no_hidden_titles(out)


@pytest.mark.parametrize("mode", SANDBOX_MODES)
def test_partial_submission_shows_the_right_mix(tmp_path, mode):
    code, out, _ = run_check("neuron", str(partial_neuron(tmp_path / "sub")), "--sandbox", mode)
    assert code == EXIT_FAILED
    assert f"sandbox: {mode}" in out
    assert "not attempted yet" not in out                 # relu is done: it is attempted
    marks = rows(out, "neuron")
    assert marks.pop("relu() zeroes negatives and keeps positives, for a 2-D array") == "✓"
    assert set(marks.values()) == {"✗"}
    sigmoid = out.split("sigmoid() matches")[1].split("\n  ")[1]
    assert "did you write exp(z) instead of exp(-z)?" in sigmoid     # the student-facing hint
    assert out.count("Not implemented yet:") == NEURON_N - 1 - len(SIGMOID_TESTS)  # tanh ...
    assert f"Public tests: 1 of {NEURON_N} passed " \
           f"({RELU_POINTS:g}/{NEURON_POINTS:g} points)." in out
    assert_no_hidden_titles(out)


def test_exercise_and_path_are_both_optional():
    def resolve(*argv):
        return _resolve_arguments(argparse.Namespace(exercise=argv[0] if argv else None,
                                                     path=argv[1] if len(argv) > 1 else None))
    assert resolve() == (None, ".")
    assert resolve("neuron") == (["neuron"], ".")
    assert resolve("my-work") == (None, "my-work")
    assert resolve("./neuron") == (None, "./neuron")
    assert resolve("neuron", "my-work") == (["neuron"], "my-work")
    with pytest.raises(ValueError, match="unknown exercise 'my-work'"):
        resolve("my-work", "neuron")


def test_the_default_path_is_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(partial_neuron(tmp_path / "work"))
    code, out, _ = run_check("neuron")
    assert code == EXIT_FAILED
    assert f"grader check: {(tmp_path / 'work').resolve()} " in out
    assert f"Public tests: 1 of {NEURON_N} passed" in out


def test_missing_files_and_import_errors_show_no_hidden_tests(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, _ = run_check(str(empty), "--sandbox", "reduced")
    assert code == EXIT_FAILED
    assert len(re.findall(r"^\w+  not attempted yet$", out, re.MULTILINE)) == len(
        assignment.EXERCISE_NAMES)
    assert "no file found; looked for neuron.py" in out
    assert_no_hidden_titles(out)
    every = totals(*assignment.EXERCISE_NAMES)[0]          # hidden tests are not even counted
    assert f"Public tests: 0 of {every} passed" in out

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "neuron.py").write_text("def relu(z)\n    return z\n")
    code, out, _ = run_check("neuron", str(broken))
    assert code == EXIT_FAILED
    assert "neuron  (neuron.py)  could not be loaded" in out and "SyntaxError" in out
    assert_no_hidden_titles(out)


def test_zip_submissions_are_checked_like_folders(tmp_path):
    sub = partial_neuron(tmp_path / "sub")
    archive = tmp_path / "sub.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(sub / "neuron.py", "neuron.py")
    code, out, _ = run_check("neuron", str(archive))
    assert code == EXIT_FAILED and f"Public tests: 1 of {NEURON_N} passed" in out


def test_usage_errors_exit_2(tmp_path):
    code, _, err = run_check("neurons", str(tmp_path))
    assert code == EXIT_USAGE and "unknown exercise 'neurons'" in err
    code, _, err = run_check("neuron", str(tmp_path / "nowhere"))
    assert code == EXIT_USAGE and "no such file or folder" in err
    bad_zip = tmp_path / "bad.zip"
    bad_zip.write_text("not a zip")
    code, _, err = run_check("neuron", str(bad_zip))
    assert code == EXIT_USAGE and err


def test_only_public_tests_are_selected():
    report = run_public_tests(SOLUTIONS, ["perceptron"])
    (ex,) = report.exercises
    assert {t.name for t in ex.tests} == TITLES["perceptron"]["public"]
    assert all(t.public for t in ex.tests)


# --------------------------------------------------------------------------------------------
# output: terminal, CI log, GitHub
# --------------------------------------------------------------------------------------------
def test_plain_text_without_a_terminal_and_colour_with_one(tmp_path, monkeypatch):
    sub = partial_neuron(tmp_path / "sub")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    _, plain, _ = run_check("neuron", str(sub))
    assert "\033[" not in plain
    _, coloured, _ = run_check("neuron", str(sub), stdout=Terminal())
    assert "\033[32m✓\033[0m" in coloured and "\033[31m✗\033[0m" in coloured
    monkeypatch.setenv("NO_COLOR", "1")
    _, no_color, _ = run_check("neuron", str(sub), stdout=Terminal())
    assert "\033[" not in no_color


def test_a_terminal_that_cannot_show_unicode_gets_ascii(tmp_path):
    ascii_out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    sub = partial_neuron(tmp_path / "sub")
    code = run(argparse.Namespace(exercise="neuron", path=str(sub), allow_unattempted=False,
                                  format="text", sandbox=None, verbose=False, out=None),
               stdout=ascii_out, stderr=io.StringIO())
    ascii_out.flush()
    text = ascii_out.buffer.getvalue().decode("ascii")
    assert code == EXIT_FAILED
    assert re.search(r"^  ok 1/1  relu\(\)", text, re.MULTILINE)
    assert re.search(r"^  XX 0/1  sigmoid\(\)", text, re.MULTILINE)


HOSTILE = '''import numpy as np
def relu(z):
    raise ValueError("boom\\n::add-mask::secret\\n  ::set-output name=x::y\\n##[group]g\\n"
                     "x\\r::warning::via a carriage return\\n"
                     "<script>alert(1)</script> | **bold** ````\\n## heading")
'''


def test_github_format_escapes_student_text(tmp_path, monkeypatch):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "neuron.py").write_text(HOSTILE)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, err = run_check("neuron", str(sub), "--format", "github")
    assert code == EXIT_FAILED
    assert "ValueError: boom" in out                     # the student still sees the message
    assert "\r" not in out
    for line in (out + err).splitlines():               # the runner's lines: CR ends one too
        if line.lstrip().startswith(("::", "##[")):
            assert re.match(r"^::(error|warning) file=neuron\.py,title=[^:\n]*::", line), line
    annotations = [line for line in out.splitlines() if line.startswith("::error")]
    assert len(annotations) == NEURON_N                   # one per failing public test
    relu = next(a for a in annotations if "relu()" in a)
    assert "%0A::add-mask::secret%0A" in relu            # kept inside its own line
    assert "x%0A::warning::via a carriage return" in relu
    assert "title=neuron%3A relu() zeroes negatives and keeps positives%2C for" in relu

    markdown = summary.read_text()
    assert markdown.startswith("earlier step\n## Public checks — not yet")   # appended
    fenced = re.search(r"^(`{5,})text\n(.*?)\n\1$", markdown, re.MULTILINE | re.DOTALL)
    assert fenced and "<script>alert(1)</script> | **bold** ````\n## heading" in fenced[2]
    assert "<script>" not in markdown.replace(fenced[0], "")   # only inside the code block
    assert "| ❌ | neuron | relu\\(\\) zeroes negatives" in markdown
    assert_no_hidden_titles(out + markdown)


def test_github_format_without_a_summary_file_says_so(tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    code, out, err = run_check("neuron", str(SOLUTIONS), "--format", "github")
    assert code == EXIT_OK and "no step summary written" in err
    assert "::error" not in out


def test_out_writes_a_public_only_result_for_ci(tmp_path):
    from grader.exports import github_summary
    from grader.results import Result

    out = tmp_path / "grader-check"
    code, text, _ = run_check("neuron", str(partial_neuron(tmp_path / "sub")), "--out", str(out))
    assert code == EXIT_FAILED
    assert f"report: {out / 'report.html'}" in text and (out / "report.html").is_file()
    result = Result.read(out / "result.json")
    (ex,) = result.exercises
    assert {t.name for t in ex.tests} == TITLES["neuron"]["public"]
    assert (result.score, result.max_score) == (RELU_POINTS, NEURON_POINTS)
    assert_no_hidden_titles((out / "result.json").read_text())
    assert_no_hidden_titles((out / "report.html").read_text())
    assert f"{RELU_POINTS:g} / {NEURON_POINTS:g} points" in github_summary([result])


def test_workflow_commands_are_neutralised_at_any_line_start():
    text = "ok\n::add-mask::x\n   ::error::y\n##[group]z\nmid ::keep:: this\n"
    safe = neutralize_workflow_commands(text)
    assert safe == "ok\n: :add-mask::x\n   : :error::y\n# #[group]z\nmid ::keep:: this\n"
    assert not any(line.lstrip().startswith(("::", "##[")) for line in safe.splitlines())


def fake_report(message: str) -> CheckReport:
    tests = [Outcome("neuron::test_a", "relu() works", 1, 1, "passed", public=True),
             Outcome("neuron::test_b", "sigmoid() <works>", 0, 2, "failed", message,
                        public=True)]
    return CheckReport([ExerciseCheck("neuron", "checked", "neuron.py", "", tests),
                        ExerciseCheck("backprop", "not_attempted", None, "no file found")],
                       target="<here>", notes=["a <note>"])


def test_html_view_escapes_everything_and_marks_each_test():
    page = fake_report('<img src=x onerror="alert(1)"> & </pre>')._repr_html_()
    assert "<img" not in page and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert "sigmoid() &lt;works&gt;" in page and "a &lt;note&gt;" in page
    assert page.count("<pre") == page.count("</pre>")
    assert re.search(r'class="passed".*✓.*relu\(\) works', page)
    assert re.search(r'class="failed".*✗.*sigmoid', page)
    assert "backprop</b>: not attempted yet" in page


def test_report_exit_codes_and_plain_repr():
    report = fake_report("wrong")
    assert not report.passed
    assert report.exit_code() == EXIT_FAILED
    assert report.exit_code(allow_unattempted=True) == EXIT_FAILED   # sigmoid really fails
    report.exercises[0].tests[1].outcome = "passed"
    assert report.exit_code() == EXIT_FAILED
    assert report.exit_code(allow_unattempted=True) == EXIT_OK
    assert repr(report).startswith("grader check: <here>")
    assert github_annotations(report) == [
        "::warning title=backprop%3A not attempted yet::no file found"]


# --------------------------------------------------------------------------------------------
# in a notebook: the current definitions
# --------------------------------------------------------------------------------------------
NOTEBOOK_MODULE = '''
import numpy as np
from numpy import linalg as la
from numpy import exp as e_x

EPS = 1e-12
DATA = np.arange(5.0)
history_of_training = []


def relu(z):
    return np.maximum(0, z)


ACTIVATIONS = {"relu": relu, "names": ("a", 1.5, None)}
step = lambda z: np.where(z >= 0, 1.0, 0.0)


def sigmoid(z):
    return 1 / (1 + e_x(-z)) + 0 * EPS


def neuron_forward(x, w, b, activation="relu"):
    return ACTIVATIONS[activation](x @ w + b)


def dense_forward(X, W, b, activation="relu"):
    return relu(X @ W + b) + 0 * la.norm(DATA)


def unrelated():
    return history_of_training


class Base:
    def hello(self):
        return 1


class Perceptron(Base):
    rate = EPS

    def fit(self, X, y):
        return self
'''


@pytest.fixture
def notebook_module(tmp_path, monkeypatch):
    """A module standing in for a notebook's namespace (its functions have real source)."""
    (tmp_path / "my_notebook.py").write_text(NOTEBOOK_MODULE)
    spec = importlib.util.spec_from_file_location("my_notebook", tmp_path / "my_notebook.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "my_notebook", module)
    spec.loader.exec_module(module)
    return module


def test_notebook_source_copies_definitions_and_what_they_use(notebook_module):
    history = ["%matplotlib inline\nfrom numpy import linalg as la", "import numpy as np"]
    built = notebook_source("neuron", vars(notebook_module), history)
    assert built.undefined == ["tanh", "softmax"]
    assert set(built.copied) == {"relu", "sigmoid", "step", "neuron_forward", "dense_forward",
                                 "ACTIVATIONS", "EPS"}
    assert "from numpy import linalg as la" in built.source       # the student's own import
    assert "from numpy import exp as e_x" in built.source         # found without history
    assert list(built.skipped) == ["DATA"] and "ndarray" in built.skipped["DATA"]
    assert "unrelated" not in built.source and "history_of_training" not in built.source
    assert built.source.index("def relu") < built.source.index("ACTIVATIONS =")

    namespace: dict = {}
    exec(compile(built.source, "neuron.py", "exec"), namespace)  # noqa: S102  (our own text)
    import numpy as np
    assert namespace["neuron_forward"](np.ones(2), np.ones(2), -3.0) == 0.0
    assert namespace["step"](np.array([0.0]))[0] == 1.0
    with pytest.raises(NameError, match="DATA"):                   # as reported: not copied
        namespace["dense_forward"](np.ones((1, 2)), np.ones((2, 1)), np.zeros(1))


def test_notebook_source_orders_classes_after_their_bases(notebook_module):
    built = notebook_source("perceptron", vars(notebook_module))
    assert built.copied == ["EPS", "Base", "Perceptron"]
    namespace: dict = {}
    exec(built.source, namespace)  # noqa: S102
    assert namespace["Perceptron"]().hello() == 1


def test_check_without_definitions_is_not_attempted_and_runs_nothing(monkeypatch):
    from grader.check import check
    module = importlib.import_module("grader.check")    # not `import grader.check as`: the
                                                         # package attribute is the function
    monkeypatch.setattr(module, "run_public_tests", lambda *a, **k: pytest.fail("ran"))
    report = check("neuron", {"__name__": "__main__", "x": 1})
    (ex,) = report.exercises
    assert ex.status == "not_attempted" and "None of relu, sigmoid" in ex.message
    assert report.exit_code() == EXIT_FAILED


def test_check_in_a_plain_namespace_runs_the_public_tests(notebook_module):
    from grader.check import check

    report = check("neuron", notebook_module)
    marks = {t.name: t.outcome for t in report.exercises[0].tests}
    passed = {name.split("(")[0] for name, outcome in marks.items() if outcome == "passed"}
    assert {"relu", "sigmoid", "step"} <= passed
    # the naive sigmoid overflows at z = -1000: the stability test says so
    assert marks["sigmoid() stays finite and correct for z = -1000 ... 1000, without overflow "
                 "warnings"] == "failed"
    assert marks["tanh() matches the hyperbolic tangent, also for |z| up to 1000"] in (
        "failed", "error")                               # not defined
    tanh = next(t for t in report.exercises[0].tests if t.name.startswith("tanh"))
    assert "this notebook does not define tanh" in tanh.message
    assert "Not copied: DATA" in " ".join(report.notes)
    assert "def relu" in report.source


def test_grader_package_exposes_check():
    import grader

    init = Path(grader.__file__).read_text()
    if "check" not in init:
        pytest.skip("grader/__init__.py does not expose check yet (lead: see the report)")
    from grader import check
    from grader.check import check as function
    assert check is function and callable(check)


NOTEBOOK_CELLS = [
    "import numpy as np\n%matplotlib inline",
    "def relu(z):\n    return np.maximum(0, z)",
    "def sigmoid(z):\n    return 1 / (1 + np.exp(z))   # the wrong sign",
    "def tanh(z):\n    raise NotImplementedError('later')",
    "X_train = np.ones((100, 3))   # data in the notebook is never copied",
    ("class Perceptron:\n    def __init__(self, lr=1.0, epochs=10):\n        self.lr, self.epochs"
     " = lr, epochs\n\n    def fit(self, X, y):\n        raise NotImplementedError"),
    "from grader.check import check\ncheck('neuron')",
    "result = check('perceptron')\nprint(result.passed)\nresult",
]


def test_check_in_a_real_notebook(tmp_path):
    """A Jupyter kernel (about 3 s): IPython's cell sources, In, and the HTML display."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from jupyter_client.kernelspec import KernelSpecManager

    if "python3" not in KernelSpecManager().find_kernel_specs():
        pytest.skip("no python3 Jupyter kernel: pip install ipykernel")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in NOTEBOOK_CELLS])
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=180,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()

    (shown,) = [o for o in nb.cells[-2].outputs if o.output_type == "execute_result"]
    page = shown.data["text/html"]
    assert page.startswith('<div class="grader-check"')
    verdicts = {title.strip(): outcome for outcome, title in
                re.findall(r'<tr class="(\w+)"><td[^>]*>.</td><td>([^<(]+)\(', page)}
    assert verdicts["relu"] == "passed" and verdicts["sigmoid"] == "failed"
    assert verdicts["tanh"] == "failed" and verdicts["softmax"] in ("failed", "error")
    assert "this notebook does not define softmax" in page
    assert "did you write exp(z) instead of exp(-z)?" in page
    assert "Not implemented yet: tanh(" in page
    assert "X_train" not in page                          # not used by the functions
    assert shown.data["text/plain"].startswith("grader check: this notebook")
    assert_no_hidden_titles(page)

    last = nb.cells[-1].outputs
    assert [o.text for o in last if o.output_type == "stream"] == ["False\n"]
    (perceptron,) = [o for o in last if o.output_type == "execute_result"]
    assert "perceptron</b>: not attempted yet" in perceptron.data["text/html"]


# --------------------------------------------------------------------------------------------
# every exercise (the Keras ones start TensorFlow in their worker)
# --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_all_stubs_are_not_attempted():
    code, out, err = run_check(str(STUBS))                  # PATH alone: every exercise
    assert code == EXIT_FAILED, out + err
    for name in assignment.EXERCISE_NAMES:
        assert re.search(rf"^{name}  \({name}\.py\)  not attempted yet$", out, re.MULTILINE), out
    assert_no_hidden_titles(out)


@pytest.mark.slow
def test_a_partly_done_repository(tmp_path):
    sub = partial_neuron(tmp_path / "work")
    for name in ("backprop", "perceptron", "mnist_ann", "attrition"):
        shutil.copy(SOLUTIONS / f"{name}.py", sub)
    shutil.copy(STUBS / "circles.ipynb", sub)               # a notebook, still the stub
    code, out, _ = run_check(str(sub), "--allow-unattempted")
    assert code == EXIT_FAILED                               # neuron has real failures
    assert re.search(r"^circles  \(circles\.ipynb\)  not attempted yet$", out, re.MULTILINE), out
    # every public test of the finished exercises passes; of neuron only relu's; the
    # exercises not attempted (circles, and those with no file) count as failing
    done = totals("backprop", "perceptron", "mnist_ann", "attrition")[0]
    assert f"Public tests: {done + 1} of {totals(*assignment.EXERCISE_NAMES)[0]} passed" in out
    assert_no_hidden_titles(out)


@pytest.mark.slow
def test_all_solutions_pass_quickly_without_training():
    report = run_public_tests(SOLUTIONS)
    text = report.to_text()
    assert report.exit_code() == EXIT_OK, text
    for ex in report.exercises:
        assert {t.name for t in ex.tests} == TITLES[ex.name]["public"]
        # the Keras exercises import TensorFlow (~5 s); anything near a minute is training
        assert sum(t.duration for t in ex.tests) < 20, (ex.name, text)
    assert_no_hidden_titles(text)


# --------------------------------------------------------------------------------------------
# honest labels, small things a student trips over, one module per job
# --------------------------------------------------------------------------------------------
def test_a_check_is_public_checks_in_result_json_report_and_summary(tmp_path):
    """Never "GRADING REPORT" or "Autograder: x / y points" for a check: the hidden tests
    are not in it. Untouched exercises are not attempted everywhere."""
    import json

    from grader.exports import github_summary
    from grader.results import Result

    sub = partial_neuron(tmp_path / "sub")
    shutil.copy(STUBS / "perceptron.py", sub / "perceptron.py")     # untouched
    out = tmp_path / "grader-check"
    code, text, _ = run_check(str(sub), "--out", str(out))
    assert code == EXIT_FAILED
    assert text.startswith(f"grader check: {sub.resolve()} — public checks")
    assert re.search(r"^perceptron  \(perceptron\.py\)  not attempted yet$", text, re.MULTILINE)
    data = json.loads((out / "result.json").read_text())
    assert data["scope"] == "public checks"
    statuses = {ex["name"]: ex["status"] for ex in data["exercises"]}
    assert statuses["perceptron"] == "not_attempted" and statuses["neuron"] == "graded"
    page = (out / "report.html").read_text()
    assert "<title>Public checks — " in page and "Grading report" not in page
    summary = github_summary([Result.read(out / "result.json")])
    assert summary.startswith("### Public checks:") and "Autograder" not in summary
    assert "| perceptron | 0 / " in summary and "not attempted yet |" in summary
    # a graded result keeps its own name
    graded = Result.read(out / "result.json")
    graded.scope = "grading"
    assert github_summary([graded]).startswith("### Autograder:")


def test_misspelt_exercise_names_get_a_suggestion(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_check("nueron")
    assert code == EXIT_USAGE and "did you mean 'neuron'?" in err
    code, _, err = run_check("Backprop.py", str(tmp_path))
    assert code == EXIT_USAGE and "did you mean 'backprop'?" in err
    code, _, err = run_check("my-homework")                 # no exercise is near: a path
    assert code == EXIT_USAGE and "no such file or folder" in err
    (tmp_path / "nueron").mkdir()                            # an existing folder stays a path
    assert _resolve_arguments(argparse.Namespace(exercise="nueron", path=None)) == \
        (None, "nueron")


def test_version_flag_names_the_grader_and_python(capsys):
    from grader import cli

    with pytest.raises(SystemExit) as stop:
        cli.main(["--version"])
    assert stop.value.code == 0
    shown = capsys.readouterr().out
    assert re.match(r"grader \d+\.\d+\S*.*, Python 3\.\d+", shown), shown


def test_tracebacks_point_at_the_students_own_file(tmp_path):
    sub = tmp_path / "my work"
    sub.mkdir()
    (sub / "neuron.py").write_text((SOLUTIONS / "neuron.py").read_text()
                                   + "\n\ndef tanh(z):\n    return z.no_such_attribute\n")
    code, text, _ = run_check("neuron", str(sub))
    assert code == EXIT_FAILED
    assert f'File "{sub.resolve() / "neuron.py"}", line' in text, text
    assert "/tmp/submission" not in text and "grader-neuron-" not in text


def test_student_paths_maps_every_worker_copy():
    from grader.check import student_paths

    text = ('  File "/tmp/submission/neuron.py", line 3, in relu\n'
            '  File "/tmp/grader-neuron-k2_x9/sub/helpers.py", line 9\n'
            '  File "C:\\Temp\\grader-backprop-a1b2\\backprop.py", line 1\n'
            '  File "/usr/lib/python3/numpy/core.py", line 5\n')
    mapped = student_paths(text, "/home/ana/hw/")
    assert mapped.splitlines() == [
        '  File "/home/ana/hw/neuron.py", line 3, in relu',
        '  File "/home/ana/hw/sub/helpers.py", line 9',
        '  File "/home/ana/hw/backprop.py", line 1',
        '  File "/usr/lib/python3/numpy/core.py", line 5']


def test_check_does_nothing_while_a_notebook_is_graded(monkeypatch):
    from grader.check import check

    module = importlib.import_module("grader.check")
    monkeypatch.setattr(module, "run_public_tests", lambda *a, **k: pytest.fail("ran"))
    monkeypatch.setenv("GRADER_GRADING", "1")
    report = check("neuron", {"__name__": "__main__"})
    assert report.exercises == [] and "does nothing while the notebook is being graded" in \
        report.to_text()


@pytest.mark.slow
def test_a_graded_notebook_shows_its_check_cell_as_skipped(tmp_path):
    """The README's check cell in a graded notebook: no fault, no grading inside grading."""
    import json

    nbformat = pytest.importorskip("nbformat")
    from grader.grading import grade

    cells = [(SOLUTIONS / "neuron.py").read_text(),
             'from grader import check\ncheck("neuron")',
             'from grader.check import check as again\nagain("neuron")']
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    sub = tmp_path / "sub"
    sub.mkdir()
    nbformat.write(nb, sub / "neuron.ipynb")
    result = grade(sub, exercises=["neuron"], artifacts=tmp_path / "out")
    (ex,) = result.exercises
    assert ex.status == "graded" and all(t.outcome == "passed" for t in ex.tests), ex.message
    assert not ex.notebook.get("errors"), ex.notebook
    executed = json.loads((tmp_path / "out" / ex.notebook["executed"]).read_text())
    for cell in executed["cells"][1:]:
        (output,) = cell["outputs"]
        assert output["data"]["text/plain"] in (
            ["grader check: skipped while this notebook is being graded"],
            "grader check: skipped while this notebook is being graded")


def test_check_exports_and_text_helpers_each_have_one_home():
    """grader.check uses grader.exports (GitHub formats) and grader.safe_text (text from
    students); neither imports grader.check, and no text helper is defined twice."""
    import inspect

    from grader import check as _  # noqa: F401  (the package attribute: the function)
    check_module = importlib.import_module("grader.check")
    exports = importlib.import_module("grader.exports")
    safe_text = importlib.import_module("grader.safe_text")

    def imported(module) -> set[str]:
        tree = ast.parse(inspect.getsource(module))
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
        return found

    assert "grader.check" not in imported(exports)
    assert not {"grader.check", "grader.exports"} & imported(safe_text)
    helpers = {name for name, value in vars(safe_text).items()
               if inspect.isfunction(value) and value.__module__ == "grader.safe_text"}
    for module in (check_module, exports):
        own = {name for name, value in vars(module).items()
               if inspect.isfunction(value) and value.__module__ == module.__name__}
        assert not own & helpers, (module.__name__, own & helpers)
