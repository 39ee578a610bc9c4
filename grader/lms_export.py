"""Grades for the LMS: Canvas's gradebook import CSV and Moodle's grade import CSV.

    grader export RESULTS --format canvas --assignment "Neural networks 1" [--assignment-id 1234]
    grader export RESULTS --format moodle --assignment "Neural networks 1" [--identify-by email]

Both read a batch output folder (its gradebook rows, roster and late blocks; nothing is
graded again) and write one line per student.

Canvas (Grades > Import): the columns of a Canvas gradebook export — ``Student``, ``ID``,
``SIS User ID``, ``SIS Login ID``, ``Section`` — then one column per assignment titled
``<name> (<assignment id>)`` (without an id Canvas creates a new assignment called ``<name>``).
The second line is the read-only ``Points Possible`` row of an export, with the assignment's
maximum. Canvas matches students by ``ID``, ``SIS User ID`` or ``SIS Login ID`` (roster
``canvas_id``, ``id`` and ``login``/``email``). The file is UTF-8; ``--bom`` adds a
byte-order mark, as Canvas's own exports do under the user setting "Include Byte-Order Mark in
compatible spreadsheet exports" (for Excel in some locales) — Canvas reads it either way.

Moodle (Grades > Import > CSV file): a column that identifies the user — mapped in the import
dialog's "Identify user by" to the email address, ID number or username — then one column per
grade item (the points) and an optional feedback column mapped to that item's feedback. UTF-8,
comma-separated.

Scores are the totals of the gradebook (late penalties taken off), written as plain decimal
numbers with '.' (``42.5``). Students with no submission get an empty cell (the LMS leaves
their grade alone) unless ``--missing-zero``. A submission with written answers still pending
is exported with the points it has and listed in a warning, since its grade is not final.
"""
from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path
from typing import Any, Iterable

from grader import gradebook
from grader.files import write_atomic
from grader.gradebook import format_score, spreadsheet_safe
from grader.roster import load_for, with_roster

FORMATS = ("canvas", "moodle")
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_ROW = "Points Possible"
MOODLE_IDENTIFIERS = {"email": "Email address", "idnumber": "ID number",
                      "username": "Username"}
BOM = "\ufeff"
EXIT_OK, EXIT_USAGE = 0, 2


class ExportError(ValueError):
    """The export cannot be written (no results, a bad option)."""


def _rows(results: Path) -> list[Any]:
    if not Path(results).is_dir():
        raise ExportError(f"{results}: not a batch output folder (give the --out of "
                          f"grader batch)")
    rows = with_roster(gradebook.collect([results]), Path(results))
    if not rows:
        raise ExportError(f"{results}: no graded submissions in this folder")
    return rows


def _score(row: Any, missing_zero: bool) -> str:
    if row.total is None:
        return "0" if missing_zero and row.status == "no_submission" else ""
    return format_score(row.total, 2)


def _maximum(rows: Iterable[Any]) -> float | None:
    maxima = sorted({r.max_total for r in rows if r.max_total})
    return maxima[-1] if maxima else None


def _students(results: Path) -> dict[str, Any]:
    return load_for(Path(results)).by_folder()


def _text(value: Any, trusted: bool) -> str:
    """Roster text is the instructor's and goes as is; a student-chosen id is guarded
    against spreadsheet formulas."""
    return str(value or "") if trusted else spreadsheet_safe(value)


def canvas_table(results: Path, assignment: str, assignment_id: str | None = None, *,
                 missing_zero: bool = False) -> tuple[list[list[str]], list[str]]:
    """(rows of the Canvas import CSV, warnings)."""
    rows = _rows(results)
    students = _students(results)
    title = f"{assignment} ({assignment_id})" if assignment_id else assignment
    table = [CANVAS_COLUMNS + [title]]
    maximum = _maximum(rows)
    table.append([CANVAS_POINTS_ROW, "", "", "", "", format_score(maximum, 2)])
    warnings = _warnings(rows)
    for row in rows:
        student = students.get(row.id)
        if student is None:
            warnings.append(f"{row.id}: not on the roster — exported with its folder name as "
                            f"SIS User ID; Canvas will not match it unless that is the id")
            table.append([_text(row.id, False), "", _text(row.id, False), "", "",
                          _score(row, missing_zero)])
            continue
        table.append([student.name or student.id, student.canvas_id, student.id,
                      student.login or student.email, student.section,
                      _score(row, missing_zero)])
    return table, warnings


def moodle_table(results: Path, assignment: str, *, identify_by: str = "email",
                 feedback: bool = True, missing_zero: bool = False
                 ) -> tuple[list[list[str]], list[str]]:
    """(rows of the Moodle grade import CSV, warnings)."""
    if identify_by not in MOODLE_IDENTIFIERS:
        raise ExportError(f"--identify-by {identify_by}: one of "
                          f"{', '.join(MOODLE_IDENTIFIERS)}")
    rows = _rows(results)
    students = _students(results)
    header = [MOODLE_IDENTIFIERS[identify_by], "Full name", assignment]
    if feedback:
        header.append(f"Feedback: {assignment}")
    table = [header]
    warnings = _warnings(rows)
    for row in rows:
        student = students.get(row.id)
        if student is None:
            ident, name = _text(row.id, False), _text(row.id, False)
            warnings.append(f"{row.id}: not on the roster — its folder name is the identifier; "
                            f"Moodle will not match it unless that is the {identify_by}")
        else:
            ident = {"email": student.email, "idnumber": student.id,
                     "username": student.login or student.email.split("@", 1)[0]}[identify_by]
            name = student.name
            if not ident:
                warnings.append(f"{student.id}: the roster has no {identify_by} for this "
                                f"student — Moodle cannot match the line")
        line = [ident, name, _score(row, missing_zero)]
        if feedback:
            line.append(feedback_text(row))
        table.append(line)
    return table, warnings


def feedback_text(row: Any) -> str:
    """One line of feedback: the parts of the grade and what changed it."""
    if row.status == "no_submission":
        return "No submission."
    if row.total is None:
        return "Could not be graded; your instructor has the details."
    parts = [f"Score {format_score(row.total, 2)}/{format_score(row.max_total, 2)}",
             f"tests {format_score(row.auto, 2)}", f"written answers "
             f"{format_score(row.written, 2)}"]
    if row.pending:
        parts.append(f"{format_score(row.pending, 2)} written points not graded yet")
    late = row.late or {}
    if float(late.get("penalty_percent") or 0):
        parts.append(f"late {late.get('days_late')} day(s): -{late['penalty_percent']:g} %")
    parts.append("details in your report")
    return spreadsheet_safe("; ".join(parts) + ".")


def _warnings(rows: list[Any]) -> list[str]:
    pending = [r.id for r in rows if r.pending]
    if not pending:
        return []
    return [f"{len(pending)} submission(s) still have written answers to grade (their grade is "
            f"not final): {', '.join(pending[:10])}{' ...' if len(pending) > 10 else ''} — "
            f"`grader grades apply RESULTS --finalise` first"]


def render_csv(table: list[list[str]], *, bom: bool) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerows(table)
    return (BOM if bom else "") + buffer.getvalue()


def write_export(results: Path, fmt: str, out: Path, *, assignment: str,
                 assignment_id: str | None = None, identify_by: str = "email",
                 feedback: bool = True, missing_zero: bool = False, bom: bool = False
                 ) -> tuple[Path, list[str]]:
    if fmt == "canvas":
        table, warnings = canvas_table(results, assignment, assignment_id,
                                       missing_zero=missing_zero)
        text = render_csv(table, bom=bom)
    elif fmt == "moodle":
        table, warnings = moodle_table(results, assignment, identify_by=identify_by,
                                       feedback=feedback, missing_zero=missing_zero)
        text = render_csv(table, bom=bom)
    else:
        raise ExportError(f"unknown LMS format {fmt!r}")
    return write_atomic(Path(out), text), warnings


# ---- wiring into `grader export` ----------------------------------------------------------------

def extend_export_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--format canvas|moodle`` and their options to ``grader export`` (grader/exports.py
    keeps its own formats; this wraps its command)."""
    for action in parser._actions:
        if action.dest == "format" and action.choices is not None:
            action.choices = tuple(action.choices) + FORMATS
            action.help = (action.help or "") + ("; canvas / moodle: the LMS's grade import "
                                                 "CSV for a batch folder (RESULTS)")
    parser.add_argument("--assignment", metavar="NAME",
                        help="canvas/moodle: the assignment (grade item) name")
    parser.add_argument("--assignment-id", metavar="ID",
                        help="canvas: the assignment's Canvas id (column '<name> (<id>)')")
    parser.add_argument("--identify-by", choices=tuple(MOODLE_IDENTIFIERS), default="email",
                        help="moodle: the identifier column (default email)")
    parser.add_argument("--no-feedback", action="store_true",
                        help="moodle: leave out the feedback column")
    parser.add_argument("--bom", action="store_true",
                        help="canvas/moodle: start the file with a UTF-8 byte-order mark (for "
                        "Excel in some locales)")
    parser.add_argument("--missing-zero", action="store_true",
                        help="canvas/moodle: 0 for roster students with no submission "
                        "(default: empty, the LMS keeps what it has)")
    inner = parser.get_default("func")

    def run(args: argparse.Namespace, **kwargs: Any) -> int:
        if args.format in FORMATS:
            return run_lms(args)
        return inner(args, **kwargs)

    parser.set_defaults(func=run)
    return parser


def run_lms(args: argparse.Namespace) -> int:
    if len(args.results) != 1:
        print(f"grader export: --format {args.format} takes one batch output folder "
              f"(got {len(args.results)} paths)", file=sys.stderr)
        return EXIT_USAGE
    results = Path(args.results[0])
    out = Path(args.out) if args.out else results / f"{args.format}.csv"
    assignment = args.assignment or results.resolve().name
    try:
        path, warnings = write_export(
            results, args.format, out, assignment=assignment,
            assignment_id=args.assignment_id, identify_by=args.identify_by,
            feedback=not args.no_feedback, missing_zero=args.missing_zero, bom=args.bom)
    except ExportError as exc:
        print(f"grader export: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{args.format}: {path}")
    return EXIT_OK
