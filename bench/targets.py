"""The performance targets of docs/BENCHMARKS.md, reported the same way by every benchmark.

A benchmark that measures a target calls ``report(...)``: it prints one human line and one
``TARGET {json}`` line. ``bench/run_all.py`` collects the JSON lines of every benchmark of
its run into one table, each target marked met or missed, so the table in the docs comes
from one ``make bench`` run instead of being assembled by hand from several.
"""
from __future__ import annotations

import json
import operator
import os
from dataclasses import asdict, dataclass

PREFIX = "TARGET "
_OPS = {"<=": operator.le, ">=": operator.ge}


@dataclass(frozen=True)
class Target:
    id: str          # stable key, e.g. "batch_vs_bare"
    label: str       # what is measured, for the table
    value: float     # the measured figure
    op: str          # "<=" or ">="
    goal: float
    unit: str        # "x" for ratios, "s" for seconds
    detail: str      # how it was measured: medians of what, the runs' figures
    load: float      # load average when reported

    @property
    def met(self) -> bool:
        return _OPS[self.op](self.value, self.goal)

    def cell(self, number: float) -> str:
        return f"{number:.2f}{self.unit}" if self.unit == "x" else f"{number:.1f} {self.unit}"

    def row(self) -> str:
        verdict = "**met**" if self.met else "**missed**"
        return (f"| {self.label} | {self.op} {self.cell(self.goal)} | {self.cell(self.value)} "
                f"| {verdict} | {self.detail} |")


def report(id: str, label: str, value: float, op: str, goal: float, *, unit: str = "x",
           detail: str = "") -> Target:
    """Print the target's line for people and its ``TARGET`` line for run_all."""
    if op not in _OPS:
        raise ValueError(f"op must be one of {sorted(_OPS)}, not {op!r}")
    target = Target(id, label, float(value), op, float(goal), unit, detail,
                    round(os.getloadavg()[0], 2))
    print(f"target: {label}: {target.cell(target.value)} (goal {op} {target.cell(goal)}): "
          f"{'met' if target.met else 'missed'}")
    print(PREFIX + json.dumps(asdict(target)), flush=True)
    return target


def parse(lines: list[str]) -> list[Target]:
    """The targets reported in a benchmark's output (malformed lines are skipped)."""
    found = []
    for line in lines:
        if line.startswith(PREFIX):
            try:
                found.append(Target(**json.loads(line[len(PREFIX):])))
            except (TypeError, ValueError):
                continue
    return found


def table(targets: list[Target]) -> list[str]:
    """The Markdown table of a run's targets."""
    if not targets:
        return []
    return ["| target (this machine) | goal | measured | | how |", "|---|---|---|---|---|",
            *(t.row() for t in targets)]
