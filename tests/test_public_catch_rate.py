"""How many of the catalogued single-bug submissions the public checks catch, per exercise.

Each bug of tests/submissions/buggy/bugs.toml (the reference solution with one typical mistake)
is graded ONCE per test session, by the whole suite, hidden and public tests together
(``test_buggy_submissions.graded_bug``, cached in the session fixture ``bug_gradings`` of
tests/conftest.py, so tests/test_buggy_submissions.py and this file share the gradings). Every
TestResult says whether its test is public: a bug is caught by the public checks when a public
test of its exercise lost points, and caught by grading when any test did. One case the full
grading cannot decide: a public test excused there because a hidden prerequisite
(``prerequisite_of``) lost points runs in full under ``grader check``, which cuts that
prerequisite; for those few bugs the real check is run (grader.check.run_public_tests,
markers "public"). The same real check on a few more bugs confirms that reading the public
tests off the full grading gives the check's verdict.

The target (issue 15): the public tests catch at least 80 % of each exercise's bugs, while the
hidden suites stay strictly stronger (more tests, and every bug the public tests catch, grading
catches too). docs/SUITES.md reports the rate per exercise; a test keeps it in step.

Grading a bug takes ~3 s for the numpy exercises and up to a minute for the Keras ones (free
when tests/test_buggy_submissions.py already ran in the session): every test here is slow.
``-k neuron`` measures one exercise; ``-s`` shows the table.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from test_buggy_submissions import BUGS, build_submission, graded_bug

from grader import assignment
from grader.check import run_public_tests

TARGET = 0.80
EXERCISES = [name for name in assignment.EXERCISE_NAMES
             if any(spec["exercise"] == name for spec in BUGS.values())]
DOC = assignment.PROJECT_ROOT / "docs" / "SUITES.md"
# A few cheap bugs for the real `grader check` cross-check: some the public tests catch, one
# they do not (a hidden test's subject), from three exercises.
CROSS_CHECK = ("backprop__no_relu_derivative", "neuron__relu_inplace",
               "perceptron__no_bias_update")


def lost(test) -> bool:
    return test.points < test.max_points or test.outcome != "passed"


def public_caught(exercise) -> bool:
    """The public tests alone lose points (or the exercise cannot be loaded at all)."""
    return exercise.status != "graded" or any(t.public and lost(t) for t in exercise.tests)


def grading_caught(exercise) -> bool:
    return exercise.status != "graded" or any(lost(t) for t in exercise.tests)


COUNTED = re.compile(r"already counted in ((?:test_\w+)(?:, test_\w+)*)")


def excused_by_hidden(exercise) -> list[str]:
    """Public tests the full grading excused because a HIDDEN prerequisite lost points
    (``prerequisite_of``): ``grader check`` cuts that prerequisite, so there the public test
    measures its subject in full and may fail. The full grading cannot tell, so for such a bug
    the check itself is run."""
    hidden = {t.id.split("::")[-1].split("[")[0] for t in exercise.tests if not t.public}
    return [t.id for t in exercise.tests if t.public and not lost(t)
            and any(name in hidden for found in COUNTED.findall(t.message)
                    for name in found.split(", "))]


def checked_public(bug: str, tmp_path_factory):
    """The real ``grader check`` of the bug's exercise (public tests only), once per session."""
    if bug not in _CHECKED:
        exercise = BUGS[bug]["exercise"]
        folder = build_submission(bug, tmp_path_factory.mktemp("check") / "submission")
        _CHECKED[bug] = run_public_tests(folder, [exercise]).result.exercise(exercise)
    return _CHECKED[bug]


_CHECKED: dict = {}


@dataclass
class Rate:
    exercise: str
    bugs: list[str] = field(default_factory=list)
    public: set[str] = field(default_factory=set)     # bugs a public test caught
    grading: set[str] = field(default_factory=set)    # bugs the whole suite caught
    public_tests: int = 0
    all_tests: int = 0

    @property
    def fraction(self) -> float:
        return len(self.public) / len(self.bugs) if self.bugs else 1.0

    def line(self) -> str:
        missed = sorted(set(self.bugs) - self.public)
        return (f"{self.exercise:<11} public checks catch {len(self.public):>2} of "
                f"{len(self.bugs):>2} bugs ({100 * self.fraction:5.1f} %), grading "
                f"{len(self.grading)} of {len(self.bugs)}; tests {self.public_tests} public "
                f"of {self.all_tests}"
                + (f"; public checks miss: {', '.join(missed)}" if missed else ""))


@pytest.fixture(scope="module")
def measure(bug_gradings, tmp_path_factory):
    """``measure(exercise)``: the exercise's Rate, from the session's shared bug gradings."""
    def run(exercise: str) -> Rate:
        rate = Rate(exercise)
        for bug in sorted(b for b, spec in BUGS.items() if spec["exercise"] == exercise):
            graded = graded_bug(bug, bug_gradings, tmp_path_factory).exercise(exercise)
            rate.bugs.append(bug)
            if public_caught(graded) or (excused_by_hidden(graded) and public_caught(
                    checked_public(bug, tmp_path_factory))):
                rate.public.add(bug)
            if grading_caught(graded):
                rate.grading.add(bug)
            if graded.status == "graded":
                rate.public_tests = max(rate.public_tests, sum(t.public for t in graded.tests))
                rate.all_tests = max(rate.all_tests, len(graded.tests))
        return rate
    return run


def report(rate: Rate, capsys) -> None:
    with capsys.disabled():
        print("\n" + rate.line())


def documented_rates() -> dict[str, tuple[int, int]]:
    """``| exercise | caught of bugs | ... |`` rows of the catch-rate table in docs/SUITES.md."""
    rows = re.findall(r"^\|\s*`?(\w+)`?\s*\|\s*(\d+) of (\d+)\s*\|", DOC.read_text(encoding="utf-8"),
                      re.MULTILINE)
    return {name: (int(a), int(b)) for name, a, b in rows}


@pytest.mark.slow
@pytest.mark.parametrize("exercise", EXERCISES)
def test_hidden_suites_catch_every_bug_the_public_checks_catch(exercise, measure, capsys):
    rate = measure(exercise)
    report(rate, capsys)
    assert rate.bugs, f"no catalogued bug for {exercise}"
    escaped = sorted(rate.public - rate.grading)
    assert not escaped, f"caught by the public checks but not by grading: {escaped}"
    # every catalogued bug is one grading must catch (tests/test_buggy_submissions.py)
    assert rate.grading == set(rate.bugs), sorted(set(rate.bugs) - rate.grading)
    # strictly stronger: grading runs tests the students cannot run themselves
    assert 0 < rate.public_tests < rate.all_tests, rate.line()


@pytest.mark.slow
@pytest.mark.parametrize("exercise", EXERCISES)
def test_public_checks_catch_at_least_80_percent_of_the_catalogue(exercise, measure, capsys):
    rate = measure(exercise)
    report(rate, capsys)
    assert rate.fraction >= TARGET, rate.line()
    documented = documented_rates().get(exercise)
    assert documented == (len(rate.public), len(rate.bugs)), (
        f"docs/SUITES.md reports {exercise} as {documented} (caught, bugs); measured "
        f"{rate.line()}: update the catch-rate table")


@pytest.mark.slow
@pytest.mark.parametrize("bug", CROSS_CHECK)
def test_grader_check_agrees_with_the_public_tests_of_the_full_grading(
        bug, bug_gradings, tmp_path_factory):
    """The real ``grader check`` (public tests only) on a bug: the same public tests lose
    points as in the full grading the rates are read from, except those the grading excused
    for a hidden prerequisite (which the check cuts), and the bug counts as caught exactly
    when the check fails."""
    exercise = BUGS[bug]["exercise"]
    graded = graded_bug(bug, bug_gradings, tmp_path_factory).exercise(exercise)
    checked = checked_public(bug, tmp_path_factory)
    in_grading = sorted(t.id for t in graded.tests if t.public and lost(t))
    in_check = sorted(t.id for t in checked.tests if lost(t))
    assert set(in_grading) <= set(in_check), (bug, in_check, in_grading)
    assert sorted(set(in_check) - set(in_grading)) == sorted(
        set(in_check) & set(excused_by_hidden(graded))), (bug, in_check, in_grading)
    assert {t.id for t in checked.tests} == {t.id for t in graded.tests if t.public}
    # the measured verdict is the check's verdict
    caught = public_caught(graded) or (bool(excused_by_hidden(graded))
                                       and public_caught(checked))
    assert caught == bool(in_check)
