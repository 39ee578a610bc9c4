"""Executing a student's notebook inside the worker, once, with Jupyter semantics.

Runs in the sandboxed worker (never in the grader). Each code cell goes through IPython's
``InteractiveShell`` as a kernel would run it: magics and shell escapes work, rich display
outputs (plots, HTML) are captured, a cell that raises is recorded and the cells after it
still run, a cell past its time limit is interrupted. The namespace the cells leave behind
becomes the student's module, which the hidden suites then call. The executed notebook,
with its outputs, goes back to the grader as JSON text for the report.
"""
from __future__ import annotations

import base64
import json
import os
import re
import signal
import sys
import time
import types

MAX_TEXT_OUTPUT = 100_000         # characters per stream/text output kept
MAX_NOTEBOOK_BYTES = 8 << 20      # executed notebook sent back, outputs trimmed beyond
PIP_LINE = re.compile(r"^\s*[!%]{1,2}.*\b(pip3?|conda|mamba|apt|apt-get|uv)\b.*\binstall\b")
# what the grader writes into a cell's metadata.grader; a resubmitted executed notebook's old
# values are dropped so they cannot describe this run
_RUN_KEYS = ("error", "timeout", "skipped", "seconds")


class CellTimeout(Exception):
    """Raised inside a cell that runs past its time limit."""


def _shell_class():
    from IPython.core.displayhook import DisplayHook
    from IPython.core.interactiveshell import InteractiveShell

    class QuietDisplayHook(DisplayHook):
        """Keep the cell's result for the notebook instead of printing ``Out[n]:``."""

        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            pass

    class GradingShell(InteractiveShell):
        displayhook_class = QuietDisplayHook

        def enable_gui(self, gui=None):  # as ipykernel: inline plots need no event loop
            pass

        def ask_exit(self):  # exit()/quit() would end a kernel; grading goes on
            print("[grader] exit() ignored: the notebook is graded as a whole",
                  file=sys.stderr)

        def _showtraceback(self, etype, evalue, stb):
            self.last_traceback = (etype.__name__ if isinstance(etype, type) else str(etype),
                                   str(evalue), list(stb))

    return GradingShell


def read_notebook(path: str) -> dict:
    """The notebook's JSON, checked just enough to execute its code cells."""
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        nb = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"not a readable notebook: {exc}") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ValueError("not an nbformat 4 notebook (no list of cells): re-save it from "
                         "Jupyter as a current notebook")
    if nb.get("nbformat") != 4:
        raise ValueError(f"nbformat {nb.get('nbformat')!r} is not supported: open it in "
                         f"Jupyter and save it again (nbformat 4)")
    return nb


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _neutralise_installs(source: str) -> tuple[str, list[str]]:
    """``!pip install`` and friends cannot work offline in the sandbox: skip them, say so."""
    skipped = []
    lines = []
    for line in source.splitlines():
        if PIP_LINE.match(line):
            skipped.append(line.strip())
            lines.append("pass  # skipped by the grader: " + line.strip())
        else:
            lines.append(line)
    return "\n".join(lines), skipped


def _text(value: str) -> str:
    if len(value) > MAX_TEXT_OUTPUT:
        cut = len(value) - MAX_TEXT_OUTPUT
        value = value[:MAX_TEXT_OUTPUT] + f"\n... [{cut:,} more characters not kept]\n"
    return value


def _mime_bundle(data: dict) -> dict:
    bundle = {}
    for mime, value in data.items():
        if isinstance(value, bytes):  # raw image bytes: notebooks store them base64-encoded
            bundle[mime] = base64.b64encode(value).decode("ascii")
        elif isinstance(value, (dict, list)):
            bundle[mime] = value
        else:
            bundle[mime] = _text(str(value))
    return bundle


def execute_notebook(path: str, module: types.ModuleType, *, cell_timeout: float,
                     skip_roles: tuple[str, ...] = ("example",)) -> dict:
    """Run every code cell of ``path`` in ``module``'s namespace; return the executed notebook."""
    from IPython.utils.capture import capture_output

    nb = read_notebook(path)
    # as in a Jupyter kernel, figures are shown inline (the .py default, Agg, shows nothing)
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    # .instance(): get_ipython() must find it (the inline plot backend looks for it)
    shell = _shell_class().instance(user_module=module, user_ns=module.__dict__,
                                    colors="NoColor")
    _quiet_check_cells()
    # Windows has no SIGALRM: there the proxy's time limit for the whole notebook holds alone
    timer = hasattr(signal, "SIGALRM") and hasattr(signal, "setitimer")
    previous = signal.getsignal(signal.SIGALRM) if timer else None

    def on_alarm(signum, frame):
        raise CellTimeout(f"this cell ran longer than {cell_timeout:g} s and was stopped")

    if timer:
        signal.signal(signal.SIGALRM, on_alarm)
    count = 0
    try:
        for index, cell in enumerate(nb["cells"]):
            if not isinstance(cell, dict) or cell.get("cell_type") != "code":
                continue
            meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
            grader_meta = meta.get("grader") if isinstance(meta.get("grader"), dict) else {}
            grader_meta = {k: v for k, v in grader_meta.items() if k not in _RUN_KEYS}
            cell["outputs"] = []
            if grader_meta.get("role") in skip_roles:
                cell["execution_count"] = None
                meta["grader"] = {**grader_meta, "skipped": "a try-it example: not run when "
                                                            "grading"}
                cell["metadata"] = meta
                continue
            source, skipped = _neutralise_installs(_source(cell))
            shell.last_traceback = None
            started = time.perf_counter()
            if timer:
                signal.setitimer(signal.ITIMER_REAL, cell_timeout)
            try:
                with capture_output(display=True) as cap:
                    result = shell.run_cell(source, store_history=True)
            finally:
                if timer:
                    signal.setitimer(signal.ITIMER_REAL, 0)
            count += 1
            outputs = []
            for line in skipped:
                outputs.append({"output_type": "stream", "name": "stderr",
                                "text": f"[grader] skipped `{line}`: packages cannot be "
                                        f"installed while grading\n"})
            if cap.stdout:
                outputs.append({"output_type": "stream", "name": "stdout",
                                "text": _text(cap.stdout)})
            if cap.stderr:
                outputs.append({"output_type": "stream", "name": "stderr",
                                "text": _text(cap.stderr)})
            for out in cap.outputs:
                outputs.append({"output_type": "display_data", "data": _mime_bundle(out.data),
                                "metadata": out.metadata or {}})
            if result.result is not None and result.success:
                data, md = shell.display_formatter.format(result.result)
                outputs.append({"output_type": "execute_result", "execution_count": count,
                                "data": _mime_bundle(data), "metadata": md or {}})
            error = result.error_in_exec or result.error_before_exec
            status = {"seconds": round(time.perf_counter() - started, 3)}
            if error is not None:
                ename, evalue, stb = shell.last_traceback or (
                    type(error).__name__, str(error), [])
                outputs.append({"output_type": "error", "ename": ename, "evalue": _text(evalue),
                                "traceback": [_text(s) for s in stb[-30:]]})
                # never empty: an exception class named "" must still mark its cell as failed
                status["error"] = str(ename).strip() or "an exception with no name"
                if isinstance(error, CellTimeout):
                    status["timeout"] = True
            cell["outputs"] = outputs
            cell["execution_count"] = count
            meta["grader"] = {**grader_meta, **status}
            cell["metadata"] = meta
    finally:
        if timer:
            signal.signal(signal.SIGALRM, previous)
        sys.stdout.flush()
    return nb


GRADING_ENV = "GRADER_GRADING"   # set while a notebook is graded: grader.check.check() skips


class CheckSkipped:
    """What a notebook's ``check(...)`` cell shows while the notebook is being graded."""

    passed = None

    def __repr__(self) -> str:
        return "grader check: skipped while this notebook is being graded"


def _check_while_grading(*args, **kwargs) -> CheckSkipped:
    return CheckSkipped()


def _quiet_check_cells() -> None:
    """``from grader import check; check("neuron")`` -- the cell the course README suggests --
    does nothing here: the worker never grades, and grader.check is not part of its view."""
    os.environ[GRADING_ENV] = "1"
    import grader

    stub = types.ModuleType("grader.check", "grader check does nothing while grading")
    stub.check = _check_while_grading
    sys.modules["grader.check"] = stub
    grader.check = _check_while_grading


def notebook_json(nb: dict) -> str:
    """The executed notebook as JSON, outputs trimmed so it stays under the size cap."""
    # ASCII JSON: a lone surrogate in a cell (a notebook may hold one as a JSON escape) stays
    # an escape instead of making the reply unencodable; the grader cleans it on arrival
    text = json.dumps(nb, ensure_ascii=True)
    if len(text) <= MAX_NOTEBOOK_BYTES:
        return text
    for cell in nb["cells"]:
        if isinstance(cell, dict) and cell.get("outputs"):
            cell["outputs"] = [{"output_type": "stream", "name": "stderr",
                                "text": "[grader] outputs removed: the notebook's outputs "
                                        "exceed the size the report keeps\n"}]
    return json.dumps(nb, ensure_ascii=True)
