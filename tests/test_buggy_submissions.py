"""Single-bug submissions: each typical student mistake costs points where it is made, only there.

Each table of tests/submissions/buggy/bugs.toml is the reference solution with ONE change,
marked ``# BUG:`` and given as old/new text pairs, plus which regexes the student-facing
messages must match: one naming the function, one naming the mistake. Each bug
is graded as a whole submission (the other files are the reference solutions) so that a
failure here means either the suites missed the mistake, blamed it on the wrong exercise, or
explained it badly.

Grading one bug takes ~5 s (numpy exercises) to ~60 s (Keras exercises), so the grading test
is slow; the manifest/consistency checks are instant.
"""
from __future__ import annotations

import ast
import difflib
import re
import shutil
import sys
from pathlib import Path

import pytest

from grader import assignment
from grader.grading import grade

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = assignment.PROJECT_ROOT
SOLUTIONS_DIR = ROOT / "solutions"
BUGGY_DIR = ROOT / "tests" / "submissions" / "buggy"
MANIFEST = BUGGY_DIR / "bugs.toml"
# Exercises cheap enough to grade next to every bug, to show the bug costs nothing there.
CHEAP_EXERCISES = [e.name for e in assignment.EXERCISES if not e.uses_tensorflow]
MAX_CHANGED_LINES = 6
MIN_BUGS_PER_EXERCISE = 3
# Exercises whose lost_tests list every test a bug may cost: one mistake, one deduction.
ONE_DEDUCTION_EXERCISES = ("neuron", "backprop", "perceptron", "optimizers", "lstm", "cnn")
# The student's own source shows up in tracebacks of their exceptions; the BUG comment there
# must not be what satisfies an `expect` regex.
BUG_COMMENT = re.compile(r"# BUG:.*")


def load_manifest() -> dict[str, dict]:
    """bugs.toml and every other ``*.toml`` of the folder (one per newer exercise, so that
    exercises written side by side do not edit one file); a bug name is unique across them."""
    bugs: dict[str, dict] = {}
    for path in [MANIFEST] + sorted(set(BUGGY_DIR.glob("*.toml")) - {MANIFEST}):
        with path.open("rb") as fh:
            tables = tomllib.load(fh)
        twice = sorted(set(tables) & set(bugs))
        assert not twice, f"{path.name}: bug names already used in another manifest: {twice}"
        bugs.update(tables)
    return bugs


BUGS = load_manifest()


def buggy_source(bug: str) -> str:
    """The reference solution with the bug's changes applied (each anchors exactly once),
    so the fixtures follow every edit of solutions/ instead of going stale as copies."""
    text = (SOLUTIONS_DIR / f"{BUGS[bug]['exercise']}.py").read_text(encoding="utf-8")
    for n, change in enumerate(BUGS[bug].get("change", []), start=1):
        found = text.count(change["old"])
        assert found == 1, (f"{bug}: change {n} must match the solution exactly once, "
                            f"matches {found} times: update bugs.toml after editing solutions/")
        text = text.replace(change["old"], change["new"])
    return text


def changed_lines(before: str, after: str) -> tuple[int, list[str]]:
    """How many lines differ (a replaced block counts its longer side) and the new lines."""
    a, b = before.splitlines(), after.splitlines()
    count, new = 0, []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "equal":
            count += max(i2 - i1, j2 - j1)
            new += b[j1:j2]
    return count, new


@pytest.fixture(scope="module")
def suite_source_lines() -> list[str]:
    """Code lines of the hidden suites: none may reach a student-facing message."""
    lines = [line.strip() for path in assignment.SUITES_DIR.rglob("*.py")
             for line in path.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if len(line) > 30
             and ("student." in line or "expect" in line or "assert " in line)]
    assert len(lines) > 50, "expected code lines in the hidden suites"
    return lines


def build_submission(folder: str, dest: Path) -> Path:
    """All reference solutions, with the one exercise file replaced by its buggy version."""
    dest.mkdir()
    for path in SOLUTIONS_DIR.glob("*.py"):
        shutil.copy(path, dest / path.name)
    (dest / f"{BUGS[folder]['exercise']}.py").write_text(buggy_source(folder), encoding="utf-8")
    return dest


def graded_bug(folder: str, cache: dict, tmp_path_factory):
    """The GradingResult of the bug's submission, graded with every test (hidden and public:
    TestResult.public tells them apart), on its own exercise first and the cheap exercises
    after it. Cached in ``cache`` (the session fixture ``bug_gradings``), so the whole test
    session grades each bug once."""
    if folder not in cache:
        own = BUGS[folder]["exercise"]
        graded = [own] + [name for name in CHEAP_EXERCISES if name != own]
        submission = build_submission(folder, tmp_path_factory.mktemp("bug") / "submission")
        cache[folder] = grade(submission, exercises=graded)
    return cache[folder]


GRADING_PARAMS = [pytest.param(folder, id=folder, marks=pytest.mark.slow) for folder in sorted(BUGS)]


# ---- each bug in the manifest is one small, marked change of its solution --------------------

@pytest.mark.parametrize("folder", sorted(BUGS))
def test_bug_is_one_marked_change_of_the_solution(folder):
    spec = BUGS[folder]
    exercise = spec["exercise"]
    assert exercise in assignment.EXERCISE_NAMES
    assert folder.startswith(f"{exercise}__")
    assert spec.get("change"), "a bug needs at least one [[<bug>.change]] with old and new"
    assert spec.get("description", "").strip()
    assert len(spec.get("expect", [])) >= 2, "expect: one regex for the function, one for the mistake"
    for pattern in spec["expect"]:
        re.compile(pattern)
    assert all(isinstance(name, str) and name.startswith("test_")
               for name in spec.get("lost_tests", []))

    buggy = buggy_source(folder)
    ast.parse(buggy)  # a bug in behaviour, not a syntax error
    count, new_lines = changed_lines((SOLUTIONS_DIR / f"{exercise}.py").read_text(encoding="utf-8"),
                                     buggy)
    assert 0 < count <= MAX_CHANGED_LINES, f"{count} changed lines"
    assert any("# BUG:" in line for line in new_lines), "mark the change with a # BUG: comment"


def test_enough_bugs_per_exercise():
    per_exercise = {name: 0 for name in assignment.EXERCISE_NAMES}
    for spec in BUGS.values():
        per_exercise[spec["exercise"]] += 1
    assert min(per_exercise.values()) >= MIN_BUGS_PER_EXERCISE, per_exercise
    assert sum(per_exercise.values()) >= 20


# ---- grading: points lost in the buggy exercise only, with a helpful message --------------------

@pytest.mark.parametrize("folder", GRADING_PARAMS)
def test_bug_loses_points_only_in_its_exercise(folder, bug_gradings, tmp_path_factory,
                                               suite_source_lines):
    spec = BUGS[folder]
    own = spec["exercise"]
    graded = [own] + [name for name in CHEAP_EXERCISES if name != own]
    result = graded_bug(folder, bug_gradings, tmp_path_factory)

    for name in graded[1:]:
        other = result.exercise(name)
        assert other.status == "graded", (name, other.message)
        lost_elsewhere = [(t.id, t.message) for t in other.tests if t.points < t.max_points]
        # judged on the tests: written answers await a grader and are not the bug's doing
        assert lost_elsewhere == [] and other.score == other.max_score - other.manual_pending > 0, \
            f"{folder} cost points in {name}: {lost_elsewhere}"

    mine = result.exercise(own)
    assert mine.status == "graded", mine.message
    lost = [t for t in mine.tests if t.points < t.max_points]
    assert lost and 0 < mine.score < mine.max_score - mine.manual_pending, \
        f"{folder}: {mine.score}/{mine.max_score} — the bug should cost some points, not all"

    lost_names = {t.id.split("::")[-1].split("[")[0] for t in lost}
    missing = sorted(set(spec.get("lost_tests", [])) - lost_names)
    assert missing == [], f"{folder}: expected these tests to lose points: {missing}; lost {sorted(lost_names)}"
    if own in ONE_DEDUCTION_EXERCISES:  # the dependency rule (docs/SUITES.md): charged once
        again = sorted(lost_names - set(spec.get("lost_tests", [])))
        assert again == [], (f"{folder}: charged again in {again}; a test that fails only "
                             "because of this mistake must measure its own subject and say "
                             "'already counted in ...' (depends_on)")

    messages = [BUG_COMMENT.sub("", t.message) for t in lost]
    for pattern in spec["expect"]:
        assert any(re.search(pattern, m, re.IGNORECASE | re.DOTALL) for m in messages), \
            f"{folder}: no message matches {pattern!r}:\n" + "\n".join(messages)

    every_message = [t.message for e in result.exercises for t in e.tests]
    every_message += [e.message for e in result.exercises]
    for message in every_message:
        assert "Traceback (most recent call last)" not in message
        assert "grader/" not in message and str(assignment.PACKAGE_DIR) not in message, message
        leaked = [line for line in suite_source_lines if line in message]
        assert leaked == [], f"suite source in a message: {leaked}"
