"""Where an executed notebook becomes part of the report: a trusted record, a safe page.

Two steps, both in the grader:

1. :func:`save_executed_notebook` keeps ``notebooks/<exercise>.ipynb``: the cells' sources as
   the submitted file has them (read here, by the grader), the outputs and the grader's cell
   metadata from the worker's execution record -- never outputs saved in the submitted file,
   never the student's other metadata (``jupyter.source_hidden``, tags, attachments). The
   record is written where student code runs, so it decides no cell and no source: each of
   its entries is taken only for the submitted code cell at the same index (the grader's
   identity for a cell) whose source and id it repeats; any other entry is dropped and
   counted, and a cell without one shows "no output recorded". All text goes through
   :func:`grader.safe_text.clean_tree`.
2. :func:`render_html` shows that notebook through an allow-list: text (streams, errors,
   ``text/plain``, Markdown and LaTeX *as text*), PNG and JPEG images whose base64 decodes to
   such an image (shown clamped in size, their metadata ignored), SVG rebuilt from an allow-list
   of elements and attributes and shown as an ``<img>`` (so it can run nothing and fetch
   nothing), and HTML tables (pandas) rebuilt from an allow-list of table tags with no
   attributes. Anything else (other MIME types, widgets, scripts, non-table HTML) is shown as
   escaped text. Markdown cells are rendered, then rebuilt from the same kind of allow-list:
   links and images become text naming their URL. The page carries a Content-Security-Policy
   that forbids scripts and every fetch besides ``data:`` images, in case anything slips by.
"""
from __future__ import annotations

import base64
import binascii
import functools
import html
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from grader.assignment import PACKAGE_DIR
from grader.files import write_atomic
from grader.safe_text import clean_output, clean_text, clean_tree, one_line

NBCONVERT_TEMPLATES = PACKAGE_DIR / "templates" / "nbconvert"

MAX_SHOWN_TEXT = 20_000          # characters of one output shown on the page
MAX_IMAGE_BYTES = 8 << 20        # a decoded PNG/JPEG output
MAX_SVG_CHARS = 2 << 20
MAX_HTML_CHARS = 1 << 20
# what the grader records about a cell's run (worker side: grader.worker_notebook)
GRADER_KEYS = {"error": str, "timeout": bool, "skipped": str, "seconds": (int, float),
               "role": str, "question": str, "question_prompt": str, "manual": bool}


class NotebookRenderError(ValueError):
    """The executed notebook could not be turned into HTML."""


def summarize(nb: Any) -> dict:
    """Which cells ran, raised or timed out, for result.json and the report card."""
    cells_run, errors, timeouts, skipped = 0, [], [], []
    number = 0
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        number += 1
        meta = cell.get("metadata", {}).get("grader", {})
        if not isinstance(meta, dict):
            continue
        if meta.get("skipped"):
            skipped.append(number)
            continue
        if cell.get("execution_count") is not None:
            cells_run += 1
        if meta.get("timeout"):
            timeouts.append(number)
        elif meta.get("error"):
            errors.append({"cell": number, "error": one_line(meta["error"])[:100]})
    return {"code_cells": number, "cells_run": cells_run, "errors": errors,
            "timeouts": timeouts, "skipped": skipped}


# ---- 1. the trusted record ---------------------------------------------------------------

def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(map(str, src)) if isinstance(src, list) else str(src)


def _grader_meta(cell: dict) -> dict:
    meta = cell.get("metadata")
    meta = meta.get("grader") if isinstance(meta, dict) else None
    if not isinstance(meta, dict):
        return {}
    return {k: clean_tree(v) for k, v in meta.items()
            if k in GRADER_KEYS and isinstance(v, GRADER_KEYS[k]) and v is not None}


def _mime_value(value: Any) -> Any:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = "".join(value)  # nbformat's multiline strings
    return value if isinstance(value, str) else clean_tree(value)


def _record_output(out: Any) -> dict | None:
    """One output of the worker's record in nbformat's shape, its text made safe."""
    if not isinstance(out, dict):
        return None
    kind = out.get("output_type")
    if kind == "stream":
        return {"output_type": "stream",
                "name": "stderr" if out.get("name") == "stderr" else "stdout",
                "text": clean_output(_mime_value(out.get("text", "")))}
    if kind == "error":
        tb = out.get("traceback")
        return {"output_type": "error", "ename": one_line(out.get("ename", ""))[:200],
                "evalue": clean_text(out.get("evalue", "")),
                "traceback": [clean_text(t) for t in tb[-30:]] if isinstance(tb, list) else []}
    if kind in ("display_data", "execute_result"):
        data = out.get("data") if isinstance(out.get("data"), dict) else {}
        meta = out.get("metadata") if isinstance(out.get("metadata"), dict) else {}
        record = {"output_type": kind,
                  "data": {one_line(k)[:100]: clean_tree(_mime_value(v)) for k, v in data.items()
                           if isinstance(k, str)},
                  "metadata": clean_tree(meta)}
        if kind == "execute_result":
            count = out.get("execution_count")
            record["execution_count"] = count if isinstance(count, int) else None
        return record
    return None


_CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
NO_RECORD = ("[grader] no output recorded for this cell: the worker's execution record has no "
             "entry that matches it in the submitted notebook\n")


def _record_matches(entry: Any, cell: dict) -> bool:
    """Whether the worker's record entry at a submitted code cell's index is about that cell:
    a code cell with the same source and id as the file the grader read has there. The index
    is the grader's identity for the cell; the source and id only confirm it."""
    return (isinstance(entry, dict) and entry.get("cell_type") == "code"
            and _source(entry) == _source(cell) and entry.get("id") == cell.get("id"))


def trusted_notebook(executed: Any, submitted: dict | None) -> dict:
    """The notebook the grader keeps. Cells and sources come only from ``submitted`` (the
    file the grader read); the worker's record supplies outputs and run metadata, and only for
    the code cell at the same index in the submitted file whose source and id it repeats.
    Record entries that match no submitted code cell are dropped and counted in the
    notebook's ``metadata.grader.record``; a code cell with no matching entry shows "no
    output recorded". With no submitted notebook there is nothing to show: no cells."""
    record = executed.get("cells") if isinstance(executed, dict) else None
    record = record if isinstance(record, list) else []
    theirs = submitted.get("cells") if isinstance(submitted, dict) else None
    theirs = theirs if isinstance(theirs, list) else []
    # the nbformat 4 minor version the notebook came in (cell ids exist from 4.5 on)
    minor = submitted.get("nbformat_minor", 5) if isinstance(submitted, dict) else 5
    minor = minor if isinstance(minor, int) and 0 <= minor <= 5 else 5
    used, unrecorded = set(), []
    out_cells, ids = [], set()
    for index, submitted_cell in enumerate(theirs):
        if not isinstance(submitted_cell, dict):
            continue
        kind = submitted_cell.get("cell_type")
        kind = kind if kind in ("code", "markdown", "raw") else "raw"
        cid = submitted_cell.get("id")
        cid = cid if isinstance(cid, str) and _CELL_ID.match(cid) and cid not in ids \
            else f"cell-{index + 1}"
        ids.add(cid)
        new = {"cell_type": kind, "id": cid, "source": clean_text(_source(submitted_cell)),
               "metadata": {}}
        if minor < 5:
            del new["id"]
        if kind == "code":
            entry = record[index] if index < len(record) else None
            if not _record_matches(entry, submitted_cell):
                new["execution_count"] = None
                new["outputs"] = [{"output_type": "stream", "name": "stderr",
                                   "text": NO_RECORD}]
                unrecorded.append(index)
                out_cells.append(new)
                continue
            used.add(index)
            meta = _grader_meta(entry)
            if meta:
                new["metadata"]["grader"] = meta
            count = entry.get("execution_count")
            new["execution_count"] = count if isinstance(count, int) and count >= 0 else None
            outputs = entry.get("outputs") if isinstance(entry.get("outputs"), list) else []
            new["outputs"] = [o for o in map(_record_output, outputs) if o is not None]
            raised = [o for o in new["outputs"] if o["output_type"] == "error"]
            if raised and not (meta.get("error") or meta.get("timeout")):
                # an error output always marks its cell as failed, whatever the metadata says
                meta["error"] = raised[-1]["ename"] or "an exception with no name"
                new["metadata"]["grader"] = meta
        out_cells.append(new)
    # entries the record holds for no submitted code cell: a code entry at an index where the
    # file has no code cell (or another one), or anything past the file's last cell
    dropped = sum(1 for i, entry in enumerate(record) if i not in used and (
        i >= len(theirs) or (isinstance(entry, dict) and entry.get("cell_type") == "code")))
    nb_meta: dict = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"},
                     "language_info": {"name": "python"}}
    if dropped or unrecorded:
        nb_meta["grader"] = {"record": {
            "dropped": dropped, "unrecorded": len(unrecorded),
            "note": f"the worker's execution record had {len(record)} cells for "
                    f"{len(theirs)} submitted; {dropped} record entries matched no submitted "
                    f"code cell and were dropped; {len(unrecorded)} code cells show no output"}}
        if dropped:
            for cell in out_cells:
                if cell["cell_type"] == "code" and cell.get("outputs") and \
                        cell["outputs"][0].get("text") == NO_RECORD:
                    cell["outputs"][0]["text"] = NO_RECORD.rstrip("\n") + (
                        f" ({dropped} entries of the record matched no submitted cell and "
                        f"were dropped)\n")
    return {"nbformat": 4, "nbformat_minor": minor, "cells": out_cells, "metadata": nb_meta}


def read_submitted_notebook(path: Path | None) -> dict | None:
    """The submitted notebook's JSON, read by the grader (None when unreadable or too large):
    the only source of the cells shown as executed."""
    return _read_json(path)


def _read_json(path: "Path | dict | None") -> dict | None:
    if path is None:
        return None
    if isinstance(path, dict):  # already read (from an archive that no longer exists)
        return path
    from grader.submission import MAX_NOTEBOOK_BYTES

    try:
        if Path(path).stat().st_size > MAX_NOTEBOOK_BYTES:  # refused when opened, too
            return None
        data = json.loads(Path(path).read_bytes().decode("utf-8-sig"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def save_executed_notebook(text: str, out_dir: Path, exercise: str,
                           submitted: "Path | dict | None" = None) -> dict:
    """Keep the notebook as executed by the grader as ``notebooks/<exercise>.ipynb`` under
    ``out_dir``: sources from ``submitted`` (the student's file), outputs from ``text`` (the
    worker's execution record, JSON). Returns what result.json records about it."""
    import nbformat

    source = _read_json(submitted)
    if source is None:  # the sources shown come only from the submitted file
        return {"render_error": "the submitted notebook could not be read again, so no "
                                "executed notebook was kept"}
    try:
        executed = json.loads(text)
        nb = nbformat.from_dict(trusted_notebook(executed, source))
        nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 - untrusted JSON from the worker
        return {"render_error": f"the executed notebook is not valid nbformat "
                                f"({type(exc).__name__})"}
    try:
        folder = out_dir / "notebooks"
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / f"{exercise}.ipynb", nbformat.writes(nb))
    except (OSError, ValueError) as exc:  # the other exercises and result.json still count
        return {"render_error": f"the executed notebook could not be saved "
                                f"({type(exc).__name__})", **summarize(nb)}
    info = {"executed": f"notebooks/{exercise}.ipynb", **summarize(nb)}
    record = nb.metadata.get("grader", {}).get("record")
    if isinstance(record, dict) and record.get("note"):
        info["record_note"] = record["note"]
    return info


# ---- 2. the page: an allow-list of what is shown ------------------------------------------

_DROP_WITH_CONTENT = {"script", "style", "template", "iframe", "object", "embed", "noscript",
                      "svg", "math", "textarea", "select", "title", "head", "noembed",
                      "noframes", "xmp", "frameset", "frame", "applet", "audio", "video",
                      "canvas", "button", "plaintext", "meta", "link", "base"}
_VOID = {"br", "hr", "img", "input", "meta", "link", "base", "area", "col", "embed", "source",
         "track", "wbr", "param", "keygen"}
TABLE_TAGS = {"table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "div", "span",
              "br", "b", "i", "em", "strong", "code", "p"}
MARKDOWN_TAGS = TABLE_TAGS | {"h1", "h2", "h3", "h4", "h5", "h6", "hr", "u", "s", "del", "ins",
                              "pre", "kbd", "samp", "sub", "sup", "blockquote", "ul", "ol", "li",
                              "dl", "dt", "dd", "small", "mark"}


def _url_text(url: str) -> str:
    url = one_line(url)
    if url.lower().startswith("data:"):
        return url[:30] + "…"
    return url[:200]


class _Rebuilder(HTMLParser):
    """Student HTML rebuilt from an allow-list of tags, with no attributes but a number of
    rows or columns a table cell spans; links and images become text; everything else is
    escaped text or dropped with its content (scripts, styles, frames)."""

    def __init__(self, allowed: set[str]):
        super().__init__(convert_charrefs=True)
        self.allowed = allowed
        self.out: list[str] = []
        self.open: list[str] = []
        self.dropping: list[str] = []
        self.links: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        if self.dropping:
            if tag not in _VOID:
                self.dropping.append(tag)
            return
        if tag in _DROP_WITH_CONTENT:
            if tag not in _VOID:
                self.dropping.append(tag)
            return
        attrs = {k: (v or "") for k, v in attrs}
        if tag == "img":
            src = attrs.get("src", "")
            self.out.append(html.escape(f"[image {attrs.get('alt', '')}: {_url_text(src)}]"
                                        if src else "[image]"))
            return
        if tag == "a":
            if "anchor-link" in attrs.get("class", "").split():
                self.dropping.append(tag)  # nbconvert's own "¶" after a heading
                return
            href = attrs.get("href")
            self.links.append(None if href and href.startswith("#") else href)
            return
        if tag not in self.allowed or len(self.open) > 60:
            return
        extra = ""
        if tag in ("td", "th"):
            for name in ("colspan", "rowspan"):
                value = attrs.get(name, "")
                if value.isdigit() and 1 < int(value) <= 1000:
                    extra += f' {name}="{int(value)}"'
        if tag in _VOID:
            self.out.append(f"<{tag}>")
            return
        self.open.append(tag)
        self.out.append(f"<{tag}{extra}>")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in _VOID and not self.dropping and self.open and self.open[-1] == tag:
            self.handle_endtag(tag)
        elif tag not in _VOID and self.dropping and self.dropping[-1] == tag:
            self.dropping.pop()

    def handle_endtag(self, tag):
        if self.dropping:
            if tag in self.dropping:
                while self.dropping and self.dropping.pop() != tag:
                    pass
            return
        if tag == "a":
            if self.links:
                href = self.links.pop()
                if href:
                    self.out.append(html.escape(f" ({_url_text(href)})"))
            return
        if tag in self.open:
            while self.open:
                top = self.open.pop()
                self.out.append(f"</{top}>")
                if top == tag:
                    break

    def handle_data(self, data):
        if not self.dropping:
            self.out.append(html.escape(clean_text(data), quote=False))

    def result(self) -> str:
        self.close()
        return "".join(self.out) + "".join(f"</{t}>" for t in reversed(self.open))


def rebuild_html(text: Any, allowed: set[str] = MARKDOWN_TAGS) -> str:
    """Student HTML as inert markup: see :class:`_Rebuilder`."""
    text = clean_text(text.decode("utf-8", "replace") if isinstance(text, bytes) else text)
    builder = _Rebuilder(allowed)
    builder.feed(text[:MAX_HTML_CHARS])
    return builder.result()


def clean_html(element: Any) -> str:
    """nbconvert's ``clean_html`` filter (used on highlighted source): the same rebuild, with
    the spans pygments colours code with kept as plain spans."""
    return rebuild_html(element, MARKDOWN_TAGS)


def markdown_html(source: Any) -> str:
    """A markdown cell rendered, then rebuilt from the allow-list (no raw HTML survives)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    text = clean_text(source)
    try:
        # attachments are never shown (nbconvert would raise for a missing one)
        rendered = markdown2html_mistune(re.sub(r"\battachment:", "attachment-not-shown:",
                                                text))
    except Exception:  # noqa: BLE001 - shown as text instead
        return f"<pre>{html.escape(text)}</pre>"
    return rebuild_html(rendered, MARKDOWN_TAGS)


def table_html(text: Any) -> str | None:
    """An HTML output that is a table (pandas), rebuilt; None when it holds no table."""
    rebuilt = rebuild_html(text, TABLE_TAGS)
    return rebuilt if "<table>" in rebuilt else None


# -- images

_MAGIC = {"image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",)}


def checked_image(mime: str, value: Any) -> str | None:
    """Canonical base64 of a PNG/JPEG output, or None when it is not one."""
    if not isinstance(value, str) or len(value) > MAX_IMAGE_BYTES * 4 // 3 + 1024:
        return None
    try:
        raw = base64.b64decode(re.sub(r"\s+", "", value), validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw or len(raw) > MAX_IMAGE_BYTES or not raw.startswith(_MAGIC[mime]):
        return None
    return base64.b64encode(raw).decode("ascii")


_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"
SVG_TAGS = {"svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon",
            "text", "tspan", "defs", "clipPath", "title", "desc", "use", "linearGradient",
            "radialGradient", "stop", "marker", "pattern", "mask", "symbol", "image"}
SVG_ATTRIBUTES = {
    "id", "class", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "width",
    "height", "d", "points", "transform", "viewBox", "preserveAspectRatio", "fill",
    "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-linecap", "stroke-linejoin",
    "stroke-miterlimit", "stroke-dasharray", "stroke-dashoffset", "stroke-opacity", "opacity",
    "font-family", "font-size", "font-weight", "font-style", "text-anchor", "dominant-baseline",
    "alignment-baseline", "clip-path", "clip-rule", "mask", "marker-start", "marker-mid",
    "marker-end", "offset", "stop-color", "stop-opacity", "gradientUnits", "gradientTransform",
    "patternUnits", "patternContentUnits", "patternTransform", "markerWidth", "markerHeight",
    "markerUnits", "refX", "refY", "orient", "dx", "dy", "rotate", "textLength", "lengthAdjust",
    "style", "version", "visibility", "display", "letter-spacing", "word-spacing", "overflow",
    "color", "clipPathUnits", "maskUnits", "href"}
_LOCAL_URL = re.compile(r"url\(\s*['\"]?#[\w.:-]*['\"]?\s*\)")
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg);base64,[A-Za-z0-9+/=\s]*$")


def _svg_value(tag: str, name: str, value: str) -> str | None:
    value = clean_text(value)
    low = value.lower()
    if name == "href":
        if value.startswith("#") and tag == "use":
            return value
        return value if tag == "image" and _DATA_IMAGE.match(value) else None
    if "url(" in _LOCAL_URL.sub("", low) or any(
            bad in low for bad in ("javascript:", "@import", "expression(", "\\", "<")):
        return None
    return value


def sanitize_svg(text: Any) -> str | None:
    """An SVG output rebuilt from an allow-list of elements and attributes (no script,
    foreignObject, animation, event handler or outside reference); None when it is not one."""
    if not isinstance(text, str) or len(text) > MAX_SVG_CHARS:
        return None
    text = clean_text(text)
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        return None
    try:
        root = ET.fromstring(text)
    except (ET.ParseError, ValueError, RecursionError):
        return None

    def local(name: str) -> tuple[str, str]:
        if name.startswith("{"):
            ns, _, rest = name[1:].partition("}")
            return ns, rest
        return "", name

    def rebuild(element, depth: int):
        ns, tag = local(element.tag) if isinstance(element.tag, str) else ("x", "")
        if ns not in ("", _SVG_NS) or tag not in SVG_TAGS or depth > 50:
            return None
        attrs = {}
        for key, value in element.attrib.items():
            ans, name = local(key)
            if ans not in ("", _XLINK_NS) or name not in SVG_ATTRIBUTES:
                continue
            value = _svg_value(tag, name, value)
            if value is not None:
                attrs[f"{{{_XLINK_NS}}}href" if name == "href" else name] = value
        new = ET.Element(f"{{{_SVG_NS}}}{tag}", attrs)
        new.text = clean_text(element.text) if element.text else None
        for child in element:
            built = rebuild(child, depth + 1)
            if built is not None:
                built.tail = clean_text(child.tail) if child.tail else None
                new.append(built)
        return new

    if local(root.tag)[1] != "svg":
        return None
    rebuilt = rebuild(root, 0)
    if rebuilt is None:
        return None
    ET.register_namespace("", _SVG_NS)
    ET.register_namespace("xlink", _XLINK_NS)
    return ET.tostring(rebuilt, encoding="unicode")


# -- outputs and cells

_PLAIN_AS_TEXT = ("text/markdown", "text/latex")


def _as_text(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = "".join(value)  # nbformat's multiline strings
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)[:MAX_SHOWN_TEXT]
        except (TypeError, ValueError, RecursionError):
            text = "<unshowable value>"
    return clean_text(text, MAX_SHOWN_TEXT)


def display_output(out: Any) -> dict | None:
    """One output as the page shows it: exactly one allowed MIME type, no metadata."""
    if not isinstance(out, dict):
        return None
    kind = out.get("output_type")
    if kind == "stream":
        return {"output_type": "stream",
                "name": "stderr" if out.get("name") == "stderr" else "stdout",
                "text": _as_text(out.get("text", ""))}
    if kind == "error":
        tb = out.get("traceback") if isinstance(out.get("traceback"), list) else []
        return {"output_type": "error", "ename": one_line(out.get("ename", ""))[:200],
                "evalue": _as_text(out.get("evalue", "")),
                "traceback": [_as_text(t) for t in tb[-30:]]}
    if kind not in ("display_data", "execute_result"):
        return None
    data = out.get("data") if isinstance(out.get("data"), dict) else {}
    shown: dict[str, str] | None = None
    for mime in ("image/png", "image/jpeg"):
        if shown is None and mime in data:
            image = checked_image(mime, data[mime])
            shown = {mime: image} if image else {
                "text/plain": f"[{mime} output that is not a valid image: not shown]"}
    if shown is None and "image/svg+xml" in data:
        svg = sanitize_svg(data["image/svg+xml"])
        shown = {"image/svg+xml": svg} if svg else {
            "text/plain": "[image/svg+xml output that is not a plain SVG drawing: "
                          "shown as text]\n" + _as_text(data["image/svg+xml"])}
    if shown is None and isinstance(data.get("text/html"), str):
        table = table_html(data["text/html"])
        if table is not None:
            shown = {"text/html": table}
    if shown is None:
        others = [m for m in data if m != "text/plain"]
        if others:
            mime = others[0]
            shown = {"text/plain": f"[{one_line(mime)[:100]} output, shown as text]\n"
                                   f"{_as_text(data[mime])}"}
        elif "text/plain" in data:
            shown = {"text/plain": _as_text(data["text/plain"])}
        else:
            return None
    new = {"output_type": kind, "data": shown, "metadata": {}}
    if kind == "execute_result":
        count = out.get("execution_count")
        new["execution_count"] = count if isinstance(count, int) else None
    return new


def display_notebook(nb: Any) -> Any:
    """The notebook as the page shows it: cells with their source, the grader's run metadata
    (the banners) and allowed outputs only -- no student metadata, attachments or ids."""
    import nbformat

    cells = []
    for index, cell in enumerate(nb.get("cells", []), start=1):
        if not isinstance(cell, dict):
            continue
        kind = cell.get("cell_type") if cell.get("cell_type") in ("code", "markdown") else "raw"
        meta = _grader_meta(cell)
        shown_meta = {}
        if isinstance(meta.get("error"), str) and meta["error"]:
            shown_meta["error"] = one_line(meta["error"])[:100]
        if meta.get("timeout") is True:
            shown_meta["timeout"] = True
        if isinstance(meta.get("skipped"), str) and meta["skipped"]:
            shown_meta["skipped"] = one_line(meta["skipped"])[:200]
        new = {"cell_type": kind, "id": f"cell-{index}",
               "source": clean_text(_source(cell)),
               "metadata": {"grader": shown_meta} if shown_meta else {}}
        if kind == "code":
            count = cell.get("execution_count")
            new["execution_count"] = count if isinstance(count, int) else None
            outputs = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
            new["outputs"] = [o for o in map(display_output, outputs) if o is not None]
        cells.append(new)
    return nbformat.from_dict({"nbformat": 4, "nbformat_minor": 5, "cells": cells,
                               "metadata": {"language_info": {"name": "python"}}})


@functools.lru_cache(maxsize=1)
def _exporter():
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="grader_notebook",
                            extra_template_basedirs=[str(NBCONVERT_TEMPLATES)],
                            sanitize_html=True, embed_images=True)
    exporter.register_filter("clean_html", clean_html)
    exporter.register_filter("grader_markdown", markdown_html)
    exporter.register_filter("grader_table", lambda t: table_html(t) or
                             f"<pre>{html.escape(clean_text(t))}</pre>")
    exporter.register_filter("grader_image", lambda v, mime: checked_image(mime, v) or "")
    exporter.register_filter("grader_svg", lambda v: sanitize_svg(v) or "")
    return exporter


def render_html(nb: Any, title: str) -> str:
    try:
        shown = display_notebook(nb)
        shown.metadata["title"] = one_line(title)[:300]
        body, _ = _exporter().from_notebook_node(shown)
    except Exception as exc:  # noqa: BLE001 - a student's notebook must never break a report
        raise NotebookRenderError(f"nbconvert could not render it ({type(exc).__name__}: "
                                  f"{one_line(exc)[:200]})") from None
    return body


def render_notebooks(result: Any, out_dir: Path) -> dict[str, list[tuple[str, str]]]:
    """HTML for every executed notebook a result points to; the report's links to them."""
    import nbformat

    links: dict[str, list[tuple[str, str]]] = {}
    for ex in result.exercises:
        executed = (ex.notebook or {}).get("executed")
        if not executed:
            continue
        path = out_dir / executed
        if path.parent != out_dir / "notebooks" or not path.is_file():
            continue
        try:
            html_text = render_html(nbformat.read(path, as_version=4),
                                    f"{ex.file} — executed by the grader")
        except (NotebookRenderError, ValueError, OSError) as exc:
            ex.notebook["render_error"] = one_line(exc)[:300]
            continue
        target = path.with_suffix(".html")
        write_atomic(target, html_text)
        links[ex.name] = [("the executed notebook", f"notebooks/{target.name}")]
    return links
