"""Hostile text and markup in a submission: graded end to end (the neuron exercise, no
TensorFlow), every file the grader writes is checked, and every HTML page is opened in headless
Chromium with the network off.

What is checked: result.json is strict UTF-8 JSON with no control, escape, bidi or surrogate
character left; the report and the executed notebook page carry no script, style, form, frame,
meta refresh, base, remote resource or handler a student wrote; outputs saved in the submitted
file never reach the page; a failing cell's banner is visible and not covered; the exit status
is 0 for a graded submission, 2 for an unreadable one, 3 for a grader fault (which still writes
result.json and the report of the exercises it did not touch); stderr, -v output and logs hold
no hidden suite source.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader import assignment, cli
from grader.pytest_plugin import GradingPlugin
from grader.results import Result

ROOT = assignment.PROJECT_ROOT
CASES_DIR = ROOT / "tests" / "submissions" / "notebooks"

UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u200e\u200f\u061c"
                    "\u202a-\u202e\u2066-\u2069\u2028\u2029\ufffe\uffff]")
BAD = "nul\x00 esc\x1b[31mred\x1b[0m c1\x9b2J bidi\u202eesrever\u202c lone\ud800 ls\u2028x"
FORGED = "FORGED-OUTPUT-7f3a"          # saved in the submitted file: must never be shown
OVERLAY = "OVERLAY-9c1e"


def _builder():
    spec = importlib.util.spec_from_file_location("make_notebooks",
                                                  CASES_DIR / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nbs = _builder()

PNG_1PX = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJ"
           "RU5ErkJggg==")


def hostile_notebook() -> dict:
    """The solved neuron notebook with bad text and markup in every place a student controls."""
    nb = nbs.solved("neuron")
    answer = next(c for c in nb["cells"] if c["metadata"].get("grader", {}).get("manual"))
    answer["source"] = f"My answer: {BAD} <style>*{{display:none}}</style>"
    nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {"x": {"model_name": "HTMLModel", "state": {"value": "<script>1</script>"}}}}}
    nb["cells"].insert(1, nbs.markdown(
        f"# Notes {BAD}\n\n"
        f"<div style=\"position:fixed;top:0;left:0;width:100vw;height:100vh;background:#fff;"
        f"z-index:99999\">{OVERLAY} all tests passed</div>\n\n"
        "<meta http-equiv=\"refresh\" content=\"0;url=https://example.com/\">\n"
        "<base href=\"https://example.com/\">\n"
        "<link rel=\"stylesheet\" href=\"https://example.com/s.css\">\n"
        "<style>.grader-banner{display:none!important}</style>\n\n"
        "![passed](https://example.com/passed.png) ![inline](attachment:p.png)\n\n"
        f"![data](data:image/png;base64,{PNG_1PX}) [click](data:text/html,<script>1</script>)\n"
        "<iframe src=\"https://example.com/\"></iframe>"
        "<form action=\"https://example.com/\"><button>go</button></form>\n"))
    nb["cells"][1]["attachments"] = {"p.png": {"image/png": PNG_1PX}}
    failing = nbs.code(
        "import sys\n"
        f"print({BAD!r})\n"
        "import os; os.write(1, b'raw \\xff\\xfe bytes \\x1b]0;t\\x07\\x00\\n')\n"
        "Evil = type('Evil\\u202eError\\x1b[31m', (Exception,), {})\n"
        f"raise Evil({BAD!r})")
    failing["metadata"]["jupyter"] = {"source_hidden": True, "outputs_hidden": True}
    failing["metadata"]["tags"] = ["jp-mod-hidden", "hide-input", "remove-cell"]
    failing["metadata"]["transient"] = {"remove_source": True}
    failing["execution_count"] = 9
    failing["outputs"] = [{"output_type": "stream", "name": "stdout", "text": f"{FORGED}\n"},
                          {"output_type": "display_data", "metadata": {},
                           "data": {"image/png": PNG_1PX, "text/plain": FORGED}}]
    rich = nbs.code(
        "from IPython.display import HTML, SVG, Javascript, Markdown, Latex, Image, display\n"
        "display(HTML('<div style=\"position:fixed;inset:0;z-index:9999;background:white\">"
        f"{OVERLAY}</div><table onclick=\"x()\"><tr><td style=\"color:red\">7</td></tr>"
        "</table>'))\n"
        "display(HTML('<meta http-equiv=\"refresh\" content=\"0\"><b>plain html</b>'))\n"
        "display(SVG('<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\" "
        "onload=\"alert(1)\"><foreignObject><p>x</p></foreignObject>"
        "<image href=\"https://example.com/i.png\"/><circle r=\"4\"/></svg>'))\n"
        "display(Javascript('document.body.innerHTML = \"\"'))\n"
        "display(Markdown('[remote](https://example.com/) <img src=https://example.com/m.png>'))\n"
        "display(Latex(r'$\\\\href{https://example.com}{x}$'))\n"
        f"display(Image(data=__import__('base64').b64decode('{PNG_1PX}'), width=100000, "
        "height=100000, unconfined=True))\n"
        "display({'application/vnd.jupyter.widget-view+json': {'model_id': 'x'}, "
        "'text/html': '<iframe src=\"https://example.com/\"></iframe>'}, raw=True)\n"
        "display({'image/png': 'PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+', 'text/plain': 'fake png'}, "
        "raw=True)\n"
        f"print({{{BAD!r}: 1}})")
    nb["cells"].append(rich)
    nb["cells"].append(failing)
    # an exception class with an empty name: its cell must still be marked as failed
    nb["cells"].append(nbs.code("raise type('', (Exception,), {})('nameless')"))
    return nbs.renumber(nb, "hostile")


def write_notebook(folder: Path, nb: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "neuron.ipynb"
    # ensure_ascii: the lone surrogate is written as a JSON escape, as a notebook could hold it
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=True), encoding="ascii")
    return path


def assert_clean_result(out: Path) -> Result:
    raw = (out / "result.json").read_bytes().decode("utf-8")   # strict UTF-8
    data = json.loads(raw)
    text = json.dumps(data, ensure_ascii=False)
    assert UNSAFE.findall(text) == [], sorted(set(UNSAFE.findall(text)))
    return Result.read(out / "result.json")


def all_tests_passed(ex) -> bool:
    """Full automatic marks (written answers wait for a person and are left out)."""
    return bool(ex.tests) and all(t.outcome == "passed" and t.points == t.max_points > 0
                                  for t in ex.tests)


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def forbidden_markup(page: str) -> list[str]:
    """Markup a student must never get into a page the grader writes."""
    parser = Elements()
    parser.feed(page)
    found = []
    styles = 0
    for tag, attrs in parser.found:
        if tag in ("script", "iframe", "object", "embed", "form", "base", "link", "frame",
                   "input", "button", "textarea"):
            found.append(f"<{tag}>")
        if tag == "style":
            styles += 1
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh":
            found.append("<meta refresh>")
        for name, value in attrs.items():
            value = (value or "").strip().lower()
            if name.startswith("on"):
                found.append(f"<{tag} {name}>")
            if name in ("src", "href", "action", "data", "poster", "srcset", "formaction"):
                if tag == "img" and name == "src" and value.startswith("data:image/"):
                    continue
                if tag == "a" and name == "href" and not re.match(r"^([a-z][a-z0-9+.-]*:|//|\\)",
                                                                  value):
                    continue  # the grader's own links: in-page or to a file next to the page
                found.append(f"<{tag} {name}={value[:40]}>")
            if name == "style" and ("fixed" in value or "absolute" in value):
                found.append(f"<{tag} style={value[:40]}>")
    return found


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The hostile notebook graded once through the CLI, with -v (its stderr captured)."""
    base = tmp_path_factory.mktemp("hostile")
    folder = write_notebook(base / "sub", hostile_notebook()).parent
    out = base / "out"
    stderr, stdout = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
        code = cli.main(["grade", str(folder), "--exercise", "neuron", "--out", str(out), "-v"])
    return code, out, stderr.getvalue() + stdout.getvalue()


@pytest.fixture(scope="module")
def summary_page(hostile):
    """The class summary of a batch holding the hostile submission's result."""
    import shutil

    from grader import gradebook

    _, out, _ = hostile
    klass = out.parent / "class"
    shutil.copytree(out, klass / "hostile")
    return gradebook.write_summary(gradebook.collect(klass), klass / "summary.html")


def test_hostile_notebook_is_graded_and_its_result_is_clean(hostile):
    code, out, _ = hostile
    assert code == cli.EXIT_OK
    result = assert_clean_result(out)
    ex = result.exercise("neuron")
    assert ex.status == "graded" and all_tests_passed(ex), ex.message
    errors = ex.notebook["errors"]
    assert len(errors) == 2 and "Evil" in errors[0]["error"] and errors[1]["error"]
    assert "esrever" in ex.manual[0]["answer"] and "\u202e" not in ex.manual[0]["answer"]
    assert "raw \ufffd\ufffd bytes" in ex.output   # invalid UTF-8 on the worker's fd 1


def test_saved_notebook_is_clean_and_holds_no_outputs_from_the_submitted_file(hostile):
    _, out, _ = hostile
    raw = (out / "notebooks" / "neuron.ipynb").read_bytes().decode("utf-8")
    text = json.dumps(json.loads(raw), ensure_ascii=False)
    assert UNSAFE.findall(text) == []
    assert FORGED not in text
    assert "source_hidden" not in text and "jp-mod-hidden" not in text
    assert "attachments" not in text and "widget-state" not in text
    assert "esrever" in text and "Evil" in text


def test_pages_hold_no_student_markup(hostile, summary_page):
    _, out, _ = hostile
    for name in ("report.html", "notebooks/neuron.html", summary_page):
        page = (out / name).read_text(encoding="utf-8")
        assert UNSAFE.findall(page) == [], name
        assert forbidden_markup(page) == [], name
        assert FORGED not in page, name
    notebook = (out / "notebooks" / "neuron.html").read_text(encoding="utf-8")
    assert "This cell raised Evil" in notebook
    assert "<table><tr><td>7</td></tr></table>" in notebook     # a table is kept, inert
    assert "plain html" in notebook and "&lt;b&gt;plain html" in notebook  # other HTML: text


def test_verbose_log_names_tests_but_never_suite_source(hostile):
    _, _, log = hostile
    assert "neuron::test_relu_values: passed" in log
    assert "Traceback" not in log and "INTERNALERROR" not in log
    assert UNSAFE.findall(log.replace("\n", "").replace("\t", "")) == []
    leaks = [line for line in suite_lines() if line in log]
    assert leaks == []


def suite_lines() -> list[str]:
    """Distinctive lines of the hidden suites that no student-visible file holds."""
    visible = "\n".join(p.read_text(encoding="utf-8") for d in ("solutions", "exercises")
                        for p in (ROOT / d).iterdir() if p.suffix in (".py", ".ipynb"))
    lines = {line.strip() for p in (assignment.SUITES_DIR / "neuron").rglob("*.py")
             for line in p.read_text(encoding="utf-8").splitlines()}
    return sorted(line for line in lines if len(line) > 25 and line not in visible)


# ---- a check that raises on what the student returned ----------------------------------------

def test_a_check_tripping_on_a_returned_value_is_a_failed_test_and_logs_no_source(
        tmp_path, capfd):
    folder = tmp_path / "sub"
    folder.mkdir()
    source = (ROOT / "solutions" / "neuron.py").read_text(encoding="utf-8")
    # relu returns a dict with hostile keys: the suite's comparison raises on it
    source += ("\n\ndef relu(z):\n    return {'k\\u202e\\x1b[31m': object}\n")
    (folder / "neuron.py").write_text(source, encoding="utf-8")
    out = tmp_path / "out"
    code = cli.main(["grade", str(folder), "--exercise", "neuron", "--out", str(out), "-v"])
    captured = capfd.readouterr()
    log = captured.out + captured.err
    assert code == cli.EXIT_OK
    result = assert_clean_result(out)
    relu = [t for t in result.exercise("neuron").tests if "relu" in t.id]
    assert relu and all(t.points == 0 and t.outcome in ("failed", "error") for t in relu)
    assert all(t.message for t in relu)
    assert "Traceback" not in log and "During handling" not in log
    assert [line for line in suite_lines() if line in log] == []


# ---- file and archive names ---------------------------------------------------------------------

def test_hostile_folder_name_is_cleaned_everywhere(tmp_path):
    name = os.fsdecode(b"stu\xffdent\x1b[31m\xe2\x80\xae")   # invalid UTF-8, ESC, bidi
    folder = tmp_path / name
    write_notebook(folder, nbs.renumber(nbs.solved("neuron"), "plain"))
    out = tmp_path / "out"
    assert cli.main(["grade", str(folder), "--exercise", "neuron", "--out", str(out)]) == 0
    result = assert_clean_result(out)
    assert result.submission.startswith("stu\ufffddent")
    page = (out / "report.html").read_text(encoding="utf-8")
    assert UNSAFE.findall(page) == []


def test_refused_zip_member_is_named_without_its_control_characters(tmp_path, capfd):
    archive = tmp_path / "sub.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../\u202eevil\x1b[2J\x00.py", "x = 1\n")
    code = cli.main(["grade", str(archive), "--exercise", "neuron", "--out",
                     str(tmp_path / "out")])
    err = capfd.readouterr().err
    assert code == cli.EXIT_USAGE
    assert "path traversal" in err and "Traceback" not in err
    assert UNSAFE.findall(err.replace("\n", "")) == []


def test_undecodable_zip_member_name_is_graded_cleanly(tmp_path):
    archive = tmp_path / "sub.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("neuron.ipynb", json.dumps(nbs.renumber(nbs.solved("neuron"), "u")))
        zf.writestr("notes.txt", "x = 1\n")
    data = bytearray(archive.read_bytes())
    for header in (b"PK\x03\x04", b"PK\x01\x02"):  # flag every name as UTF-8 ...
        at = data.find(header)
        while at >= 0:
            data[at + (6 if header == b"PK\x03\x04" else 8)] |= 0x08
            at = data.find(header, at + 4)
    # ... and make one invalid UTF-8 with an ESC in it (same length: offsets hold)
    archive.write_bytes(bytes(data).replace(b"notes.txt", b"no\xff\x1bs.txt"))
    out = tmp_path / "out"
    assert cli.main(["grade", str(archive), "--exercise", "neuron", "--out", str(out)]) == 0
    assert assert_clean_result(out).exercise("neuron").status == "graded"


def test_zip_member_names_with_controls_and_bidi_are_graded_cleanly(tmp_path):
    archive = tmp_path / "sub.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("neuron.ipynb", json.dumps(nbs.renumber(nbs.solved("neuron"), "z")))
        zf.writestr("notes\u202eexe.txt\x1b[2J", "hi")
    out = tmp_path / "out"
    assert cli.main(["grade", str(archive), "--exercise", "neuron", "--out", str(out)]) == 0
    assert_clean_result(out)


# ---- a grader fault costs the exercise it hit, exits 3, and keeps the others ------------------

def test_grader_fault_in_one_exercise_exits_3_and_writes_the_others(tmp_path, monkeypatch,
                                                                    capfd):
    real = GradingPlugin._result

    def broken(self, item, *args, **kwargs):
        if "perceptron" in str(item.path):
            raise RuntimeError("grader bug in the perceptron suite's reporting")
        return real(self, item, *args, **kwargs)

    monkeypatch.setattr(GradingPlugin, "_result", broken)
    out = tmp_path / "out"
    code = cli.main(["grade", str(ROOT / "solutions"), "--exercise", "perceptron",
                     "--exercise", "neuron", "--out", str(out)])
    err = capfd.readouterr().err
    assert code == cli.EXIT_FAULT
    assert "internal error" in err and "Traceback" not in err
    result = assert_clean_result(out)
    neuron, perceptron = result.exercise("neuron"), result.exercise("perceptron")
    assert neuron.status == "graded" and all_tests_passed(neuron)
    assert perceptron.status == "error" and "grader itself failed" in perceptron.message
    assert perceptron.tests == []
    assert (out / "report.html").is_file()


def test_crash_while_writing_exits_3_not_1(tmp_path, monkeypatch, capfd):
    from grader import report_notebook

    def explode(*args, **kwargs):
        "\ud800".encode("utf-8")  # what a lone surrogate did to a writer

    monkeypatch.setattr(report_notebook, "render_notebooks", explode)
    folder = write_notebook(tmp_path / "sub", nbs.renumber(nbs.solved("neuron"), "w")).parent
    out = tmp_path / "out"
    code = cli.main(["grade", str(folder), "--exercise", "neuron", "--out", str(out),
                     "--fail-under", "100"])
    assert code == cli.EXIT_FAULT
    assert "UnicodeEncodeError" in capfd.readouterr().err
    assert_clean_result(out)
    assert (out / "report.html").is_file()


# ---- the pages in a browser, network off ------------------------------------------------------

BANNERS_VISIBLE = """
(() => {
  const out = [];
  for (const el of document.querySelectorAll('.grader-banner')) {
    el.scrollIntoView({block: 'center'});
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    const x = r.left + Math.min(20, r.width / 2), y = r.top + r.height / 2;
    const top = document.elementFromPoint(x, y);
    out.push({text: el.textContent.trim().slice(0, 60), width: r.width, height: r.height,
              visible: style.visibility === 'visible' && style.display !== 'none'
                       && parseFloat(style.opacity) > 0.5,
              onTop: !!top && (top === el || el.contains(top))});
  }
  return out;
})()
"""


@pytest.mark.browser
def test_pages_open_offline_without_navigation_requests_or_errors(hostile, summary_page):
    from browser import chromium_or_skip

    _, out, _ = hostile
    browser = chromium_or_skip()
    try:
        browser.send("Network.emulateNetworkConditions", {
            "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        for name in (summary_page, "report.html", "notebooks/neuron.html"):
            path = out / name
            page = browser.load(path, settle=0.5)
            url = path.resolve().as_uri()
            assert page.errors == [], (name, page.errors)
            outside = [u for u in page.requests if not u.startswith("data:") and u != url]
            assert outside == [], (name, outside)
            navigations = [e for e in browser._events if e["method"] == "Page.frameNavigated"]
            assert len(navigations) <= 1, (name, navigations)
            assert browser.evaluate("location.href") == url
            assert browser.evaluate("document.querySelectorAll('script,iframe,form,base,"
                                    "object,embed').length") == 0
        banners = browser.evaluate(BANNERS_VISIBLE)
        failing = [b for b in banners if "raised" in b["text"] or "time limit" in b["text"]]
        assert len(failing) == 2, banners
        for banner in failing:
            assert banner["visible"] and banner["onTop"], banner
            assert banner["width"] > 100 and banner["height"] > 10, banner
        # no student element covers the page: nothing fixed or absolutely placed but ours
        placed = browser.evaluate(
            "[...document.querySelectorAll('body *')].filter(e => ['fixed','absolute','sticky']"
            ".includes(getComputedStyle(e).position)).map(e => e.className).slice(0, 20)")
        assert not [c for c in placed if "grader" not in str(c) and "jp-" not in str(c)
                    and "cm-" not in str(c)], placed
        # image outputs are clamped to the page's width
        widest = browser.evaluate("Math.max(0, ...[...document.images].map(i => "
                                  "i.getBoundingClientRect().width))")
        assert widest <= browser.width
    finally:
        browser.close()


def test_suite_that_cannot_be_imported_costs_its_exercise_only_and_logs_no_source(
        tmp_path, monkeypatch, capfd):
    import shutil

    from grader import grading

    suites = tmp_path / "suites"
    shutil.copytree(assignment.SUITES_DIR, suites)
    (suites / "perceptron" / "test_broken.py").write_text(
        "SECRET_SUITE_VALUE = 0.123456789\n"
        "raise ValueError(f'suite bug {SECRET_SUITE_VALUE}')\n", encoding="utf-8")
    # and in a suite that loads: a warning and a chained exception, both with secret text
    (suites / "neuron" / "test_noisy.py").write_text(
        "import warnings\n\n"
        "def test_warns():\n"
        "    \"\"\"warns\"\"\"\n"
        "    warnings.warn('SECRET_WARNING_TEXT')\n\n"
        "def test_chained():\n"
        "    \"\"\"chained\"\"\"\n"
        "    try:\n"
        "        raise KeyError('SECRET_CAUSE')\n"
        "    except KeyError as exc:\n"
        "        raise TypeError('cannot use it') from exc\n", encoding="utf-8")
    monkeypatch.setattr(assignment, "SUITES_DIR", suites)
    monkeypatch.setattr(grading, "SUITE_INI", suites / "pytest.ini")
    out = tmp_path / "out"
    code = cli.main(["grade", str(ROOT / "solutions"), "--exercise", "neuron",
                     "--exercise", "perceptron", "--out", str(out), "-v"])
    captured = capfd.readouterr()
    log = captured.out + captured.err
    assert code == cli.EXIT_FAULT
    assert "perceptron: its suite could not be loaded (ValueError)" in log
    for secret in ("SECRET_SUITE_VALUE", "0.123456789", "SECRET_WARNING_TEXT", "SECRET_CAUSE",
                   "raise TypeError", "warnings.warn"):
        assert secret not in log, secret
    assert "neuron/test_noisy.py::test_chained raised TypeError" in log
    assert "Traceback" not in log
    result = assert_clean_result(out)
    neuron = {t.id: t for t in result.exercise("neuron").tests}
    chained = neuron.pop("neuron::test_chained")
    assert chained.outcome == "error" and "TypeError: cannot use it" in chained.message
    assert "SECRET" not in chained.message
    assert all(t.outcome == "passed" for t in neuron.values())
    assert result.exercise("perceptron").status == "error"
    assert (out / "report.html").is_file()


def test_hostile_file_names_listed_in_a_reason_are_cleaned(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    for raw in (b"nevron\xff.py", b"neur\x1b[31mon\xe2\x80\xae.txt", b"notes\x07\x7fx.md"):
        (folder / os.fsdecode(raw)).write_text("x = 1\n", encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["grade", str(folder), "--exercise", "neuron", "--out", str(out)]) == 0
    result = assert_clean_result(out)
    ex = result.exercise("neuron")
    assert ex.status == "missing" and "nevron" in ex.located_because
    page = (out / "report.html").read_text(encoding="utf-8")
    assert UNSAFE.findall(page) == [] and "nevron" in page
