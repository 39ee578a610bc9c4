"""The class view of a batch: ``gradebook.csv`` and ``summary.html``, read from result files only.

A batch output folder holds one sub-folder per submission (``<id>/result.json`` written by
``grader grade``, or ``<id>/error.txt`` when grading that submission failed). :func:`collect`
turns those folders into :class:`Row` objects; the writers render them. Nothing here re-runs a
grading, and everything read from a result file (ids, file names, test names, messages) is
treated as untrusted text: the HTML is autoescaped and the CSV is guarded against spreadsheet
formula injection.

``grader merge`` combines the outputs of several shards (``grader batch --shard I/N``) into one
folder with one gradebook.
"""
from __future__ import annotations

import argparse
import csv
import filecmp
import io
import json
import math
import os
import shutil
import statistics
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import quote

from grader import assignment
from grader.files import write_atomic
from grader.results import Result

RESULT_NAME = "result.json"
ERROR_NAME = "error.txt"
SOURCE_NAME = "source.json"      # where a batch took the submission from (path, URL, commit)
GRADEBOOK_NAME = "gradebook.csv"
SUMMARY_NAME = "summary.html"
SUMMARY_TEMPLATE = "summary.html.j2"
DRILLDOWN_NAME = "test_failures.csv"   # per test, who lost points and why
SIMILARITY_NAME = "similarity.html"    # grader/similarity.py: evidence for a human

# Row statuses, from best to worst.
#   graded         every exercise was found and its suite ran (whatever the score)
#   incomplete     some exercise is missing, not attempted or could not be loaded
#   not_attempted  files were found, but every one is still the untouched stub
#   empty          no exercise was found at all
#   error          grading this submission failed (see error.txt): no scores
#   no_submission  on the roster (grader/roster.py), but nothing was handed in
ROW_STATUSES = ("graded", "incomplete", "not_attempted", "empty", "error", "no_submission")
# exercise statuses whose suites did not run: left out of the per-test statistics
NOT_RUN = ("missing", "not_attempted", "error")

PASS_PERCENT = 50.0              # an exercise counts as passed at this share of its points
SLOWEST_SHOWN = 10
HISTOGRAM_BINS = 10

EXIT_OK, EXIT_USAGE = 0, 2


# ---- reading ----------------------------------------------------------------------------------

@dataclass
class Row:
    """One submission of the class as the gradebook shows it."""
    id: str
    status: str
    path: Path                                   # the submission's output folder
    note: str = ""                               # why the status is not "graded"
    result: Result | None = None
    scores: dict[str, float] = field(default_factory=dict)
    max_scores: dict[str, float] = field(default_factory=dict)
    exercise_status: dict[str, str] = field(default_factory=dict)
    files: dict[str, str | None] = field(default_factory=dict)
    total: float | None = None
    max_total: float | None = None
    seconds: float | None = None                 # result.json timings.total
    source: str = ""
    commit: str = ""
    auto: float | None = None                    # points of the tests
    written: float | None = None                 # points of graded written answers
    pending: float | None = None                 # written points not graded yet
    warnings: list[str] = field(default_factory=list)   # from the batch (source.json)
    roster: dict[str, str] = field(default_factory=dict)  # name, email, section, github
    late: dict[str, Any] = field(default_factory=dict)    # result.json's late block

    @property
    def percent(self) -> float | None:
        if self.total is None or not self.max_total:
            return None
        return 100.0 * self.total / self.max_total

    @property
    def has_report(self) -> bool:
        return (self.path / "report.html").is_file()


def submission_dirs(directory: Path) -> list[Path]:
    """The per-submission folders of a batch output: every visible sub-folder."""
    return sorted((p for p in Path(directory).iterdir()
                   if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)


def read_row(folder: Path) -> Row:
    """The row for one submission folder; a folder with neither result.json nor error.txt is an
    unfinished grading (a batch that was stopped) and becomes an error row saying so."""
    folder = Path(folder)
    row = Row(id=folder.name, status="error", path=folder)
    source = _read_source(folder)
    row.source, row.commit = str(source.get("source", "")), str(source.get("commit", ""))
    warnings = source.get("warnings")
    row.warnings = [str(w) for w in warnings] if isinstance(warnings, list) else []
    error_file = folder / ERROR_NAME
    if error_file.is_file():
        text = error_file.read_text(encoding="utf-8", errors="replace").strip()
        row.note = _join_notes(text.splitlines()[0] if text else "grading failed",
                               *row.warnings)
        return row
    try:
        result = Result.read(folder / RESULT_NAME)
    except ValueError as exc:
        missing = not (folder / RESULT_NAME).exists()
        row.note = ("not graded yet (no result.json): rerun the batch with --resume"
                    if missing else f"unreadable result.json: {exc}")
        return row
    _fill(row, result)
    return row


def _join_notes(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _fill(row: Row, result: Result) -> None:
    """Scores, statuses and the note of ``row`` from its result."""
    row.result = result
    for ex in result.exercises:
        row.scores[ex.name] = _number(ex.score)
        row.max_scores[ex.name] = _number(ex.max_score)
        row.exercise_status[ex.name] = str(ex.status)
        row.files[ex.name] = None if ex.file is None else str(ex.file)
    row.total, row.max_total = _number(result.score), _number(result.max_score)
    total_time = result.timings.get("total") if isinstance(result.timings, dict) else None
    row.seconds = _number(total_time) if total_time is not None else None
    row.auto = _number(sum(_number(t.points) for ex in result.exercises for t in ex.tests))
    manual = [m for ex in result.exercises for m in ex.manual if isinstance(m, dict)]
    row.written = _number(sum(_number(m.get("points")) for m in manual
                              if m.get("points") is not None))
    row.pending = _number(sum(_number(m.get("max_points")) for m in manual
                              if m.get("points") is None))
    missing = [n for n, s in row.exercise_status.items() if s == "missing"]
    untouched = [n for n, s in row.exercise_status.items() if s == "not_attempted"]
    broken = [n for n, s in row.exercise_status.items()
              if s not in ("graded", "missing", "not_attempted")]
    row.note = ""
    if not missing and not broken and not untouched:
        row.status = "graded"
    elif missing and len(missing) == len(row.exercise_status):
        row.status, row.note = "empty", "no file answers any exercise"
    elif untouched and len(missing) + len(untouched) == len(row.exercise_status):
        row.status = "not_attempted"
        row.note = f"not attempted (untouched stubs): {', '.join(untouched)}"
    else:
        row.status = "incomplete"
        row.note = "; ".join(part for part in (
            f"missing: {', '.join(missing)}" if missing else "",
            f"not attempted: {', '.join(untouched)}" if untouched else "",
            f"could not be loaded: {', '.join(broken)}" if broken else "") if part)
    unanswered = sum(not m.get("answered") for m in manual)
    if unanswered:
        row.note = _join_notes(row.note, f"{unanswered} written answer(s) not found")
    from grader.late_policy import describe

    row.late = dict(result.late) if isinstance(result.late, dict) else {}
    row.note = _join_notes(row.note, describe(row.late))
    row.note = _join_notes(row.note, *row.warnings)


def collect(dirs: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Row]:
    """Every submission row of the batch output folder(s) ``dirs``, sorted by id.

    The same id in two folders is accepted only when both hold the same files (a shard merged
    twice); otherwise it is ambiguous which grading counts, and a ValueError says so.
    """
    if isinstance(dirs, (str, os.PathLike)):
        dirs = [dirs]
    seen: dict[str, Path] = {}
    rows = []
    for directory in dirs:
        for folder in submission_dirs(Path(directory)):
            if folder.name in seen:
                if not same_tree(seen[folder.name], folder):
                    raise ValueError(f"submission {folder.name!r} appears in {seen[folder.name]} "
                                     f"and {folder} with different content")
                continue
            seen[folder.name] = folder
            rows.append(read_row(folder))
    return sorted(rows, key=lambda r: r.id)


def _read_source(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / SOURCE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _number(value: Any) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 0.0
    return value if math.isfinite(value) else 0.0


def exercise_columns(rows: Iterable[Row]) -> list[str]:
    """Exercises present in any row, in the catalog's order (unknown names last, sorted)."""
    present = {name for row in rows for name in row.scores}
    known = [n for n in assignment.EXERCISE_NAMES if n in present]
    return known + sorted(present - set(known))


# ---- gradebook.csv ----------------------------------------------------------------------------

def format_score(value: float | None, digits: int = 4) -> str:
    """A number as a spreadsheet reads it: 21, 6.86, 33.33; empty when unknown."""
    if value is None or not math.isfinite(value):
        return ""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def spreadsheet_safe(text: Any) -> str:
    """Text a spreadsheet will not run as a formula (file names and ids are student-chosen)."""
    text = "" if text is None else str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


ROSTER_COLUMNS = ("name", "email", "section", "github")
LATE_COLUMNS = ("submitted_at", "deadline", "days_late", "late_penalty")


def gradebook_header(exercises: list[str], *, roster: bool = False, late: bool = False
                     ) -> list[str]:
    """Columns of gradebook.csv. ``auto``: the tests' points; ``written``: points of graded
    written answers; ``pending``: written points not graded yet (0 once finalised). With a
    roster, its columns follow the id; with a deadline, the late columns follow the percent
    (``late_penalty`` in percent of the total, already taken off ``total``)."""
    return (["id", *(ROSTER_COLUMNS if roster else ()), *exercises, "auto", "written",
             "pending", "total", "max", "percent", *(LATE_COLUMNS if late else ()),
             "status", *[f"{name}_file" for name in exercises], "commit", "note"])


def _late_cells(late: dict[str, Any]) -> list[str]:
    if not late:
        return ["", "", "", ""]
    return [spreadsheet_safe(late.get("submitted_at") or ""),
            spreadsheet_safe(late.get("deadline") or ""),
            format_score(_number(late.get("days_late"))),
            format_score(_number(late.get("penalty_percent")))]


def gradebook_table(rows: list[Row]) -> list[list[str]]:
    """Header and one line per row; scores are blank when the submission has no result."""
    exercises = exercise_columns(rows)
    roster = any(row.roster for row in rows)
    late = any(row.late for row in rows)
    table = [[spreadsheet_safe(c) for c in gradebook_header(exercises, roster=roster,
                                                            late=late)]]
    for row in rows:
        table.append([
            spreadsheet_safe(row.id),
            *[spreadsheet_safe(row.roster.get(c, "")) for c in ROSTER_COLUMNS if roster],
            *[format_score(row.scores.get(n)) for n in exercises],
            format_score(row.auto), format_score(row.written), format_score(row.pending),
            format_score(row.total), format_score(row.max_total),
            format_score(row.percent, 2), *(_late_cells(row.late) if late else ()),
            row.status, *[spreadsheet_safe(row.files.get(n) or "") for n in exercises],
            spreadsheet_safe(row.commit), spreadsheet_safe(row.note),
        ])
    return table


def render_gradebook(rows: list[Row]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(gradebook_table(rows))
    return buffer.getvalue()


def read_gradebook(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a gradebook.csv as dicts (for tools and tests)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# ---- summary.html -----------------------------------------------------------------------------

def _pct(part: float, whole: float) -> float | None:
    return 100.0 * part / whole if whole else None


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _fmt_pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} %"


def _fmt_seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 60:
        return f"{value:.1f} s"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes} min {seconds} s"


def _href(row_id: str, name: str) -> str:
    """A link to a file in a submission's folder, relative to summary.html; the id is quoted
    whole so '#', '?' or '%' in a folder name stay part of the path."""
    return f"{quote(row_id, safe='')}/{name}"


def histogram(percents: list[float], bins: int = HISTOGRAM_BINS) -> dict[str, Any]:
    """Bars of an SVG histogram of percent scores (0-100 in ``bins`` equal bins), as numbers
    the template lays out; the last bin includes 100 %."""
    width, height, left, bottom, top = 640, 220, 40, 28, 12
    counts = [0] * bins
    for p in percents:
        counts[min(bins - 1, max(0, int(p * bins // 100)))] += 1
    peak = max(counts) if counts and max(counts) else 1
    plot_w, plot_h = width - left - 10, height - bottom - top
    bar_w = plot_w / bins
    bars = []
    for i, count in enumerate(counts):
        h = plot_h * count / peak
        lo, hi = 100 * i // bins, 100 * (i + 1) // bins
        bars.append({"x": round(left + i * bar_w + 2, 1), "y": round(top + plot_h - h, 1),
                     "w": round(bar_w - 4, 1), "h": round(h, 1), "count": count,
                     "label": f"{lo}–{hi} %" if i == bins - 1 else f"{lo}–<{hi} %",
                     "tick": lo, "tick_x": round(left + i * bar_w, 1),
                     "band": "high" if lo >= 80 else ("mid" if lo >= 50 else "low")})
    ticks = sorted({0, peak // 2, peak}) if peak > 1 else [0, 1]
    return {"width": width, "height": height, "left": left, "top": top, "plot_h": plot_h,
            "plot_w": plot_w, "bars": bars, "end_x": left + plot_w,
            "y_ticks": [{"value": t, "y": round(top + plot_h - plot_h * t / peak, 1)}
                        for t in ticks],
            "axis_y": top + plot_h, "label_y": top + plot_h + 16}


def summary_view(rows: list[Row], *, title: str = "Class summary") -> dict[str, Any]:
    """Everything summary.html shows, computed and formatted here; the template only lays it
    out. Missing exercises count as 0 in class statistics; error rows (no result) are counted
    separately and left out of the statistics."""
    exercises = exercise_columns(rows)
    scored = [r for r in rows if r.result is not None]
    percents = [r.percent for r in scored if r.percent is not None]
    by_status = {s: sum(r.status == s for r in rows) for s in ROW_STATUSES}

    exercise_stats = []
    for name in exercises:
        present = [r for r in scored if name in r.scores]
        pcts = [p for r in present if (p := _pct(r.scores[name], r.max_scores[name])) is not None]
        maxima = sorted({r.max_scores[name] for r in present})
        known = assignment.BY_NAME.get(name)
        exercise_stats.append({
            "name": name, "title": known.title if known else "",
            "n": len(present),
            "submitted": sum(r.exercise_status.get(name) not in ("missing", "not_attempted")
                             for r in present),
            "mean_score": format_score(_mean([r.scores[name] for r in present]), 2),
            "max_score": " or ".join(format_score(m) for m in maxima) or "—",
            "mean_percent": _mean(pcts), "mean_percent_text": _fmt_pct(_mean(pcts)),
            "median_percent_text": _fmt_pct(_median(pcts)),
            "pass_rate": _pct(sum(p >= PASS_PERCENT for p in pcts), len(pcts)),
            "pass_rate_text": _fmt_pct(_pct(sum(p >= PASS_PERCENT for p in pcts), len(pcts))),
            "full_rate_text": _fmt_pct(_pct(sum(p >= 100 - 1e-9 for p in pcts), len(pcts))),
        })

    tests = test_drilldown(rows)
    test_stats = []
    for stat in tests.values():
        rate = _pct(stat["passed"], stat["n"]) or 0.0
        credit = _pct(stat["points"], stat["max_points"])
        lost = [{**loss, "href": _href(loss["student"], "report.html") if loss["report"]
                 else None, "points_text": f"{format_score(loss['points'])}/"
                 f"{format_score(loss['max_points'])}", "message": _short(loss["message"])}
                for loss in stat["lost"]]
        test_stats.append({**stat, "rate": rate, "rate_text": _fmt_pct(rate),
                           "credit": credit, "credit_text": _fmt_pct(credit), "lost": lost,
                           "messages": _common_messages(stat["lost"])})
    test_stats.sort(key=lambda s: (s["rate"], s["credit"] if s["credit"] is not None else 0,
                                   s["exercise"], s["id"]))

    timed = sorted((r for r in scored if r.seconds is not None), key=lambda r: -r.seconds)
    slowest = [{"id": r.id, "seconds": _fmt_seconds(r.seconds), "href": _href(r.id, "report.html")
                if r.has_report else None} for r in timed[:SLOWEST_SHOWN]]

    table = []
    for row in rows:
        has_error = (row.path / ERROR_NAME).is_file()
        target = (ERROR_NAME if row.status == "error" and has_error else
                  "report.html" if row.has_report else ERROR_NAME if has_error else None)
        percent = row.percent
        table.append({
            "id": row.id, "status": row.status, "note": row.note,
            "href": _href(row.id, target) if target else None,
            "link_label": "report" if target == "report.html" else ("error" if target else ""),
            "scores": [format_score(row.scores[n], 2) if n in row.scores else "—"
                       for n in exercises],
            "exercise_status": [row.exercise_status.get(n, "") for n in exercises],
            "total": format_score(row.total, 2) if row.total is not None else "—",
            "written": format_score(row.written, 2) if row.written is not None else "",
            "pending": format_score(row.pending, 2) if row.pending else "",
            "max": format_score(row.max_total, 2) if row.max_total is not None else "",
            "percent": percent, "percent_text": _fmt_pct(percent),
            "seconds": _fmt_seconds(row.seconds) if row.seconds is not None else "",
            "commit": row.commit[:12],
        })

    return {
        "title": title,
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "class_size": len(rows), "n_scored": len(scored),
        "counts": [(s, by_status[s]) for s in ROW_STATUSES if by_status[s]],
        "mean": _fmt_pct(_mean(percents)), "median": _fmt_pct(_median(percents)),
        "mean_value": _mean(percents) or 0.0,
        "stdev": _fmt_pct(statistics.pstdev(percents)) if len(percents) > 1 else "—",
        "pass_percent": format_score(PASS_PERCENT),
        "histogram": histogram(percents) if percents else None,
        "exercises": exercises, "exercise_stats": exercise_stats,
        "tests": test_stats, "slowest": slowest, "rows": table,
        "questions": question_stats(scored), "drilldown_name": DRILLDOWN_NAME,
        "any_written": any(r.result.exercises and any(ex.manual for ex in r.result.exercises)
                           for r in scored),
        "errors": [r for r in table if r["status"] == "error"],
        "similarity_href": next((SIMILARITY_NAME for folder in {r.path.parent for r in rows}
                                 if (folder / SIMILARITY_NAME).is_file()), None),
        "any_commit": any(r.commit for r in rows),
    }


MESSAGE_SHOWN = 300         # characters of a test message in the summary's drill-down


def _short(text: str, limit: int = MESSAGE_SHOWN) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def test_drilldown(rows: list[Row]) -> dict[str, dict[str, Any]]:
    """Per test id: how the class did, and every student who lost points on it with the
    message they got. Only exercises whose suite ran count: a missing, untouched or unloadable
    exercise says nothing about a test (its "tests" are placeholders scoring 0)."""
    tests: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.result is None:
            continue
        for ex in row.result.exercises:
            if str(ex.status) in NOT_RUN:
                continue
            for t in ex.tests:
                stat = tests.setdefault(str(t.id), {
                    "id": str(t.id), "name": str(t.name or t.id), "exercise": str(ex.name),
                    "n": 0, "passed": 0, "partial": 0, "points": 0.0, "max_points": 0.0,
                    "lost": []})
                stat["n"] += 1
                stat["passed"] += t.outcome == "passed"
                stat["partial"] += t.outcome == "partial"
                stat["points"] += _number(t.points)
                stat["max_points"] += _number(t.max_points)
                if _number(t.points) < _number(t.max_points) or t.outcome != "passed":
                    stat["lost"].append({
                        "student": row.id, "outcome": str(t.outcome),
                        "points": _number(t.points), "max_points": _number(t.max_points),
                        "message": str(t.message or ""), "report": row.has_report})
    return tests


def _common_messages(lost: list[dict[str, Any]], shown: int = 3) -> list[dict[str, Any]]:
    """The most frequent messages of a test's losses (their first line): many students with
    one message hints at the teaching or the test; many different ones at the students."""
    counts: dict[str, int] = {}
    for loss in lost:
        first = _short(loss["message"].strip().splitlines()[0] if loss["message"].strip()
                       else "(no message)", 160)
        counts[first] = counts.get(first, 0) + 1
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:shown]
    return [{"message": m, "count": c} for m, c in top]


def question_stats(rows: list[Row]) -> list[dict[str, Any]]:
    """Per written question: answered, graded and pending counts, and the mean of the graded."""
    stats: dict[str, dict[str, Any]] = {}
    for row in rows:
        for ex in row.result.exercises:
            for m in ex.manual:
                if not isinstance(m, dict):
                    continue
                q = stats.setdefault(str(m.get("question")), {
                    "question": str(m.get("question")), "exercise": str(ex.name),
                    "max_points": format_score(_number(m.get("max_points"))), "n": 0,
                    "answered": 0, "graded": 0, "finalised": 0, "points": []})
                q["n"] += 1
                q["answered"] += bool(m.get("answered"))
                if m.get("points") is not None:
                    finalised = bool(m.get("final_reason"))
                    q["finalised"] += finalised
                    q["graded"] += not finalised
                    q["points"].append(_number(m.get("points")))
    out = []
    for q in stats.values():
        points = q.pop("points")
        out.append({**q, "pending": q["n"] - q["graded"] - q["finalised"],
                    "mean": format_score(_mean(points), 2) if points else "—"})
    return out


def drilldown_table(rows: list[Row]) -> list[list[str]]:
    """test_failures.csv: one line per (test, student) that lost points, hardest test first."""
    header = ["test", "exercise", "title", "student", "outcome", "points", "max_points",
              "message"]
    table = [header]
    stats = sorted(test_drilldown(rows).values(),
                   key=lambda s: (_pct(s["passed"], s["n"]) or 0.0, s["exercise"], s["id"]))
    for stat in stats:
        for loss in stat["lost"]:
            table.append([spreadsheet_safe(stat["id"]), spreadsheet_safe(stat["exercise"]),
                          spreadsheet_safe(stat["name"]), spreadsheet_safe(loss["student"]),
                          spreadsheet_safe(loss["outcome"]), format_score(loss["points"]),
                          format_score(loss["max_points"]),
                          spreadsheet_safe(" ".join(loss["message"].split()))])
    return table


def render_drilldown(rows: list[Row]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(drilldown_table(rows))
    return buffer.getvalue()


def render_summary(rows: list[Row], *, title: str = "Class summary") -> str:
    from grader.report_html import make_environment

    template = make_environment().get_template(SUMMARY_TEMPLATE)
    return template.render(s=summary_view(rows, title=title))


def write_gradebook(rows: list[Row], path: str | os.PathLike) -> Path:
    return write_atomic(Path(path), render_gradebook(rows))


def write_summary(rows: list[Row], path: str | os.PathLike, *, title: str = "Class summary"
                  ) -> Path:
    return write_atomic(Path(path), render_summary(rows, title=title))


def write_outputs(rows: list[Row], out_dir: str | os.PathLike, *, title: str | None = None
                  ) -> tuple[Path, Path]:
    """gradebook.csv and summary.html in ``out_dir`` (returned), and the per-test drill-down
    test_failures.csv next to them."""
    out_dir = Path(out_dir)
    title = title or f"Class summary — {out_dir.resolve().name}"
    from grader.roster import with_roster

    rows = with_roster(rows, out_dir)   # roster columns and "no submission" rows, if any
    write_atomic(out_dir / DRILLDOWN_NAME, render_drilldown(rows))
    return (write_gradebook(rows, out_dir / GRADEBOOK_NAME),
            write_summary(rows, out_dir / SUMMARY_NAME, title=title))


# ---- grader merge -----------------------------------------------------------------------------

def same_tree(a: Path, b: Path) -> bool:
    """Whether folders ``a`` and ``b`` hold the same files with the same bytes."""
    if Path(a).resolve() == Path(b).resolve():
        return True
    files_a, files_b = _files(a), _files(b)
    if files_a != files_b:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, sorted(files_a), shallow=False)
    return not mismatch and not errors


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file()}


def _copy_tree(src: Path, dest: Path, link: bool) -> None:
    """Copy (or hard-link) ``src`` to ``dest`` through a temporary name, so an interrupted
    merge never leaves a half-copied submission under its id."""
    tmp = dest.parent / f".{dest.name}.merging"
    shutil.rmtree(tmp, ignore_errors=True)

    def hard_link(s: str, d: str) -> None:
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)

    shutil.copytree(src, tmp, copy_function=hard_link if link else shutil.copy2, symlinks=True)
    os.replace(tmp, dest)


def graded_at(folder: Path) -> datetime:
    """When a submission folder was graded: its result.json's ``created`` (else the file's
    modification time; a folder without a result counts as oldest)."""
    path = Path(folder) / RESULT_NAME
    try:
        created = json.loads(path.read_text(encoding="utf-8")).get("created", "")
        moment = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    except (OSError, ValueError, AttributeError, TypeError):
        pass
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    except OSError:
        return datetime.min.replace(tzinfo=timezone.utc)


def merge(dirs: list[Path], out: Path, *, link: bool = False, newest: bool = False,
          log: Any = None) -> list[Row]:
    """Copy every submission folder of ``dirs`` into ``out`` and return the merged rows.

    Raises ValueError, before copying anything, when an id appears twice with different
    content — unless ``newest``: then the folder graded last (result.json's ``created``) is
    taken, and each choice is written to ``log``. Folders that hold neither result.json nor
    error.txt (a shard stopped mid-way) are copied too and show as "not graded yet" rows.
    """
    out.mkdir(parents=True, exist_ok=True)
    chosen: dict[str, Path] = {f.name: f for f in submission_dirs(out)}
    conflicts = []
    for directory in dirs:
        for folder in submission_dirs(directory):
            earlier = chosen.get(folder.name)
            if earlier is None:
                chosen[folder.name] = folder
            elif not same_tree(earlier, folder):
                if newest:
                    keep = max((earlier, folder), key=graded_at)
                    chosen[folder.name] = keep
                    if log is not None:
                        print(f"{folder.name}: graded in {earlier.parent} and "
                              f"{folder.parent}; took the newer, {keep}", file=log)
                    continue
                conflicts.append(f"{folder.name} ({earlier.parent} / {folder.parent})")
    if conflicts:
        raise ValueError("the same submission id was graded differently in two folders: "
                         + ", ".join(conflicts) + " — merge shards of one batch, or remove "
                         "the stale copy")
    out_resolved = out.resolve()
    for name, folder in sorted(chosen.items()):
        if folder.parent.resolve() != out_resolved:
            if newest and (out / name).is_dir():   # an older grading of this student
                shutil.rmtree(out / name)
            _copy_tree(folder, out / name, link)
    from grader.term import carry_into

    carry_into(dirs, out)   # the class's roster and term (deadline, policy) come along
    return collect([out])


def add_parser_merge(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    m = subparsers.add_parser(
        "merge", help="combine shard outputs of `grader batch --shard` into one gradebook",
        description="Copy every submission folder of the given batch outputs into --out "
        "(refusing an id graded differently twice) and write one gradebook.csv and "
        "summary.html there.")
    m.add_argument("dirs", nargs="+", metavar="DIR", help="batch output folders (one per shard)")
    m.add_argument("--out", required=True, metavar="DIR", help="the merged output folder")
    m.add_argument("--link", action="store_true",
                   help="hard-link files instead of copying them (same file system only)")
    m.add_argument("--newest", action="store_true",
                   help="a student graded in two folders: take the newer grading (result.json "
                   "'created') instead of refusing")
    m.set_defaults(func=run_merge)
    return m


def run_merge(args: argparse.Namespace) -> int:
    dirs = [Path(d) for d in args.dirs]
    for d in dirs:
        if not d.is_dir():
            print(f"grader merge: {d}: not a folder (give the --out folders of the shards)",
                  file=sys.stderr)
            return EXIT_USAGE
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"grader merge: --out {out} exists and is not a folder", file=sys.stderr)
        return EXIT_USAGE
    try:
        rows = merge(dirs, out, link=args.link, newest=getattr(args, "newest", False),
                     log=sys.stdout)
    except ValueError as exc:
        print(f"grader merge: {exc}", file=sys.stderr)
        return EXIT_USAGE
    csv_path, html_path = write_outputs(rows, out)
    counts = ", ".join(f"{sum(r.status == s for r in rows)} {s}" for s in ROW_STATUSES
                       if any(r.status == s for r in rows))
    print(f"merged {len(rows)} submissions from {len(dirs)} folders ({counts or 'none'})")
    print(f"gradebook: {csv_path}\nsummary: {html_path}")
    return EXIT_OK
