"""Written answers: found wherever the student put them, graded by hand, folded into result.json.

The questions and their points come from solutions/questions.yaml (trusted), never from the
student's notebook metadata. Answers are taken from
- the exercise's notebook (even when the code is graded from the ``.py``): the answer cell's
  ``grader.question`` id, or when a student lost that metadata, the markdown cell after the
  question's prompt cell;
- an answers file, ``ANSWERS.md`` (any case, also ``answers.txt``) at the top of the submission
  or in ``exercises/``: one heading per question id (``## neuron-bias``), the answer below it.
Every question of every graded exercise gets an entry, answered or not, so every submission is
graded out of the same maximum. Manual points are kept across regrades as long as the answer
text is unchanged; ``finalise`` turns what is still unanswered or ungraded into 0 with a reason.
"""
from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from grader.assignment import PROJECT_ROOT
from grader.safe_text import clean_text, one_line

QUESTIONS_FILE = PROJECT_ROOT / "solutions" / "questions.yaml"
PLACEHOLDER = "_Write your answer here._"
MAX_ANSWER_CHARS = 20_000
ANSWERS_FILES = ("answers.md", "answers.markdown", "answers.txt")
MAX_ANSWERS_FILE_BYTES = 2 << 20
_HEADING = re.compile(r"(#{1,6})[ \t]+(.*)")       # matched on short lines only, see below
MAX_HEADING_CHARS = 300


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


def load_rows(path: Path, what: str = "exercise, question, points and comment") -> list:
    """The raw rows of a YAML, CSV or JSON grades file (a list, or ``{grades: [...]}``)."""
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
        raise ManualGradesError(f"{path}: expected a list of rows with {what}")
    return rows


def read_grades(path: Path) -> list[dict]:
    """Rows {exercise, question, points, comment} from a YAML, CSV or JSON file."""
    rows = load_rows(path)
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
    ensure_questions(result)
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


# ---- answers wherever they are ------------------------------------------------------------------

def answers_file(submission: Path) -> tuple[str, Path] | None:
    """(relative path, path) of the submission's answers file (ANSWERS.md, any case), if any."""
    from grader.locate import search_dirs

    root = submission.resolve()
    for prefix, folder in search_dirs(root):
        try:
            names = sorted(folder.iterdir(), key=lambda p: p.name)
        except OSError:
            continue
        for path in names:
            if path.name.lower() in ANSWERS_FILES and path.is_file() \
                    and root in path.resolve().parents:
                return f"{prefix}{path.name}", path
    return None


def parse_answers_file(path: Path, ids: list[str]) -> dict[str, str]:
    """{question id: answer} from a Markdown file with one heading per question id.

    A heading names its question by id anywhere in it (``## neuron-bias``, ``### Answer to
    neuron-bias:``); the answer is everything below it up to the next heading of the same or a
    higher level. Text is made safe here, where it enters the grader.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_ANSWERS_FILE_BYTES + 1)
    except OSError:
        return {}
    text = clean_text(data[:MAX_ANSWERS_FILE_BYTES].decode("utf-8-sig", errors="replace"))
    patterns = {q: re.compile(rf"(?<![\w.-]){re.escape(q)}(?![\w-])", re.IGNORECASE)
                for q in ids}
    found: dict[str, list[str]] = {}
    current: tuple[str, int] | None = None      # (question id, heading level)
    lines: list[str] = []

    def close() -> None:
        if current is not None:
            body = "\n".join(lines).strip()
            if body and body != PLACEHOLDER:
                found.setdefault(current[0], []).append(body)

    in_fence = False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        heading = None if in_fence or len(line) > MAX_HEADING_CHARS else _HEADING.fullmatch(line)
        if heading:
            level = len(heading[1])
            title = heading[2].rstrip(" \t#").replace("`", "").replace("*", "")
            qid = next((q for q, pat in patterns.items() if pat.search(title)), None)
            if qid is not None or current is None or level <= current[1]:
                close()
                current, lines = ((qid, level) if qid is not None else None), []
                continue
        if current is not None:
            lines.append(line)
    close()
    return {q: "\n\n---\n\n".join(parts)[:MAX_ANSWER_CHARS] for q, parts in found.items()}


def find_answers(submission: Path, exercise: str, located: Any = None,
                 questions: list[dict] | None = None) -> list[dict]:
    """One entry per written question of ``exercise``, from wherever the student answered it.

    Looks in the exercise's notebook (the graded file when it is one, else the best-named
    ``<exercise>.ipynb`` of the submission) and in the answers file; an answer in both places
    is shown with both parts. Each entry says where its answer was found (``source``) or where
    it was looked for (``note``).
    """
    from grader.locate import matching_files

    questions = questions_for(exercise) if questions is None else questions
    if not questions:
        return []
    root = Path(submission).resolve()
    notebooks: list[tuple[str, Path]] = []
    chosen = getattr(located, "path", None)
    if chosen is not None and Path(chosen).suffix.lower() == ".ipynb":
        notebooks = [(located.rel, Path(chosen))]
    else:
        for _, _, rel, path in sorted(matching_files(root, exercise, (".ipynb",)))[:5]:
            if path.is_file() and root in path.resolve().parents:
                notebooks.append((rel, path))
    # of several notebooks, the one with the most answers (then the best-named)
    best: tuple[str, list[dict]] | None = None
    for rel, path in notebooks:
        got = extract_answers(path, exercise, questions)
        if best is None or sum(a["answered"] for a in got) > sum(a["answered"] for a in best[1]):
            best = (rel, got)
    nb_rel, nb_answers = best if best else (None, [])
    nb_by_id = {a["question"]: a for a in nb_answers}
    md = answers_file(root)
    md_answers = parse_answers_file(md[1], [q["id"] for q in questions]) if md else {}

    entries = []
    for q in questions:
        nb = nb_by_id.get(q["id"])
        parts, sources = [], []
        if nb is not None and nb["answered"]:
            parts.append(nb["answer"])
            sources.append(nb_rel)
        if q["id"] in md_answers:
            parts.append(md_answers[q["id"]])
            sources.append(f"{md[0]} (heading {q['id']})")
        answer = "\n\n---\n\n".join(parts)[:MAX_ANSWER_CHARS]
        if len(sources) > 1:
            note = f"answered in both {nb_rel} and {md[0]}: both are shown"
        elif sources:
            note = nb["note"] if nb is not None and nb_rel in sources else ""
        else:
            looked = [f"an answer cell in {nb_rel}" if nb_rel else
                      f"an answer cell in {exercise}.ipynb (not submitted)",
                      f"a '## {q['id']}' heading in {md[0]}" if md else
                      f"a '## {q['id']}' heading in ANSWERS.md (not submitted)"]
            note = "no answer found: looked for " + " and ".join(looked)
        entries.append({
            "question": q["id"], "prompt": q["prompt"].strip(),
            "max_points": float(q["points"]), "answer": answer, "answered": bool(parts),
            "found": bool(parts) or bool(nb is not None and nb["found"]),
            "source": "; ".join(sources), "note": note,
            "answer_sha256": hashlib.sha256(answer.encode()).hexdigest(),
            "points": None, "comment": "",
        })
    return entries


def ensure_questions(result: Any) -> list[str]:
    """Give every exercise of ``result`` an entry for each of its written questions.

    Results made by graders older than schema 1.2 have entries for notebook submissions only;
    the entries added here are unanswered (nothing was recorded), so every submission is graded
    out of the same maximum. Returns the ids added.
    """
    added = []
    for ex in result.exercises:
        have = {m.get("question") for m in ex.manual if isinstance(m, dict)}
        for q in questions_for(ex.name):
            if q["id"] in have:
                continue
            ex.manual.append({
                "question": q["id"], "prompt": q["prompt"].strip(),
                "max_points": float(q["points"]), "answer": "", "answered": False,
                "found": False, "source": "",
                "note": "no answer recorded (this result predates answers outside notebooks: "
                        "regrade to look for one)",
                "answer_sha256": hashlib.sha256(b"").hexdigest(), "points": None,
                "comment": ""})
            added.append(q["id"])
    return added


FINAL_UNANSWERED = "no answer was submitted"
FINAL_UNGRADED = "not graded when grading was finalised"


def finalise(result: Any) -> list[dict]:
    """Every written answer still without points scores 0, with the reason in its comment
    and ``final_reason``. Returns [{exercise, question, reason}] of what was set."""
    ensure_questions(result)
    changed = []
    for ex in result.exercises:
        for m in ex.manual:
            if m.get("points") is not None:
                continue
            reason = FINAL_UNGRADED if m.get("answered") else FINAL_UNANSWERED
            m["points"], m["final_reason"] = 0.0, reason
            m["comment"] = m.get("comment") or f"0 points: {reason}."
            changed.append({"exercise": ex.name, "question": m["question"], "reason": reason})
    return changed
