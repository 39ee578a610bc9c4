"""Fixtures shared by several test files. Keep this small: most helpers live in the test file
that needs them (or tests/helpers_core.py)."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def bug_gradings() -> dict:
    """Results of grading the catalogued single-bug submissions, by bug name, filled by
    ``test_buggy_submissions.graded_bug``: each bug is graded once per test session, and both
    tests/test_buggy_submissions.py and tests/test_public_catch_rate.py read the same result
    (a grading that is slow: up to a minute for a Keras exercise)."""
    return {}
