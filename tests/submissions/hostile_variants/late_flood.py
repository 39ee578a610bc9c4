"""Attack on the grader's memory and pages through output written *between* replies: a
thread started at import writes straight to file descriptors 1 and 2 (os.write, past any
Python-level capture) without pause -- a 10 MB line with no newline, then ANSI escapes,
carriage returns, a bidi override and markup, then forever -- while the functions, which
are the reference's, keep answering.

Expected: every test passes; the output kept is capped (head and tail) and clean; the
grader's own memory stays small; result.json and the report stay small.
"""
import os as _os
import threading as _threading

_CHUNK = (b"\x1b[2J\x1b[1;1H\r<script>alert(1)</script>\xe2\x80\xae hostile:late_flood "
          b"\x1b]0;title\x07" * 200)


def _flood():
    try:
        _os.write(1, b"hostile:late_flood start\n")
        line = b"A" * (1 << 20)
        for _ in range(10):          # one 10 MB line without a newline
            _os.write(1, line)
        while True:
            _os.write(1, _CHUNK)
            _os.write(2, _CHUNK)
    except OSError:
        pass


_threading.Thread(target=_flood, daemon=True).start()
