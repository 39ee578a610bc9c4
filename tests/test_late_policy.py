"""Deadlines and late penalties: the policy, the submission time and where it came from, the
late block in result.json, the total, the report and the batch's options."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from grader import late_policy as lp
from grader.report_html import render_report
from grader.results import ExerciseResult, Result
from grader.results import TestResult as OneTest
from grader.term import Term

ROOT = Path(__file__).resolve().parents[1]
CET = timezone(timedelta(hours=1))
DEADLINE = datetime(2026, 12, 1, 23, 59, tzinfo=CET)
POLICY = lp.parse_policy("grace=15m,per_day=10%,cap=50%")


def at(**delta) -> datetime:
    return DEADLINE + timedelta(**delta)


# ---- the policy --------------------------------------------------------------------------------

def test_policy_parts():
    assert (POLICY.grace, POLICY.per_day, POLICY.cap, POLICY.accepted) == (900.0, 10.0, 50.0,
                                                                         True)
    assert not lp.parse_policy("not_accepted").accepted
    assert not lp.parse_policy(None).penalises and not lp.parse_policy("none").penalises
    assert lp.parse_policy("per_day=5").per_day == 5.0 and lp.parse_policy("grace=2h").grace == 7200


@pytest.mark.parametrize("spec, fragment", [
    ("per_day=ten", "percentage"), ("cap=150%", "between 0 and 100"),
    ("grace=soon", "not a duration"), ("late=1", "unknown part")])
def test_a_bad_policy_says_why(spec, fragment):
    with pytest.raises(lp.LatePolicyError, match=fragment):
        lp.parse_policy(spec)


@pytest.mark.parametrize("when, days, penalty, status", [
    (at(hours=-2), 0, 0.0, "on time"),
    (at(minutes=14), 0, 0.0, "within grace"),
    (at(minutes=16), 1, 10.0, "late"),                 # a started day counts
    (at(hours=24, minutes=15), 1, 10.0, "late"),       # grace first, then whole days
    (at(hours=24, minutes=16), 2, 20.0, "late"),
    (at(days=9), 9, 50.0, "late"),                     # capped
])
def test_days_late_and_penalty(when, days, penalty, status):
    block = lp.late_block(when, "git commit date", DEADLINE, POLICY)
    assert (block["days_late"], block["penalty_percent"], block["status"]) == (days, penalty,
                                                                              status)
    assert block["source"] == "git commit date" and block["accepted"]
    assert datetime.fromisoformat(block["submitted_at"]) == when


def test_not_accepted_unknown_time_and_report_only():
    block = lp.late_block(at(hours=1), "manifest", DEADLINE, lp.parse_policy("not_accepted"))
    assert block["penalty_percent"] == 100.0 and not block["accepted"]
    unknown = lp.late_block(None, "no time found", DEADLINE, POLICY)
    assert unknown["status"] == "unknown" and unknown["penalty_percent"] == 0
    reported = lp.late_block(at(days=3), "manifest", DEADLINE, lp.parse_policy(None))
    assert reported["days_late"] == 3 and reported["penalty_percent"] == 0
    assert lp.describe(reported) == "late 3 days (manifest): no penalty"


@pytest.mark.parametrize("extension, status", [
    ("2", "on time"), ("36h", "on time"), ("12h", "late"),
    ("2026-12-04T12:00+01:00", "on time")])
def test_extensions_move_the_students_deadline(extension, status):
    block = lp.late_block(at(days=1), "manifest", DEADLINE, POLICY, extension)
    assert block["status"] == status
    assert block["course_deadline"] == DEADLINE.isoformat()
    assert block["deadline"] != block["course_deadline"]


# ---- when was it submitted ---------------------------------------------------------------------

def test_manifest_first_then_commit_date_then_file_times(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("student,submitted_at\nBob Baker,2026-12-02T08:00:00Z\n")
    times = lp.read_manifest(manifest)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "neuron.py").write_text("x = 1\n")
    stamp = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc).timestamp()
    os.utime(tmp_path / "sub" / "neuron.py", (stamp, stamp))
    (tmp_path / "sub" / ".DS_Store").write_text("debris")  # newer, but debris never counts
    when, source = lp.submitted_at(student_keys=["s002", "bob_baker"], source=tmp_path / "sub",
                                   kind="folder", commit_date="2026-12-01T00:00:00Z",
                                   manifest=times)
    assert source == "submissions manifest"
    assert when == datetime(2026, 12, 2, 8, tzinfo=timezone.utc)
    when, source = lp.submitted_at(student_keys=["carol"], source=None, kind="git",
                                   commit_date="2026-12-01T09:30:00+01:00", manifest=times)
    assert source == "git commit date" and when.hour == 8
    when, source = lp.submitted_at(student_keys=["carol"], source=tmp_path / "sub",
                                   kind="folder", commit_date=None, manifest=times)
    assert source == "newest file modification time" and when.timestamp() == stamp


def test_a_bad_manifest_line_is_named(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("student,submitted_at\nann,yesterday\n")
    with pytest.raises(lp.LatePolicyError, match="line 2"):
        lp.read_manifest(manifest)


def test_zip_entry_times_are_read_in_the_deadlines_zone(tmp_path):
    path = tmp_path / "s.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("s/neuron.py", (2026, 12, 1, 23, 0, 0)), "x = 1\n")
        zf.writestr(zipfile.ZipInfo("__MACOSX/s/._neuron.py", (2026, 12, 9, 0, 0, 0)), "x")
    assert lp.newest_file_time(path, CET) == datetime(2026, 12, 1, 22, 0, tzinfo=timezone.utc)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_submitted_repository_gives_its_commit_date_without_running_its_config(tmp_path):
    repo = tmp_path / "sub"
    repo.mkdir()
    env = {**os.environ, "GIT_AUTHOR_NAME": "s", "GIT_AUTHOR_EMAIL": "s@x",
           "GIT_COMMITTER_NAME": "s", "GIT_COMMITTER_EMAIL": "s@x",
           "GIT_COMMITTER_DATE": "2026-12-02T10:00:00+01:00"}
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
    (repo / "neuron.py").write_text("x = 1\n")
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "x"], check=True, env=env)
    marker = tmp_path / "ran"
    with open(repo / ".git" / "config", "a") as fh:   # a student's config that runs programs
        fh.write(f"[log]\n\tshowSignature = true\n[gpg]\n\tprogram = touch {marker}\n"
                 f"[core]\n\tfsmonitor = touch {marker}\n\tpager = touch {marker}\n")
    when = lp.git_commit_date(repo)
    assert when == datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)
    assert not marker.exists()
    assert lp.git_commit_date(tmp_path) is None


# ---- the result, the report, the batch ---------------------------------------------------------

def _result(late: dict) -> Result:
    manual = [{"question": "q", "prompt": "?", "answer": "a", "answered": True,
               "max_points": 10.0, "points": None, "comment": "", "answer_sha256": "x"}]
    ex = ExerciseResult("neuron", "graded", tests=[OneTest("t", "t", 30.0, 30.0, "passed")],
                        manual=manual)
    result = Result("s", exercises=[ex], late=late)
    result.total()
    return result


def test_the_total_carries_the_penalty_and_stays_right_when_recomputed(tmp_path):
    result = _result(lp.late_block(at(days=2), "manifest", DEADLINE, POLICY))
    assert (result.score, result.max_score) == (24.0, 40.0)          # 30 - 20 %
    assert result.exercises[0].score == 30.0                          # exercises keep theirs
    result.exercises[0].manual[0]["points"] = 10.0                    # a TA grades the answer
    result.total()
    result.total()
    assert result.score == 32.0 and result.late["points_deducted"] == 8.0
    result.write(tmp_path / "result.json")
    again = Result.read(tmp_path / "result.json")
    again.total()
    assert again.score == 32.0 and again.late["days_late"] == 2
    assert _result({}).score == 30.0
    assert _result(lp.late_block(at(hours=1), "m", DEADLINE,
                                 lp.parse_policy("not_accepted"))).score == 0.0


def test_the_report_says_when_how_we_know_and_what_was_taken_off():
    html = render_report(_result(lp.late_block(at(days=2), "git commit date", DEADLINE,
                                               POLICY)))
    banner = html[html.index('id="deadline"'):]
    banner = banner[:banner.index("</div>")]
    assert "2 day(s) late: 20 % of the total (6 points) is taken off" in banner
    assert "How we know: git commit date" in banner and "Before the penalty: 30 points" in banner
    assert 'id="deadline"' in render_report(_result(lp.late_block(at(hours=-1), "m", DEADLINE,
                                                                  POLICY)))
    assert 'id="deadline"' not in render_report(_result({}))


def test_git_sources_are_fetched_before_the_deadline_unless_late_work_is_penalised(tmp_path):
    (tmp_path / "r.csv").write_text("id,extension\ns1,2\n")
    kwargs = dict(roster=str(tmp_path / "r.csv"), deadline="2026-12-01T23:59+01:00",
                  manifest=None)
    assert Term.from_options(policy=None, **kwargs).fetch_deadline("s2") == DEADLINE
    assert Term.from_options(policy="not_accepted", **kwargs).fetch_deadline("s1") == \
        DEADLINE + timedelta(days=2)
    assert Term.from_options(policy="per_day=10%", **kwargs).fetch_deadline("s1") is None
    term = Term.from_options(policy="per_day=10%", **kwargs)
    term.save(tmp_path)
    again = Term.load(tmp_path)
    assert again.deadline == DEADLINE and again.policy == term.policy
    assert [s.id for s in again.roster.students] == ["s1"]


@pytest.mark.parametrize("args, fragment", [
    (["--late-policy", "per_day=10%"], "--late-policy needs --deadline"),
    (["--deadline", "2026-12-01T23:59", "--late-policy", "daily"], "unknown part"),
    (["--deadline", "tomorrow"], "not an ISO 8601"),
    (["--roster", "nowhere.csv"], "cannot read the roster")])
def test_batch_refuses_bad_term_options(tmp_path, args, fragment):
    (tmp_path / "class" / "ann").mkdir(parents=True)
    done = subprocess.run([sys.executable, "-m", "grader", "batch", str(tmp_path / "class"),
                           "--out", str(tmp_path / "out"), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and fragment in done.stderr, done.stderr
