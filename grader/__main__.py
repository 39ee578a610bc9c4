"""``python -m grader`` is the ``grader`` command."""
import os
import sys

# Run from inside a submission, `python -m` would put it first on sys.path and let its
# numpy.py or json.py into the grader's own process: keep only installed code importable.
sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]

from grader.cli import main  # noqa: E402

sys.exit(main())
