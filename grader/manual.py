"""Written answers: found in the submitted notebook, graded by hand, folded into result.json.

The questions and their points come from solutions/questions.yaml (trusted), never from the
student's notebook metadata. Answers are matched by the answer cell's ``grader.question`` id;
when a student lost that metadata, by the markdown cell after the question's prompt cell.
Manual points are kept across regrades as long as the answer text is unchanged.
"""
from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

from grader.assignment import PROJECT_ROOT
from grader.safe_text import clean_text, one_line

QUESTIONS_FILE = PROJECT_ROOT / "solutions" / "questions.yaml"
PLACEHOLDER = "_Write your answer here._"
MAX_ANSWER_CHARS = 20_000


class ManualGradesError(ValueError):
    """A manual-grades file that cannot be applied; the message names the file and row."""


def questions_for(exercise: str, path: Path = QUESTIONS_FILE) -> list[dict]:
    from grader.authoring import load_questions

    return load_questions(path).get(exercise, [])


def _text(cell: dict) -> str:
    """A cell's source as safe text (surrogates, controls, escapes and bidi marks removed)."""
    src = cell.get("source", "")
    return clean_text("".join(map(str, src)) if isinstance(src, list) else src).strip()


def _grader_meta(cell: dict) -> dict:
    meta = cell.get("metadata")
    meta = meta.get("grader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def extract_answers(notebook: Path, exercise: str,
                    questions: list[dict] | None = None) -> list[dict]:
    """One entry per written question of ``exercise``: the student's answer, if any."""
    questions = questions_for(exercise) if questions is None else questions
    if not questions:
        return []
    try:
        nb = json.loads(notebook.read_bytes().decode("utf-8-sig"))
        cells = [c for c in nb.get("cells", []) if isinstance(c, dict)]
    except (OSError, ValueError, AttributeError, RecursionError):
        cells = []
    answers = []
    for q in questions:
        by_id = [c for c in cells if c.get("cell_type") in ("markdown", "raw", "code")
                 and _grader_meta(c).get("manual") and _grader_meta(c).get("question") == q["id"]]
        note = ""
        if not by_id:  # metadata lost: take the markdown cell after the question's prompt
            for i, c in enumerate(cells[:-1]):
                if _grader_meta(c).get("question_prompt") == q["id"]:
                    by_id = [cells[i + 1]]
                    note = "answer cell found after the question (its marker was lost)"
                    break
        texts = [_text(c) for c in by_id]
        written = [t for t in texts if t and t != PLACEHOLDER]
        if len(written) > 1:
            note = f"{len(written)} answer cells for this question: all are shown"
        answer = "\n\n---\n\n".join(written)[:MAX_ANSWER_CHARS]
        answers.append({
            "question": q["id"], "prompt": q["prompt"].strip(),
            "max_points": float(q["points"]), "answer": answer, "answered": bool(written),
            "found": bool(by_id), "note": note or ("" if by_id else "no answer cell found"),
            "answer_sha256": hashlib.sha256(answer.encode()).hexdigest(),
            "points": None, "comment": "",
        })
    return answers


def read_grades(path: Path) -> list[dict]:
    """Rows {exercise, question, points, comment} from a YAML, CSV or JSON file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ManualGradesError(f"{path}: cannot read it ({exc.strerror})") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            rows = list(csv.DictReader(text.splitlines()))
        elif suffix == ".json":
            rows = json.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            rows = yaml.safe_load(text)
        else:
            raise ManualGradesError(f"{path}: use a .yaml, .csv or .json file")
    except (ValueError, ImportError) as exc:
        raise ManualGradesError(f"{path}: not valid {suffix[1:].upper()} ({exc})") from None
    if isinstance(rows, dict) and isinstance(rows.get("grades"), list):
        rows = rows["grades"]
    if not isinstance(rows, list):
        raise ManualGradesError(f"{path}: expected a list of rows with exercise, question, "
                                f"points and comment")
    out = []
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or not {"exercise", "question", "points"} <= set(row):
            raise ManualGradesError(f"{path}: row {n} needs exercise, question and points")
        try:
            points = float(row["points"])
        except (TypeError, ValueError):
            raise ManualGradesError(f"{path}: row {n}: points {row['points']!r} is not a "
                                    f"number") from None
        out.append({"exercise": one_line(row["exercise"]),
                    "question": one_line(row["question"]), "points": points,
                    "comment": clean_text(row.get("comment") or "").strip(), "row": n})
    return out


def check_grades(rows: list[dict], source: Path) -> None:
    """Refuse unknown exercises/questions and out-of-range points before anything is graded."""
    from grader.authoring import load_questions

    questions = load_questions(QUESTIONS_FILE)
    for row in rows:
        known = {q["id"]: q for q in questions.get(row["exercise"], [])}
        if row["question"] not in known:
            raise ManualGradesError(
                f"{source}: row {row['row']}: {row['exercise']} has no written question "
                f"{row['question']!r} (known: {', '.join(known) or 'none'})")
        top = float(known[row["question"]]["points"])
        if not 0 <= row["points"] <= top:
            raise ManualGradesError(f"{source}: row {row['row']}: {row['points']:g} points is "
                                    f"outside 0..{top:g}")


def apply_grades(result: Any, rows: list[dict], source: Path) -> None:
    """Put manual points into ``result``; unknown questions or out-of-range points fail."""
    for row in rows:
        try:
            ex = result.exercise(row["exercise"])
        except KeyError:
            raise ManualGradesError(f"{source}: row {row['row']}: exercise {row['exercise']!r} "
                                    f"is not in this result") from None
        entry = next((m for m in ex.manual if m["question"] == row["question"]), None)
        if entry is None:
            known = ", ".join(m["question"] for m in ex.manual) or "none (not a notebook?)"
            raise ManualGradesError(f"{source}: row {row['row']}: {row['exercise']} has no "
                                    f"written question {row['question']!r} (known: {known})")
        if not 0 <= row["points"] <= entry["max_points"]:
            raise ManualGradesError(f"{source}: row {row['row']}: {row['points']:g} points is "
                                    f"outside 0..{entry['max_points']:g}")
        entry["points"], entry["comment"] = row["points"], row["comment"]


def carry_over(result: Any, previous: Any) -> None:
    """Keep earlier manual points for answers that have not changed since they were graded."""
    for ex in result.exercises:
        try:
            old = previous.exercise(ex.name)
        except KeyError:
            continue
        graded = {m["question"]: m for m in old.manual if m.get("points") is not None}
        for entry in ex.manual:
            before = graded.get(entry["question"])
            if before is None:
                continue
            if before.get("answer_sha256") == entry["answer_sha256"]:
                entry["points"], entry["comment"] = before["points"], before.get("comment", "")
            else:
                entry["note"] = (f"answer changed since it was graded ({before['points']:g} "
                                 f"points): grade it again")
