"""Written answers of a whole class: the answers sheet, and the class grades file.

    grader answers RESULTS [--out DIR] [--question ID ...]
    grader grades apply RESULTS [GRADES] [--finalise]

``grader answers`` reads the result files of a batch (``RESULTS/<student>/result.json``) and
writes every student's answer to each written question side by side: ``answers.html`` (one
section per question, so a TA grades one question across the class at a time) and
``answers.csv``, which is also the class grades file's template: fill in ``points`` (and
``comment``) and apply it.

``grader grades apply`` puts the points of a class grades file (CSV, YAML or JSON rows with
``student``, ``question``, ``points``, optional ``comment`` and ``exercise``; a row with empty
points is skipped) into the students' result.json, then rewrites each report.html and the
batch's gradebook.csv and summary.html. Nothing is graded again and no student code runs: the
answers were extracted when the class was graded. The whole file is checked before anything is
written (unknown students or questions, points out of range, conflicting rows). ``--finalise``
then makes every answer still without points 0 with a listed reason (unanswered / not graded).
"""
from __future__ import annotations

import argparse
import csv
import difflib
import io
import sys
from pathlib import Path
from typing import Any

from grader import assignment, gradebook, manual
from grader.files import write_atomic
from grader.gradebook import RESULT_NAME, spreadsheet_safe
from grader.results import Result
from grader.safe_text import clean_text, one_line

SHEET_CSV = "answers.csv"
SHEET_HTML = "answers.html"
SHEET_TEMPLATE = "answers.html.j2"
SHEET_COLUMNS = ["student", "exercise", "question", "max_points", "points", "comment",
                 "answered", "source", "answer"]
EXIT_OK, EXIT_USAGE = 0, 2
MAX_ERRORS_SHOWN = 20


class GradesError(ValueError):
    """A class grades file that cannot be applied; the message lists every problem."""


# ---- the answers sheet --------------------------------------------------------------------------

def _questions() -> list[tuple[str, dict]]:
    """(exercise, question) in the catalog's order, then questions.yaml's."""
    out = []
    for name in assignment.EXERCISE_NAMES:
        out += [(name, q) for q in manual.questions_for(name)]
    return out


def load_results(results: Path) -> dict[str, tuple[Path, Result]]:
    """student id -> (folder, result) for every graded submission of a batch output; each
    result gets an entry for every written question (older results lacked some)."""
    out = {}
    for row in gradebook.collect([results]):
        if row.result is not None:
            manual.ensure_questions(row.result)
            out[row.id] = (row.path, row.result)
    return out


def sheet(results: Path, only: list[str] | None = None) -> list[dict[str, Any]]:
    """Per question (``only``: these ids), every student's entry: the answers sheet's data."""
    students = load_results(results)
    questions = []
    for exercise, q in _questions():
        if only and q["id"] not in only:
            continue
        entries = []
        for student, (folder, result) in sorted(students.items()):
            try:
                ex = result.exercise(exercise)
            except KeyError:
                continue   # this exercise was not graded for this student (--exercise)
            m = next((m for m in ex.manual if m.get("question") == q["id"]), None)
            if m is None:
                continue
            entries.append({
                "student": student, "answered": bool(m.get("answered")),
                "answer": str(m.get("answer") or ""), "source": str(m.get("source") or ""),
                "note": str(m.get("note") or ""),
                "points": m.get("points"), "comment": str(m.get("comment") or ""),
                "max_points": float(m.get("max_points") or q["points"]),
                "report": (folder / "report.html").is_file(),
                "final_reason": str(m.get("final_reason") or "")})
        if entries:
            questions.append({"exercise": exercise, "id": q["id"], "prompt": q["prompt"].strip(),
                              "max_points": float(q["points"]), "entries": entries})
    return questions


def sheet_csv(questions: list[dict[str, Any]]) -> str:
    """answers.csv: one line per (question, student); the class grades file's template."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SHEET_COLUMNS)
    for q in questions:
        for e in q["entries"]:
            writer.writerow([
                spreadsheet_safe(e["student"]), q["exercise"], q["id"],
                gradebook.format_score(e["max_points"]),
                gradebook.format_score(e["points"]) if e["points"] is not None else "",
                spreadsheet_safe(e["comment"]), "yes" if e["answered"] else "no",
                spreadsheet_safe(e["source"]), spreadsheet_safe(e["answer"])])
    return buffer.getvalue()


def sheet_html(questions: list[dict[str, Any]], title: str) -> str:
    from datetime import datetime, timezone

    from grader.report_html import make_environment

    view = []
    for q in questions:
        entries = [{**e, "href": gradebook._href(e["student"], "report.html") if e["report"]
                    else None,
                    "points_text": (gradebook.format_score(e["points"])
                                    if e["points"] is not None else "–")} for e in q["entries"]]
        view.append({**q, "entries": entries, "anchor": f"q-{q['id']}",
                     "max_text": gradebook.format_score(q["max_points"]),
                     "answered": sum(e["answered"] for e in entries),
                     "graded": sum(e["points"] is not None for e in entries)})
    template = make_environment().get_template(SHEET_TEMPLATE)
    return template.render(s={
        "title": title, "questions": view, "csv_name": SHEET_CSV,
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")})


def write_sheet(results: Path, out: Path | None = None, only: list[str] | None = None
                ) -> tuple[Path, Path, int]:
    out = Path(out) if out else Path(results)
    questions = sheet(Path(results), only)
    csv_path = write_atomic(out / SHEET_CSV, sheet_csv(questions))
    title = f"Written answers — {Path(results).resolve().name}"
    html_path = write_atomic(out / SHEET_HTML, sheet_html(questions, title))
    return csv_path, html_path, len({e["student"] for q in questions for e in q["entries"]})


# ---- the class grades file ----------------------------------------------------------------------

def _unguard(text: str) -> str:
    """Undo spreadsheet_safe's leading quote, so answers.csv round-trips."""
    return text[1:] if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@") else text


def read_class_grades(path: Path) -> list[dict[str, Any]]:
    """Rows {student, question, exercise, points, comment, row}; rows with empty points are
    left out (not graded yet). Malformed rows raise GradesError naming the file and row."""
    try:
        raw = manual.load_rows(path, "student, question, points and comment")
    except manual.ManualGradesError as exc:
        raise GradesError(str(exc)) from None
    rows, problems = [], []
    for n, row in enumerate(raw, start=1):
        if not isinstance(row, dict) or not {"student", "question", "points"} <= set(row):
            problems.append(f"row {n} needs student, question and points")
            continue
        points = row.get("points")
        if points is None or (isinstance(points, str) and not points.strip()):
            continue
        try:
            value = float(points)
        except (TypeError, ValueError):
            problems.append(f"row {n}: points {one_line(points)[:40]!r} is not a number")
            continue
        rows.append({"student": _unguard(one_line(row["student"])),
                     "question": one_line(row["question"]),
                     "exercise": one_line(row.get("exercise") or ""), "points": value,
                     "comment": _unguard(clean_text(row.get("comment") or "").strip()),
                     "row": n})
    if problems:
        raise GradesError(_problems(path, problems))
    return rows


def _problems(path: Path, problems: list[str]) -> str:
    shown = problems[:MAX_ERRORS_SHOWN]
    more = len(problems) - len(shown)
    return (f"{path}: {len(problems)} problem(s), nothing was applied:\n  - "
            + "\n  - ".join(shown) + (f"\n  ... and {more} more" if more else ""))


def check_class_grades(rows: list[dict[str, Any]], students: dict[str, tuple[Path, Result]],
                       errors: set[str], path: Path) -> None:
    """Every row names a graded student and a known question, with points in range, and no two
    rows disagree; raise GradesError listing every problem otherwise."""
    known = {q["id"]: (ex, q) for ex, q in _questions()}
    problems, seen = [], {}
    for row in rows:
        where = f"row {row['row']}"
        if row["student"] not in students:
            if row["student"] in errors:
                problems.append(f"{where}: {row['student']} has no result (grading failed): "
                                f"regrade that submission first")
            else:
                close = difflib.get_close_matches(row["student"], list(students), n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                problems.append(f"{where}: no student {row['student']!r} in the results{hint}")
            continue
        if row["question"] not in known:
            close = difflib.get_close_matches(row["question"], list(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"{where}: no written question {row['question']!r}{hint}")
            continue
        exercise, q = known[row["question"]]
        if row["exercise"] and row["exercise"] != exercise:
            problems.append(f"{where}: question {row['question']} belongs to {exercise}, "
                            f"not {row['exercise']}")
            continue
        row["exercise"] = exercise
        try:
            students[row["student"]][1].exercise(exercise)
        except KeyError:
            problems.append(f"{where}: {exercise} was not graded for {row['student']}")
            continue
        if not 0 <= row["points"] <= float(q["points"]):
            problems.append(f"{where}: {row['points']:g} points is outside "
                            f"0..{float(q['points']):g} for {row['question']}")
            continue
        key = (row["student"], row["question"])
        if key in seen and (seen[key]["points"], seen[key]["comment"]) != \
                (row["points"], row["comment"]):
            problems.append(f"{where}: {row['student']} / {row['question']} already has "
                            f"{seen[key]['points']:g} points in row {seen[key]['row']}")
            continue
        seen[key] = row
    if problems:
        raise GradesError(_problems(path, problems))


def apply_class_grades(results: Path, grades: Path | None, finalise: bool = False
                       ) -> dict[str, Any]:
    """Apply ``grades`` (and/or finalise) to every result in ``results``, then rewrite the
    reports, gradebook.csv and summary.html. Returns what was done, for the command's output.
    Raises GradesError (nothing written) when the file has a problem."""
    from grader.batch import UsageError, locked

    results = Path(results)
    try:
        with locked(results):      # never while a batch writes into the same folder
            return _apply(results, grades, finalise)
    except UsageError as exc:
        raise GradesError(str(exc)) from None


def _apply(results: Path, grades: Path | None, finalise: bool) -> dict[str, Any]:
    students = load_results(results)
    errors = {r.id for r in gradebook.collect([results]) if r.result is None}
    rows = read_class_grades(grades) if grades is not None else []
    check_class_grades(rows, students, errors, grades or Path("."))
    touched: dict[str, int] = {}
    for row in rows:
        ex = students[row["student"]][1].exercise(row["exercise"])
        entry = next(m for m in ex.manual if m["question"] == row["question"])
        entry["points"], entry["comment"] = row["points"], row["comment"]
        entry["graded_from"] = grades.name if grades is not None else ""
        entry.pop("final_reason", None)
        touched[row["student"]] = touched.get(row["student"], 0) + 1
    finalised: list[dict[str, Any]] = []
    if finalise:
        for student, (_, result) in sorted(students.items()):
            for item in manual.finalise(result):
                finalised.append({"student": student, **item})
                touched.setdefault(student, 0)
    for student in sorted(touched):
        folder, result = students[student]
        result.total()
        result.write(folder / RESULT_NAME)
        _rewrite_report(result, folder)
    csv_path, html_path = gradebook.write_outputs(gradebook.collect([results]), results)
    pending = sum(float(m.get("max_points") or 0) for _, r in students.values()
                  for ex in r.exercises for m in ex.manual if m.get("points") is None)
    return {"applied": len(rows), "students": len(touched), "finalised": finalised,
            "pending": pending, "gradebook": csv_path, "summary": html_path}


def _rewrite_report(result: Result, folder: Path) -> None:
    """report.html again from the updated result (executed notebooks are only re-rendered)."""
    from grader.report_html import write_report
    from grader.report_notebook import render_notebooks

    try:
        links = render_notebooks(result, folder)
    except Exception:  # noqa: BLE001 - the report still says everything else
        links = {}
    write_report(result, folder, links=links)


# ---- the commands -------------------------------------------------------------------------------

def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    a = subparsers.add_parser(
        "answers", help="every student's written answers side by side, per question",
        description="Write answers.html (one section per written question, every student's "
        "answer side by side) and answers.csv (the same, and the template of the class grades "
        "file: fill in points and comment, then `grader grades apply`). Runs nothing.")
    a.add_argument("results", metavar="RESULTS", help="a batch output folder")
    a.add_argument("--out", metavar="DIR", help="where to write (default: RESULTS)")
    a.add_argument("--question", action="append", metavar="ID",
                   help="only this question (repeatable); ids are in solutions/questions.yaml")
    a.set_defaults(func=run_answers)
    return a


def add_parser_grades(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    g = subparsers.add_parser(
        "grades", help="apply a class grades file to a batch's results (no regrading)",
        description="Manual grading for a whole class.")
    sub = g.add_subparsers(dest="grades_command", required=True, metavar="ACTION")
    ap = sub.add_parser(
        "apply", help="put the points of a class grades file into the results",
        description="Apply a class grades file (CSV/YAML/JSON rows: student, question, points, "
        "comment; optional exercise; empty points = not graded yet) to RESULTS/<student>/"
        "result.json, then rewrite the reports, gradebook.csv and summary.html. No code runs. "
        "The whole file is checked first: on any problem nothing is written (exit 2).")
    ap.add_argument("results", metavar="RESULTS", help="a batch output folder")
    ap.add_argument("grades", nargs="?", metavar="GRADES",
                    help="the class grades file (e.g. a filled-in answers.csv)")
    ap.add_argument("--finalise", "--finalize", action="store_true",
                    help="then give 0 points to every written answer still without points, "
                    "with the reason (no answer submitted / not graded) in its comment")
    ap.set_defaults(func=run_grades_apply)
    return g


def _results_dir(text: str) -> Path | None:
    path = Path(text)
    if not path.is_dir():
        print(f"grader: {text}: not a folder (give the --out folder of `grader batch`)",
              file=sys.stderr)
        return None
    return path


def run_answers(args: argparse.Namespace) -> int:
    results = _results_dir(args.results)
    if results is None:
        return EXIT_USAGE
    known = {q["id"] for _, q in _questions()}
    unknown = [q for q in args.question or () if q not in known]
    if unknown:
        print(f"grader answers: unknown question(s) {', '.join(unknown)}; known: "
              f"{', '.join(sorted(known))}", file=sys.stderr)
        return EXIT_USAGE
    csv_path, html_path, n = write_sheet(results, Path(args.out) if args.out else None,
                                         args.question)
    print(f"answers of {n} student(s)\nanswers sheet: {html_path}\n"
          f"grades template: {csv_path} (fill in points and comment, then "
          f"`grader grades apply {args.results} {csv_path.name}`)")
    return EXIT_OK


def run_grades_apply(args: argparse.Namespace) -> int:
    results = _results_dir(args.results)
    if results is None:
        return EXIT_USAGE
    if args.grades is None and not args.finalise:
        print("grader grades apply: give a grades file, --finalise, or both", file=sys.stderr)
        return EXIT_USAGE
    grades = Path(args.grades) if args.grades else None
    if grades is not None and not grades.is_file():
        print(f"grader grades apply: {grades}: no such file", file=sys.stderr)
        return EXIT_USAGE
    try:
        done = apply_class_grades(results, grades, finalise=args.finalise)
    except GradesError as exc:
        print(f"grader grades apply: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"applied {done['applied']} grade(s); {done['students']} result(s) updated")
    if args.finalise:
        final = done["finalised"]
        unanswered = sum(f["reason"] == manual.FINAL_UNANSWERED for f in final)
        print(f"finalised: {len(final)} answer(s) set to 0 ({unanswered} unanswered, "
              f"{len(final) - unanswered} not graded)")
        for f in final[:50]:
            print(f"  {f['student']}  {f['question']}: {f['reason']}")
        if len(final) > 50:
            print(f"  ... and {len(final) - 50} more (see gradebook.csv and the reports)")
    elif done["pending"]:
        print(f"still to grade: {done['pending']:g} written point(s) across the class "
              f"(`--finalise` makes them 0)")
    print(f"gradebook: {done['gradebook']}\nsummary: {done['summary']}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grader")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    add_parser_grades(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
