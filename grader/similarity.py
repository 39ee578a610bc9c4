"""``grader similarity RESULTS``: which submissions of a class are most alike, side by side.

Evidence for a human, never a verdict: nothing here changes a score, and the page says so.
Small exercises have few good solutions, so similar code is common and innocent; the page
shows *where* two submissions agree so an instructor can judge.

How: for each exercise, every student's graded file (the copy a batch keeps in
``RESULTS/<id>/submitted/``, else the submitted folder; notebooks as their code cells) is
fingerprinted with copydetect — the winnowing algorithm of MOSS (Schleimer, Wilkerson and
Aiken, 2003) — after tokenising (names and comments do not matter). Fingerprints of the
course's stub (``exercises/<name>.py`` and the notebook's code cells) are boilerplate and
never count, so the text every student was handed is not evidence. Every pair of students is
compared per exercise; the pairs above ``--threshold`` (the larger of the two shares of each
file found in the other), most similar first and at most ``--top``, are shown with the shared
code highlighted, in ``similarity.html`` (linked from summary.html) and ``similarity.csv``.

Student code on the page is text: escaped by the template, never markup.
"""
from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from grader import assignment, gradebook
from grader.files import write_atomic
from grader.gradebook import SIMILARITY_NAME, format_score, spreadsheet_safe
from grader.safe_text import clean_text

TEMPLATE = "similarity.html.j2"
CSV_NAME = "similarity.csv"
NOISE_T = 25           # copydetect's noise threshold: k-grams shorter than this never match
GUARANTEE_T = 30       # matches at least this long are always found (window = 30 - 25 + 1)
DEFAULT_THRESHOLD = 0.5
DEFAULT_TOP = 25
MAX_SOURCE_BYTES = 1 << 20
SNAPSHOT_DIR = "submitted"
EXIT_OK, EXIT_USAGE = 0, 2


class SimilarityError(ValueError):
    """The report cannot be made (not a batch folder, copydetect missing)."""


@dataclass
class Entry:
    student: str
    exercise: str
    file: str             # as graded, relative to the submission
    text: str             # the code compared (a notebook's code cells)
    has_report: bool


def notebook_code(text: str) -> str:
    """The code cells of a notebook, in order, as one Python text."""
    nb = json.loads(text)
    cells = nb.get("cells", []) if isinstance(nb, dict) else []
    out = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        out.append("".join(source) if isinstance(source, list) else str(source))
    return "\n\n".join(out) + "\n"


def read_code(path: Path) -> str | None:
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_SOURCE_BYTES:
            return None
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None
    if path.suffix.lower() == ".ipynb":
        try:
            text = notebook_code(text)
        except (ValueError, TypeError, AttributeError):
            return None
    return clean_text(text)


def _source_root(folder: Path) -> Path | None:
    """The submitted folder a batch recorded (folders only; zips and clones are gone or
    packed, which is what the ``submitted/`` copy is for)."""
    try:
        info = json.loads((folder / gradebook.SOURCE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(info, dict) and info.get("kind") == "folder":
        root = Path(str(info.get("source", "")))
        return root if root.is_dir() else None
    return None


def gather(results: Path) -> tuple[list[Entry], list[str]]:
    """Every graded exercise file of the class, and notes on those that could not be read."""
    entries, notes = [], []
    for row in gradebook.collect([results]):
        if row.result is None:
            continue
        for ex in row.result.exercises:
            if not ex.file or ex.status in ("missing", "not_attempted"):
                continue
            rel = Path(str(ex.file))
            if rel.is_absolute() or ".." in rel.parts:
                continue
            text = read_code(row.path / SNAPSHOT_DIR / rel)
            if text is None and (root := _source_root(row.path)) is not None:
                text = read_code(root / rel)
            if text is None:
                notes.append(f"{row.id}: {ex.name} ({ex.file}) could not be read — regrade "
                             f"with this grader's batch to keep a copy")
                continue
            entries.append(Entry(row.id, ex.name, str(ex.file), text, row.has_report))
    return entries, notes


def stub_texts(exercise: str) -> list[tuple[str, str]]:
    """(file name, code) of what the course handed out for ``exercise``."""
    out = []
    for suffix in (".py", ".ipynb"):
        path = assignment.PROJECT_ROOT / "exercises" / f"{exercise}{suffix}"
        text = read_code(path) if path.is_file() else None
        if text:
            out.append((f"{exercise}{suffix}", text))
    return out


def _fingerprint(name: str, text: str, boilerplate, win_size: int):
    from copydetect import CodeFingerprint

    return CodeFingerprint(name if name.endswith(".py") else name + ".py", NOISE_T, win_size,
                           boilerplate=boilerplate, fp=io.StringIO(text), language="python")


def compare(entries: list[Entry], *, threshold: float = DEFAULT_THRESHOLD,
            top: int = DEFAULT_TOP) -> list[dict[str, Any]]:
    """The most similar pairs (same exercise, two students), most similar first."""
    try:
        import numpy as np
        from copydetect import compare_files
    except ImportError:
        raise SimilarityError("copydetect is not installed (pip install copydetect)") from None
    win_size = GUARANTEE_T - NOISE_T + 1
    pairs = []
    by_exercise: dict[str, list[Entry]] = {}
    for entry in entries:
        by_exercise.setdefault(entry.exercise, []).append(entry)
    for exercise, group in sorted(by_exercise.items()):
        hashes = []
        for name, text in stub_texts(exercise):
            hashes.extend(_fingerprint(name, text, None, 1).hashes)
        boilerplate = np.unique(np.array(hashes, dtype=np.int64)) if hashes else None
        prints = [_fingerprint(e.file, e.text, boilerplate, win_size) for e in group]
        for (a, fa), (b, fb) in itertools.combinations(zip(group, prints), 2):
            if not fa.hashes or not fb.hashes:
                continue
            overlap, (sim_a, sim_b), (slices_a, slices_b) = compare_files(fa, fb)
            score = max(float(sim_a), float(sim_b))
            if overlap <= 0 or score < threshold:
                continue
            pairs.append({"exercise": exercise, "a": a, "b": b, "similarity": score,
                          "sim_a": float(sim_a), "sim_b": float(sim_b),
                          "tokens": int(overlap),
                          "segments_a": segments(fa.raw_code, slices_a),
                          "segments_b": segments(fb.raw_code, slices_b)})
    pairs.sort(key=lambda p: (-p["similarity"], -p["tokens"], p["exercise"], p["a"].student,
                              p["b"].student))
    return pairs[:top]


def segments(text: str, slices) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, shared?) runs from copydetect's slices (starts, ends)."""
    if getattr(slices, "size", 0) == 0:
        return [(text, False)]
    spans = sorted((int(s), int(e)) for s, e in zip(slices[0], slices[1]))
    merged: list[list[int]] = []
    for start, end in spans:
        start, end = max(0, start), min(len(text), end)
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        elif end > start:
            merged.append([start, end])
    out, position = [], 0
    for start, end in merged:
        if start > position:
            out.append((text[position:start], False))
        out.append((text[start:end], True))
        position = end
    if position < len(text):
        out.append((text[position:], False))
    return out


def _href(student: str) -> str:
    return f"{quote(student, safe='')}/report.html"


def render_html(pairs: list[dict[str, Any]], notes: list[str], *, n_files: int,
                threshold: float, title: str) -> str:
    from grader.report_html import make_environment

    view = [{"exercise": p["exercise"], "a": p["a"].student, "b": p["b"].student,
             "file_a": p["a"].file, "file_b": p["b"].file,
             "href_a": _href(p["a"].student) if p["a"].has_report else None,
             "href_b": _href(p["b"].student) if p["b"].has_report else None,
             "similarity": f"{100 * p['similarity']:.0f} %",
             "sim_a": f"{100 * p['sim_a']:.0f} %", "sim_b": f"{100 * p['sim_b']:.0f} %",
             "tokens": p["tokens"], "segments_a": p["segments_a"],
             "segments_b": p["segments_b"], "anchor": f"pair-{i}"}
            for i, p in enumerate(pairs, start=1)]
    template = make_environment().get_template(TEMPLATE)
    return template.render(title=title, pairs=view, notes=notes, n_files=n_files,
                           threshold=f"{100 * threshold:.0f} %", noise=NOISE_T,
                           guarantee=GUARANTEE_T)


def render_csv(pairs: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["exercise", "student_a", "student_b", "similarity", "share_a", "share_b",
                     "shared_tokens", "file_a", "file_b"])
    for p in pairs:
        writer.writerow([p["exercise"], spreadsheet_safe(p["a"].student),
                         spreadsheet_safe(p["b"].student), format_score(p["similarity"], 3),
                         format_score(p["sim_a"], 3), format_score(p["sim_b"], 3), p["tokens"],
                         spreadsheet_safe(p["a"].file), spreadsheet_safe(p["b"].file)])
    return buffer.getvalue()


def write_report(results: Path, *, threshold: float = DEFAULT_THRESHOLD,
                 top: int = DEFAULT_TOP) -> dict[str, Any]:
    """similarity.html and similarity.csv in ``results``; summary.html is rewritten to link
    them. Returns what was done."""
    results = Path(results)
    if not results.is_dir():
        raise SimilarityError(f"{results}: not a batch output folder")
    entries, notes = gather(results)
    pairs = compare(entries, threshold=threshold, top=top)
    html = write_atomic(results / SIMILARITY_NAME, render_html(
        pairs, notes, n_files=len(entries), threshold=threshold,
        title=f"Similarity evidence — {results.resolve().name}"))
    table = write_atomic(results / CSV_NAME, render_csv(pairs))
    gradebook.write_outputs(gradebook.collect([results]), results)
    return {"pairs": pairs, "notes": notes, "files": len(entries), "html": html, "csv": table}


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    s = subparsers.add_parser(
        "similarity", help="the most similar pairs of a class's submissions, side by side",
        description="Compare every pair of students per exercise with copydetect (MOSS's "
        "winnowing), the course's stub excluded, and write RESULTS/similarity.html and "
        "similarity.csv, linked from summary.html. Evidence for a human: no score changes.")
    s.add_argument("results", metavar="RESULTS", help="the batch output folder")
    s.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, metavar="SHARE",
                   help=f"show pairs sharing at least this share of a file (0-1, default "
                   f"{DEFAULT_THRESHOLD:g})")
    s.add_argument("--top", type=int, default=DEFAULT_TOP, metavar="N",
                   help=f"show at most N pairs (default {DEFAULT_TOP})")
    s.set_defaults(func=run)
    return s


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.threshold <= 1 or args.top < 1:
        print("grader similarity: --threshold is a share between 0 and 1, --top at least 1",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        done = write_report(Path(args.results), threshold=args.threshold, top=args.top)
    except SimilarityError as exc:
        print(f"grader similarity: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for note in done["notes"]:
        print(f"note: {note}", file=sys.stderr)
    print(f"compared {done['files']} file(s); {len(done['pairs'])} pair(s) at or above "
          f"{args.threshold:g} — evidence for a human, no score was changed")
    print(f"similarity: {done['html']}\ncsv: {done['csv']}")
    return EXIT_OK
