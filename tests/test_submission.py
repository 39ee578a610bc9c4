"""Opening submissions safely (grader/submission.py): folders, zips and hostile zips."""
from __future__ import annotations

import os
import shutil
import stat
import struct
import tempfile
import uuid
import zipfile
import zlib
from pathlib import Path

import pytest

from grader import submission
from grader.submission import SubmissionError, copy_for_worker, open_submission


def regular(name: str, compress: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    """A zip entry marked as a regular file, as `zip` and GitHub's archives write them."""
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    info.compress_type = compress
    return info


def make_zip(path: Path, entries: dict[str, bytes | str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(regular(name), data)
    return path


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """Route tempfile into a folder of the test, so leftovers and escapes can be seen."""
    folder = tmp_path / "tempdir"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def all_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


# --------------------------------------------------------------------------------------------
# folders and ordinary zips
# --------------------------------------------------------------------------------------------
def test_folder_is_used_in_place(tmp_path):
    (tmp_path / "neuron.py").write_text("x = 1\n")
    with open_submission(tmp_path) as root:
        assert root == tmp_path.resolve()
    assert (tmp_path / "neuron.py").exists()             # nothing removed afterwards


def test_zip_with_files_at_the_top(tmp_path, private_tmp):
    archive = make_zip(tmp_path / "in" / "alice.zip",
                       {"neuron.py": "x = 1\n", "exercises/perceptron.py": "y = 2\n"})
    with open_submission(archive) as root:
        assert root.parent == private_tmp or root.parent.parent == private_tmp
        assert all_files(root) == {"neuron.py", "exercises/perceptron.py"}
        assert (root / "neuron.py").read_text() == "x = 1\n"
    assert list(private_tmp.iterdir()) == []             # extraction folder cleaned up


def test_zip_with_a_single_top_folder_is_unwrapped(tmp_path, private_tmp):
    archive = make_zip(tmp_path / "bob.zip", {"bob-main/neuron.py": "x = 1\n",
                                              "bob-main/exercises/backprop.py": "z = 3\n",
                                              "__MACOSX/bob-main/._neuron.py": "junk"})
    with open_submission(archive) as root:
        assert root.name == "bob-main"
        assert all_files(root) == {"neuron.py", "exercises/backprop.py"}
    assert list(private_tmp.iterdir()) == []


def test_zip_made_by_shutil_make_archive(tmp_path, private_tmp):
    src = tmp_path / "carol"
    (src / "exercises").mkdir(parents=True)
    (src / "exercises" / "neuron.py").write_text("x = 1\n")
    made = Path(shutil.make_archive(str(tmp_path / "carol-sub"), "zip", tmp_path, "carol"))
    with open_submission(made) as root:
        assert (root / "exercises" / "neuron.py").read_text() == "x = 1\n"


def test_zip_written_with_writestr_names_is_accepted(tmp_path):
    archive = tmp_path / "dave.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("neuron.py", "x = 1\n")
    with open_submission(archive) as root:
        assert (root / "neuron.py").read_text() == "x = 1\n"


def test_missing_path_names_the_path(tmp_path):
    path = tmp_path / "no-such-submission"
    with pytest.raises(SubmissionError, match="no-such-submission"):
        with open_submission(path):
            pass


def test_file_that_is_not_a_zip_names_the_file(tmp_path):
    path = tmp_path / "homework.pdf"
    path.write_bytes(b"%PDF-1.4 not a zip")
    with pytest.raises(SubmissionError, match="homework.pdf") as info:
        with open_submission(path):
            pass
    assert "not a folder or a .zip" in str(info.value)


# --------------------------------------------------------------------------------------------
# hostile zips: refused, with the archive's name, and nothing written anywhere
# --------------------------------------------------------------------------------------------
def assert_refused(archive: Path, private_tmp: Path, *, match: str) -> SubmissionError:
    with pytest.raises(SubmissionError, match=match) as info:
        with open_submission(archive):
            pytest.fail("a hostile archive was opened")
    assert archive.name in str(info.value)
    assert list(private_tmp.iterdir()) == []             # the temp folder is gone too
    return info.value


ABSOLUTE_TARGET = f"/tmp/coretests-escaped-{uuid.uuid4().hex[:8]}.py"


@pytest.mark.parametrize("evil", ["../escaped.py", "ok/../../escaped.py", "..\\escaped.py",
                                  ABSOLUTE_TARGET, "C:/escaped.py"],
                         ids=["dotdot", "nested-dotdot", "backslash", "absolute", "drive"])
def test_path_traversal_and_absolute_entries_are_refused(tmp_path, private_tmp, evil):
    archive = tmp_path / "deep" / "in" / "evil.zip"
    make_zip(archive, {"neuron.py": "fine\n", evil: "pwned\n"})
    try:
        error = assert_refused(archive, private_tmp, match="outside the archive")
        assert repr(evil) in str(error)
        assert not any("escaped" in p.name for p in tmp_path.rglob("*"))
        assert not Path(ABSOLUTE_TARGET).exists()
    finally:
        Path(ABSOLUTE_TARGET).unlink(missing_ok=True)   # in case extraction ever escapes


def test_symlink_entry_is_refused(tmp_path, private_tmp):
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(regular("neuron.py"), "fine\n")
        link = zipfile.ZipInfo("solutions.py")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/srv/course/solutions/neuron.py")
    error = assert_refused(archive, private_tmp, match="symbolic link")
    assert "solutions.py" in str(error)


def test_device_entry_is_refused(tmp_path, private_tmp):
    archive = tmp_path / "fifo.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        fifo = zipfile.ZipInfo("pipe")
        fifo.external_attr = (stat.S_IFIFO | 0o644) << 16
        zf.writestr(fifo, "")
    assert_refused(archive, private_tmp, match="not a regular file")


def test_zip_bomb_is_refused_before_extraction(tmp_path, private_tmp):
    """600 MB of zeros deflate to ~3 MB; written in chunks so the test stays fast."""
    archive = tmp_path / "bomb.zip"
    info = regular("neuron.py")
    # fastest deflate level; the attribute is spelt compress_level from Python 3.13 on
    setattr(info, "compress_level" if hasattr(info, "compress_level") else "_compresslevel", 1)
    chunk = bytes(4 << 20)
    with zipfile.ZipFile(archive, "w") as zf:
        with zf.open(info, "w", force_zip64=True) as out:
            for _ in range(150):
                out.write(chunk)
    assert archive.stat().st_size < 10 << 20
    assert_refused(archive, private_tmp, match="zip bomb")


def test_many_small_members_over_the_total_are_refused(tmp_path, private_tmp, monkeypatch):
    monkeypatch.setattr(submission, "MAX_UNPACKED_BYTES", 50_000)
    archive = make_zip(tmp_path / "many.zip",
                       {f"data/{i}.bin": os.urandom(10_000) for i in range(6)})
    assert_refused(archive, private_tmp, match="zip bomb")


def test_too_many_members_are_refused(tmp_path, private_tmp, monkeypatch):
    monkeypatch.setattr(submission, "MAX_MEMBERS", 5)
    archive = make_zip(tmp_path / "members.zip", {f"f{i}.py": "" for i in range(6)})
    assert_refused(archive, private_tmp, match="entries")


def _lying_zip(path: Path, *, fix_crc: bool) -> Path:
    """A member that claims 100 bytes and inflates to 10 MB."""
    make_zip(path, {"neuron.py": bytes(10 << 20)})
    raw = bytearray(path.read_bytes())
    local, central = raw.find(b"PK\x03\x04"), raw.find(b"PK\x01\x02")
    struct.pack_into("<I", raw, local + 22, 100)          # uncompressed size
    struct.pack_into("<I", raw, central + 24, 100)
    if fix_crc:
        crc = zlib.crc32(bytes(100))
        struct.pack_into("<I", raw, local + 14, crc)
        struct.pack_into("<I", raw, central + 16, crc)
    path.write_bytes(raw)
    return path


def test_member_lying_about_its_size_never_expands_past_its_claim(tmp_path, private_tmp):
    archive = _lying_zip(tmp_path / "liar.zip", fix_crc=True)
    try:
        with open_submission(archive) as root:
            assert (root / "neuron.py").stat().st_size <= 100
    except SubmissionError as exc:                       # refusing is fine too
        assert archive.name in str(exc)
    assert list(private_tmp.iterdir()) == []




def test_member_lying_about_its_size_with_a_bad_crc_is_a_submission_error(tmp_path,
                                                                         private_tmp):
    archive = _lying_zip(tmp_path / "liar.zip", fix_crc=False)
    assert_refused(archive, private_tmp, match="liar.zip")


def test_truncated_zip_is_a_submission_error(tmp_path, private_tmp):
    archive = make_zip(tmp_path / "cut.zip", {"neuron.py": os.urandom(5000)})
    data = archive.read_bytes()
    archive.write_bytes(data[:40] + data[-200:])         # header + directory, data gone
    assert zipfile.is_zipfile(archive)                  # it still looks like a zip
    assert_refused(archive, private_tmp, match="cut.zip")


# --------------------------------------------------------------------------------------------
# the copy each worker gets
# --------------------------------------------------------------------------------------------
def test_copy_for_worker_leaves_out_what_it_must(tmp_path, monkeypatch):
    monkeypatch.setattr(submission, "MAX_COPIED_FILE", 1000)
    src = tmp_path / "src"
    (src / ".git" / "objects").mkdir(parents=True)
    (src / ".git" / "config").write_text("[core]\n")
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "neuron.cpython-311.pyc").write_bytes(b"\0" * 10)
    (src / "exercises").mkdir()
    (src / "exercises" / "neuron.py").write_text("x = 1\n")
    (src / "neuron.py").write_text("y = 2\n")
    (src / "weights.bin").write_bytes(b"\0" * 2000)     # over the (patched) limit
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("grader secret")
    (src / "secret_link.txt").symlink_to(outside / "secret.txt")
    (src / "outside_dir").symlink_to(outside, target_is_directory=True)
    (src / "inner_link.py").symlink_to(src / "neuron.py")
    (src / "broken.py").symlink_to(tmp_path / "nowhere.py")
    dst = tmp_path / "dst"
    skipped = copy_for_worker(src, dst)
    copied = all_files(dst)
    assert copied == {"neuron.py", "exercises/neuron.py", "inner_link.py"}
    assert not any(p.is_symlink() for p in dst.rglob("*"))
    assert (dst / "inner_link.py").read_text() == "y = 2\n"
    text = "\n".join(skipped)
    assert "weights.bin" in text and "larger than" in text
    assert "secret_link.txt" in text and "outside_dir" in text
    assert "broken.py" in text
    assert "grader secret" not in "".join(p.read_text() for p in dst.rglob("*") if p.is_file())
