"""The ``grader`` command: one subcommand per job.

    grader grade SUBMISSION    grade a folder or .zip into reports/<name>/
    grader check [EX] [PATH]   run the public tests on your own work (students)
    grader batch SOURCE        grade a class in parallel, resumably -> gradebook + summary
    grader merge DIR...        combine batch shards into one gradebook (--newest: regradings)
    grader regrade RESULTS STUDENT...   grade some students again in place (keeps manual points)
    grader similarity RESULTS  the class's most similar pairs of submissions, side by side
    grader answers RESULTS     every student's written answers side by side (HTML, CSV)
    grader grades apply RESULTS GRADES [--finalise]   class-wide manual points, no regrading
    grader export RESULT...    Gradescope JSON, GitHub summary/annotations, JUnit XML;
                               Canvas or Moodle grade import CSV for a batch folder
    grader template OUT        the student template repository
    grader generate            regenerate exercises/ from solutions/
    grader new NAME            the skeleton of a new exercise (docs/AUTHORING.md)

Exit status: 0 when the job completed (whatever the score), 1 when ``--fail-under`` is not
met or ``generate --check`` finds drift, 2 for usage errors and unreadable input, 3 when the
grader itself failed (``grade`` still writes result.json and the report for every exercise the
fault did not touch; the others are marked as not graded).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader import (answers, assignment, batch, exports, gradebook, lms_export, regrade,
                    similarity, template_repo)
from grader.check import add_parser as add_check_parser
from grader.safe_text import one_line

EXIT_OK, EXIT_BELOW, EXIT_USAGE, EXIT_FAULT = 0, 1, 2, 3


def _grade(args: argparse.Namespace) -> int:
    from grader.grading import GraderFault, grade
    from grader.manual import (
        ManualGradesError,
        apply_grades,
        carry_over,
        check_grades,
        read_grades,
    )
    from grader.report_html import write_report
    from grader.report_notebook import render_notebooks
    from grader.results import Result
    from grader.sandbox import Limits
    from grader.submission import SubmissionError

    if getattr(args, "standby", False):   # grader batch's next grading, warmed up ahead
        from grader import pool as worker_pool

        return worker_pool.standby(args, _grade)
    submission = Path(args.submission)
    out = Path(args.out) if args.out else assignment.PROJECT_ROOT / "reports" / (
        submission.stem if submission.suffix == ".zip" else submission.resolve().name)
    limits = Limits(threads=args.threads) if args.threads else None
    try:
        grades = read_grades(Path(args.manual)) if args.manual else []
        check_grades(grades, Path(args.manual or "."))
    except ManualGradesError as exc:
        print(f"grader: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    fault = None
    try:
        from grader import pool as worker_pool

        hide = [out.resolve(), *map(Path, args.hide or ())]
        with worker_pool.for_grade(args, limits, hide):   # warm workers (grader.pool)
            result = grade(submission, exercises=args.exercise, sandbox=args.sandbox,
                           limits=limits, hide=hide, artifacts=out,
                           log=sys.stderr if args.verbose else None)
    except SubmissionError as exc:
        print(f"grader: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except GraderFault as exc:
        if exc.result is None:
            print(f"grader: internal error — {one_line(exc)}", file=sys.stderr)
            return EXIT_FAULT
        result, fault = exc.result, exc  # the exercises it did not touch are still written
    try:
        carry_over(result, Result.read(out / "result.json"))
    except (ValueError, OSError, KeyError, TypeError):
        pass  # no earlier result (or an unreadable one): nothing to keep
    try:
        apply_grades(result, grades, Path(args.manual)) if grades else None
    except ManualGradesError as exc:
        print(f"grader: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    result.total()
    try:
        links = render_notebooks(result, out)
    except Exception as exc:  # noqa: BLE001 - the report and result.json are still written
        links, fault = {}, fault or exc
    result.write(out / "result.json")
    report = write_report(result, out, links=links)
    _print_summary(result, report)
    if fault is not None:
        what = str(fault) if isinstance(fault, GraderFault) else type(fault).__name__
        print(f"grader: internal error — {one_line(what)}; result.json and the report were "
              f"written for the exercises graded", file=sys.stderr)
        return EXIT_FAULT
    if args.fail_under is not None and result.percent < args.fail_under:
        print(f"score {result.percent:.1f}% is below --fail-under {args.fail_under:g}%")
        return EXIT_BELOW
    return EXIT_OK


def _print_summary(result, report: Path) -> None:
    mode = result.sandbox.get("mode", "?")
    print(f"{one_line(result.submission)}: {result.score:g}/{result.max_score:g} "
          f"({result.percent:.1f}%)  sandbox: {mode}")
    for ex in result.exercises:
        failed = sum(t.outcome not in ("passed",) for t in ex.tests)
        note = ex.status if ex.status != "graded" else (
            f"{failed} test(s) lost points" if failed else "all tests passed")
        if ex.manual_pending:
            note += f"; written answers await manual grading ({ex.manual_pending:g} points)"
        print(f"  {ex.name:<11} {ex.score:>6g}/{ex.max_score:<6g} {note}")
    print(f"report: {one_line(report)}")


def _generate(args: argparse.Namespace) -> int:
    from grader.authoring import cli_generate

    return cli_generate(args)


def version() -> str:
    """The installed distribution's version: the course grader or its student edition."""
    from importlib import metadata

    for dist in ("dl-grader-student" if assignment.STUDENT_EDITION else "dl-grader",
                 "dl-grader", "dl-grader-student"):
        try:
            found = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
        edition = " (student edition: public checks only)" if assignment.STUDENT_EDITION else ""
        return f"{found}{edition}"
    return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {version()}, Python {sys.version.split()[0]}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    g = sub.add_parser("grade", help="grade one submission (a folder or a .zip)")
    g.add_argument("submission", help="the submission folder or .zip")
    g.add_argument("--exercise", action="append", choices=assignment.EXERCISE_NAMES,
                   metavar="NAME", help="grade only this exercise (repeatable); "
                   f"one of {', '.join(assignment.EXERCISE_NAMES)}")
    g.add_argument("--out", metavar="DIR", help="output folder (default reports/<name>/)")
    g.add_argument("--fail-under", type=float, metavar="PCT",
                   help="exit with status 1 when the score is below PCT percent")
    g.add_argument("--sandbox", choices=("auto", "bubblewrap", "reduced"), default=None,
                   help="sandbox mode (default: bubblewrap when installed; env GRADER_SANDBOX)")
    g.add_argument("--manual", metavar="FILE",
                   help="manual points for written answers (YAML, CSV or JSON rows: exercise, "
                   "question, points, comment); kept across regrades")
    g.add_argument("--hide", action="append", metavar="PATH",
                   help="a file or folder the student's code must not see, e.g. the other "
                   "submissions of a class (repeatable; grader batch passes its own)")
    g.add_argument("--threads", type=int, metavar="N",
                   help="CPU threads for the student's TensorFlow/BLAS (default: all cores)")
    g.add_argument("-v", "--verbose", action="store_true", help="show the suites' pytest log")
    g.add_argument("--pool", action=argparse.BooleanOptionalAction, default=None,
                   help="start the workers ahead, warm, before they are needed (default: on; "
                   "env GRADER_POOL=0 turns it off); each still serves one exercise only")
    g.add_argument("--standby", action="store_true", help=argparse.SUPPRESS)  # grader batch
    g.set_defaults(func=_grade)

    add_check_parser(sub)
    batch.add_parser(sub)
    gradebook.add_parser_merge(sub)
    answers.add_parser(sub)
    answers.add_parser_grades(sub)
    lms_export.extend_export_parser(exports.add_parser(sub))
    regrade.add_parser(sub)
    similarity.add_parser(sub)
    template_repo.add_parser(sub)

    gen = sub.add_parser("generate", help="regenerate exercises/ from solutions/")
    gen.add_argument("--check", action="store_true",
                     help="write nothing; exit 1 if exercises/ is out of date")
    gen.add_argument("--solutions", metavar="DIR", help="solutions folder (default solutions/)")
    gen.add_argument("--exercises", metavar="DIR", help="output folder (default exercises/)")
    gen.set_defaults(func=_generate)

    from grader import scaffold
    scaffold.add_parser(sub)
    return parser


# What the student edition (grader.student_edition) leaves out: it has no hidden tests.
INSTRUCTOR_COMMANDS = ("grade", "batch", "merge", "template", "generate", "answers", "grades",
                       "regrade", "similarity", "new")


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        try:  # a terminal that cannot show a character gets an escape, not a crash
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass
    args = build_parser().parse_args(argv)
    if assignment.STUDENT_EDITION and args.command in INSTRUCTOR_COMMANDS:
        print(f"grader {args.command}: this is the student edition of the grader, which holds "
              f"the public checks only; run `grader check` to check your work",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        return args.func(args)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - exit 1 means "below --fail-under", never this
        print(f"grader: internal error — {type(exc).__name__}: {one_line(exc)[:300]}",
              file=sys.stderr)
        return EXIT_FAULT


if __name__ == "__main__":
    sys.exit(main())
