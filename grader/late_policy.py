"""Deadlines and late penalties, from the time each submission was handed in.

    grader batch SOURCE --out DIR --deadline 2026-12-01T23:59+01:00 \\
        --late-policy "grace=15m,per_day=10%,cap=50%" [--manifest submitted.csv] [--roster r.csv]

A policy is a comma-separated list of:

    grace=15m         lateness up to this is on time (s, m, h or d; default 0)
    per_day=10%       percent of the total taken off per started day late (after the grace)
    cap=50%           at most this much is taken off (default: no cap, so 100 %)
    not_accepted      late work gets 0 (it is still graded, so the student sees why)
    none              lateness is reported, nothing is taken off (the default with --deadline)

When was it submitted? In this order:
    1. the submissions manifest (a CSV with ``student,submitted_at``; ISO 8601 times), when it
       names the student (by roster id or submission name) — an LMS "download all" has it;
    2. git: the date of the commit graded (``git log -1 --format=%cI``), for git sources and for
       a submitted folder that is a repository;
    3. the newest file time in the submission (a zip: its entries' times, read in the
       deadline's time zone) — the weakest evidence, and labelled so.
The source is recorded with the time. A student's deadline moves by their roster
``extension``. The result is a ``late`` block in result.json (shown in the report and the
gradebook): ``submitted_at``, ``deadline`` (with the extension), ``days_late``,
``penalty_percent``, ``source``; :meth:`grader.results.Result.total` takes the penalty off.
"""
from __future__ import annotations

import csv
import io
import math
import os
import re
import subprocess
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

DAY = 86400.0
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.I)
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": DAY, "": DAY}


class LatePolicyError(ValueError):
    """A policy, extension, deadline or manifest that cannot be read."""


@dataclass(frozen=True)
class Policy:
    grace: float = 0.0            # seconds
    per_day: float = 0.0          # percent per started day
    cap: float = 100.0            # percent
    accepted: bool = True         # False: "not_accepted"
    spec: str = "none"

    @property
    def penalises(self) -> bool:
        return not self.accepted or self.per_day > 0


def parse_duration(text: str, default_unit: str = "d") -> float:
    match = _DURATION.match(str(text))
    if not match:
        raise LatePolicyError(f"{text!r}: not a duration (write 15m, 36h or 2d)")
    unit = match[2].lower() or default_unit
    return float(match[1]) * _UNITS[unit]


def _percent(text: str, what: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%?\s*", text)
    if not match or not 0 <= float(match[1]) <= 100:
        raise LatePolicyError(f"{what}={text}: give a percentage between 0 and 100 (e.g. 10%)")
    return float(match[1])


def parse_policy(spec: str | None) -> Policy:
    """``"grace=15m,per_day=10%,cap=50%"``, ``"not_accepted"`` or ``"none"``."""
    if spec is None or not spec.strip() or spec.strip().lower() == "none":
        return Policy()
    grace, per_day, cap, accepted = 0.0, 0.0, 100.0, True
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        key, _, value = part.partition("=")
        key = key.strip().lower().replace("-", "_")
        if key in ("not_accepted", "reject") and not value:
            accepted = False
        elif key == "grace":
            grace = parse_duration(value, "m")
        elif key == "per_day":
            per_day = _percent(value, key)
        elif key == "cap":
            cap = _percent(value, key)
        else:
            raise LatePolicyError(f"--late-policy {spec!r}: unknown part {part!r} (use grace=, "
                                  f"per_day=, cap=, not_accepted or none)")
    return Policy(grace, per_day, cap, accepted, spec.strip())


def parse_moment(text: str, what: str = "time") -> datetime:
    """An ISO 8601 moment in UTC; without an offset it is this machine's local time."""
    try:
        moment = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        raise LatePolicyError(f"{what} {text!r}: not an ISO 8601 date and time "
                              f"(e.g. 2026-12-01T23:59+01:00)") from None
    return moment.astimezone(timezone.utc)


def parse_extension(text: str) -> float | datetime:
    """Seconds of extra time, or a new deadline."""
    text = str(text).strip()
    if _DURATION.match(text):
        return parse_duration(text, "d")
    try:
        return parse_moment(text, "extension")
    except LatePolicyError:
        raise LatePolicyError(f"extension {text!r}: give days (2), hours (36h) or a new "
                              f"deadline (2026-12-03T23:59+01:00)") from None


def student_deadline(deadline: datetime, extension: str = "") -> datetime:
    if not extension:
        return deadline
    value = parse_extension(extension)
    return value if isinstance(value, datetime) else deadline + timedelta(seconds=value)


# ---- when was it submitted ---------------------------------------------------------------------

def read_manifest(path: str | Path) -> dict[str, datetime]:
    """``student,submitted_at`` rows -> {normalised name: moment}."""
    from grader.roster import _key

    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise LatePolicyError(f"{path}: cannot read the submissions manifest ({exc})") from None
    rows = list(csv.DictReader(io.StringIO(text)))
    out = {}
    for number, row in enumerate(rows, start=2):
        row = {str(k).strip().lower(): (v or "").strip() for k, v in row.items() if k}
        student, when = row.get("student") or row.get("id"), row.get("submitted_at")
        if not student or not when:
            raise LatePolicyError(f"{path}: line {number}: needs student and submitted_at")
        out[_key(student)] = parse_moment(when, f"{path}: line {number}: submitted_at")
    return out


def git_commit_date(folder: Path) -> datetime | None:
    """The committer date of HEAD in ``folder`` if it is a git repository, else None.

    Read with ``git cat-file`` and every configuration that could start a program switched
    off: the repository is the student's, and so is its .git/config.
    """
    if not (Path(folder) / ".git").exists():
        return None
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0", "HOME": os.devnull}
    try:
        done = subprocess.run(
            ["git", "-c", "safe.directory=*", "-c", "core.fsmonitor=false",
             "-c", "core.hooksPath=/dev/null", "-C", str(folder), "cat-file", "commit", "HEAD"],
            capture_output=True, timeout=20, env=env, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    match = re.search(rb"^committer .*> (\d+) ([+-]\d{4})$", done.stdout, re.M)
    if not match:
        return None
    return datetime.fromtimestamp(int(match[1]), timezone.utc)


def newest_file_time(source: Path, zone: Any = timezone.utc) -> datetime | None:
    """The newest modification time of the submission's files (debris left out)."""
    from grader.locate import is_debris

    source = Path(source)
    newest = None
    if source.is_file() and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as zf:
            for info in zf.infolist()[:10000]:
                parts = info.filename.split("/")
                if info.is_dir() or any(is_debris(p) for p in parts if p):
                    continue
                try:
                    moment = datetime(*info.date_time, tzinfo=zone)
                except ValueError:
                    continue
                newest = moment if newest is None or moment > newest else newest
        return None if newest is None else newest.astimezone(timezone.utc)
    if source.is_dir():
        for path in list(source.rglob("*"))[:10000]:
            if ".git" in path.parts or is_debris(path.name) or not path.is_file():
                continue
            moment = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
            newest = moment if newest is None or moment > newest else newest
    return newest


def submitted_at(*, student_keys: list[str], source: Path | None, kind: str,
                 commit_date: str | None, manifest: dict[str, datetime] | None,
                 zone: Any = timezone.utc) -> tuple[datetime | None, str]:
    """(moment, how it was found) for one submission."""
    from grader.roster import _key

    for key in student_keys:
        if manifest and _key(key) in manifest:
            return manifest[_key(key)], "submissions manifest"
    if commit_date:
        return parse_moment(commit_date, "commit date"), "git commit date"
    if source is not None and kind == "folder":
        moment = git_commit_date(source)
        if moment is not None:
            return moment, "git commit date (HEAD of the submitted folder)"
    if source is not None and kind in ("folder", "zip"):
        moment = newest_file_time(source, zone)
        if moment is not None:
            return moment, ("newest file time in the zip" if kind == "zip"
                            else "newest file modification time")
    return None, "no time found"


# ---- the late block -----------------------------------------------------------------------------

def late_block(when: datetime | None, source: str, deadline: datetime, policy: Policy,
               extension: str = "") -> dict[str, Any]:
    """What result.json records: the moments, the lateness and the penalty."""
    due = student_deadline(deadline, extension)
    block: dict[str, Any] = {
        "submitted_at": when.isoformat() if when else None, "source": source,
        "deadline": due.isoformat(), "policy": policy.spec,
        "grace_seconds": policy.grace, "days_late": 0, "seconds_late": 0.0,
        "penalty_percent": 0.0, "accepted": True, "status": "on time"}
    if extension:
        block["extension"] = extension
        block["course_deadline"] = deadline.isoformat()
    if when is None:
        block["status"] = "unknown"
        block["note"] = "no submission time could be found: no penalty applied"
        return block
    seconds = (when - due).total_seconds()
    block["seconds_late"] = round(max(0.0, seconds), 1)
    if seconds <= 0:
        return block
    if seconds <= policy.grace:
        block["status"] = "within grace"
        return block
    days = math.ceil((seconds - policy.grace) / DAY)
    block["days_late"] = days
    block["status"] = "late"
    if not policy.accepted:
        block.update(penalty_percent=100.0, accepted=False, status="late, not accepted")
    else:
        block["penalty_percent"] = round(min(policy.cap, policy.per_day * days), 4)
    return block


def describe(late: dict[str, Any]) -> str:
    """One line for the gradebook's note and the summary."""
    if not late:
        return ""
    status = late.get("status", "")
    if status in ("on time", ""):
        return ""
    if status == "unknown":
        return "submission time unknown (no late penalty)"
    if status == "within grace":
        return "submitted within the grace period"
    days = late.get("days_late", 0)
    text = f"late {days} day{'s' if days != 1 else ''} ({late.get('source', '')})"
    if not late.get("accepted", True):
        return text + ": not accepted, 0 points"
    pct = float(late.get("penalty_percent") or 0)
    return text + (f": -{pct:g} %" if pct else ": no penalty")


def report_view(late: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the report shows of a late block: a headline and labelled values (text only)."""
    if not late or not isinstance(late, dict):
        return None
    status = str(late.get("status", ""))
    pct = float(late.get("penalty_percent") or 0)
    if status == "late, not accepted":
        headline = "Submitted after the deadline: late work is not accepted, so the total is 0."
    elif pct:
        headline = (f"Submitted {late.get('days_late')} day(s) late: {pct:g} % of the total "
                    f"({late.get('points_deducted', 0):g} points) is taken off.")
    elif status == "late":
        headline = "Submitted after the deadline (no penalty under this course's policy)."
    elif status == "within grace":
        headline = "Submitted within the grace period after the deadline: no penalty."
    elif status == "unknown":
        headline = "The submission time could not be determined: no late penalty applied."
    else:
        headline = "Submitted on time."
    rows = [("Submitted", str(late.get("submitted_at") or "unknown")),
            ("How we know", str(late.get("source") or "")),
            ("Deadline", str(late.get("deadline") or ""))]
    if late.get("extension"):
        rows.append(("Extension", f"{late['extension']} (course deadline "
                                  f"{late.get('course_deadline', '')})"))
    if late.get("policy") and late.get("policy") != "none":
        rows.append(("Late policy", str(late["policy"])))
    if pct:
        rows.append(("Before the penalty", f"{late.get('points_before_penalty', 0):g} points"))
    return {"headline": headline, "rows": rows, "penalised": bool(pct)}
