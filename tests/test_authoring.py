"""Tests of grader.authoring: solutions/ -> exercises/ (stub .py and .ipynb).

The stubs are what students start from, so the properties that matter are checked on small
fixture solutions and on the repository's real ones: every signature, default, import and
docstring survives, every solution region (and nothing else) becomes a NotImplementedError,
markers are validated, notebooks are valid and carry the manual-grading metadata, generation
is byte-for-byte deterministic, and the checked-in exercises/ match solutions/ (drift test).
"""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from grader import assignment, authoring
from grader.authoring import AuthoringError, generate, make_notebook, make_stub

SOLUTIONS_DIR = assignment.PROJECT_ROOT / "solutions"
EXERCISES_DIR = assignment.PROJECT_ROOT / "exercises"
TF_EXERCISES = {e.name for e in assignment.EXERCISES if e.uses_tensorflow}

FIXTURE = '''\
"""A fixture exercise.

It has maths in it:

    y = f(w . x + b)
"""
import math

import numpy as np

SCALE = 2.0


def double(x, factor=SCALE, *, clip=None):
    """Multiply x by factor (clipped to clip when given)."""
    # BEGIN SOLUTION
    y = np.asarray(x) * factor
    if clip is not None:
        y = np.minimum(y, clip)
    return y
    # END SOLUTION


def _provided_helper(x):
    """A helper the students get for free."""
    return math.sqrt(x)


class Counter:
    """Counts things."""

    def __init__(self, start=0):
        """Remember where to start counting."""
        # BEGIN SOLUTION
        self.count = start
        # END SOLUTION

    def add(self, n=1):
        """Add n to the count and return it."""
        self.checked = True  # given code before a region stays
        # BEGIN SOLUTION
        self.count += n
        return self.count
        # END SOLUTION


@staticmethod
def decorated(a, b="x" "y"):
    """Join "a" and b with a \\\\ backslash; a very long first line that will certainly need wrapping."""
    # BEGIN SOLUTION
    return f"{a}{b}"
    # END SOLUTION


if __name__ == "__main__":
    print(double(3))
'''

FIXTURE_QUESTIONS = [
    {"id": "fixture-why", "prompt": "Why *does* it work?", "points": 2},
    {"id": "fixture-how", "prompt": "How would you test it?", "points": 1},
]


# --------------------------------------------------------------------------- helpers


def real_solution(name: str) -> str:
    path = SOLUTIONS_DIR / f"{name}.py"
    if not path.is_file():
        pytest.skip(f"solutions/{name}.py is not written yet")
    return path.read_text(encoding="utf-8")


def _sources():
    """(label, source, exercise name) for the fixture and every real solution."""
    yield pytest.param(FIXTURE, "fixture", id="fixture")
    for name in assignment.EXERCISE_NAMES:
        yield pytest.param(None, name, id=name)


SOURCES = list(_sources())


def load(source, name):
    return source if source is not None else real_solution(name)


def definitions(tree: ast.AST, prefix: str = "") -> dict[str, ast.AST]:
    """Every function and class by qualified name."""
    found = {}
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found[prefix + node.name] = node
            found.update(definitions(node, prefix + node.name + "."))
        else:
            found.update(definitions(node, prefix))
    return found


def region_lines(source: str) -> list[tuple[int, int]]:
    """(begin, end) marker lines, found independently of the module under test."""
    pairs, begin = [], None
    for number, line in enumerate(source.splitlines(), start=1):
        if line.strip() == "# BEGIN SOLUTION":
            begin = number
        elif line.strip() == "# END SOLUTION":
            pairs.append((begin, number))
    return pairs


def is_not_implemented_raise(node: ast.AST) -> bool:
    exc = getattr(node, "exc", None)
    target = exc.func if isinstance(exc, ast.Call) else exc
    return isinstance(node, ast.Raise) and isinstance(target, ast.Name) \
        and target.id == "NotImplementedError"


def raises_in(tree: ast.AST) -> list[ast.Raise]:
    return [node for node in ast.walk(tree) if is_not_implemented_raise(node)]


def functions_with_regions(source: str) -> dict[str, int]:
    """{qualified name: number of required positional parameters (without self)} of every
    function whose body holds a solution region."""
    tree = ast.parse(source)
    starts = [begin for begin, _ in region_lines(source)]
    result = {}
    for qualname, node in definitions(tree).items():
        if isinstance(node, ast.ClassDef):
            continue
        if any(node.body[0].lineno <= begin <= node.end_lineno for begin in starts):
            inner = [n for n in ast.walk(node) if n is not node
                     and isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
            if any(n.lineno <= begin <= n.end_lineno for n in inner for begin in starts):
                continue  # the region belongs to a nested function
            positional = node.args.posonlyargs + node.args.args
            required = len(positional) - len(node.args.defaults)
            is_method = "." in qualname and positional and positional[0].arg == "self"
            result[qualname] = required - (1 if is_method else 0)
    return result


# A subprocess that imports a stub and calls each function that had a region, with None for
# every required argument (the stubs raise before touching them). It prints the name of the
# exception each call raised. Runs apart from pytest so that no stub (and for mnist_ann and
# attrition no TensorFlow) is imported into the test process.
CALL_STUBS = textwrap.dedent('''
    import importlib.util, json, sys
    path, calls = sys.argv[1], json.loads(sys.argv[2])
    spec = importlib.util.spec_from_file_location("stub_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    outcome = {}
    for qualname, n_args in calls.items():
        owner, _, attr = qualname.rpartition(".")
        if owner:
            cls = getattr(module, owner)
            target = cls if attr == "__init__" else getattr(cls.__new__(cls), attr)
        else:
            target = getattr(module, attr)
        try:
            target(*[None] * n_args)
            outcome[qualname] = "returned"
        except BaseException as exc:
            outcome[qualname] = type(exc).__name__
    print(json.dumps(outcome))
''')


def call_stub_functions(stub_path: Path, calls: dict[str, int]) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-c", CALL_STUBS, str(stub_path), json.dumps(calls)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_solutions(directory: Path, names=("neuron",), questions=None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / f"{name}.py").write_text(FIXTURE, encoding="utf-8")
    if questions is not None:
        import yaml
        (directory / "questions.yaml").write_text(yaml.safe_dump(questions), encoding="utf-8")
    return directory


# --------------------------------------------------------------------------- stubs


@pytest.mark.parametrize("source, name", SOURCES)
def test_stub_keeps_every_signature_default_and_docstring(source, name):
    source = load(source, name)
    stub = make_stub(source, f"solutions/{name}.py")
    solution_defs = definitions(ast.parse(source))
    stub_defs = definitions(ast.parse(stub))
    assert solution_defs.keys() == stub_defs.keys()
    for qualname, node in solution_defs.items():
        twin = stub_defs[qualname]
        assert type(twin) is type(node), qualname
        assert ast.get_docstring(twin, clean=False) == ast.get_docstring(node, clean=False), \
            qualname
        assert [ast.dump(d) for d in twin.decorator_list] == \
            [ast.dump(d) for d in node.decorator_list], qualname
        if not isinstance(node, ast.ClassDef):
            assert ast.dump(twin.args) == ast.dump(node.args), qualname  # incl. defaults
            assert (ast.dump(twin.returns) if twin.returns else None) == \
                (ast.dump(node.returns) if node.returns else None), qualname


@pytest.mark.parametrize("source, name", SOURCES)
def test_stub_keeps_module_docstring_and_imports(source, name):
    source = load(source, name)
    stub = make_stub(source, f"solutions/{name}.py")
    solution_tree, stub_tree = ast.parse(source), ast.parse(stub)
    assert ast.get_docstring(stub_tree, clean=False) == \
        ast.get_docstring(solution_tree, clean=False)
    imports = [ast.dump(n) for n in ast.walk(solution_tree)
               if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert imports == [ast.dump(n) for n in ast.walk(stub_tree)
                       if isinstance(n, (ast.Import, ast.ImportFrom))]
    first_line = stub.splitlines()[0]
    assert first_line.startswith(f"# Generated from solutions/{name}.py by `grader generate`")
    assert "NotImplementedError" in first_line


@pytest.mark.parametrize("source, name", SOURCES)
def test_every_region_and_nothing_else_becomes_not_implemented(source, name):
    source = load(source, name)
    stub = make_stub(source, f"solutions/{name}.py")
    regions = region_lines(source)
    assert regions, "a solution without regions gives students nothing to do"
    assert "BEGIN SOLUTION" not in stub and "END SOLUTION" not in stub

    stub_tree, solution_tree = ast.parse(stub), ast.parse(source)
    new_raises = raises_in(stub_tree)
    assert len(new_raises) == len(regions) + len(raises_in(solution_tree))

    # Outside the regions the file is verbatim: drop the header and the generated raise
    # statements from the stub, the regions from the solution, and the rest must agree.
    stub_lines = stub.splitlines()
    generated = {line for node in new_raises for line in range(node.lineno, node.end_lineno + 1)}
    kept_stub = [text for number, text in enumerate(stub_lines, start=1)
                 if number != 1 and number not in generated]
    in_region = {line for begin, end in regions for line in range(begin, end + 1)}
    kept_solution = [text for number, text in enumerate(source.splitlines(), start=1)
                     if number not in in_region]
    assert kept_stub == kept_solution

    # Each raise names its function and sits at the region's indentation.
    owners = functions_with_regions(source)
    for node, (begin, _) in zip(sorted(new_raises, key=lambda n: n.lineno), regions):
        message = node.exc.args[0].value
        qualname = message.split(":")[0]
        assert qualname in owners, message
        indent = len(source.splitlines()[begin - 1]) - len(source.splitlines()[begin - 1].lstrip())
        assert node.col_offset == indent
        assert all(len(line) <= 100 for line in stub_lines[node.lineno - 1:node.end_lineno])


def test_hint_is_the_docstring_summary_and_escapes_quotes():
    stub = make_stub(FIXTURE, "solutions/fixture.py")
    messages = [node.exc.args[0].value
                for node in sorted(raises_in(ast.parse(stub)), key=lambda n: n.lineno)]
    assert messages[0] == "double: Multiply x by factor (clipped to clip when given)."
    assert messages[1] == "Counter.__init__: Remember where to start counting."
    assert messages[2] == "Counter.add: Add n to the count and return it."
    assert messages[3].startswith('decorated: Join "a" and b with a \\ backslash;')
    assert messages[3].endswith("certainly need wrapping.")


def test_calling_fixture_stubs_raises_not_implemented(tmp_path):
    stub_path = tmp_path / "fixture.py"
    stub_path.write_text(make_stub(FIXTURE, "solutions/fixture.py"), encoding="utf-8")
    calls = functions_with_regions(FIXTURE)
    assert set(calls) == {"double", "Counter.__init__", "Counter.add", "decorated"}
    outcome = call_stub_functions(stub_path, calls)
    assert outcome == {name: "NotImplementedError" for name in calls}
    # The check can fail: the solution itself returns normally.
    solution_path = tmp_path / "solution.py"
    solution_path.write_text(FIXTURE, encoding="utf-8")
    assert call_stub_functions(solution_path, {"double": 1})["double"] != "NotImplementedError"


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=[pytest.mark.slow] if n in TF_EXERCISES else [])
    for n in assignment.EXERCISE_NAMES])
def test_calling_real_stubs_raises_not_implemented(name, tmp_path):
    source = real_solution(name)
    stub_path = tmp_path / f"{name}.py"
    stub_path.write_text(make_stub(source, f"solutions/{name}.py"), encoding="utf-8")
    calls = functions_with_regions(source)
    public = {q for q in calls if not any(part.startswith("_") and part != "__init__"
                                          for part in q.split("."))}
    assert public, f"{name} has no public function to implement"
    outcome = call_stub_functions(stub_path, calls)
    assert outcome == {q: "NotImplementedError" for q in calls}


# --------------------------------------------------------------------------- markers


def marker_case(body: str) -> str:
    return textwrap.dedent(body)


BAD_MARKERS = {
    "nested": ('''\
        def f(x):
            """Doc."""
            # BEGIN SOLUTION
            y = x
            # BEGIN SOLUTION
            return y
            # END SOLUTION
            # END SOLUTION
        ''', 5, "nested"),
    "end-without-begin": ('''\
        def f(x):
            """Doc."""
            return x
            # END SOLUTION
        ''', 4, "without"),
    "begin-without-end": ('''\
        def f(x):
            """Doc."""
            # BEGIN SOLUTION
            return x
        ''', 3, "without"),
    "module-level": ('''\
        import math
        # BEGIN SOLUTION
        X = math.pi
        # END SOLUTION
        ''', 2, "outside any function"),
    "class-body": ('''\
        class A:
            """Doc."""
            # BEGIN SOLUTION
            x = 1
            # END SOLUTION
        ''', 3, "outside any function"),
    "malformed": ('''\
        def f(x):
            """Doc."""
            # BEGIN SOLUTIONS
            return x
            # END SOLUTION
        ''', 3, "malformed"),
    "hint-in-marker": ('''\
        def f(x):
            """Doc."""
            # BEGIN SOLUTION hint: return x
            return x
            # END SOLUTION
        ''', 3, "malformed"),
    "trailing-marker": ('''\
        def f(x):
            """Doc."""
            y = x  # BEGIN SOLUTION
            return y
            # END SOLUTION
        ''', 3, "own"),
    "unequal-indent": ('''\
        def f(x):
            """Doc."""
            # BEGIN SOLUTION
            return x
        # END SOLUTION
        ''', 5, "indented differently"),
    "markers-not-like-body": ('''\
        def f(x):
            """Doc."""
        # BEGIN SOLUTION
            return x
        # END SOLUTION
        ''', 3, "indented like"),
    "empty": ('''\
        def f(x):
            """Doc."""
            # BEGIN SOLUTION
            # END SOLUTION
            return x
        ''', 3, "empty"),
    "half-a-block": ('''\
        def f(x):
            """Doc."""
            if x:
                # BEGIN SOLUTION
                x = 1
            return x
                # END SOLUTION
        ''', 6, "less than"),
    "statement-across-end": ('''\
        def f(x):
            """Doc."""
            # BEGIN SOLUTION
            y = max(x,
            # END SOLUTION
                    0)
            return y
        ''', 4, "continues past"),
    "not-python": ('''\
        def f(x:
            # BEGIN SOLUTION
            return x
            # END SOLUTION
        ''', 1, "not valid Python"),
}


@pytest.mark.parametrize("case", BAD_MARKERS)
def test_marker_errors_name_file_and_line(case):
    body, line, words = BAD_MARKERS[case]
    with pytest.raises(AuthoringError) as caught:
        make_stub(marker_case(body), "solutions/broken.py")
    assert caught.value.filename == "solutions/broken.py"
    assert caught.value.line == line, str(caught.value)
    assert str(caught.value).startswith(f"solutions/broken.py:{line}: ")
    assert words in str(caught.value)


def test_markers_inside_strings_are_not_markers():
    source = marker_case('''\
        def f(x):
            """Wrap your code in '# BEGIN SOLUTION' ... '# END SOLUTION'."""
            # BEGIN SOLUTION
            text = """
        # END SOLUTION
        """
            return text
            # END SOLUTION
        ''')
    stub = make_stub(source, "solutions/strings.py")
    assert len(raises_in(ast.parse(stub))) == 1
    assert "return text" not in stub


# --------------------------------------------------------------------------- notebooks


def notebook_for(source, name, questions=()):
    return make_notebook(source, name, list(questions))


def role_cells(nb, role):
    return [c for c in nb.cells if c.cell_type == "code" and c.metadata["grader"]["role"] == role]


@pytest.mark.parametrize("source, name", SOURCES)
def test_notebook_has_one_code_cell_per_definition(source, name):
    source = load(source, name)
    nb = notebook_for(source, name)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.metadata["language_info"]["name"] == "python"
    assert nb.metadata["grader"] == {"exercise": name}

    top_level = [n for n in ast.parse(source).body
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    cells = role_cells(nb, "definition")
    assert len(cells) == len(top_level)
    stub_defs = definitions(ast.parse(make_stub(source, f"solutions/{name}.py")))
    for cell, node in zip(cells, top_level):
        (cell_node,) = ast.parse(cell.source).body
        assert ast.dump(cell_node) == ast.dump(stub_defs[node.name])
    imports = "\n".join(c.source for c in role_cells(nb, "imports"))
    assert [ast.dump(n) for n in ast.parse(imports).body] == \
        [ast.dump(n) for n in ast.parse(source).body if isinstance(n, (ast.Import, ast.ImportFrom))]
    (example,) = role_cells(nb, "example")
    assert nb.cells.index(example) == max(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    ast.parse(example.source)
    assert nb.cells[0].cell_type == "markdown"
    assert nb.cells[0].source.startswith("# ")


def test_notebook_intro_renders_the_docstring_as_markdown():
    nb = notebook_for(FIXTURE, "neuron")
    intro = nb.cells[0].source
    assert intro.startswith(f"# {assignment.get('neuron').title}\n\nA fixture exercise.")
    assert "\n\n    y = f(w . x + b)\n" in intro  # formula kept as an indented block
    md = authoring.docstring_to_markdown(
        "Count 784*128 weights; <b>x</b> and _hidden_ costs $5:\n    a * b\nend")
    assert md == ("Count 784\\*128 weights; &lt;b>x&lt;/b> and \\_hidden\\_ costs \\$5:\n\n"
                  "    a * b\n\nend")
    assert authoring.docstring_to_markdown("Steps:\n- one\n  more\n- two\nAfter.") == \
        "Steps:\n- one\n  more\n- two\n\nAfter."


def test_notebook_cells_define_stubs_that_raise_and_keep_module_code():
    nb = notebook_for(FIXTURE, "neuron")
    namespace: dict = {"__name__": "__main__"}
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata["grader"]["role"] != "example":
            exec(compile(cell.source, cell.id, "exec"), namespace)
    assert namespace["SCALE"] == 2.0 and namespace["_provided_helper"](9.0) == 3.0
    with pytest.raises(NotImplementedError, match="double"):
        namespace["double"](1)
    with pytest.raises(NotImplementedError, match="Counter.__init__"):
        namespace["Counter"]()
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "__main__" not in code  # the demo block stays in the .py only


def test_notebook_questions_carry_manual_grading_metadata():
    nb = notebook_for(FIXTURE, "neuron", FIXTURE_QUESTIONS)
    nbformat.validate(nb)
    answers = [c for c in nb.cells if c.metadata.get("grader", {}).get("manual")]
    assert [c.metadata["grader"] for c in answers] == [
        {"manual": True, "question": "fixture-why", "points": 2},
        {"manual": True, "question": "fixture-how", "points": 1},
    ]
    for answer in answers:
        assert answer.cell_type == "markdown"
        assert answer.source == "_Write your answer here._"
        prompt = nb.cells[nb.cells.index(answer) - 1]
        assert prompt.cell_type == "markdown"
        assert prompt.metadata["grader"] == {"question_prompt": answer.metadata["grader"]["question"]}
    assert "Why *does* it work?" in nb.cells[nb.cells.index(answers[0]) - 1].source
    last_code = max(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    assert all(nb.cells.index(a) > last_code for a in answers)
    assert [c.id for c in nb.cells] == [f"neuron-{i}" for i in range(len(nb.cells))]


def test_notebook_rejects_bad_questions():
    with pytest.raises(AuthoringError, match="points"):
        notebook_for(FIXTURE, "neuron", [{"id": "q", "prompt": "Why?", "points": 0}])
    with pytest.raises(AuthoringError, match="duplicate"):
        notebook_for(FIXTURE, "neuron", [{"id": "q", "prompt": "A", "points": 1}] * 2)
    with pytest.raises(AuthoringError, match="id, prompt, points"):
        notebook_for(FIXTURE, "neuron", [{"id": "q", "prompt": "A"}])


def test_unknown_exercise_gets_a_comment_example():
    nb = notebook_for(FIXTURE, "not_in_catalog")
    (example,) = role_cells(nb, "example")
    assert example.source.startswith("#") and not ast.parse(example.source).body


# The example cell of each exercise must work against the reference solution (run in a
# subprocess: the solution's definitions, then the example) and stop at a NotImplementedError
# against the stub.
RUN_EXAMPLE = textwrap.dedent('''
    import sys
    namespace = {"__name__": "example"}
    exec(compile(open(sys.argv[1], encoding="utf-8").read(), sys.argv[1], "exec"), namespace)
    try:
        exec(compile(sys.argv[2], "example", "exec"), namespace)
    except NotImplementedError:
        print("NOT IMPLEMENTED")
    else:
        print("RAN")
''')


def run_example(module_path: Path, example: str) -> str:
    done = subprocess.run([sys.executable, "-c", RUN_EXAMPLE, str(module_path), example],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=[pytest.mark.slow] if n in TF_EXERCISES | {"circles"} else [])
    for n in assignment.EXERCISE_NAMES])
def test_example_cell_runs_on_the_solution_and_stops_on_the_stub(name, tmp_path):
    source = real_solution(name)
    example = authoring.EXAMPLES[name]
    assert run_example(SOLUTIONS_DIR / f"{name}.py", example) == "RAN"
    stub_path = tmp_path / f"{name}.py"
    stub_path.write_text(make_stub(source, f"solutions/{name}.py"), encoding="utf-8")
    assert run_example(stub_path, example) == "NOT IMPLEMENTED"


# --------------------------------------------------------------------------- generate


def test_generate_is_deterministic_and_writes_only_changes(tmp_path):
    solutions = write_solutions(tmp_path / "solutions", names=("neuron", "perceptron"),
                                questions={"neuron": FIXTURE_QUESTIONS})
    first, second = tmp_path / "first", tmp_path / "second"
    written = generate(solutions, first, names=["neuron", "perceptron"])
    assert sorted(p.name for p in written) == ["neuron.ipynb", "neuron.py",
                                               "perceptron.ipynb", "perceptron.py"]
    generate(solutions, second, names=["neuron", "perceptron"])
    for path in written:
        assert path.read_bytes() == (second / path.name).read_bytes()
        assert path.read_bytes().endswith(b"\n")
    notebook = nbformat.read(first / "neuron.ipynb", as_version=4)
    nbformat.validate(notebook)
    assert any(c.metadata.get("grader", {}).get("manual") for c in notebook.cells)
    assert not any(c.metadata.get("grader", {}).get("manual")
                   for c in nbformat.read(first / "perceptron.ipynb", as_version=4).cells)
    assert generate(solutions, first, names=["neuron", "perceptron"]) == []
    assert generate(solutions, first, check=True, names=["neuron", "perceptron"]) == []


def test_generate_check_reports_drift_and_writes_nothing(tmp_path):
    solutions = write_solutions(tmp_path / "solutions")
    exercises = tmp_path / "exercises"
    assert {p.name for p in generate(solutions, exercises, check=True, names=["neuron"])} == \
        {"neuron.py", "neuron.ipynb"}
    assert not exercises.exists()
    generate(solutions, exercises, names=["neuron"])
    (exercises / "neuron.py").write_text("# hand edited\n", encoding="utf-8")
    assert generate(solutions, exercises, check=True, names=["neuron"]) == \
        [exercises / "neuron.py"]
    assert (exercises / "neuron.py").read_text(encoding="utf-8") == "# hand edited\n"
    changed_solution = FIXTURE.replace("Multiply x", "Scale x")
    (solutions / "neuron.py").write_text(changed_solution, encoding="utf-8")
    generate(solutions, exercises, names=["neuron"])
    assert generate(solutions, exercises, check=True, names=["neuron"]) == []
    assert "Scale x" in (exercises / "neuron.ipynb").read_text(encoding="utf-8")


def test_generate_requires_every_known_solution(tmp_path):
    solutions = write_solutions(tmp_path / "solutions", names=("neuron",))
    (solutions / "not_an_exercise.py").write_text("x = 1\n", encoding="utf-8")
    with pytest.raises(AuthoringError, match="backprop.py"):
        generate(solutions, tmp_path / "exercises")
    assert not (tmp_path / "exercises").exists()
    with pytest.raises(ValueError, match="unknown exercise"):
        generate(solutions, tmp_path / "exercises", names=["not_an_exercise"])


def test_generate_reports_marker_errors_with_the_solution_file(tmp_path):
    solutions = write_solutions(tmp_path / "solutions")
    (solutions / "neuron.py").write_text(FIXTURE.replace("    # END SOLUTION\n", "", 1),
                                         encoding="utf-8")
    with pytest.raises(AuthoringError, match=r"solutions/neuron\.py:\d+: .*nested"):
        generate(solutions, tmp_path / "exercises", names=["neuron"])


def test_cli_generate_exit_codes(tmp_path, capsys):
    from argparse import Namespace
    solutions = write_solutions(tmp_path / "solutions", names=assignment.EXERCISE_NAMES)
    args = Namespace(check=True, solutions=solutions, exercises=tmp_path / "exercises")
    assert authoring.cli_generate(args) == 1
    assert "out of date" in capsys.readouterr().out
    assert authoring.cli_generate(Namespace(**{**vars(args), "check": False})) == 0
    assert authoring.cli_generate(args) == 0
    (solutions / "circles.py").unlink()
    assert authoring.cli_generate(args) == 2
    assert "circles.py" in capsys.readouterr().out


# --------------------------------------------------------------------------- questions


def test_questions_file_covers_every_exercise():
    questions = authoring.load_questions(SOLUTIONS_DIR / "questions.yaml")
    assert set(questions) == set(assignment.EXERCISE_NAMES)
    for name, items in questions.items():
        assert 2 <= len(items) <= 4, name
        assert all(item["prompt"].strip() and item["points"] > 0 for item in items)


@pytest.mark.parametrize("text, words", [
    ("neuron: [{id: a, prompt: x, points: 1}]\nbackprop: [{id: a, prompt: y, points: 1}]\n",
     "duplicate question id"),
    ("nueron: [{id: a, prompt: x, points: 1}]\n", "unknown exercise 'nueron'"),
    ("neuron: [{id: A b, prompt: x, points: 1}]\n", "id must be"),
    ("neuron: [{id: a, prompt: '', points: 1}]\n", "empty prompt"),
    ("neuron: {id: a}\n", "list of questions"),
    ("- just a list\n", "mapping"),
    ("neuron: [\n", "invalid YAML"),
])
def test_questions_file_errors(tmp_path, text, words):
    path = tmp_path / "questions.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AuthoringError, match=words):
        authoring.load_questions(path)


# --------------------------------------------------------------------------- drift


def test_checked_in_exercises_match_the_solutions():
    """THE drift test: exercises/ is exactly what `grader generate` makes of solutions/."""
    if not any(SOLUTIONS_DIR.glob("*.py")):
        pytest.skip("solutions/ has no reference solutions yet")
    drift = generate(SOLUTIONS_DIR, EXERCISES_DIR, check=True)
    assert drift == [], ("exercises/ is out of date with solutions/ — run `grader generate`: "
                         + ", ".join(p.name for p in drift))
