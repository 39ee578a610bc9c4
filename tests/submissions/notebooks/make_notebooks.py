"""Build the notebook submissions of tests/test_notebooks.py from solutions/ and exercises/.

    python tests/submissions/notebooks/make_notebooks.py            # (re)write the case folders
    python tests/submissions/notebooks/make_notebooks.py --check    # exit 1 if they are stale

Every case is a folder next to this script holding one or more notebooks, each named after its
exercise so that the grader finds it. Most start from the generated template
(exercises/<name>.ipynb) with its stub cells replaced by the reference definitions -- "the
notebook version of solutions/" -- and then change one thing a student might do to a notebook.
Some cases also hold ``py_twin/<name>.py``: the same code as a plain .py file, for the tests
that check a notebook earns what the same code earns as a .py (the grader only looks at
``<name>.py`` and ``exercises/<name>.py``, so the twin is never graded with its case).

Output is deterministic (sorted keys, fixed cell ids), so ``--check`` is a drift test. One
case is not committed because of its size: :func:`large_outputs_notebook` (a notebook carrying
megabytes of stale outputs from an earlier run) is built by the tests into a temp folder.
"""
from __future__ import annotations

import argparse
import ast
import copy
import json
import sys
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
NUMPY_EXERCISES = ("neuron", "perceptron", "backprop", "circles")
TWIN_DIR = "py_twin"
SOLUTION_MARKERS = ("# BEGIN SOLUTION", "# END SOLUTION")


# --------------------------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------------------------
def template(name: str) -> dict:
    """The generated exercise notebook, as plain JSON (so cases may break nbformat's rules)."""
    return json.loads((EXERCISES / f"{name}.ipynb").read_text(encoding="utf-8"))


def solution_definitions(name: str) -> dict[str, str]:
    """Top-level function/class name -> its source in solutions/<name>.py (with the comment
    lines right above it), solution markers removed as a student's file would not have them."""
    source = (SOLUTIONS / f"{name}.py").read_text(encoding="utf-8")
    lines = source.splitlines()
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            while start > 1 and lines[start - 2].lstrip().startswith("#"):
                start -= 1
            body = lines[start - 1:node.end_lineno]
            found[node.name] = "\n".join(
                line for line in body if line.strip() not in SOLUTION_MARKERS)
    return found


def source_of(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def defined_name(cell: dict) -> str:
    """The one function or class a template definition cell defines."""
    names = [n.name for n in ast.parse(source_of(cell)).body
             if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    if len(names) != 1:
        raise ValueError(f"expected one definition in a template cell, found {names}")
    return names[0]


def role(cell: dict) -> str | None:
    meta = cell.get("metadata", {}).get("grader", {})
    return meta.get("role") if isinstance(meta, dict) else None


def solved(name: str) -> dict:
    """The template notebook with every stub cell replaced by the reference definition."""
    nb = template(name)
    definitions = solution_definitions(name)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and role(cell) == "definition":
            cell["source"] = definitions[defined_name(cell)]
    return nb


def code(source: str, **grader_meta) -> dict:
    meta = {"grader": grader_meta} if grader_meta else {}
    return {"cell_type": "code", "execution_count": None, "metadata": meta, "outputs": [],
            "source": source}


def markdown(source: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def cells_of_role(nb: dict, wanted: str) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code" and role(c) == wanted]


def renumber(nb: dict, prefix: str) -> dict:
    """Unique, stable cell ids (nbformat 4.5 requires them)."""
    for index, cell in enumerate(nb["cells"]):
        cell["id"] = f"{prefix}-{index}"
    return nb


def without_ids(nb: dict, minor: int) -> dict:
    nb["nbformat_minor"] = minor
    for cell in nb["cells"]:
        cell.pop("id", None)
    return nb


def as_bytes(nb) -> bytes:
    return (json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def joined(*sources: str) -> bytes:
    """Cell sources as one .py file."""
    return ("\n\n\n".join(s.strip("\n") for s in sources) + "\n").encode()


def stub_of(name: str, function: str) -> str:
    """The template's stub cell for ``function`` (it raises NotImplementedError)."""
    for cell in cells_of_role(template(name), "definition"):
        if defined_name(cell) == function:
            return source_of(cell)
    raise KeyError(function)


# --------------------------------------------------------------------------------------------
# the cases: each returns {path inside the case folder: bytes}
# --------------------------------------------------------------------------------------------
def case_template_solved() -> dict[str, bytes]:
    """The four numpy exercises' templates, stubs replaced by the reference definitions."""
    return {f"{n}.ipynb": as_bytes(solved(n)) for n in NUMPY_EXERCISES}


def case_mnist_solved() -> dict[str, bytes]:
    """The Keras exercise's template, solved (slow: grading trains the model)."""
    return {"mnist_ann.ipynb": as_bytes(solved("mnist_ann"))}


def case_reordered() -> dict[str, bytes]:
    """Definition cells in reverse order and the imports cell last: functions look names up
    when called, so this order works in Jupyter and must earn full marks."""
    nb = solved("neuron")
    intro, imports = nb["cells"][0], cells_of_role(nb, "imports")
    definitions = cells_of_role(nb, "definition")
    rest = [c for c in nb["cells"] if c is not intro and c not in imports + definitions]
    nb["cells"] = [intro] + definitions[::-1] + imports + rest
    return {"neuron.ipynb": as_bytes(renumber(nb, "reordered"))}


def case_use_before_definition() -> dict[str, bytes]:
    """A cell at the top calls relu before anything is defined (NameError, as in Jupyter);
    the cells below define relu, sigmoid, tanh and step but leave the rest as stubs. The
    score must be what those definitions earn: py_twin/neuron.py is the same code as a .py."""
    nb = template("neuron")
    definitions = solution_definitions("neuron")
    done = ("relu", "sigmoid", "tanh", "step")
    for cell in cells_of_role(nb, "definition"):
        if defined_name(cell) in done:
            cell["source"] = definitions[defined_name(cell)]
    early = code('print("relu of -1, 0, 2:", relu(np.array([-1.0, 0.0, 2.0])))')
    nb["cells"].insert(1, early)
    twin = [source_of(c) for c in nb["cells"]
            if c["cell_type"] == "code" and c is not early and role(c) != "example"]
    return {"neuron.ipynb": as_bytes(renumber(nb, "early")),
            f"{TWIN_DIR}/neuron.py": joined(*twin)}


def case_split_cells() -> dict[str, bytes]:
    """Every import in a cell of its own, each definition alone, blank and comment-only cells
    in between, no grader metadata at all (a student who rebuilt the notebook by hand)."""
    source = (SOLUTIONS / "circles.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    lines = source.splitlines()
    definitions = solution_definitions("circles")
    cells = [markdown("# Circles, my way")]
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            cells.append(code("\n".join(lines[node.lineno - 1:node.end_lineno])))
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            cells.append(code(definitions[node.name]))
            cells.append(code(""))
            cells.append(code(f"# {node.name} is done"))
    nb = template("circles")
    nb["cells"] = cells
    return {"circles.ipynb": as_bytes(renumber(nb, "split"))}


def case_merged_cells() -> dict[str, bytes]:
    """The whole of solutions/neuron.py pasted into one code cell."""
    nb = template("neuron")
    source = (SOLUTIONS / "neuron.py").read_text(encoding="utf-8")
    kept = "\n".join(line for line in source.splitlines()
                     if line.strip() not in SOLUTION_MARKERS)
    nb["cells"] = [nb["cells"][0], code(kept)]
    return {"neuron.ipynb": as_bytes(renumber(nb, "merged"))}


def case_duplicated_definitions() -> dict[str, bytes]:
    """The stub cells left in place and the solved cells added after them: the same
    functions defined twice, the later definition wins (as when run top to bottom)."""
    nb = template("neuron")
    definitions = solution_definitions("neuron")
    stubs = cells_of_role(nb, "definition")
    at = nb["cells"].index(stubs[-1]) + 1
    nb["cells"][at:at] = [code(definitions[defined_name(c)]) for c in stubs]
    return {"neuron.ipynb": as_bytes(renumber(nb, "dup"))}


def case_redefined_with_stub() -> dict[str, bytes]:
    """Solved, then a later cell re-runs relu's stub: relu raises again when graded (the last
    definition wins), everything else is intact. py_twin/neuron.py is the same code in order."""
    nb = solved("neuron")
    example = cells_of_role(nb, "example")[0]
    stub = code(stub_of("neuron", "relu"))
    nb["cells"].insert(nb["cells"].index(example), stub)
    twin = [source_of(c) for c in nb["cells"] if c["cell_type"] == "code"
            and role(c) != "example"]
    return {"neuron.ipynb": as_bytes(renumber(nb, "restub")),
            f"{TWIN_DIR}/neuron.py": joined(*twin)}


def case_extra_cells() -> dict[str, bytes]:
    """Cells a student adds: prints, a helper used by a definition, rich display, markdown."""
    nb = solved("neuron")
    definitions = solution_definitions("neuron")
    imports = cells_of_role(nb, "imports")[0]
    at = nb["cells"].index(imports) + 1
    helper = code("def as_float_array(z):\n    return np.asarray(z, dtype=float)\n\n"
                  "print('helper ready')")
    relu = next(c for c in cells_of_role(nb, "definition") if defined_name(c) == "relu")
    relu["source"] = definitions["relu"].replace("np.asarray(z, dtype=float)",
                                                 "as_float_array(z)")
    assert "as_float_array" in relu["source"], "solutions/neuron.py relu changed: update"
    nb["cells"][at:at] = [markdown("My own notes: *relu* clips negatives."), helper]
    nb["cells"] += [
        code("for z in (-2.0, 0.0, 3.0):\n    print(f'relu({z}) = {relu(np.array(z))}')"),
        code("from IPython.display import Markdown, display\n"
             "display(Markdown('**all defined**'))\nsoftmax(np.array([1.0, 2.0]))"),
        markdown("That's all."),
    ]
    return {"neuron.ipynb": as_bytes(renumber(nb, "extra"))}


def case_no_markdown() -> dict[str, bytes]:
    """Every markdown cell deleted: the intro, the written questions and their answer cells."""
    nb = solved("perceptron")
    nb["cells"] = [c for c in nb["cells"] if c["cell_type"] != "markdown"]
    return {"perceptron.ipynb": as_bytes(renumber(nb, "nomd"))}


def case_duplicate_ids() -> dict[str, bytes]:
    """Every cell has the same id (copy-pasted cells in some editors): invalid nbformat 4.5,
    yet Jupyter opens it; the grader must grade it and keep the executed notebook."""
    nb = solved("neuron")
    for cell in nb["cells"]:
        cell["id"] = "same-id"
    return {"neuron.ipynb": as_bytes(nb)}


def case_other_kernel() -> dict[str, bytes]:
    """Saved from a conda environment's kernel: another kernelspec name, same Python."""
    nb = solved("neuron")
    nb["metadata"]["kernelspec"] = {"name": "conda-env-dl-py", "language": "python",
                                    "display_name": "Python [conda env:dl]"}
    nb["metadata"]["language_info"] = {"name": "python", "version": "3.10.13",
                                       "file_extension": ".py"}
    return {"neuron.ipynb": as_bytes(nb)}


def case_old_nbformat() -> dict[str, bytes]:
    """nbformat 4.0 (neuron) and 4.4 (perceptron): no cell ids, which only 4.5 has."""
    return {"neuron.ipynb": as_bytes(without_ids(solved("neuron"), 0)),
            "perceptron.ipynb": as_bytes(without_ids(solved("perceptron"), 4))}


def case_missing_data_file() -> dict[str, bytes]:
    """A cell reads a file that only existed on the student's computer: FileNotFoundError
    for that cell, the cells after it still run, the definitions are elsewhere."""
    nb = solved("neuron")
    imports = cells_of_role(nb, "imports")[0]
    nb["cells"].insert(nb["cells"].index(imports) + 1, code(
        "with open('data/my_measurements.csv') as fh:\n    measurements = fh.read()\n"
        "print(len(measurements))"))
    return {"neuron.ipynb": as_bytes(renumber(nb, "nofile"))}


def case_pip_install() -> dict[str, bytes]:
    """Install lines as students write them; none may run (no network) nor delay grading."""
    nb = solved("neuron")
    nb["cells"].insert(1, code(
        "!pip install numpy\n%pip install --quiet tensorflow==2.21\n"
        "!conda install -y scikit-learn\n  %pip install matplotlib  # indented\n"
        "print('after the installs')"))
    return {"neuron.ipynb": as_bytes(renumber(nb, "pip"))}


def case_pip_via_interpreter() -> dict[str, bytes]:
    """The install idiom of many tutorials, ``!{sys.executable} -m pip``, for a package the
    grader does not have (pip would retry the network for seconds)."""
    nb = solved("neuron")
    nb["cells"].insert(1, code(
        "import sys\n!{sys.executable} -m pip install seaborn\nprint('after the install')"))
    return {"neuron.ipynb": as_bytes(renumber(nb, "pipexe"))}


def case_matplotlib_inline() -> dict[str, bytes]:
    """%matplotlib inline and a plot: the executed notebook must hold the figure (image/png)."""
    nb = solved("neuron")
    nb["cells"].append(code(
        "%matplotlib inline\nimport matplotlib.pyplot as plt\n\n"
        "z = np.linspace(-6, 6, 200)\nplt.plot(z, sigmoid(z), label='sigmoid')\n"
        "plt.plot(z, tanh(z), label='tanh')\nplt.legend()\nplt.title('activations')\n"
        "plt.show()"))
    return {"neuron.ipynb": as_bytes(renumber(nb, "plot"))}


def case_infinite_loop() -> dict[str, bytes]:
    """A cell that never ends, between the definitions: it is stopped at the per-cell limit
    and marked; the definitions after it still run."""
    nb = solved("neuron")
    relu = cells_of_role(nb, "definition")[0]
    nb["cells"].insert(nb["cells"].index(relu) + 1, code(
        "while True:  # forgot to update the loop variable\n    pass"))
    return {"neuron.ipynb": as_bytes(renumber(nb, "loop"))}


def case_swallowed_timeout() -> dict[str, bytes]:
    """A cell that ignores the grader's per-cell alarm and loops forever: only the limit on
    the whole notebook stops it, and nothing the notebook defines can be graded."""
    nb = solved("neuron")
    relu = cells_of_role(nb, "definition")[0]
    nb["cells"].insert(nb["cells"].index(relu) + 1, code(
        "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass"))
    return {"neuron.ipynb": as_bytes(renumber(nb, "noalarm"))}


def case_hidden_errors() -> dict[str, bytes]:
    """A cell silences IPython's error display, a later cell raises, and softmax is left as
    the stub: the errors are still recorded and the score is what the code earns
    (py_twin/neuron.py holds the same definitions)."""
    nb = solved("neuron")
    softmax = next(c for c in cells_of_role(nb, "definition") if defined_name(c) == "softmax")
    softmax["source"] = stub_of("neuron", "softmax")
    imports = cells_of_role(nb, "imports")[0]
    silence = code("ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
                   "ip._showtraceback = lambda *a, **k: None\n"
                   "ip.showsyntaxerror = lambda *a, **k: None")
    raising = code("print('about to fail')\n1 / 0")
    at = nb["cells"].index(imports) + 1
    nb["cells"][at:at] = [silence, raising]
    twin = [source_of(c) for c in nb["cells"] if c["cell_type"] == "code"
            and role(c) in ("imports", "definition")]
    return {"neuron.ipynb": as_bytes(renumber(nb, "silent")),
            f"{TWIN_DIR}/neuron.py": joined(*twin)}


def case_exit_calls() -> dict[str, bytes]:
    """sys.exit(), exit() and quit() in cells: Jupyter records them, the later cells run."""
    nb = solved("neuron")
    nb["cells"][1:1] = [code("import sys\nsys.exit(1)"), code("exit()"), code("quit()")]
    return {"neuron.ipynb": as_bytes(renumber(nb, "exits"))}


def case_os_exit() -> dict[str, bytes]:
    """os._exit(0) halfway through: the process is gone, grading must still complete."""
    nb = solved("neuron")
    relu = cells_of_role(nb, "definition")[0]
    nb["cells"].insert(nb["cells"].index(relu) + 1, code("import os\nos._exit(0)"))
    return {"neuron.ipynb": as_bytes(renumber(nb, "osexit"))}


def case_sabotaged_shell() -> dict[str, bytes]:
    """A cell replaces the shell's run_cell, so the cells after it are never run for real."""
    nb = solved("neuron")
    nb["cells"].insert(1, code("get_ipython().run_cell = lambda *args, **kwargs: None"))
    return {"neuron.ipynb": as_bytes(renumber(nb, "runcell"))}


def case_script_injection() -> dict[str, bytes]:
    """Scripts and event handlers in a markdown cell, a written answer and rich outputs: the
    rendered notebook (and the report, which shows the answer) must carry none of them."""
    nb = solved("neuron")
    answer = next(c for c in nb["cells"] if c["metadata"].get("grader", {}).get("manual"))
    answer["source"] = ("The bias shifts the boundary. <script>alert('answer-script')</script>"
                        "<img src=\"x\" onerror=\"alert('answer-onerror')\">")
    nb["cells"].insert(1, markdown(
        "# Notes <script>alert('md-script')</script>\n\n"
        "<img src=\"x\" onerror=\"alert('md-onerror')\">\n\n"
        "<a href=\"javascript:alert('md-href')\" onclick=\"alert('md-onclick')\">a link</a>\n\n"
        "[a markdown link](javascript:alert('md-link'))\n\n"
        "<svg onload=\"alert('md-svg')\"><circle r=\"4\"/></svg>\n\n"
        "<iframe src=\"https://example.com/\"></iframe>\n\n"
        "<style>body { display: none }</style>\n\n"
        "<form action=\"https://example.com/\"><input autofocus onfocus=\"alert('focus')\">"
        "</form>\n\n<object data=\"x.swf\"></object><embed src=\"x.swf\">\n"))
    nb["cells"].append(code(
        "from IPython.display import HTML, SVG, Javascript, Markdown, display\n"
        "display(HTML('<script>alert(\"out-script\")</script>'\n"
        "             '<img src=\"x\" onerror=\"alert(1)\"><b onmouseover=\"alert(2)\">bold</b>'))\n"
        "display(Javascript('alert(\"js-output\")'))\n"
        "display(SVG('<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(3)\">'\n"
        "            '<script>alert(4)</script><circle r=\"4\"/></svg>'))\n"
        "display(Markdown('<script>alert(\"md-output\")</script>'))\n"
        "HTML('<img src=x onerror=alert(\"execute-result\")>')"))
    return {"neuron.ipynb": as_bytes(renumber(nb, "inject"))}


def case_reads_hidden_suite() -> dict[str, bytes]:
    """A cell tries to print the hidden suite from the grader package next to the worker."""
    nb = solved("neuron")
    nb["cells"].insert(1, code(
        "import pathlib, grader\n"
        "suite = pathlib.Path(grader.__file__).parent / 'suites' / 'neuron' / 'test_neuron.py'\n"
        "print(suite.read_text())"))
    return {"neuron.ipynb": as_bytes(renumber(nb, "peek"))}


def case_resubmitted_executed() -> dict[str, bytes]:
    """A notebook carrying the grader's own cell metadata from an earlier grading (the student
    downloaded the executed notebook, fixed the cell that timed out, submitted it again)."""
    nb = solved("neuron")
    relu = cells_of_role(nb, "definition")[0]
    fixed = code("print('the loop is fixed')")
    fixed["metadata"]["grader"] = {"error": "CellTimeout", "seconds": 30.01, "timeout": True}
    fixed["execution_count"] = 3
    fixed["outputs"] = [{"output_type": "error", "ename": "CellTimeout",
                         "evalue": "this cell ran longer than 30 s and was stopped",
                         "traceback": []}]
    nb["cells"].insert(nb["cells"].index(relu) + 1, fixed)
    return {"neuron.ipynb": as_bytes(renumber(nb, "resub"))}


# ---- malformed notebooks: refused before any worker starts ---------------------------------
def case_malformed_invalid_json() -> dict[str, bytes]:
    """Cut short while saving."""
    text = as_bytes(solved("neuron"))
    return {"neuron.ipynb": text[: len(text) // 2]}


def case_malformed_nbformat3() -> dict[str, bytes]:
    """An IPython 2 notebook (nbformat 3: worksheets, ``input`` instead of ``source``)."""
    definitions = solution_definitions("neuron")
    cells = [{"cell_type": "code", "collapsed": False, "input": src, "language": "python",
              "metadata": {}, "outputs": []}
             for src in ["import numpy as np", *definitions.values()]]
    return {"neuron.ipynb": as_bytes({"metadata": {"name": "neuron"}, "nbformat": 3,
                                      "nbformat_minor": 0,
                                      "worksheets": [{"cells": cells, "metadata": {}}]})}


def case_malformed_binary() -> dict[str, bytes]:
    """A PNG screenshot renamed to .ipynb."""
    return {"neuron.ipynb": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4}


def case_malformed_empty() -> dict[str, bytes]:
    return {"neuron.ipynb": b""}


def case_malformed_json_list() -> dict[str, bytes]:
    """Valid JSON, but a list of cells instead of a notebook object."""
    return {"neuron.ipynb": as_bytes(solved("neuron")["cells"])}


def case_malformed_no_cells() -> dict[str, bytes]:
    """nbformat 4 metadata with no cells list."""
    return {"neuron.ipynb": as_bytes({"metadata": {}, "nbformat": 4, "nbformat_minor": 5})}


def case_malformed_cell_source() -> dict[str, bytes]:
    """A code cell whose source is a list of numbers, not text."""
    nb = solved("neuron")
    nb["cells"].insert(1, code([1, 2]))  # type: ignore[arg-type]
    return {"neuron.ipynb": as_bytes(renumber(nb, "badsrc"))}


def case_malformed_answer_source() -> dict[str, bytes]:
    """A written-answer cell whose source is a list of numbers, not text."""
    nb = solved("neuron")
    answer = next(c for c in nb["cells"] if c["metadata"].get("grader", {}).get("manual"))
    answer["source"] = [1, 2]
    return {"neuron.ipynb": as_bytes(nb)}


def case_malformed_deep_nesting() -> dict[str, bytes]:
    """Valid JSON nested deeper than Python's recursion limit."""
    depth = 5000
    return {"neuron.ipynb": b'{"nbformat": 4, "nbformat_minor": 5, "cells": [], '
                            b'"metadata": {"x": ' + b"[" * depth + b"]" * depth + b"}}\n"}


CASES: dict[str, Callable[[], dict[str, bytes]]] = {
    name[len("case_"):]: fn for name, fn in sorted(globals().items())
    if name.startswith("case_") and callable(fn)
}
MALFORMED = sorted(c for c in CASES if c.startswith("malformed_"))


def large_outputs_notebook(megabytes: int = 5) -> bytes:
    """The solved neuron notebook as saved after a noisy earlier run: a text output of
    ``megabytes`` MB, a stale image, a stale error and stale execution counts (not committed:
    the tests build it in a temp folder)."""
    nb = solved("neuron")
    code_cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    code_cells[0]["outputs"] = [{"output_type": "stream", "name": "stdout",
                                 "text": "stale output line\n" * (megabytes * (1 << 20) // 18)}]
    code_cells[1]["outputs"] = [{"output_type": "display_data", "metadata": {},
                                 "data": {"image/png": "iVBORw0KGgo=" * 1000,
                                          "text/plain": "<Figure>"}}]
    code_cells[2]["outputs"] = [{"output_type": "error", "ename": "StaleError",
                                 "evalue": "from an earlier run", "traceback": ["stale"]}]
    for number, cell in enumerate(code_cells, start=40):
        cell["execution_count"] = number
    return as_bytes(nb)


# --------------------------------------------------------------------------------------------
def build_all() -> dict[str, dict[str, bytes]]:
    return {case: build() for case, build in CASES.items()}


def stale_files(dest: Path = HERE) -> list[str]:
    """Case files that differ from what the builders make now, or are missing/unexpected."""
    problems = []
    for case, files in build_all().items():
        folder = dest / case
        for rel, data in files.items():
            path = folder / rel
            if not path.is_file() or path.read_bytes() != data:
                problems.append(f"{case}/{rel}")
        if folder.is_dir():
            extra = {p.relative_to(folder).as_posix() for p in folder.rglob("*")
                     if p.is_file()} - set(files)
            problems += [f"{case}/{rel} (not built by make_notebooks.py)" for rel in extra]
    return problems


def write_all(dest: Path = HERE) -> list[Path]:
    written = []
    for case, files in build_all().items():
        for rel, data in files.items():
            path = dest / case / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.is_file() or path.read_bytes() != data:
                path.write_bytes(data)
                written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a case folder is out of date")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for rel in stale:
            print(f"stale: {rel}")
        return 1 if stale else 0
    for path in write_all():
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
