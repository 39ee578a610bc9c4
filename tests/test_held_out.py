"""Held-out items that match no public copy (grader.datasets, "Held-out items" in docs/DATA.md).

MNIST's digits and IBM's attrition table are public with their labels, so the items a
student's worker is given are varied with randomness from a secret key the worker never sees:
a table of public items answers none of them, the labels stay the originals', regrading on the
same installation gives the same items, and another key gives other ones.
"""
from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from grader import datasets
from grader.proxy import StudentModule
from grader.sandbox import Limits, detect_mode
from helpers_core import HAVE_BWRAP, NO_BWRAP


@pytest.fixture
def key_file(tmp_path, monkeypatch):
    """A fresh key file location, no key in the environment, no key cached."""
    path = tmp_path / "keys" / "held-out.key"
    monkeypatch.setenv(datasets.KEY_FILE_ENV, str(path))
    monkeypatch.delenv(datasets.KEY_ENV, raising=False)
    datasets.held_out_key.cache_clear()
    yield path
    datasets.held_out_key.cache_clear()


@pytest.fixture(scope="module")
def mnist():
    return datasets.load_mnist()


@pytest.fixture(scope="module")
def attrition():
    df = datasets.load_attrition(layout="ibm")
    train_df, test_df = datasets.attrition_split(df, test_size=0.2, seed=0)
    return df, test_df


def test_the_key_file_is_created_private_and_read_again(key_file):
    key, where = datasets.held_out_key()
    assert where == str(key_file) and len(key) == datasets.KEY_BYTES
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    first = datasets.held_out_rng("mnist_ann:x").integers(0, 2**62, 4)
    datasets.held_out_key.cache_clear()            # another grading process, same machine
    assert datasets.held_out_key()[0] == key
    assert (datasets.held_out_rng("mnist_ann:x").integers(0, 2**62, 4) == first).all()
    assert not (datasets.held_out_rng("attrition").integers(0, 2**62, 4) == first).all()
    assert list(key_file.parent.iterdir()) == [key_file]   # no temporary file left


def test_a_key_file_others_can_read_or_that_is_damaged_is_refused(key_file):
    datasets.held_out_key()
    os.chmod(key_file, 0o644)
    datasets.held_out_key.cache_clear()
    with pytest.raises(datasets.DatasetError, match="mode 0600"):
        datasets.held_out_key()
    os.chmod(key_file, 0o600)
    key_file.write_text("not hex\n")
    datasets.held_out_key.cache_clear()
    with pytest.raises(datasets.DatasetError, match="damaged"):
        datasets.held_out_key()


def test_a_key_in_the_environment_comes_first(key_file, monkeypatch):
    monkeypatch.setenv(datasets.KEY_ENV, "course secret")
    key, where = datasets.held_out_key()
    assert where == f"${datasets.KEY_ENV}" and not key_file.exists()


def _public_keys(images, threshold=None):
    flat = images.reshape(len(images), -1)
    if threshold is not None:
        flat = flat > threshold
    return {row.tobytes() for row in flat}


def test_varied_digits_match_no_public_image_and_keep_their_labels(key_file, mnist):
    x, y = datasets.held_out_mnist(mnist).x_test, datasets.held_out_mnist(mnist).y_test
    assert x.dtype == mnist.x_test.dtype and x.shape == mnist.x_test.shape
    public = np.concatenate([mnist.x_train, mnist.x_test])
    assert not _public_keys(x) & _public_keys(public)           # exact tables find nothing
    for threshold in (0, 64, 128):                             # nor thresholded ones, or few
        table = _public_keys(public, threshold)
        found = sum(row.tobytes() in table for row in (x.reshape(len(x), -1) > threshold))
        assert found <= 0.03 * len(x), (threshold, found)
    # each varied image is still nearest to its own original, whose label it carries
    original = mnist.x_test.reshape(len(x), -1).astype(np.float32)
    varied = x.reshape(len(x), -1).astype(np.float32)
    sample = np.arange(0, len(x), 7)
    d = ((varied[sample, None, :] - original[None, :, :]) ** 2).sum(-1)
    nearest = d.argmin(1)
    assert (mnist.y_test[nearest] == y[sample]).all()
    assert len(set(nearest)) == len(sample)                   # a permutation of the originals
    assert (nearest != sample).mean() > 0.9                   # in a new order
    assert np.abs(varied[sample] - original[nearest]).mean() < 6   # faint: ~2% of the range


def test_the_same_key_gives_the_same_digits_and_another_key_others(key_file, mnist,
                                                                  monkeypatch):
    first = datasets.held_out_mnist(mnist)
    datasets.held_out_key.cache_clear()
    again = datasets.held_out_mnist(mnist)
    assert (first.x_test == again.x_test).all() and (first.y_test == again.y_test).all()
    monkeypatch.setenv(datasets.KEY_ENV, "another installation")
    datasets.held_out_key.cache_clear()
    other = datasets.held_out_mnist(mnist)
    assert (other.x_test != first.x_test).any(axis=(1, 2)).mean() > 0.99
    assert sorted(other.y_test) == sorted(first.y_test)       # the same items, varied anew


def test_varied_attrition_rows_match_no_public_row_and_keep_dtypes(key_file, attrition):
    df, test_df = attrition
    varied = datasets.vary_attrition_rows(test_df, datasets.held_out_rng("attrition"))
    assert list(varied.dtypes) == list(test_df.dtypes)
    assert list(varied.index) == list(range(len(test_df)))
    public = {tuple(r) for r in df.drop(columns=["Attrition"]).itertuples(index=False)}
    rows = varied.drop(columns=["Attrition"]).itertuples(index=False)
    assert not sum(tuple(r) in public for r in rows)
    # every varied row is an original row (same label), moved within the jitter
    kept = [c for c in test_df.columns
            if c not in datasets.ATTRITION_JITTER and c != "EmployeeNumber"]
    originals = {tuple(r): i for i, r in enumerate(test_df[kept].itertuples(index=False))}
    assert len(originals) == len(test_df)
    index = [originals[tuple(r)] for r in varied[kept].itertuples(index=False)]
    assert sorted(index) == list(range(len(test_df))) and index != sorted(index)
    source = test_df.iloc[index].reset_index(drop=True)
    assert (source["Attrition"] == varied["Attrition"]).all()
    moved = 0
    for column, amount in datasets.ATTRITION_JITTER.items():
        delta = (varied[column] - source[column]).abs()
        assert delta.max() <= amount, column
        moved += int((delta > 0).sum())
    assert moved > len(test_df)
    assert (varied["EmployeeNumber"] != source["EmployeeNumber"]).mean() > 0.9
    assert varied["EmployeeNumber"].is_unique


@pytest.mark.skipif(not HAVE_BWRAP, reason=NO_BWRAP)
def test_the_worker_cannot_read_the_key(tmp_path, monkeypatch):
    """The key where grading keeps it (the grading user's ~/.cache/dl-grader) is readable
    here and absent for the worker; a key given in the environment does not reach it."""
    monkeypatch.delenv(datasets.KEY_ENV, raising=False)
    monkeypatch.delenv(datasets.KEY_FILE_ENV, raising=False)
    datasets.held_out_key.cache_clear()
    try:
        _, where = datasets.held_out_key()
    finally:
        datasets.held_out_key.cache_clear()
    assert os.path.isfile(where) and where == str(datasets.held_out_key_file())
    monkeypatch.setenv(datasets.KEY_ENV, "course-secret-in-env")   # a CI secret, say
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "probe.py"
    path.write_text(f"""
import os
def probe():
    found = []
    for p in ({where!r}, {os.path.dirname(where)!r}):
        try:
            found.append(sorted(os.listdir(p)) if os.path.isdir(p) else open(p).read()[:8])
        except OSError as exc:
            found.append(type(exc).__name__)
    found.append([k for k, v in os.environ.items() if "course-secret" in v or "HELD_OUT" in k])
    return found
""")
    module = StudentModule("probe", path, tmp_path / "sub", detect_mode("bubblewrap"),
                           Limits(), call_timeout=30.0, budget=60.0)
    try:
        found = module.probe()
    finally:
        module.close()
    assert found == ["FileNotFoundError", "FileNotFoundError", []], found
