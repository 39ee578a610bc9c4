"""Not even hostile: code that raises UnicodeDecodeError (reading a file in the wrong
encoding) or UnicodeEncodeError, in a call and at import. Their constructors take five
arguments, so a grader that rebuilds "the same builtin" on its side with (message, call)
fails there instead of reporting the student's error.

Expected: relu's and sigmoid's tests fail with the student's own error named; every other
test passes; nothing is reported as "does not define".
"""


def relu(z):
    return np.maximum(np.asarray(z, dtype=float), 0.0) if b"\xff".decode("utf-8") else None


def sigmoid(z):
    "caf\u00e9".encode("ascii")
    return z
