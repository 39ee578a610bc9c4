"""No solution code ships: the student edition and the template repository hold no line of a
solution region and no near-copy of a solution algorithm.

Public tests compare a student's answers with frozen values (grader.frozen_reference); a public
test that re-implements what the student writes (a helper that is the perceptron rule, a
forward pass minus one activation) hands every student the answer. Two scans over every text
file of a built template repository (which holds the student edition in ``.grader/``):

- lines: every non-trivial line between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` in
  ``solutions/*.py``, normalised (comments, whitespace and string quotes dropped), must not
  appear as a line anywhere;
- near-copies: the solution regions as token streams with local names renamed, compared in
  windows of SHINGLE tokens (shingles, as plagiarism detectors use them): no window of a
  solution region may appear in the code the template ships.

The grader's own machinery (the sandbox, proxy, reports: grader/*.py outside the suites) is
scanned for lines only: it is the same in every edition and holds no exercise code, while
generic numpy plumbing there would match short generic windows.
"""
from __future__ import annotations

import io
import json
import keyword
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader import assignment, template_repo

SOLUTIONS = assignment.PROJECT_ROOT / "solutions"
SHINGLE = 12                    # tokens per window
MIN_LINE_TOKENS = 6             # shorter lines (return z, else:, m = X.shape[0]) are trivial
BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
# names kept as written when renaming: library modules and their attributes carry the
# algorithm (np.exp, np.maximum, .T); everything else a student would name freely
KEPT_NAMES = {"np", "numpy", "tf", "keras", "layers", "sklearn", "math", "True",
              "False", "None", "range", "len", "zip", "enumerate", "float", "int", "abs",
              "sum", "min", "max"}


# --------------------------------------------------------------------------------------------
# the solution regions
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Region:
    file: str
    start: int                   # first line inside the markers (1-based)
    lines: tuple[str, ...]


def solution_regions(folder: Path = SOLUTIONS) -> list[Region]:
    regions = []
    for path in sorted(folder.glob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        start = None
        for number, line in enumerate(lines, start=1):
            if line.strip() == BEGIN:
                start = number + 1
            elif line.strip() == END and start is not None:
                regions.append(Region(path.name, start, tuple(lines[start - 1:number - 1])))
                start = None
    return regions


def _tokens(source: str) -> list[tokenize.TokenInfo]:
    """Python tokens of ``source`` without comments, layout and string contents' quotes;
    tolerant of fragments (an indented region, an unclosed bracket at its end)."""
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                            tokenize.DEDENT, tokenize.ENDMARKER):
                continue
            out.append(tok)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


def normal_line(line: str) -> str:
    """A line as its tokens, single-spaced: comments and spacing do not count."""
    return " ".join(t.string for t in _tokens(line.strip()))


def is_trivial(line: str) -> bool:
    """Too short or too plain to be anyone's solution: imports, loop headers, a random
    generator, anything without arithmetic or numpy maths."""
    tokens = normal_line(line).split()
    return len(tokens) < MIN_LINE_TOKENS or tokens[0] in ("import", "from", "raise", "assert") \
        or not _distinctive(tuple(renamed(line.strip())), lines=True)


def renamed(source: str) -> list[str]:
    """Tokens with the names a student would choose replaced by ``V``, numbers by ``N`` and
    strings by ``S``; keywords, operators, library names and attributes stay, except that
    ``self.weights_`` is one name like any other."""
    out: list[str] = []
    raw: list[str] = []
    for tok in _tokens(source):
        text = tok.string
        if tok.type == tokenize.NAME and raw[-2:-1] == ["self"] and raw[-1:] == ["."]:
            out[-2:], raw[-2:] = ["V"], [text]
            continue
        if tok.type == tokenize.NAME and not keyword.iskeyword(text) and text not in \
                KEPT_NAMES and not (raw and raw[-1] == "."):
            text = "V"
        elif tok.type == tokenize.NUMBER:
            text = "N"
        elif tok.type == tokenize.STRING or tok.type == getattr(tokenize, "FSTRING_START", -1):
            text = "S"
        elif text in AUGMENTED and out[-1:] == ["V"]:   # w += u  is  w = w + u
            out += ["=", "V", text[:-1]]
            raw += ["=", raw[-1], text[:-1]]
            continue
        out.append(text)
        raw.append(tok.string)
    return out


AUGMENTED = {"+=", "-=", "*=", "/=", "@=", "**=", "//="}


def shingles(tokens: list[str], size: int = SHINGLE) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + size]) for i in range(len(tokens) - size + 1)}


# what carries an algorithm: arithmetic and comparisons, and numpy's maths (not its plumbing)
OPERATORS = {"+", "-", "*", "/", "//", "@", "**", "+=", "-=", "*=", "/=", "@="}
PLUMBING = {"asarray", "array", "float64", "float32", "int64", "items", "shape", "reshape",
            "random", "default_rng", "normal", "integers", "uniform", "to_numpy",
            "astype", "copy", "ndim", "size", "dtype", "append", "keys", "values", "T",
            "zeros", "ones", "zeros_like", "ones_like", "empty", "isfinite", "allclose", "N"}


def _distinctive(window: tuple[str, ...], lines: bool = False) -> bool:
    """A window that says something about the algorithm: at least two operators, or an
    operator and numpy maths (np.exp, np.maximum, .sum ...) -- not loops over dict items,
    asarray(..., dtype=np.float64) or a reshape, which every test and solution share."""
    ops = sum(w in OPERATORS for w in window)
    maths = sum(1 for i, w in enumerate(window) if i and window[i - 1] == "."
                and w not in PLUMBING)
    if lines:                    # one line: any arithmetic or maths makes it count
        return ops + maths >= 1
    return ops >= 2 or (ops >= 1 and maths >= 1)


def solution_shingles(regions: list[Region]) -> dict[tuple[str, ...], Region]:
    found: dict[tuple[str, ...], Region] = {}
    for region in regions:
        text = "\n".join(line.strip() for line in region.lines)
        for window in shingles(renamed(text)):
            if _distinctive(window):
                found.setdefault(window, region)
    return found


# --------------------------------------------------------------------------------------------
# what ships
# --------------------------------------------------------------------------------------------
def code_of(path: Path) -> str:
    """The code a file holds: a notebook's code cells, a Python file as it is, other text as
    it is (README, expected.json hold no code but are scanned for lines all the same)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".ipynb":
        cells = json.loads(text).get("cells", [])
        return "\n".join("".join(c.get("source", "")) if isinstance(c.get("source"), list)
                         else str(c.get("source", "")) for c in cells
                         if c.get("cell_type") == "code")
    return text


def is_machinery(rel: str) -> bool:
    """The grader's own modules (not suites, stubs or exercises): scanned for lines only."""
    parts = rel.split("/")
    return parts[:2] == [".grader", "grader"] and len(parts) == 3 and rel.endswith(".py")


@dataclass
class Finding:
    where: str                   # file:line in the shipped tree
    solution: str                # file:line of the solution region
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what} (solution {self.solution})"


def scan(root: Path, regions: list[Region]) -> list[Finding]:
    lines_of: dict[str, Region] = {}
    for region in regions:
        for offset, line in enumerate(region.lines):
            if line.strip() and not is_trivial(line):
                lines_of.setdefault(normal_line(line), Region(region.file, region.start + offset,
                                                              (line,)))
    windows = solution_shingles(regions)
    findings: list[Finding] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if "__pycache__" in rel or path.suffix in (".png", ".gz", ".npz", ".pyc"):
            continue
        try:
            code = code_of(path)
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        for number, line in enumerate(code.splitlines(), start=1):
            key = normal_line(line) if line.strip() else ""
            if key and key in lines_of:
                hit = lines_of[key]
                findings.append(Finding(f"{rel}:{number}", f"{hit.file}:{hit.start}",
                                        f"solution line {line.strip()!r}"))
        if path.suffix not in (".py", ".ipynb") or is_machinery(rel):
            continue
        # near-copies, located by the line each window starts on
        tokens = [t for t in _tokens(code)]
        names = renamed(code)
        reported: set[int] = set()
        for i in range(len(names) - SHINGLE + 1):
            window = tuple(names[i:i + SHINGLE])
            if window in windows:
                line = tokens[i].start[0]
                if line in reported:
                    continue
                reported.add(line)
                region = windows[window]
                findings.append(Finding(
                    f"{rel}:{line}", f"{region.file}:{region.start}",
                    f"{SHINGLE} tokens as in a solution region: {' '.join(window)}"))
    return findings


def grouped(findings: list[Finding]) -> str:
    """Findings as consecutive line ranges per file, for a readable failure."""
    by_file: dict[str, list[tuple[int, Finding]]] = {}
    for f in findings:
        file, line = f.where.rsplit(":", 1)
        by_file.setdefault(file, []).append((int(line), f))
    out = []
    for file, hits in sorted(by_file.items()):
        hits.sort(key=lambda h: h[0])
        ranges, start, prev = [], hits[0][0], hits[0][0]
        for line, _ in hits[1:]:
            if line > prev + 3:
                ranges.append((start, prev))
                start = line
            prev = line
        ranges.append((start, prev))
        spans = ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in ranges)
        out.append(f"{file}: lines {spans}")
        out += [f"    {f}" for _, f in hits[:6]]
        if len(hits) > 6:
            out.append(f"    ... {len(hits) - 6} more")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# the scanner finds what it must (so a clean scan means something)
# --------------------------------------------------------------------------------------------
def test_regions_are_found_in_every_solution():
    regions = solution_regions()
    assert {r.file for r in regions} == {f"{n}.py" for n in assignment.EXERCISE_NAMES}
    assert all(r.lines for r in regions)


def test_a_copied_line_and_a_renamed_copy_are_caught(tmp_path):
    regions = solution_regions()
    neuron = next(r for r in regions if r.file == "neuron.py" and len(
        [line for line in r.lines if line.strip() and not is_trivial(line)]) >= 1)
    line = next(line for line in neuron.lines if line.strip() and not is_trivial(line))
    (tmp_path / "copied.py").write_text(f"def helper(z):\n    {line.strip()}  # same\n")
    # the longest region of backprop, with every local name changed and spacing altered
    source = max((r for r in regions if r.file == "backprop.py"), key=lambda r: len(r.lines))
    text = "\n".join(line.strip() for line in source.lines if line.strip())
    names = {t.string for t in _tokens(text) if t.type == tokenize.NAME
             and not keyword.iskeyword(t.string) and t.string not in KEPT_NAMES}
    for name in sorted(names, key=len, reverse=True):
        text = re.sub(rf"(?<![.\w]){re.escape(name)}\b", f"{name}_x", text)
    body = "\n".join("    " + re.sub(r"\s*([=+*/-])\s*", r" \1 ", line)
                     for line in text.splitlines())
    (tmp_path / "renamed.py").write_text(f"def fake(*args):\n{body}\n")
    (tmp_path / "innocent.py").write_text("def add(a, b):\n    return a + b\n")
    found = scan(tmp_path, regions)
    files = {f.where.split(":")[0] for f in found}
    assert "copied.py" in files and "renamed.py" in files and "innocent.py" not in files, \
        grouped(found)
    assert any("tokens as in a solution region" in f.what for f in found
               if f.where.startswith("renamed.py"))


def test_the_stubs_alone_are_clean():
    """The exercises are generated from the solutions minus their regions: nothing there."""
    found = [f for f in scan(assignment.STUBS_DIR, solution_regions())]
    assert not found, grouped(found)


# --------------------------------------------------------------------------------------------
# the real thing: a template repository with its student edition
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def findings(tmp_path_factory) -> list[Finding]:
    """One scan of a freshly built template repository (the edition included, ~20 s)."""
    root = tmp_path_factory.mktemp("no-solution") / "repo"
    template_repo.build_template(root)
    assert (root / ".grader" / "grader" / "suites").is_dir()
    return scan(root, solution_regions())


@pytest.mark.slow
def test_no_solution_line_ships(findings):
    found = [f for f in findings if "solution line" in f.what]
    assert not found, "solution lines in the template:\n" + grouped(found)


@pytest.mark.slow
def test_no_near_copy_of_a_solution_ships(findings):
    found = [f for f in findings if "solution line" not in f.what]
    assert not found, "near-copies of solution code in the template:\n" + grouped(found)
