"""Which file of a submission answers which exercise, and why.

The rule, in order (the reason for every choice is recorded in result.json):
1. Candidates are ``<name>.py``, ``<name>.ipynb``, ``exercises/<name>.py`` and
   ``exercises/<name>.ipynb``. Symlinks leading outside the submission are ignored.
2. A candidate identical to the generated stub (exercises/ of the course) loses to any other.
3. Then the candidate with the fewest ``raise NotImplementedError`` left wins
   (a student who fills in the notebook leaves the template's ``.py`` untouched).
4. Ties go to the submission's root before ``exercises/``, then ``.py`` before ``.ipynb``.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.assignment import STUBS_DIR

_RAISE_NIE = re.compile(rb"raise\s+NotImplementedError")


@dataclass
class Located:
    exercise: str
    path: Path | None                    # absolute path of the chosen file
    rel: str | None                      # the same, relative to the submission
    reason: str
    candidates: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.path is not None


def candidate_paths(name: str) -> list[str]:
    return [f"{name}.py", f"{name}.ipynb", f"exercises/{name}.py", f"exercises/{name}.ipynb"]


def _stub_digests(name: str, stubs_dir: Path) -> set[str]:
    return {hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (stubs_dir / f"{name}.py", stubs_dir / f"{name}.ipynb") if p.is_file()}


def locate(submission: Path, name: str, stubs_dir: Path | None = None) -> Located:
    """Find the file answering exercise ``name`` in ``submission`` (see the module's rule)."""
    submission = submission.resolve()
    stubs_dir = STUBS_DIR if stubs_dir is None else stubs_dir
    looked = candidate_paths(name)
    found = []
    ignored = []
    for order, rel in enumerate(looked):
        path = submission / rel
        if not path.is_file():
            continue
        real = path.resolve()
        if submission not in real.parents:
            ignored.append(f"{rel} (a link to outside the submission)")
            continue
        data = real.read_bytes()
        stub = hashlib.sha256(data).hexdigest() in _stub_digests(name, stubs_dir)
        found.append((stub, len(_RAISE_NIE.findall(data)), order, rel, real))
    if not found:
        why = f"no file found; looked for {', '.join(looked)}"
        if ignored:
            why += f"; ignored {', '.join(ignored)}"
        return Located(name, None, None, why, [])
    found.sort()
    stub, todo, _, rel, real = found[0]
    others = [f[3] for f in found[1:]]
    if not others:
        reason = f"{rel} is the only candidate"
    else:
        best_other = found[1]
        if best_other[0] != stub:
            why = "the others are untouched stubs"
        elif best_other[1] != todo:
            why = "it has the fewest NotImplementedError stubs left"
        else:
            why = "root before exercises/, .py before .ipynb"
        reason = f"{rel} chosen over {', '.join(others)}: {why}"
    if stub:
        reason += " (it is the untouched stub)"
    return Located(name, real, rel, reason, [f[3] for f in found])
