"""Which file of a submission answers which exercise, and why.

The rule, in order (the reason for every choice is recorded in result.json):
1. Candidates are the files named after the exercise at the submission's top, in its
   ``exercises/`` folder, or in the one folder a submission was wrapped in (``alice/neuron.py``
   when the class's zip held a folder). Names match:
   exactly (``neuron.py``, ``neuron.ipynb``), in any case (``Neuron.PY``), or with what a
   download or a copy adds (``neuron (1).py``, ``neuron-2.py``, ``neuron_final.ipynb``,
   ``neuron copy.py``). Archive debris (``__MACOSX``, ``._*``, ``.DS_Store``, ``Thumbs.db``)
   and symlinks leading outside the submission are ignored.
2. A candidate identical to the generated stub (exercises/ of the course) loses to any other.
3. Then the candidate with the fewest ``raise NotImplementedError`` left wins
   (a student who fills in the notebook leaves the template's ``.py`` untouched).
4. Ties go to the exact name before a variant, the submission's root before ``exercises/``,
   then ``.py`` before ``.ipynb``.

When nothing matches, the reason lists the files that were there and the closest names.
The chosen file is "not attempted" when every function of the course's stub is still the stub
(its body still raises NotImplementedError): such a file is not graded, it is reported as not
attempted. The file is parsed (``ast``), never run.
"""
from __future__ import annotations

import ast
import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.assignment import STUBS_DIR

_RAISE_NIE = re.compile(rb"raise\s+NotImplementedError")
SUFFIXES = (".py", ".ipynb")
# what downloads, copies and renames add to a file name: " (1)", "-2", "_final", " copy", ...
_VARIANT_TAIL = (r"(?:\s*\(\d+\)|[ _.-]+(?:\d+|v\d+|copy|final|done|finished|complete|completed"
                 r"|submission|submit|solution|solved|answers?|new|latest|updated?|edited))+")
DEBRIS_NAMES = frozenset({"__macosx", ".ds_store", "thumbs.db", "desktop.ini", ".spotlight-v100",
                          ".trashes", ".fseventsd", ".ipynb_checkpoints", "__pycache__"})
MAX_PARSED_BYTES = 4 << 20        # larger files are never "not attempted": they are graded
MAX_LISTED = 15                   # files named in a "no file found" reason


def is_debris(name: str) -> bool:
    """What archivers and file managers leave behind: never a student, never an answer."""
    return name.lower() in DEBRIS_NAMES or name.startswith("._")


@dataclass
class Located:
    exercise: str
    path: Path | None                    # absolute path of the chosen file
    rel: str | None                      # the same, relative to the submission
    reason: str
    candidates: list[str] = field(default_factory=list)
    # False when the chosen file is still the course's stub in every function
    attempted: bool = True
    not_attempted_because: str = ""

    @property
    def found(self) -> bool:
        return self.path is not None


def candidate_paths(name: str) -> list[str]:
    """The exact names looked for, in order; variants of them (see the module) count too."""
    return [f"{name}.py", f"{name}.ipynb", f"exercises/{name}.py", f"exercises/{name}.ipynb"]


def match_level(filename: str, name: str) -> int | None:
    """0 exact name, 1 the name in another case, 2 a download/copy variant; None otherwise."""
    path = Path(filename)
    suffix = path.suffix
    if suffix.lower() not in SUFFIXES or is_debris(filename):
        return None
    stem = path.stem
    if stem == name and suffix in SUFFIXES:
        return 0
    if stem.lower() == name.lower():
        return 1
    if re.fullmatch(re.escape(name) + _VARIANT_TAIL, stem, flags=re.IGNORECASE):
        return 2
    return None


def search_dirs(submission: Path) -> list[tuple[str, Path]]:
    """(prefix, folder) pairs where exercise files may be: the top, ``exercises/`` (any case),
    and the single folder a submission may be wrapped in (and its ``exercises/``)."""
    dirs: list[tuple[str, Path]] = [("", submission)]

    def subfolders(folder: Path) -> list[Path]:
        try:
            return sorted((p for p in folder.iterdir() if p.is_dir() and not p.is_symlink()
                           and not is_debris(p.name) and not p.name.startswith(".")),
                          key=lambda p: p.name)
        except OSError:
            return []

    top = subfolders(submission)
    for sub in top:
        if sub.name.lower() == "exercises":
            dirs.append((f"{sub.name}/", sub))
    wrappers = [p for p in top if p.name.lower() != "exercises"]
    if len(wrappers) == 1 and not _has_code(submission):
        wrap = wrappers[0]
        dirs.append((f"{wrap.name}/", wrap))
        for sub in subfolders(wrap):
            if sub.name.lower() == "exercises":
                dirs.append((f"{wrap.name}/{sub.name}/", sub))
    return dirs


def _has_code(folder: Path) -> bool:
    try:
        return any(p.suffix.lower() in SUFFIXES and not is_debris(p.name)
                   for p in folder.iterdir())
    except OSError:
        return False


def _files(folder: Path) -> list[Path]:
    try:
        return sorted((p for p in folder.iterdir() if not is_debris(p.name)),
                      key=lambda p: p.name)
    except OSError:
        return []


def matching_files(submission: Path, name: str, suffixes: tuple[str, ...] = SUFFIXES
                   ) -> list[tuple[int, int, str, Path]]:
    """(match level, folder order, relative path, path) of every file answering ``name``."""
    out = []
    for order, (prefix, folder) in enumerate(search_dirs(submission)):
        for path in _files(folder):
            level = match_level(path.name, name)
            if level is None or path.suffix.lower() not in suffixes:
                continue
            out.append((level, order, f"{prefix}{path.name}", path))
    return out


def _stub_digests(name: str, stubs_dir: Path) -> set[str]:
    return {hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (stubs_dir / f"{name}.py", stubs_dir / f"{name}.ipynb") if p.is_file()}


def locate(submission: Path, name: str, stubs_dir: Path | None = None) -> Located:
    """Find the file answering exercise ``name`` in ``submission`` (see the module's rule)."""
    submission = submission.resolve()
    stubs_dir = STUBS_DIR if stubs_dir is None else stubs_dir
    found = []
    ignored = []
    digests = _stub_digests(name, stubs_dir)
    for level, order, rel, path in matching_files(submission, name):
        if not path.is_file():
            continue
        real = path.resolve()
        if submission not in real.parents:
            ignored.append(f"{rel} (a link to outside the submission)")
            continue
        data = real.read_bytes()
        stub = hashlib.sha256(data).hexdigest() in digests
        kind = 0 if path.suffix.lower() == ".py" else 1
        found.append((stub, len(_RAISE_NIE.findall(data)), level, order, kind, rel, real))
    if not found:
        return Located(name, None, None, _nothing_found(submission, name, ignored), [])
    found.sort()
    stub, todo, level, _, _, rel, real = found[0]
    others = [f[5] for f in found[1:]]
    if not others:
        reason = f"{rel} is the only candidate"
    else:
        best_other = found[1]
        if best_other[0] != stub:
            why = "the others are untouched stubs"
        elif best_other[1] != todo:
            why = "it has the fewest NotImplementedError stubs left"
        elif best_other[2] != level:
            why = "the exact file name before a renamed copy"
        else:
            why = "root before exercises/, .py before .ipynb"
        reason = f"{rel} chosen over {', '.join(others)}: {why}"
    if level:
        reason += f" (matched {name}{real.suffix.lower()} by its name, ignoring case and " \
                  f"copy suffixes)"
    if stub:
        reason += " (it is the untouched stub)"
    located = Located(name, real, rel, reason, [f[5] for f in found])
    untouched = untouched_functions(real, name, stubs_dir)
    if untouched:
        located.attempted = False
        located.not_attempted_because = (
            f"not attempted: every function of {rel} ({', '.join(untouched[:6])}"
            f"{', ...' if len(untouched) > 6 else ''}) still raises NotImplementedError as "
            f"in the stub")
    return located


def _nothing_found(submission: Path, name: str, ignored: list[str]) -> str:
    """Why no file answers ``name``: what was looked for, what was there, the closest names."""
    why = (f"no file found; looked for {', '.join(candidate_paths(name))} (any case; copies "
           f"such as '{name} (1).py' count)")
    if ignored:
        why += f"; ignored {', '.join(ignored)}"
    present = []
    for prefix, folder in search_dirs(submission):
        present += [f"{prefix}{p.name}{'/' if p.is_dir() else ''}" for p in _files(folder)]
    present = list(dict.fromkeys(present))
    if not present:
        return why + "; the submission is empty"
    shown = ", ".join(present[:MAX_LISTED]) + (f", ... ({len(present) - MAX_LISTED} more)"
                                                if len(present) > MAX_LISTED else "")
    why += f"; the submission holds {shown}"
    code = [p for p in present if Path(p).suffix.lower() in SUFFIXES]
    by_stem = {Path(p).stem.lower(): p for p in code}
    close = difflib.get_close_matches(name.lower(), list(by_stem), n=3, cutoff=0.6)
    if close:
        why += f"; did you mean {' or '.join(by_stem[c] for c in close)}? (rename it to " \
               f"{name}.py or {name}.ipynb)"
    return why


# ---- not attempted ------------------------------------------------------------------------------

def _code_of(path: Path) -> str | None:
    """The Python source of a .py file or a notebook's code cells (magics left out)."""
    try:
        if path.stat().st_size > MAX_PARSED_BYTES:
            return None
        data = path.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError:
        return None
    if path.suffix.lower() != ".ipynb":
        return data
    try:
        cells = json.loads(data).get("cells", [])
    except (ValueError, AttributeError, RecursionError):
        return None
    chunks = []
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(map(str, src)) if isinstance(src, list) else str(src)
        chunks.append("\n".join(line for line in src.splitlines()
                                if not line.lstrip().startswith(("%", "!"))))
    return "\n\n".join(chunks)


def _functions(source: str) -> dict[str, bool] | None:
    """Every function (``f``, ``Class.method``) -> whether its body is still the stub's: nothing
    but a docstring, ``pass``/``...`` and ``raise NotImplementedError(...)``. A body with any
    other statement is an attempt, even if a ``raise NotImplementedError`` is left in it."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    out: dict[str, bool] = {}

    def raises_nie(stmt: ast.stmt) -> bool:
        if not isinstance(stmt, ast.Raise) or stmt.exc is None:
            return False
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"

    def filler(stmt: ast.stmt) -> bool:      # docstring, pass, ...
        return isinstance(stmt, ast.Pass) or (
            isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            and (isinstance(stmt.value.value, str) or stmt.value.value is Ellipsis))

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                code = [stmt for stmt in node.body if not filler(stmt)]
                out[prefix + node.name] = bool(code) and all(raises_nie(st) for st in code)
            elif isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")

    visit(tree.body, "")
    return out


def untouched_functions(path: Path, name: str, stubs_dir: Path | None = None) -> list[str]:
    """The stub's functions, when every one of them is still the stub in ``path``; else []."""
    stubs_dir = STUBS_DIR if stubs_dir is None else stubs_dir
    stub_source = _code_of(stubs_dir / f"{name}.py")
    stub = _functions(stub_source) if stub_source is not None else None
    todo = [f for f, unfinished in (stub or {}).items() if unfinished]
    if not todo:
        return []
    source = _code_of(path)
    mine = _functions(source) if source is not None else None
    if mine is None:
        return []          # unreadable or not Python: grading says what is wrong
    return todo if all(mine.get(f) is True for f in todo) else []
