"""The worker's filesystem is an allow-list (grader/worker_view.py, grader/sandbox.py).

Other copies of the course on the machine -- a second clone, a .pyc-only tree, a bare git
mirror, a wheel in a pip cache, a tarball, a $GRADER_SOLUTIONS folder, a CI runner's home and
temp folder -- are made world-readable under /srv/<name>/ and the grading user's ~/<name>/.
A hostile submission that knows their paths (baked into its source: the environment is
scrubbed) tries to list, read, glob and import them, walks the whole file system it can see
for anything of the course, and reports what it found: through its return value (a direct
call through the proxy) and through its output (grade, batch and check on the command line,
for a .py file, a notebook and a zip). Under bubblewrap it must find nothing; run without a
sandbox, the same probe finds everything (so the probe works). Also: the reference solution
still earns full marks, legitimate imports work in the worker, and the temporary folders the
grader makes are gone after each run.
"""
from __future__ import annotations

import base64
import compileall
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import uuid
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader import assignment, sandbox, worker_view
from grader.grading import grade
from grader.proxy import StudentModule
from grader.sandbox import Limits, detect_mode
from helpers_core import HAVE_BWRAP, NO_BWRAP

PROJECT_ROOT = assignment.PROJECT_ROOT
SOLUTION = PROJECT_ROOT / "solutions" / "neuron.py"
needs_bwrap = pytest.mark.skipif(not HAVE_BWRAP, reason=NO_BWRAP)
MARK = re.compile(r"ALLOWLIST-PROBE:([A-Za-z0-9+/=]+):END")


# --------------------------------------------------------------------------------------------
# copies of the course, world-readable, where a student might look
# --------------------------------------------------------------------------------------------
def _course_files(dest: Path) -> None:
    """A plain copy: the reference solutions and the hidden suites."""
    shutil.copytree(PROJECT_ROOT / "solutions", dest / "solutions",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(assignment.SUITES_DIR, dest / "grader" / "suites",
                    ignore=shutil.ignore_patterns("__pycache__"))


def _make_copies(base: Path) -> list[dict]:
    """Every form of a copy under ``base``; returns the probe's targets."""
    base.mkdir(parents=True)
    targets = []
    tree = base / "clone"
    _course_files(tree)
    targets += [{"kind": "dir", "path": str(tree)},
                {"kind": "file", "path": str(tree / "solutions" / "neuron.py")},
                {"kind": "py", "path": str(tree / "grader" / "suites" / "neuron" /
                                           "test_neuron.py")},
                {"kind": "syspath", "path": str(tree), "module": "solutions.neuron"}]
    pyc = base / "pyc-only"
    _course_files(pyc)
    compileall.compile_dir(str(pyc), quiet=1, legacy=True)   # neuron.pyc next to neuron.py
    for source in list(pyc.rglob("*.py")):
        source.unlink()
    targets += [{"kind": "dir", "path": str(pyc)},
                {"kind": "pyc", "path": str(pyc / "solutions" / "neuron.pyc")}]
    mirror = base / "course.git"
    subprocess.run(["git", "clone", "-q", "--mirror", "--no-hardlinks", str(PROJECT_ROOT),
                    str(mirror)], check=True, capture_output=True, timeout=120)
    targets += [{"kind": "dir", "path": str(mirror)},
                {"kind": "file", "path": str(mirror / "HEAD")}]
    wheel_dir = base / ".cache" / "pip" / "wheels" / "ab" / "cd"
    wheel_dir.mkdir(parents=True)
    wheel = wheel_dir / "dl_grader-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path in sorted(assignment.PACKAGE_DIR.rglob("*.py")):
            if "__pycache__" not in path.parts:
                zf.write(path, path.relative_to(assignment.PACKAGE_DIR.parent).as_posix())
        zf.write(SOLUTION, "solutions/neuron.py")
    targets += [{"kind": "zip", "path": str(wheel), "module": "grader.suites.neuron.test_neuron"},
                {"kind": "dir", "path": str(base / ".cache")}]
    tarball = base / "course.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(tree, arcname="course")
    targets.append({"kind": "tar", "path": str(tarball)})
    solutions = base / "grader-solutions"          # what $GRADER_SOLUTIONS names
    shutil.copytree(PROJECT_ROOT / "solutions", solutions,
                    ignore=shutil.ignore_patterns("__pycache__"))
    targets += [{"kind": "dir", "path": str(solutions)},
                {"kind": "file", "path": str(solutions / "neuron.py")}]
    for name in ("runner-home", "runner-temp", "workspace"):  # a CI runner's folders
        folder = base / name
        _course_files(folder)
        (folder / "secret.txt").write_text("runner file\n")
        targets += [{"kind": "dir", "path": str(folder)},
                    {"kind": "file", "path": str(folder / "secret.txt")}]
    event = base / "runner-temp" / "event.json"
    event.write_text(json.dumps({"repository": {"full_name": "course/secret"}}))
    targets.append({"kind": "file", "path": str(event)})
    for root, dirs, files in os.walk(base):               # world-readable, every bit of it
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    base.chmod(0o755)
    return targets


@pytest.fixture(scope="module")
def copies():
    """Copies under /srv/<name>/ and ~/<name>/; removed afterwards."""
    name = f"dl-course-copy-{uuid.uuid4().hex[:10]}"
    roots = [Path("/srv") / name, Path(os.path.expanduser("~")) / name]
    targets = []
    made = []
    try:
        for root in roots:
            try:
                targets += _make_copies(root)
            except PermissionError:
                continue                                  # /srv not writable: skip that root
            made.append(root)
        if not made:
            pytest.skip("neither /srv nor the home folder is writable")
        srv = made[0]
        yield {"name": name, "roots": made, "targets": targets,
               "solutions": srv / "grader-solutions",
               "ci_env": {"GITHUB_ACTIONS": "true", "CI": "true",
                          "HOME": str(srv / "runner-home"),
                          "RUNNER_TEMP": str(srv / "runner-temp"),
                          "GITHUB_WORKSPACE": str(srv / "workspace"),
                          "GITHUB_EVENT_PATH": str(srv / "runner-temp" / "event.json"),
                          "GRADER_SOLUTIONS": str(srv / "grader-solutions")}}
    finally:
        for root in roots:
            shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# the hostile submission
# --------------------------------------------------------------------------------------------
PROBE = r'''

# ---- hostile: look for every copy of the course this process can reach ----------------------
import base64 as _b64
import glob as _glob
import importlib.util as _ilu
import json as _json
import os as _os
import sys as _sys
import tarfile as _tarfile
import zipfile as _zipfile
import zipimport as _zipimport

_TARGETS = __TARGETS__
_NAMES = __NAMES__
_EXACT = __EXACT__
_WALK = __WALK__


def _attempt(target):
    """What this process got out of one target: a list of what worked (empty: nothing)."""
    got = []
    path, kind = target["path"], target["kind"]

    def note(label, fn):
        try:
            value = fn()
        except BaseException as exc:  # noqa: BLE001 - every way of failing is "not found"
            return
        if value:
            got.append(label)

    note("exists", lambda: _os.path.exists(path) or _os.path.lexists(path))
    if kind == "dir":
        note("listdir", lambda: _os.listdir(path))
        note("glob", lambda: _glob.glob(_os.path.join(path, "**", "*"), recursive=True))
        note("walk", lambda: [f for _, _, fs in _os.walk(path) for f in fs])
        note("scandir", lambda: [e.name for e in _os.scandir(path)])
    elif kind in ("file", "py", "pyc", "zip", "tar"):
        note("read", lambda: open(path, "rb").read(200))
    if kind in ("py", "pyc"):
        def load():
            spec = _ilu.spec_from_file_location("_stolen_" + kind, path)
            module = _ilu.module_from_spec(spec)
            spec.loader.exec_module(module)
            return vars(module)
        note("import", load)
    if kind == "syspath":
        def from_path():
            def forget():  # a module imported from an earlier target must not count here
                for name in [m for m in _sys.modules if m.split(".")[0] == "solutions"]:
                    del _sys.modules[name]
            forget()
            _sys.path.insert(0, path)
            try:
                return __import__(target["module"], fromlist=["*"]).__file__.startswith(path)
            finally:
                _sys.path.remove(path)
                forget()
        note("import", from_path)
    if kind == "zip":
        note("zip", lambda: _zipfile.ZipFile(path).namelist())
        note("import", lambda: _zipimport.zipimporter(path).find_spec(target["module"]))
    if kind == "tar":
        note("tar", lambda: _tarfile.open(path).getnames())
    return got


def _walk_everything(limit=600_000):
    """Names anywhere in this process's file system that betray the course."""
    hits, seen = [], 0
    for dirpath, dirs, files in _os.walk("/"):
        if dirpath == "/":
            dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
        if dirpath.startswith(("/tmp/submission", __STAGED__)):
            continue
        for name in dirs + files:
            seen += 1
            if name in _EXACT or any(n in name.lower() for n in _NAMES):
                hits.append(_os.path.join(dirpath, name))
        if seen > limit:
            hits.append(f"walk stopped after {seen} entries")
            break
    return hits[:100], seen


def allowlist_probe():
    found = {t["path"] + " (" + t["kind"] + ")": _attempt(t) for t in _TARGETS}
    report = {"found": {k: v for k, v in found.items() if v}, "tried": len(found)}
    if _WALK:
        report["walk"], report["walked"] = _walk_everything()
    return report


_REPORT = allowlist_probe()
print("ALLOWLIST-PROBE:" + _b64.b64encode(_json.dumps(_REPORT).encode()).decode() + ":END",
      flush=True)
'''

# names no file of the worker's view may have (in part, or exactly): the copies' own folder
# name, the course's distribution, a suite's test file, the solutions and suites folders
BETRAYING_NAMES = ["dl_grader", "dl-grader", "dl-course-copy-", "test_neuron",
                   "grader-solutions", "runner-temp"]
BETRAYING_EXACT = ["solutions", "suites", "grader"]


def probe_source(targets: list[dict], walk: bool) -> str:
    return (PROBE.replace("__TARGETS__", repr(targets))
            .replace("__NAMES__", repr(BETRAYING_NAMES))
            .replace("__EXACT__", repr(BETRAYING_EXACT))
            .replace("__STAGED__", repr(worker_view.WORKER_PACKAGE_MOUNT))
            .replace("__WALK__", repr(walk)))


def hostile_submission(folder: Path, copies: dict, *, notebook: bool = False) -> Path:
    """The reference neuron solution plus the probe, as neuron.py or neuron.ipynb."""
    folder.mkdir(parents=True, exist_ok=True)
    source = SOLUTION.read_text() + probe_source(copies["targets"], walk=True)
    if not notebook:
        path = folder / "neuron.py"
        path.write_text(source)
        return path
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A single neuron"),
                nbformat.v4.new_code_cell(SOLUTION.read_text()),
                nbformat.v4.new_code_cell(probe_source(copies["targets"], walk=True))]
    path = folder / "neuron.ipynb"
    nbformat.write(nb, str(path))
    return path


def reports_in(*roots: Path) -> list[dict]:
    """Every probe report printed into files under ``roots`` (result.json, notebooks...)."""
    found = []
    for root in roots:
        for path in [root] if root.is_file() else sorted(root.rglob("*")):
            if path.is_file():
                text = path.read_text(errors="replace")
                found += [json.loads(base64.b64decode(m)) for m in MARK.findall(text)]
    return found


def assert_found_nothing(report: dict, copies: dict) -> None:
    assert report["tried"] == len(copies["targets"])
    assert report["found"] == {}, f"student code reached copies of the course: {report['found']}"
    assert "walk" in report and report["walked"] > 1000, report   # it really looked around
    assert report["walk"] == [], f"the worker's file system names the course: {report['walk']}"


@pytest.fixture(scope="module")
def control(copies, tmp_path_factory):
    """The same probe without a sandbox (no walk): it reaches every copy."""
    folder = tmp_path_factory.mktemp("control")
    (folder / "probe.py").write_text(probe_source(copies["targets"], walk=False))
    done = subprocess.run([sys.executable, "probe.py"], cwd=folder, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(base64.b64decode(MARK.search(done.stdout).group(1)))


def test_the_probe_reaches_every_copy_without_a_sandbox(control, copies):
    assert control["tried"] == len(copies["targets"])
    missing = [t["path"] for t in copies["targets"]
               if f"{t['path']} ({t['kind']})" not in control["found"]]
    assert missing == [], f"the probe cannot reach these even unsandboxed: {missing}"
    imports = [k for k, v in control["found"].items() if "import" in v]
    assert len(imports) >= 2 * len(copies["roots"])   # .py, .pyc, sys.path and the wheel


# --------------------------------------------------------------------------------------------
# through the proxy: the probe's return value, legitimate imports, in the same worker
# --------------------------------------------------------------------------------------------
LEGIT = '''

def legitimate_imports():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    import sklearn
    from sklearn.linear_model import LogisticRegression

    x = np.arange(20.0).reshape(10, 2)
    y = (x[:, 0] > 9).astype(int)
    fitted = LogisticRegression().fit(x, y).score(x, y)
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    fig.savefig("/tmp/plot.png")
    frame = pd.DataFrame({"a": [1, 2, 3]})
    import grader
    return {"numpy": np.__version__, "pandas": int(frame["a"].sum()), "sklearn": fitted,
            "plot": __import__("os").path.getsize("/tmp/plot.png"),
            "grader": sorted(__import__("os").listdir(__import__("os").path.dirname(
                grader.__file__)))}
'''


@pytest.fixture(scope="module")
def proxied(copies, tmp_path_factory):
    folder = tmp_path_factory.mktemp("proxied")
    path = hostile_submission(folder, copies)
    path.write_text(path.read_text() + LEGIT)
    module = StudentModule("neuron", path, folder, detect_mode("bubblewrap"), Limits(),
                           call_timeout=60.0, budget=300.0)
    yield module
    module.close()


@needs_bwrap
def test_return_value_shows_no_copy_of_the_course(proxied, copies, control):
    assert control["found"]                                  # reachable without the sandbox
    assert_found_nothing(proxied.allowlist_probe(), copies)
    assert reports_in_text(proxied.output) != []             # the import-time run, too
    for report in reports_in_text(proxied.output):
        assert_found_nothing(report, copies)


def reports_in_text(text: str) -> list[dict]:
    return [json.loads(base64.b64decode(m)) for m in MARK.findall(text)]


@needs_bwrap
def test_legitimate_imports_work_in_the_worker(proxied):
    got = proxied.legitimate_imports()
    assert got["pandas"] == 6 and got["sklearn"] == 1.0 and got["plot"] > 1000
    assert got["numpy"]
    # the grader package the worker sees is its staged worker-side part, nothing more
    assert got["grader"] == sorted(["__init__.py"] + [f"{m}.py" for m in
                                                     worker_view.worker_modules()])


# --------------------------------------------------------------------------------------------
# the command line: grade (.py, notebook), batch (folder + zip), check; CI environment
# --------------------------------------------------------------------------------------------
def run_cli(args: list[str], copies: dict, tmp: Path, cwd: Path) -> tuple[
        subprocess.CompletedProcess, Path]:
    """``python -m grader ARGS`` in a CI-like environment with a private TMPDIR."""
    tmpdir = tmp / "tmpdir"
    tmpdir.mkdir()
    env = {**os.environ, **copies["ci_env"], "TMPDIR": str(tmpdir),
           "GRADER_SANDBOX": "bubblewrap", "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("MPLCONFIGDIR", None)
    done = subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    return done, tmpdir


def assert_no_grader_temp_left(tmpdir: Path) -> None:
    left = sorted(p.name for p in tmpdir.iterdir())
    assert left == [], f"temporary folders left behind after the run: {left}"


@needs_bwrap
@pytest.mark.parametrize("notebook", [False, True], ids=["py", "notebook"])
def test_grade_cli_in_ci_finds_nothing(copies, tmp_path, notebook):
    submission = tmp_path / "alice"
    hostile_submission(submission, copies, notebook=notebook)
    out = tmp_path / "out"
    done, tmpdir = run_cli(["grade", str(submission), "--exercise", "neuron", "--out",
                            str(out)], copies, tmp_path, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((out / "result.json").read_text())
    assert result["sandbox"]["mode"] == "bubblewrap"
    ex = result["exercises"][0]
    failed = [(t["id"], t["message"]) for t in ex["tests"] if t["outcome"] != "passed"]
    assert ex["tests"] and failed == [], failed             # the probe costs nothing
    reports = reports_in(out)
    assert reports, f"no probe report in {sorted(p.name for p in out.rglob('*'))}"
    for report in reports:
        assert_found_nothing(report, copies)
    assert_no_grader_temp_left(tmpdir)


@needs_bwrap
def test_batch_cli_finds_nothing(copies, tmp_path):
    source = tmp_path / "class"
    hostile_submission(source / "bob", copies)
    hostile_submission(tmp_path / "carol", copies, notebook=True)
    shutil.make_archive(str(source / "carol"), "zip", tmp_path / "carol")
    out = tmp_path / "out"
    done, tmpdir = run_cli(["batch", str(source), "--exercise", "neuron", "--out", str(out),
                            "--jobs", "1"], copies, tmp_path, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    for student in ("bob", "carol"):
        result = json.loads((out / student / "result.json").read_text())
        assert result["sandbox"]["mode"] == "bubblewrap"
        reports = reports_in(out / student)
        assert reports, f"no probe report for {student}"
        for report in reports:
            assert_found_nothing(report, copies)
    assert_no_grader_temp_left(tmpdir)


@needs_bwrap
def test_check_cli_finds_nothing(copies, tmp_path):
    work = tmp_path / "work"
    hostile_submission(work, copies)
    out = tmp_path / "out"
    done, tmpdir = run_cli(["check", "neuron", str(work), "--out", str(out), "--format",
                            "github"], copies, tmp_path, work)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    reports = reports_in(out)
    assert reports, f"no probe report in {sorted(p.name for p in out.rglob('*'))}"
    for report in reports:
        assert_found_nothing(report, copies)
    assert_no_grader_temp_left(tmpdir)


@pytest.mark.parametrize("mode", [pytest.param("bubblewrap", marks=needs_bwrap), "reduced"])
def test_in_process_grading_leaves_no_temp_folders(tmp_path, monkeypatch, mode):
    """A zip (extracted to grader-zip-*), the worker's copy (grader-neuron-*) and, in reduced
    mode, its home (grader-home-*): all gone when grade() returns. Only the staged worker
    modules and matplotlib's config folder stay, once per process, until it exits (the
    command-line tests and test_staged_package_is_removed_when_the_process_exits)."""
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(SOLUTION, source / "neuron.py")
    archive = Path(shutil.make_archive(str(tmp_path / "dave"), "zip", source))
    private = tmp_path / "tmpdir"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    seen: list[str] = []
    real_mkdtemp = tempfile.mkdtemp

    def watched(*args, **kwargs):          # which temporary folders the run made
        path = real_mkdtemp(*args, **kwargs)
        seen.append(Path(path).name)
        return path

    monkeypatch.setattr(tempfile, "mkdtemp", watched)
    result = grade(archive, exercises=["neuron"], sandbox=mode)
    assert result.exercises[0].tests and all(
        t.outcome == "passed" for t in result.exercises[0].tests)
    made = {re.sub(r"-[^-]*$", "-", name) for name in seen}
    assert {"grader-zip-", "grader-neuron-"} <= made, seen
    if mode == "reduced":
        assert "grader-home-" in made, seen
    once_per_process = ("grader-worker-", "grader-mpl-")     # removed at exit (CLI tests)
    left = sorted(p.name for p in private.iterdir() if not p.name.startswith(once_per_process))
    assert left == [], f"temporary folders left behind: {left}"


# --------------------------------------------------------------------------------------------
# the reference still earns full marks; reduced mode says what it cannot promise
# --------------------------------------------------------------------------------------------
@needs_bwrap
def test_reference_solution_earns_full_marks_in_the_view(tmp_path):
    (tmp_path / "ref").mkdir()
    shutil.copy(SOLUTION, tmp_path / "ref" / "neuron.py")
    result = grade(tmp_path / "ref", exercises=["neuron"], sandbox="bubblewrap")
    assert result.sandbox["mode"] == "bubblewrap"
    tests = result.exercises[0].tests
    assert tests and all(t.outcome == "passed" for t in tests), [
        (t.id, t.message) for t in tests if t.outcome != "passed"]
    # every point the tests give is earned (manual questions, if any, are not tests)
    assert sum(t.points for t in tests) == sum(t.max_points for t in tests) > 0


def test_reduced_mode_says_it_cannot_hide_files():
    detect_mode.cache_clear()
    notes = " ".join(detect_mode("reduced").notes)
    detect_mode.cache_clear()
    assert "not hidden" in notes and "copy of the course" in notes, notes
    security = (PROJECT_ROOT / "docs" / "SECURITY.md").read_text()
    assert "allow-list" in security and "reduced" in security


# --------------------------------------------------------------------------------------------
# the view itself, without student code
# --------------------------------------------------------------------------------------------
def test_staged_package_holds_the_worker_side_modules_only():
    modules = worker_view.worker_modules()
    assert {"worker", "wire", "worker_notebook"} <= set(modules)
    assert not set(modules) & worker_view.NEVER_STAGED
    worker_view.discard_staged_worker_package()    # a fresh copy of today's sources
    staged = worker_view.staged_worker_package()
    assert staged == worker_view.staged_worker_package()          # once per process
    files = sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*"))
    assert files == ["grader"] + sorted(
        ["grader/__init__.py"] + [f"grader/{m}.py" for m in modules])
    init = (staged / "grader" / "__init__.py").read_text()
    assert "import" not in init                                 # not the real, heavy __init__
    for name in modules:
        assert (staged / "grader" / f"{name}.py").read_bytes() == \
            (assignment.PACKAGE_DIR / f"{name}.py").read_bytes()


def test_worker_imports_are_followed_into_functions(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text(
        "import os\nfrom grader import wire\nimport grader.alpha\n"
        "def f():\n    from grader.beta import x\n    from . import gamma\n"
        "    from .delta import y\n    import numpy.grader\n")
    assert worker_view._grader_imports(source) == {"wire", "alpha", "beta", "gamma", "delta"}


def test_staged_package_is_removed_when_the_process_exits(tmp_path):
    code = ("from grader import worker_view\n"
            "print(worker_view.staged_worker_package())\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "TMPDIR": str(tmp_path)},
                          cwd=PROJECT_ROOT)
    assert done.returncode == 0, done.stderr
    staged = Path(done.stdout.strip())
    assert staged.parent == tmp_path and staged.name.startswith("grader-worker-")
    assert not staged.exists()


def _site_dir(tmp_path: Path, checkout: Path) -> Path:
    """A site-packages folder with an editable install of the course and ordinary packages."""
    (checkout / "grader" / "suites").mkdir(parents=True)
    (checkout / "grader" / "worker.py").write_text("")
    (checkout / "grader" / "sandbox.py").write_text("")
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    (site / "numpy").mkdir(parents=True)
    (site / "numpy" / "__init__.py").write_text("")
    (site / "six.py").write_text("")
    (site / "distutils-precedence.pth").write_text("import os; os.environ.get('X')\n")
    (site / "grader").mkdir()
    (site / "grader" / "__init__.py").write_text("")
    (site / "dl_grader-0.1.0.dist-info").mkdir()
    (site / "dl_grader_student-0.1.0.dist-info").mkdir()
    (site / "__editable__.course-0.1.0.pth").write_text("import __editable___course_finder\n")
    (site / "__editable___course_finder.py").write_text(
        f"MAPPING = {{'grader': '{checkout / 'grader'}'}}\n")
    (site / "course-dev.pth").write_text(f"{checkout}\n")
    (site / "tests").mkdir()
    (site / "__pycache__").mkdir()
    (site / "__pycache__" / "six.cpython-311.pyc").write_bytes(b"")
    (site / "__pycache__" / "__editable___course_finder.cpython-311.pyc").write_bytes(
        str(checkout).encode())
    return site


def test_course_entries_of_a_site_folder_are_recognised(tmp_path):
    site = _site_dir(tmp_path, tmp_path / "checkout")
    course = sorted(p.name for p in site.iterdir() if worker_view.is_course_entry(p))
    assert course == ["__editable__.course-0.1.0.pth", "__editable___course_finder.py",
                      "course-dev.pth", "dl_grader-0.1.0.dist-info",
                      "dl_grader_student-0.1.0.dist-info", "grader", "tests"]
    view = worker_view.View()
    view.bind_filtered(site)
    bound = {Path(op.dest).name for op in view.ops if op.kind == "ro-bind"}
    assert bound == {"numpy", "six.py", "distutils-precedence.pth", "six.cpython-311.pyc"}


@needs_bwrap
def test_a_filtered_site_folder_shows_nothing_of_the_course(tmp_path, monkeypatch):
    site = _site_dir(tmp_path, tmp_path / "checkout")
    view = worker_view.View.from_ops(worker_view.system_ops())
    view.bind_filtered(site)
    monkeypatch.setattr(worker_view, "system_ops", lambda: tuple(view.ops))
    args = sandbox.bwrap_args(tmp_path / "lib", [], {})
    probe = (f"import os\nprint(sorted(os.listdir({str(site)!r})))\n"
             f"print(sorted(os.listdir({str(site / '__pycache__')!r})))\n"
             f"print(os.path.exists({str(tmp_path / 'checkout')!r}))\n")
    done = subprocess.run(args + [sys.executable, "-c", probe], capture_output=True,
                          text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "['__pycache__', 'distutils-precedence.pth', 'numpy', 'six.py']",
        "['six.cpython-311.pyc']", "False"]


def test_the_view_binds_nothing_of_the_checkout_but_the_interpreter():
    ops = worker_view.system_ops()
    for op in ops:
        for path in (op.dest, op.source):
            if path.startswith(str(PROJECT_ROOT) + "/") and op.kind != "symlink":
                assert Path(path) == Path(sys.prefix) or Path(sys.prefix) in Path(
                    path).parents, op                 # a virtualenv inside the checkout
            assert not path.startswith(str(assignment.PACKAGE_DIR)), op
    assert all(op.dest != "/" for op in ops)
