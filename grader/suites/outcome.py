"""Run an expensive student step once per suite and replay its outcome in every test using it.

A package-scoped fixture that raises makes pytest report an *error in setup* for each test,
which reads as a grader problem. Wrapping the step in :class:`Once` instead lets every test
call ``.get()`` inside its own body, so a student's exception or failed check becomes that
test's ordinary failure, with the student-facing message.
"""
from __future__ import annotations

from typing import Any, Callable


class Once:
    """Call ``step`` on first ``get()``; later calls return its value or re-raise its error."""

    def __init__(self, step: Callable[[], Any]):
        self._step = step
        self._done = False
        self._value: Any = None
        self._error: BaseException | None = None

    def get(self) -> Any:
        if not self._done:
            self._done = True
            try:
                self._value = self._step()
            except Exception as exc:  # replayed to every test that needs the value
                self._error = exc
        if self._error is not None:
            raise self._error.with_traceback(None)
        return self._value
