"""Where an executed notebook becomes part of the report: nbconvert HTML and a cell summary.

The worker sends the executed notebook back as JSON text. It is untrusted: nbformat parses
and validates it, nbconvert renders it with ``sanitize_html`` and a template that carries no
scripts and forbids them by Content-Security-Policy.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from grader.assignment import PACKAGE_DIR
from grader.files import write_atomic

NBCONVERT_TEMPLATES = PACKAGE_DIR / "templates" / "nbconvert"


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
            errors.append({"cell": number, "error": str(meta["error"])[:100]})
    return {"code_cells": number, "cells_run": cells_run, "errors": errors,
            "timeouts": timeouts, "skipped": skipped}


_SAFE_TAGS = ["a", "abbr", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2",
              "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "span", "strong",
              "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul"]


def _safe_attribute(tag: str, name: str, value: str) -> bool:
    if name in ("class", "id", "title", "alt"):
        return True
    if tag == "a" and name == "href":
        return True  # bleach keeps only http(s)/mailto URLs; the page cannot fetch them (CSP)
    return tag == "img" and name == "src" and value.startswith("data:image/")


def clean_html(element: Any) -> str:
    """Student HTML (markdown cells, HTML outputs) reduced to inert document markup.

    nbconvert's own filter escapes headings and paragraphs (bleach's tiny default allowlist);
    this keeps document structure and still drops scripts, handlers, styles and remote images.
    """
    import bleach

    text = element.decode() if isinstance(element, bytes) else str(element)
    return bleach.clean(text, tags=_SAFE_TAGS, attributes=_safe_attribute,
                        protocols=["http", "https", "mailto", "data"], strip=True)


@functools.lru_cache(maxsize=1)
def _exporter():
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="grader_notebook",
                            extra_template_basedirs=[str(NBCONVERT_TEMPLATES)],
                            sanitize_html=True, embed_images=True)
    exporter.register_filter("clean_html", clean_html)
    return exporter


def render_html(nb: Any, title: str) -> str:
    import copy

    nb = copy.deepcopy(nb)
    nb.metadata["title"] = title
    try:
        body, _ = _exporter().from_notebook_node(nb)
    except Exception as exc:  # noqa: BLE001 - a student's notebook must never break a report
        raise NotebookRenderError(f"nbconvert could not render it ({type(exc).__name__}: "
                                  f"{str(exc)[:200]})") from None
    return body


def save_executed_notebook(text: str, out_dir: Path, exercise: str) -> dict:
    """Keep the worker's executed notebook as ``notebooks/<exercise>.ipynb`` under ``out_dir``.

    Returns what result.json records about it: the file and the cell summary.
    """
    import nbformat

    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 - untrusted JSON from the worker
        return {"render_error": f"the executed notebook is not valid nbformat "
                                f"({type(exc).__name__})"}
    folder = out_dir / "notebooks"
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / f"{exercise}.ipynb", nbformat.writes(nb))
    return {"executed": f"notebooks/{exercise}.ipynb", **summarize(nb)}


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
            html = render_html(nbformat.read(path, as_version=4),
                               f"{ex.file} — executed by the grader")
        except (NotebookRenderError, ValueError, OSError) as exc:
            ex.notebook["render_error"] = str(exc)[:300]
            continue
        target = path.with_suffix(".html")
        write_atomic(target, html)
        links[ex.name] = [("the executed notebook", f"notebooks/{target.name}")]
    return links
