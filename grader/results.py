"""The results model: what ``result.json`` holds, and the only thing renderers read.

Grading fills these dataclasses once; the HTML report, gradebooks and CI exports are all
rendered from the JSON file they serialise to, never by re-running anything.
The schema is documented in docs/RESULTS.md; bump SCHEMA_VERSION on any incompatible change.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from grader.files import write_atomic
from grader.safe_text import clean_tree

SCHEMA_VERSION = "1.2"

# Outcome of one test. "partial" is a threshold test between its floor and its target.
OUTCOMES = ("passed", "partial", "failed", "error", "skipped")
# Status of one exercise.
#   graded   the suite ran (whatever the score)
#   missing  no file answers the exercise
#   error    a file was found but could not be loaded (syntax error, crash at import, ...)
#   not_attempted  the file found is still the course's stub in every function (since 1.2)
STATUSES = ("graded", "missing", "error", "not_attempted")


@dataclass
class TestResult:
    id: str                      # stable id, "<exercise>::<test function>"
    name: str                    # student-facing title (the test's docstring)
    points: float
    max_points: float
    outcome: str
    message: str = ""            # student-facing; never hidden test source or reference values
    public: bool = False         # students may run this test themselves (grader check)
    duration: float = 0.0


@dataclass
class ExerciseResult:
    name: str
    status: str
    score: float = 0.0
    max_score: float = 0.0
    file: str | None = None      # the submission file graded, relative to the submission
    located_because: str = ""    # why that file was chosen (or what was looked for)
    message: str = ""            # exercise-level message (missing file, import failure, ...)
    tests: list[TestResult] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)   # plot data, rendered by reports
    output: str = ""             # captured (truncated) stdout/stderr of the student's code
    duration: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    # a notebook submission: {"executed": "notebooks/<name>.ipynb", "code_cells", "cells_run",
    # "errors": [{"cell", "error"}], "timeouts": [cell numbers], "skipped": [cell numbers]}
    notebook: dict[str, Any] = field(default_factory=dict)
    # written answers for manual grading (grader/manual.py): {"question", "prompt",
    # "max_points", "answer", "answered", "points" (None until graded), "comment", ...}
    manual: list[dict[str, Any]] = field(default_factory=list)

    @property
    def manual_pending(self) -> float:
        """Points of written answers still waiting for a grader."""
        return sum(m["max_points"] for m in self.manual if m.get("points") is None)


@dataclass
class Result:
    submission: str
    exercises: list[ExerciseResult] = field(default_factory=list)
    score: float = 0.0
    max_score: float = 0.0
    schema_version: str = SCHEMA_VERSION
    created: str = ""
    sandbox: dict[str, Any] = field(default_factory=dict)      # {"mode", "reason", "limits"}
    data_sources: dict[str, str] = field(default_factory=dict)  # {"mnist": "...", ...}
    timings: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    # "grading" (every test), or "public checks": what `grader check` ran, never a grade
    scope: str = "grading"
    # a deadline's verdict (grader/late_policy.py): {"submitted_at", "deadline", "days_late",
    # "penalty_percent", "accepted", "source", ...}; empty when no deadline was set (1.2)
    late: dict[str, Any] = field(default_factory=dict)

    # ---- derived -------------------------------------------------------------------------
    def total(self) -> None:
        """Recompute totals from the tests and the manually graded answers.

        Every written question counts in the maximum, answered or not, graded or not (since
        1.2), so every submission is graded out of the same maximum; a written answer adds its
        points once graded and is pending until then (ExerciseResult.manual_pending).
        """
        for ex in self.exercises:
            graded = [m for m in ex.manual if m.get("points") is not None]
            ex.score = _round(sum(t.points for t in ex.tests) +
                              sum(float(m["points"]) for m in graded))
            ex.max_score = _round(sum(t.max_points for t in ex.tests) +
                                  sum(float(m["max_points"]) for m in ex.manual)) or ex.max_score
        self.score = _round(sum(e.score for e in self.exercises))
        self.max_score = _round(sum(e.max_score for e in self.exercises))
        penalty = _late_penalty(self.late)
        if penalty:   # a late penalty takes a share of the total; exercises keep their points
            self.late["points_before_penalty"] = self.score
            self.late["points_deducted"] = _round(self.score * penalty / 100.0)
            self.score = _round(self.score - self.late["points_deducted"])

    @property
    def manual_pending(self) -> float:
        """Written points of every exercise still waiting for a grader."""
        return sum(ex.manual_pending for ex in self.exercises)

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0

    def exercise(self, name: str) -> ExerciseResult:
        for ex in self.exercises:
            if ex.name == name:
                return ex
        raise KeyError(name)

    # ---- (de)serialisation ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        # Grading made every string safe where it entered; this keeps a result assembled
        # elsewhere (a test, a merge) from writing a lone surrogate or a control character.
        return clean_tree(_finite(asdict(self)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Result":
        version = str(data.get("schema_version", ""))
        if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise ValueError(
                f"result.json has schema version {version!r}; this grader reads "
                f"{SCHEMA_VERSION.split('.')[0]}.x — regrade the submission with this grader"
            )
        exercises = []
        for ex in data.get("exercises", []):
            ex = dict(ex)
            ex["tests"] = [TestResult(**t) for t in ex.get("tests", [])]
            exercises.append(ExerciseResult(**ex))
        return cls(**{**data, "exercises": exercises})

    def write(self, path: str | os.PathLike) -> Path:
        """Write atomically: a half-written result.json must never exist under its name."""
        return write_atomic(path, json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n")

    @classmethod
    def read(cls, path: str | os.PathLike) -> "Result":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: not a readable result.json ({exc})") from exc
        return cls.from_dict(data)


def _late_penalty(late: Any) -> float:
    """The percent of the total a late block takes off (0 without one)."""
    if not isinstance(late, dict):
        return 0.0
    try:
        value = float(late.get("penalty_percent") or 0.0)
    except (TypeError, ValueError):
        return 0.0
    return min(100.0, max(0.0, value)) if math.isfinite(value) else 0.0


def _round(x: float) -> float:
    return round(float(x), 4)


def _finite(obj: Any) -> Any:
    """JSON has no NaN/inf: store them as None so every reader can parse the file."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
