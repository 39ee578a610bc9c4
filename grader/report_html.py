"""The HTML report: one self-contained ``report.html`` rendered from a :class:`Result`.

Everything in a Result is untrusted text as far as HTML goes: students control file names, the
output of their code, exception messages and (through their return values) figure data. So the
template is autoescaped and strict, the only markup marked safe is the SVG that
:mod:`grader.plots` draws from numbers, and a Content-Security-Policy in the page forbids
scripts and any network fetch even if something slipped through.

The page has no JavaScript and no external resources: it opens from a zip, an e-mail or a CI
artifact and looks the same offline, on screen and on paper.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from . import assignment, plots
from .files import write_atomic
from .results import ExerciseResult, Result, TestResult
from .safe_text import clean_tree

REPORT_NAME = "report.html"
TEMPLATE = "report.html.j2"

# Captured output can be megabytes (a training loop printing every batch); a report for each of
# hundreds of students should stay small. The head and the tail are what a reader needs.
MAX_OUTPUT_CHARS = 100_000
MAX_MESSAGE_CHARS = 20_000

OUTCOME_LABELS = {"passed": "passed", "partial": "partial", "failed": "failed",
                  "error": "error", "skipped": "skipped"}
OUTCOME_ICONS = {"passed": "✓", "partial": "◐", "failed": "✗", "error": "!", "skipped": "–"}
STATUS_LABELS = {"graded": "graded", "missing": "missing", "error": "error",
                 "not_attempted": "not attempted"}

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


# ---- view model -------------------------------------------------------------------------------

@dataclass
class TestView:
    id: str
    name: str
    outcome: str
    outcome_label: str
    icon: str
    points: str
    max_points: str
    message: str
    public: bool
    duration: str


@dataclass
class ExerciseView:
    anchor: str
    name: str
    title: str
    status: str
    status_label: str
    score: str
    max_score: str
    percent: float | None
    file: str | None
    located_because: str
    message: str
    metrics: list[tuple[str, str]]
    figures: list[dict[str, Any]]
    tests: list[TestView]
    outcome_counts: list[tuple[str, str, int]]   # (outcome, label, count), non-zero only
    output: str
    output_note: str
    duration: str
    links: list[tuple[str, str | None]]          # (label, href or None when refused)
    notebook: str = ""                           # how the notebook's execution went
    manual: list[dict] = field(default_factory=list)  # written answers, formatted


@dataclass
class ReportView:
    submission: str
    score: str
    max_score: str
    percent: float
    created: str
    created_iso: str | None
    sandbox_mode: str
    sandbox_reduced: bool
    sandbox_reason: str
    sandbox_limits: list[tuple[str, str]]
    sandbox_notes: list[str]
    data_sources: list[tuple[str, str]]
    versions: list[tuple[str, str]]
    timings: list[tuple[str, str]]
    schema_version: str
    exercises: list[ExerciseView] = field(default_factory=list)
    outcome_counts: list[tuple[str, str, int]] = field(default_factory=list)
    title: str = "Grading report"   # "Public checks" for a result of `grader check`


# ---- formatting -------------------------------------------------------------------------------

def format_number(value: Any, digits: int = 2) -> str:
    """Points as people write them: 7.5, 8, 0.25; "—" when missing or not finite."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "—"
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def format_metric(value: Any) -> str:
    """A metric value with 4 significant digits; non-numbers shown as text."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.3e}"
        return f"{value:.4g}"
    return "—" if value is None else str(value)


def format_duration(seconds: Any) -> str:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) \
            or seconds <= 0:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def format_created(created: str) -> tuple[str, str | None]:
    """(display text, ISO value for <time datetime>) — the raw text when it is not ISO 8601."""
    if not created:
        return "", None
    try:
        moment = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return created, None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
        return moment.strftime("%Y-%m-%d %H:%M UTC"), moment.isoformat()
    return moment.strftime("%Y-%m-%d %H:%M"), moment.isoformat()


def terminal_text(text: Any, limit: int) -> tuple[str, str]:
    """Captured output as a terminal would have shown it, and a note when it was shortened.

    Progress bars (Keras prints them with ``\\r``, backspaces and ANSI colours) collapse to their
    final state; other control characters are dropped because HTML forbids them.
    """
    text = "" if text is None else str(text)
    text = _ANSI.sub("", text).replace("\r\n", "\n")
    lines = []
    for line in text.split("\n"):
        if "\r" in line:
            line = line.rstrip("\r").rsplit("\r", 1)[-1]
        if "\b" in line:
            line = _apply_backspaces(line)
        lines.append(line)
    text = _CONTROL.sub("", "\n".join(lines))
    if len(text) <= limit:
        return text, ""
    head, tail = text[: limit * 6 // 10], text[-(limit * 4 // 10):]
    omitted = len(text) - len(head) - len(tail)
    return (f"{head}\n\n… [{omitted:,} characters omitted from this report] …\n\n{tail}",
            f"shortened: showing the first {len(head):,} and last {len(tail):,} "
            f"of {len(text):,} characters")


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _apply_backspaces(line: str) -> str:
    kept: list[str] = []
    for char in line:
        if char == "\b":
            if kept:
                kept.pop()
        else:
            kept.append(char)
    return "".join(kept)


def _anchor(index: int, name: str) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", str(name).lower()).strip("-")[:40]
    return f"ex-{index}-{slug}" if slug else f"ex-{index}"


def _percent(score: Any, max_score: Any) -> float | None:
    try:
        score, max_score = float(score), float(max_score)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(score) and math.isfinite(max_score)) or max_score <= 0:
        return None
    return max(0.0, min(100.0, 100.0 * score / max_score))


def _pairs(mapping: Any) -> list[tuple[str, str]]:
    if not isinstance(mapping, Mapping):
        return []
    return [(str(k), format_metric(v) if isinstance(v, (int, float)) else str(v))
            for k, v in mapping.items()]


def _limits(limits: Any) -> list[tuple[str, str]]:
    """Sandbox limits as people read them: ``memory_bytes: 4294967296`` -> ("memory", "4 GiB")."""
    shown = []
    for key, value in _raw_pairs(limits):
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if key.endswith("_bytes") and numeric:
            key, value = key[: -len("_bytes")], format_bytes(value)
        elif key.endswith("_seconds") and numeric:
            key, value = key[: -len("_seconds")], f"{format_number(value)} s"
        else:
            value = format_metric(value) if numeric else str(value)
        shown.append((key.replace("_", " "), value))
    return shown


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{format_number(n, 1)} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def safe_href(href: Any) -> str | None:
    """A relative link (to a file next to the report), URL-quoted; None for anything else.

    The report must not point outside its own folder: no scheme (``http:``, ``javascript:``,
    ``file:``), no network path (``//host``).
    """
    if not isinstance(href, str) or not href.strip():
        return None
    href = href.strip()
    if _SCHEME.match(href) or href.startswith(("//", "\\")) or any(c in href for c in "\r\n\t"):
        return None
    return quote(href, safe="/#?&=%~.-_+,;@!$()*'")


def _counts(outcomes: Iterable[str]) -> list[tuple[str, str, int]]:
    outcomes = list(outcomes)
    return [(o, OUTCOME_LABELS[o], outcomes.count(o)) for o in OUTCOME_LABELS if outcomes.count(o)]


# ---- building the view ------------------------------------------------------------------------

def _test_view(test: TestResult) -> TestView:
    outcome = test.outcome if test.outcome in OUTCOME_LABELS else "error"
    message, _ = terminal_text(test.message, MAX_MESSAGE_CHARS)
    return TestView(
        id=str(test.id), name=str(test.name or test.id), outcome=outcome,
        outcome_label=(OUTCOME_LABELS[outcome] if outcome == test.outcome
                       else f"unknown: {_shorten(str(test.outcome), 30)}"),
        icon=OUTCOME_ICONS[outcome], points=format_number(test.points),
        max_points=format_number(test.max_points), message=message.strip("\n"),
        public=bool(test.public), duration=format_duration(test.duration),
    )


def _exercise_view(index: int, ex: ExerciseResult, links: Sequence[Any], figure_counter: list[int]
                   ) -> ExerciseView:
    known = assignment.BY_NAME.get(ex.name)
    status = ex.status if ex.status in STATUS_LABELS else "error"
    figures = []
    for kind, data in plots.figure_specs(ex.figures):
        figure_counter[0] += 1
        prefix = f"fig{figure_counter[0]}"
        rendered = plots.render_figure(kind, data, id_prefix=prefix)
        figures.append({
            "id": prefix, "kind": rendered.kind, "title": rendered.title, "note": rendered.note,
            # The one place markup is trusted: SVG drawn by matplotlib from numbers, then checked.
            "svg": Markup(rendered.svg) if rendered.svg else None,
        })
    output, output_note = terminal_text(ex.output, MAX_OUTPUT_CHARS)
    message, _ = terminal_text(ex.message, MAX_MESSAGE_CHARS)
    link_views = []
    for item in links or ():
        try:
            label, href = item
        except (TypeError, ValueError):
            continue
        link_views.append((str(label), safe_href(href)))
    tests = [_test_view(t) for t in ex.tests]
    return ExerciseView(
        anchor=_anchor(index, ex.name), name=str(ex.name),
        title=known.title if known else "", status=status,
        status_label=(STATUS_LABELS[status] if status == ex.status
                      else f"unknown: {_shorten(str(ex.status), 30)}"),
        score=format_number(ex.score), max_score=format_number(ex.max_score),
        percent=_percent(ex.score, ex.max_score), file=None if ex.file is None else str(ex.file),
        located_because=str(ex.located_because or ""), message=message.strip("\n"),
        metrics=[(str(k), format_metric(v)) for k, v in (ex.metrics or {}).items()],
        figures=figures, tests=tests, outcome_counts=_counts(t.outcome for t in tests),
        output=output, output_note=output_note, duration=format_duration(ex.duration),
        links=link_views, notebook=notebook_summary(ex.notebook),
        manual=[_manual_view(m) for m in ex.manual if isinstance(m, dict)],
    )


def _manual_view(m: dict) -> dict:
    """A written answer for the card: every string from result.json stays plain text."""
    graded = m.get("points") is not None
    state = "graded" if graded else ("pending" if m.get("answered") else "unanswered")
    return {"state": state, "question": str(m.get("question", "")),
            "prompt": str(m.get("prompt", "")), "answer": str(m.get("answer", "")),
            "points": format_number(m.get("points")) if graded else "–",
            "max_points": format_number(m.get("max_points")),
            "comment": str(m.get("comment") or ""),
            "note": " ".join(part for part in (
                f"Answer found in {m['source']}." if m.get("source") else "",
                str(m.get("note") or "")) if part)}


def notebook_summary(info: Any) -> str:
    """One line on how the notebook's execution went, from result.json's ``notebook``."""
    if not isinstance(info, dict) or not info:
        return ""
    parts = [f"{info.get('cells_run', 0)} of {info.get('code_cells', 0)} code cells ran"]
    errors = info.get("errors") or []
    if errors:
        cells = ", ".join(f"{e.get('cell')} ({e.get('error')})" for e in errors[:8]
                          if isinstance(e, dict))
        parts.append(f"{len(errors)} raised: cell {cells}")
    if info.get("timeouts"):
        parts.append(f"timed out: cell {', '.join(map(str, info['timeouts'][:8]))}")
    if info.get("skipped"):
        parts.append(f"not run (try-it examples): cell "
                     f"{', '.join(map(str, info['skipped'][:8]))}")
    if info.get("render_error"):
        parts.append(str(info["render_error"]))
    return "; ".join(parts)


def build_view(result: Result, links: Mapping[str, Sequence[Any]] | None = None) -> ReportView:
    """Everything the template shows, already formatted (the template only lays it out)."""
    links = links or {}
    result = _safe_copy(result)
    sandbox = result.sandbox if isinstance(result.sandbox, Mapping) else {}
    mode = str(sandbox.get("mode") or "not recorded")
    created, created_iso = format_created(str(result.created or ""))
    counter = [0]
    exercises = [_exercise_view(i, ex, links.get(ex.name, ()), counter)
                 for i, ex in enumerate(result.exercises, start=1)]
    return ReportView(
        submission=str(result.submission), score=format_number(result.score),
        max_score=format_number(result.max_score),
        percent=_percent(result.score, result.max_score) or 0.0,
        created=created, created_iso=created_iso,
        sandbox_mode=mode, sandbox_reduced=mode == "reduced",
        sandbox_reason=str(sandbox.get("reason") or ""),
        sandbox_limits=_limits(sandbox.get("limits")),
        sandbox_notes=[str(n) for n in sandbox.get("notes") or () if str(n).strip()]
        if isinstance(sandbox.get("notes"), (list, tuple)) else [],
        data_sources=_pairs(result.data_sources), versions=_pairs(result.versions),
        timings=[(k, format_duration(v) or str(v)) for k, v in _raw_pairs(result.timings)],
        schema_version=str(result.schema_version), exercises=exercises,
        outcome_counts=_counts(t.outcome for ex in exercises for t in ex.tests),
        title="Public checks" if getattr(result, "scope", "") == "public checks"
        else "Grading report",
    )


def _safe_copy(result: Result) -> Result:
    """The result with every string made safe (grader.safe_text). Grading already did so;
    this covers a result.json edited or produced elsewhere, whose lone surrogates would
    otherwise stop the page from being written at all."""
    try:
        data = clean_tree(asdict(result))
        exercises = [ExerciseResult(**{**ex, "tests": [TestResult(**t) for t in ex["tests"]]})
                     for ex in data.pop("exercises")]
        return Result(**data, exercises=exercises)
    except (TypeError, KeyError, ValueError):
        return result


def _raw_pairs(mapping: Any) -> list[tuple[str, Any]]:
    return [(str(k), v) for k, v in mapping.items()] if isinstance(mapping, Mapping) else []


# ---- rendering --------------------------------------------------------------------------------

def make_environment() -> Environment:
    """Jinja environment for the grader's templates: autoescaped, and strict so a typo in a
    template fails loudly instead of printing nothing."""
    return Environment(
        loader=PackageLoader("grader", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_report(result: Result, *, links: Mapping[str, Sequence[Any]] | None = None) -> str:
    """The report page for ``result`` as a string.

    ``links`` maps an exercise name to (label, href) pairs shown in its card, e.g.
    ``{"neuron": [("executed notebook", "neuron.html")]}``; hrefs must be relative paths.
    """
    from grader.late_policy import report_view

    view = build_view(result, links)
    template = make_environment().get_template(TEMPLATE)
    return template.render(report=view, late=report_view(getattr(result, "late", None)))


def write_report(result: Result, out_dir: str | os.PathLike, *,
                 links: Mapping[str, Sequence[Any]] | None = None) -> Path:
    """Write ``out_dir/report.html`` atomically (a reader never sees half a report)."""
    return write_atomic(Path(out_dir) / REPORT_NAME, render_report(result, links=links))
