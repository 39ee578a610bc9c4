"""The class roster: who is enrolled, and which submission is whose.

A roster is a CSV file with a header row and one student per line. Columns (any order, names
matched case-insensitively; only ``id`` is required):

    id          the student's id (SIS id, matriculation number); their gradebook row and folder
    name        as the LMS shows it ("Last, First" for Canvas)
    email       also the SIS login for Canvas and the identifier Moodle matches by default
    section     the course section
    github      GitHub login (a GitHub Classroom repository is named <assignment>-<login>)
    extension   extra time for the deadline: days ("2", "1.5d"), hours ("36h") or a new
                deadline as an ISO 8601 date and time
    canvas_id   Canvas's own user id (the "ID" column of a Canvas gradebook export), optional
    login       the SIS login id, when it is not the email (optional)

A submission (folder, zip or repository name) is matched to a roster student by the student's
id, GitHub login, email (or its part before '@') or name, compared without case, accents or
punctuation; a repository named ``<anything>-<github login>`` matches that login, and a folder
of Moodle's "download all" (``Full Name_123456_assignsubmission_file_``) its name. Students on
the roster without a submission appear in the gradebook as ``no_submission``; a submission
that matches nobody keeps its own name as id, with a warning.

A batch copies the roster into its output folder (``roster.csv``), so every later rebuild of
the gradebook (grades apply, regrade, merge) keeps the roster's columns and rows.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

ROSTER_NAME = "roster.csv"          # the copy kept in a batch output folder
COLUMNS = ("id", "name", "email", "section", "github", "extension", "canvas_id", "login")
ALIASES = {
    "id": ("id", "student_id", "studentid", "student id", "sis user id", "sis_user_id",
           "idnumber", "id number", "matriculation"),
    "name": ("name", "student", "full name", "fullname", "student name"),
    "email": ("email", "e-mail", "email address", "mail"),
    "section": ("section", "group"),
    "github": ("github", "github login", "github_login", "github username", "github_username"),
    "extension": ("extension", "extension_days", "extension days"),
    "canvas_id": ("canvas_id", "canvas id", "canvas user id"),
    "login": ("login", "sis login id", "sis_login_id", "username"),
}
MAX_ROSTER_BYTES = 5 << 20


class RosterError(ValueError):
    """A roster that cannot be used; the message says which line and why."""


@dataclass(frozen=True)
class Student:
    id: str
    name: str = ""
    email: str = ""
    section: str = ""
    github: str = ""
    extension: str = ""
    canvas_id: str = ""
    login: str = ""

    @property
    def folder(self) -> str:
        """The student's folder name (and gradebook id) in a batch output."""
        from grader.batch import safe_id

        return safe_id(self.id)

    def columns(self) -> dict[str, str]:
        return {"name": self.name, "email": self.email, "section": self.section,
                "github": self.github}


_MOODLE_FOLDER = re.compile(r"^(.+?)_\d+_assignsubmission_\w*$")


def _key(text: str) -> str:
    """Names compared without case, accents, spaces or punctuation."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", text.lower())


@dataclass
class Roster:
    students: list[Student] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.students)

    def by_folder(self) -> dict[str, Student]:
        return {s.folder: s for s in self.students}

    def match(self, name: str) -> Student | None:
        """The student a submission called ``name`` belongs to, or None."""
        moodle = _MOODLE_FOLDER.match(str(name))
        if moodle:   # Moodle's "download all": "Full Name_123456_assignsubmission_file_"
            return self.match(moodle[1])
        key = _key(name)
        if not key:
            return None
        for attribute in ("id", "github", "email", "name"):
            for student in self.students:
                value = getattr(student, attribute)
                if value and _key(value) == key:
                    return student
        for student in self.students:
            local = student.email.split("@", 1)[0]
            if local and _key(local) == key:
                return student
        lowered = str(name).lower()
        for student in self.students:   # GitHub Classroom: <assignment>-<login>
            if student.github and lowered.endswith("-" + student.github.lower()):
                return student
        return None


def read_roster(path: str | Path) -> Roster:
    """Read and check a roster CSV (UTF-8, a BOM allowed; ',' or ';' separated)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RosterError(f"{path}: cannot read the roster ({exc.strerror or exc})") from None
    if len(raw) > MAX_ROSTER_BYTES:
        raise RosterError(f"{path}: {len(raw)} bytes is too large for a roster")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RosterError(f"{path}: not UTF-8 text — save the roster as CSV UTF-8") from None
    return parse_roster(text, str(path))


def parse_roster(text: str, where: str = "roster") -> Roster:
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count) if any(d in first for d in ",;\t") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None)
    if not header:
        raise RosterError(f"{where}: empty — the first line must name the columns (id, name, "
                          f"email, section, github, extension)")
    index: dict[str, int] = {}
    for position, title in enumerate(header):
        title_key = " ".join(title.strip().lower().split())
        for column, names in ALIASES.items():
            if title_key in names and column not in index:
                index[column] = position
    if "id" not in index:
        raise RosterError(f"{where}: no 'id' column (the header is {', '.join(header)})")
    students, seen, problems = [], {}, []
    logins: dict[str, str] = {}
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        values = {c: (cells[i].strip() if i < len(cells) else "") for c, i in index.items()}
        if not values["id"]:
            problems.append(f"line {line}: no id")
            continue
        student = Student(**{c: values.get(c, "") for c in COLUMNS})
        folder = student.folder.lower()
        if folder in seen:
            problems.append(f"line {line}: id {student.id!r} is already on line {seen[folder]}")
            continue
        if student.github:
            other = logins.get(student.github.lower())
            if other:
                problems.append(f"line {line}: GitHub login {student.github!r} is also "
                                f"{other}'s")
            logins[student.github.lower()] = student.id
        if student.extension:
            from grader.late_policy import LatePolicyError, parse_extension

            try:
                parse_extension(student.extension)
            except LatePolicyError as exc:
                problems.append(f"line {line}: {exc}")
        seen[folder] = line
        students.append(student)
    if problems:
        raise RosterError(f"{where}: " + "; ".join(problems[:20]))
    return Roster(students)


def write_roster(roster: Roster, path: Path) -> Path:
    """The roster as the batch keeps it (normalised columns), written atomically."""
    from grader.files import write_atomic

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for s in roster.students:
        writer.writerow([getattr(s, c) for c in COLUMNS])
    return write_atomic(Path(path), buffer.getvalue())


def load_for(results: Path) -> Roster:
    """The roster a batch kept in ``results`` (empty when there is none)."""
    path = Path(results) / ROSTER_NAME
    if not path.is_file():
        return Roster()
    try:
        return read_roster(path)
    except RosterError:
        return Roster()


def assign(subs: list[Any], roster: Roster) -> tuple[list[Any], list[str]]:
    """Submissions with roster ids, and warnings (unmatched, two submissions for one student).

    ``subs`` are :class:`grader.batch.Submission`; a matched one takes its student's folder
    name as id, and its original name stays in ``name``.
    """
    if not roster:
        return subs, []
    taken: dict[str, Any] = {}
    out, warnings = [], []
    for sub in subs:
        student = roster.match(sub.name or sub.id) or roster.match(sub.id)
        if student is None:
            warnings.append(f"{sub.id}: not on the roster; graded under its own name")
            out.append(sub)
            continue
        if student.folder in taken:
            warnings.append(f"{sub.id}: also matches roster student {student.id} (already "
                            f"{taken[student.folder]}); graded under its own name")
            out.append(sub)
            continue
        taken[student.folder] = sub.name or sub.id
        out.append(replace(sub, id=student.folder))
    ids = [s.id.lower() for s in out]
    clashes = {i for i in ids if ids.count(i) > 1}
    if clashes:   # an unmatched name equal to a student's id: keep both, distinctly
        fixed = []
        for sub in out:
            if sub.id.lower() in clashes and roster.by_folder().get(sub.id) is None:
                sub = replace(sub, id=f"{sub.id}-unmatched")
            fixed.append(sub)
        out = fixed
    return sorted(out, key=lambda s: s.id), warnings


def missing(roster: Roster, ids: Iterable[str]) -> list[Student]:
    """Roster students with no submission among ``ids``."""
    have = {i.lower() for i in ids}
    return [s for s in roster.students if s.folder.lower() not in have]


def with_roster(rows: list[Any], results: Path) -> list[Any]:
    """Gradebook rows with the roster's columns, plus a ``no_submission`` row for every roster
    student without a folder in ``results`` (nothing to do without a kept roster)."""
    from grader.gradebook import Row

    roster = load_for(results)
    if not roster:
        return rows
    rows = list(rows)
    students = roster.by_folder()
    for row in rows:
        student = students.get(row.id)
        if student is not None:
            row.roster = student.columns()
        elif not row.note.startswith("not on the roster"):
            row.note = "; ".join(p for p in ("not on the roster", row.note) if p)
    if _sharded(results):   # the other shards' students are not missing, just elsewhere
        return sorted(rows, key=lambda r: r.id)
    for student in missing(roster, [r.id for r in rows]):
        rows.append(Row(id=student.folder, status="no_submission",
                        path=Path(results) / student.folder, note="no submission",
                        roster=student.columns()))
    return sorted(rows, key=lambda r: r.id)


def _sharded(results: Path) -> bool:
    """Whether ``results`` holds one shard of a batch (term.json's ``shard``)."""
    import json

    try:
        data = json.loads((Path(results) / "term.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and bool(data.get("shard"))
