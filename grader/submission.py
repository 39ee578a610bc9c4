"""Opening a submission safely: a directory as is, a .zip extracted with every trap refused.

Zip archives may try path traversal (``../``), absolute paths, symlinks or decompression
bombs; each is refused with a message naming the archive and the member. Copies made for a
worker leave out version-control data and any symlink that points outside the submission.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Iterator

from grader.safe_text import one_line

MAX_UNPACKED_BYTES = 512 << 20
MAX_MEMBERS = 20_000
MAX_RATIO = 200          # a member expanding more than this is treated as a bomb
MAX_COPIED_FILE = 64 << 20
MAX_ARCHIVE_BYTES = 256 << 20      # the .zip file itself, before it is even opened
MAX_NOTEBOOK_BYTES = 32 << 20      # a notebook the grader parses (outputs included)
MAX_NOTEBOOK_CELLS = 2_000
SKIPPED_DIRS = {".git", "__pycache__", ".ipynb_checkpoints", ".venv", "venv", "node_modules"}


class SubmissionError(Exception):
    """The submission cannot be opened at all (not a directory, a broken or hostile zip)."""


@contextlib.contextmanager
def open_submission(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a directory holding the submission; archives are extracted to a temp dir."""
    path = Path(path)
    if path.is_dir():
        yield path.resolve()
        return
    if not path.exists():
        raise SubmissionError(f"{path}: no such file or directory — give a submission "
                              f"folder or a .zip file")
    if not zipfile.is_zipfile(path):
        raise SubmissionError(f"{path}: not a folder or a .zip archive — zip the submission "
                              f"folder, or pass the folder itself")
    tmp = Path(tempfile.mkdtemp(prefix="grader-zip-"))
    try:
        extract_zip(path, tmp)
        yield _single_top_folder(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def extract_zip(archive: Path, dest: Path) -> None:
    """Extract ``archive`` into ``dest`` refusing traversal, links, devices and bombs."""
    try:
        size = archive.stat().st_size
    except OSError as exc:
        raise SubmissionError(f"{archive}: unreadable ({exc.strerror})") from None
    if size > MAX_ARCHIVE_BYTES:
        raise SubmissionError(f"{archive}: the archive is {size / (1 << 20):.0f} MB, more than "
                              f"the {MAX_ARCHIVE_BYTES >> 20} MB a submission may be; leave out "
                              f"data sets, models and checkpoints (the grader brings its own)")
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        # ValueError: a member name flagged UTF-8 that is not (UnicodeDecodeError)
        raise SubmissionError(f"{archive}: unreadable zip ({one_line(exc)[:200]}); "
                              f"re-create the zip from the folder") from None
    with zf:
        members = zf.infolist()
        if len(members) > MAX_MEMBERS:
            raise SubmissionError(f"{archive}: {len(members)} entries is more than the "
                                  f"{MAX_MEMBERS} a submission may hold; zip only the "
                                  f"submission folder, without virtual environments or data")
        total = 0
        files: dict[tuple[str, ...], zipfile.ZipInfo] = {}
        for info in members:
            name = info.filename
            pure = PurePosixPath(name.replace("\\", "/"))
            if pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
                raise SubmissionError(f"{archive}: entry {name!r} points outside the archive "
                                      f"(path traversal); re-create the zip from the folder")
            if info.flag_bits & 0x1:
                raise SubmissionError(f"{archive}: entry {name!r} is password-protected; zip "
                                      f"the folder again without a password")
            if not info.is_dir():
                # two entries for one file ("neuron.py" twice, or "./neuron.py"): which one a
                # reader of the zip sees would not be the one graded
                first = files.setdefault(pure.parts, info)
                if first is not info:
                    raise SubmissionError(f"{archive}: entries {first.filename!r} and {name!r} "
                                          f"are the same file twice; re-create the zip from "
                                          f"the folder")
            kind = stat.S_IFMT(info.external_attr >> 16)  # 0: no type recorded (plain file)
            if kind == stat.S_IFLNK:
                raise SubmissionError(f"{archive}: entry {name!r} is a symbolic link; zip real "
                                      f"files only")
            if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                raise SubmissionError(f"{archive}: entry {name!r} is not a regular file")
            total += info.file_size
            if total > MAX_UNPACKED_BYTES or (
                    info.compress_size and info.file_size / info.compress_size > MAX_RATIO
                    and info.file_size > (1 << 20)):
                raise SubmissionError(f"{archive}: expands to more than a submission may "
                                      f"(zip bomb?); keep it under {MAX_UNPACKED_BYTES >> 20} MB")
        try:
            _extract_members(zf, members, archive, dest)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError,
                RuntimeError) as exc:   # RuntimeError: zipfile's "password required"
            raise SubmissionError(f"{archive}: damaged archive ({type(exc).__name__}: "
                                  f"{one_line(exc)[:200]}); re-create the zip from the "
                                  f"folder") from None


def _extract_members(zf: zipfile.ZipFile, members: list, archive: Path, dest: Path) -> None:
    """Write the (already vetted) members, checking sizes again as they stream."""
    for info in members:
        target = dest.joinpath(*PurePosixPath(info.filename.replace("\\", "/")).parts)
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with zf.open(info) as src, open(target, "wb") as out:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > info.file_size or written > MAX_UNPACKED_BYTES:
                    raise SubmissionError(f"{archive}: entry {info.filename!r} is larger "
                                          f"than it claims (zip bomb?)")
                out.write(chunk)


def _single_top_folder(root: Path) -> Path:
    """GitHub's "Download ZIP" wraps everything in one folder; grade its contents."""
    entries = [p for p in root.iterdir() if p.name not in ("__MACOSX",)]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return root


def copy_for_worker(src: Path, dst: Path) -> list[str]:
    """Copy the submission for one worker; return what was left out and why."""
    skipped: list[str] = []
    src = src.resolve()
    for root, dirs, files in os.walk(src):
        rel = Path(root).relative_to(src)
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not _escapes(src, Path(root, d),
                                                                            skipped, rel / d)]
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            path = Path(root, name)
            if _escapes(src, path, skipped, rel / name):
                continue
            try:
                if path.stat().st_size > MAX_COPIED_FILE:
                    skipped.append(f"{rel / name}: larger than {MAX_COPIED_FILE >> 20} MB")
                    continue
                shutil.copyfile(path, dst / rel / name)
            except OSError as exc:
                skipped.append(f"{rel / name}: unreadable ({exc.strerror})")
    return skipped


def _escapes(root: Path, path: Path, skipped: list[str], rel: Path) -> bool:
    """A symlink whose target is outside the submission is never followed."""
    if not path.is_symlink():
        return False
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        skipped.append(f"{rel}: broken symbolic link")
        return True
    if root != target and root not in target.parents:
        skipped.append(f"{rel}: symbolic link to outside the submission")
        return True
    return False


def notebook_problem(path: Path) -> str | None:
    """Why a notebook file cannot be executed at all (None when it can), for the student.

    Parsing JSON is safe in the grader; only nbformat 4 with a list of cells is accepted.
    Everything else students do to a notebook (reordered, split or duplicated cells,
    duplicate ids, another kernel name, any 4.x minor version) is left to execution.
    """
    import json

    name = path.name
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        return f"{name} is {size / (1 << 20):.0f} MB, more than the {MAX_NOTEBOOK_BYTES >> 20} " \
               f"MB a notebook may be — its outputs are probably huge: clear them (Kernel > " \
               f"Restart Kernel and Clear All Outputs), save and submit again"
    raw = path.read_bytes()
    if not raw.strip():
        return f"{name} is empty — save the notebook in Jupyter and submit it again"
    try:
        nb = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return f"{name} is not a text file (a binary file named .ipynb?) — submit the " \
               f"notebook saved from Jupyter"
    except (ValueError, RecursionError) as exc:
        return f"{name} is not valid notebook JSON ({str(exc)[:120] or 'nested too deeply'})" \
               f" — was it edited by hand or cut short? Open it in Jupyter, fix or re-save " \
               f"it, and submit again"
    if not isinstance(nb, dict):
        return f"{name} is not a notebook (its JSON is not an object) — save the notebook " \
               f"from Jupyter and submit that file"
    if nb.get("nbformat") != 4:
        return f"{name} is in nbformat {nb.get('nbformat')!r}; the grader reads nbformat 4 " \
               f"— open it in a current Jupyter and save it again"
    if not isinstance(nb.get("cells"), list):
        return f"{name} has no list of cells — save it again from Jupyter"
    if len(nb["cells"]) > MAX_NOTEBOOK_CELLS:
        return f"{name} has {len(nb['cells']):,} cells, more than the {MAX_NOTEBOOK_CELLS:,} " \
               f"a notebook may have — remove generated or duplicated cells and submit again"
    for number, cell in enumerate(nb["cells"], start=1):
        source = cell.get("source", "") if isinstance(cell, dict) else None
        if not (isinstance(source, str) or (isinstance(source, list) and
                                            all(isinstance(line, str) for line in source))):
            return f"cell {number} of {name} is damaged (its source is not text) — open " \
                   f"the notebook in Jupyter, fix that cell and save it again"
    return None
