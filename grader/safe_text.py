"""Text that came from a student, made safe once, where it enters the grader.

Everything a worker or a submission hands the trusted side as text -- exception messages and
type names, printed output, dict keys, notebook sources, outputs and metadata, written answers,
file and archive member names -- goes through :func:`clean_text` before it reaches a result,
report, log, notebook file or terminal line. After it the text holds no lone surrogates (which
make ``str.encode`` raise), no NUL or other C0/C1 control characters (ESC sequences rewrite a
terminal or log line), no bidirectional overrides (which make a line display in another order
than it reads) and no line breakers other than LF. Markup is *not* escaped here: every renderer
escapes for its own format (Jinja2 autoescape, XML, Markdown).
"""
from __future__ import annotations

import re

REPLACEMENT = "\ufffd"

# Characters that are not allowed in XML 1.0 (C0 controls but tab/LF/CR, lone surrogates,
# U+FFFE/U+FFFF). Anything a student printed may contain them.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Besides LF, these end a line for some reader (CR for .NET's ReadLine, which the Actions
# runner uses; NEL/LS/PS for Unicode-aware ones) or move the cursor in a log viewer.
_LINE_BREAKERS = re.compile("[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# ANSI escape sequences (CSI ... final byte, and two-byte ESC sequences): dropped whole, so no
# stray "[31m" is left behind once ESC itself is replaced.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
# C0/C1 controls, DEL, and the bidirectional embeddings, overrides and isolates (plus the
# implicit marks), which make a line display in another order than it reads.
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f"
                       "\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")


def clean_text(value: object, limit: int | None = None) -> str:
    """Any value as text that every format, terminal and file can hold.

    CR/CRLF become LF, other line breakers LF as well, ANSI escape sequences are removed,
    remaining control characters, bidi controls and lone surrogates become U+FFFD. Tabs are
    kept. ``limit`` cuts the result to that many characters, saying so.
    """
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        text = bytes(value).decode("utf-8", "replace")
    else:
        try:
            text = value if type(value) is str else str(value)
        except Exception:  # noqa: BLE001 - a hostile __str__
            text = f"<unprintable {type(value).__name__}>"
    text = text.replace("\r\n", "\n")
    text = _LINE_BREAKERS.sub("\n", text)
    text = _ANSI.sub("", text)
    text = _CONTROLS.sub(REPLACEMENT, text)
    text = _XML_INVALID.sub(REPLACEMENT, text)
    if limit is not None and len(text) > limit:
        text = truncate(text, limit)
    return text


def clean_output(value: object, limit: int | None = None) -> str:
    """Captured terminal output as a terminal would have left it, then :func:`clean_text`.

    A line rewritten with carriage returns (progress bars: Keras, tqdm) keeps its last state
    and backspaces erase, instead of every intermediate state becoming a line of its own.
    """
    text = value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else (
        "" if value is None else value if type(value) is str else clean_text(value))
    if "\r" in text or "\b" in text:
        lines = []
        for line in text.replace("\r\n", "\n").split("\n"):
            if "\r" in line:
                line = line.rstrip("\r").rsplit("\r", 1)[-1]
            if "\b" in line:
                kept: list[str] = []
                for char in line:
                    if char != "\b":
                        kept.append(char)
                    elif kept:
                        kept.pop()
                line = "".join(kept)
            lines.append(line)
        text = "\n".join(lines)
    return clean_text(text, limit)


def one_line(value: object) -> str:
    """Text for a single-line slot (a title, a table cell): whitespace runs become one space."""
    return " ".join(clean_text(value).split())


def short(text: object, limit: int = 200) -> str:
    """One line of at most ``limit`` characters (titles: an annotation's, a summary's)."""
    line = one_line(text)
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def truncate(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, saying how many were cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 30)].rstrip() + f"\n… ({len(text) - limit + 30} characters cut)"


def clean_tree(value: object, limit: int | None = None, _depth: int = 0) -> object:
    """:func:`clean_text` applied to every string (keys included) of a JSON-like tree."""
    if _depth > 64:
        return None
    if isinstance(value, str):
        return clean_text(value, limit)
    if isinstance(value, dict):
        return {clean_text(k, limit) if isinstance(k, str) else k:
                clean_tree(v, limit, _depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_tree(v, limit, _depth + 1) for v in value]
    if isinstance(value, tuple):
        return tuple(clean_tree(v, limit, _depth + 1) for v in value)
    return value
