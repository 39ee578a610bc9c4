"""Text and markup from students made safe: grader.safe_text and the notebook page's allow-list
(grader.report_notebook). Fast unit tests; tests/test_safe_pages.py grades hostile submissions
end to end."""
from __future__ import annotations

import base64
import json
import re

import pytest

from grader import report_notebook as rn
from grader.results import ExerciseResult, Result
from grader.results import TestResult as _TestResult
from grader.safe_text import clean_text, clean_tree, one_line

# every kind of text that can crash a writer or deceive a reader
HOSTILE = ("nul\x00 bell\x07 esc\x1b[31mred\x1b[0m osc\x1b]0;title\x07 c1\x85\x9b2J "
           "lone\ud800surrogate \udfff bidi\u202eesrever\u202c\u2066iso\u2069 del\x7f "
           "cr\rlf ls\u2028ps\u2029 ff\x0c vt\x0b fffe\ufffe")
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u200e\u200f\u061c"
                    "\u202a-\u202e\u2066-\u2069\u2028\u2029\ufffe\uffff]")


def test_clean_text_leaves_nothing_unsafe_and_keeps_the_words():
    cleaned = clean_text(HOSTILE)
    assert UNSAFE.findall(cleaned) == []
    cleaned.encode("utf-8")                       # a lone surrogate would raise here
    for word in ("nul", "red", "osc", "lone", "surrogate", "esrever", "iso", "cr", "lf"):
        assert word in cleaned
    assert "[31m" not in cleaned and "title" not in cleaned  # escape sequences dropped whole
    assert clean_text(cleaned) == cleaned         # idempotent: cleaning twice changes nothing


def test_clean_text_of_bytes_and_hostile_objects():
    assert clean_text(b"ok \xff\xfe bad") == "ok \ufffd\ufffd bad"

    class Hostile:
        def __str__(self):
            raise RuntimeError("no")

    assert clean_text(Hostile()) == "<unprintable Hostile>"
    assert clean_text(None) == ""
    assert one_line("a\n\u202eb\x1b[2K\tc") == "a \ufffdb c"


def test_clean_tree_cleans_keys_and_values_at_any_depth():
    tree = {"k\ud800": [{"\x1b[31mkey": ("v\x00", 1.5, None, True)}], 3: "x\u202e"}
    cleaned = clean_tree(tree)
    assert json.dumps(cleaned, ensure_ascii=False).encode("utf-8")
    assert UNSAFE.findall(json.dumps(cleaned, ensure_ascii=False)) == []
    assert cleaned["k\ufffd"][0]["key"] == ("v\ufffd", 1.5, None, True)
    assert cleaned[3] == "x\ufffd"


def test_result_json_written_from_hostile_strings_is_clean_utf8(tmp_path):
    test = _TestResult(id="neuron::t", name=HOSTILE, points=0, max_points=1, outcome="failed",
                      message=HOSTILE)
    ex = ExerciseResult(name="neuron", status="graded", tests=[test], output=HOSTILE,
                        metrics={HOSTILE: 0.5}, manual=[{"answer": HOSTILE}])
    path = Result(submission=HOSTILE, exercises=[ex]).write(tmp_path / "result.json")
    raw = path.read_bytes().decode("utf-8")       # strict: valid UTF-8
    data = json.loads(raw)
    assert UNSAFE.findall(json.dumps(data, ensure_ascii=False)) == []
    assert Result.read(path).exercises[0].tests[0].message.startswith("nul")


# ---- HTML rebuilt from an allow-list ------------------------------------------------------

ACTIVE = re.compile(r"<\s*/?\s*(script|style|iframe|object|embed|form|input|meta|base|link|"
                    r"svg|img|a|button|textarea|template)\b|\son\w+\s*=|style\s*=|href|src\s*=",
                    re.IGNORECASE)


@pytest.mark.parametrize("markup", [
    '<script>alert(1)</script><p onclick="x()">para</p>',
    '<div style="position:fixed;top:0;left:0;width:100%;height:100%">overlay</div>',
    '<meta http-equiv="refresh" content="0;url=https://example.com/"><base href="//evil/">',
    '<form action="https://example.com/"><input autofocus onfocus="x()"></form>',
    '<iframe src="https://example.com/"></iframe><object data="x"></object><embed src="x">',
    '<a href="javascript:alert(1)">link</a><a href="data:text/html,<script>1</script>">d</a>',
    '<img src="https://example.com/t.png" alt="remote"><img src=x onerror=alert(1)>',
    '<svg onload="x()"><foreignObject><p>in</p></foreignObject></svg>',
    '<style>body{display:none}</style><link rel=stylesheet href="https://example.com/c.css">',
    '<table><tr><td onclick=x() style="color:red" colspan="2">cell</td></tr>',   # unclosed
    '</div></div></table><b>breaks out?</b>',
    '<p>a<!-- comment --><![CDATA[x]]>b</p><textarea><b>raw</b></textarea>',
])
def test_rebuilt_html_holds_no_active_markup_and_stays_balanced(markup):
    rebuilt = rn.rebuild_html(markup)
    assert ACTIVE.findall(rebuilt) == [], rebuilt
    opened = re.findall(r"<([a-z0-9]+)[^>]*>", rebuilt)
    closed = re.findall(r"</([a-z0-9]+)>", rebuilt)
    voids = {"br", "hr"}
    assert sorted(t for t in opened if t not in voids) == sorted(closed), rebuilt


def test_rebuilt_html_keeps_text_and_names_urls_as_text():
    rebuilt = rn.rebuild_html('<p>see <a href="https://example.com/x">the docs</a> '
                              '<img src="data:image/png;base64,AAAA" alt="forged"></p>')
    assert "the docs (https://example.com/x)" in rebuilt
    assert "[image forged: data:image/png;base64,AAAA…]" in rebuilt
    assert rebuilt.startswith("<p>") and "<a" not in rebuilt and "<img" not in rebuilt


def test_pandas_table_is_kept_and_other_html_is_not_a_table():
    frame = ('<div><style scoped>.dataframe tbody tr th {vertical-align: top}</style>'
             '<table border="1" class="dataframe"><thead><tr style="text-align: right;">'
             '<th></th><th colspan="2">a</th></tr></thead><tbody><tr><th>0</th><td>1</td>'
             '<td>2</td></tr></tbody></table></div>')
    table = rn.table_html(frame)
    assert table == ('<div><table><thead><tr><th></th><th colspan="2">a</th></tr></thead>'
                     '<tbody><tr><th>0</th><td>1</td><td>2</td></tr></tbody></table></div>')
    assert rn.table_html('<b onmouseover="x()">bold</b>') is None


def test_markdown_cells_render_but_raw_html_in_them_does_not():
    shown = rn.markdown_html("# Title\n\n*it* <span style='position:fixed'>x</span>\n\n"
                             "![pass](data:image/png;base64,AAAA) [l](javascript:alert(1))\n\n"
                             "<meta http-equiv=refresh content=0>")
    assert "<h1>" in shown and "<em>it</em>" in shown
    assert ACTIVE.findall(shown) == [], shown
    assert "javascript:alert(1)" in shown  # the URL is named, as text


# ---- images ---------------------------------------------------------------------------------

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode()


def test_images_are_kept_only_when_they_decode_to_their_type():
    assert rn.checked_image("image/png", PNG[:20] + "\n" + PNG[20:]) == PNG
    assert rn.checked_image("image/png", base64.b64encode(b"<svg onload=x()>").decode()) is None
    assert rn.checked_image("image/png", "not base64 !!!") is None
    assert rn.checked_image("image/jpeg", PNG) is None
    assert rn.checked_image("image/png", {"a": 1}) is None


def test_svg_is_rebuilt_without_scripts_handlers_or_outside_references():
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
           'onload="alert(1)" width="10" height="10"><script>alert(2)</script>'
           '<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>'
           '<a href="https://example.com/"><circle r="4"/></a>'
           '<image href="https://example.com/p.png"/><use xlink:href="https://e.com/s.svg#a"/>'
           '<rect width="5" height="5" fill="url(https://example.com/f)" '
           'style="fill: red; background: url(https://example.com/b)"/>'
           '<path d="M0 0L5 5" clip-path="url(#c1)" stroke="#000"/>'
           '<animate attributeName="href" to="javascript:alert(3)"/></svg>')
    clean = rn.sanitize_svg(svg)
    for bad in ("script", "onload", "foreignObject", "example.com", "e.com", "animate",
                "javascript", "<a"):
        assert bad not in clean, bad
    assert 'clip-path="url(#c1)"' in clean and 'd="M0 0L5 5"' in clean
    assert rn.sanitize_svg('<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg>&a;</svg>') is None
    assert rn.sanitize_svg("<html><body/></html>") is None


# ---- outputs: one allowed MIME type each, nothing else ---------------------------------------

def test_outputs_are_reduced_to_the_allow_list():
    shown = [rn.display_output(o) for o in [
        {"output_type": "display_data", "data": {"image/png": PNG, "text/plain": "fig"},
         "metadata": {"image/png": {"width": 100000, "height": 100000, "unconfined": True}}},
        {"output_type": "display_data", "data": {"application/javascript": "alert(1)",
                                                 "text/plain": "<Javascript>"}, "metadata": {}},
        {"output_type": "display_data", "data": {
            "application/vnd.jupyter.widget-view+json": {"model_id": "x"}}, "metadata": {}},
        {"output_type": "display_data", "data": {"text/markdown": "[x](data:text/html,1)"},
         "metadata": {}},
        {"output_type": "execute_result", "execution_count": 3,
         "data": {"text/html": "<div style='position:fixed'>ALL PASSED</div>"}, "metadata": {}},
        {"output_type": "display_data", "data": {"image/png": "AAAA"}, "metadata": {}},
        {"output_type": "stream", "name": "stdin\x1b", "text": ["a\x00", "b\ud800"]},
        {"output_type": "error", "ename": "Evil\u202eError", "evalue": "v\x1b[2J",
         "traceback": ["line\x00"]},
        {"output_type": "unknown"}, "junk",
    ]]
    assert shown[0] == {"output_type": "display_data", "data": {"image/png": PNG},
                        "metadata": {}}
    assert shown[1]["data"] == {"text/plain": "[application/javascript output, shown as "
                                              "text]\nalert(1)"}
    assert list(shown[2]["data"]) == ["text/plain"] and "model_id" in shown[2]["data"][
        "text/plain"]
    assert shown[3]["data"] == {"text/plain": "[text/markdown output, shown as text]\n"
                                              "[x](data:text/html,1)"}
    assert shown[4]["data"]["text/plain"].endswith("<div style='position:fixed'>ALL PASSED"
                                                   "</div>")
    assert shown[4]["execution_count"] == 3
    assert "not a valid image" in shown[5]["data"]["text/plain"]
    assert shown[6] == {"output_type": "stream", "name": "stdout", "text": "a\ufffdb\ufffd"}
    assert shown[7]["ename"] == "Evil\ufffdError" and shown[7]["evalue"] == "v"
    assert shown[8] is None and shown[9] is None


def test_trusted_notebook_takes_sources_from_the_submission_and_outputs_from_the_record():
    submitted = {"cells": [
        {"cell_type": "markdown", "source": "# hi", "metadata": {},
         "attachments": {"a.png": {"image/png": PNG}}},
        {"cell_type": "code", "source": "1/0", "execution_count": 7,
         "metadata": {"jupyter": {"source_hidden": True, "outputs_hidden": True},
                      "tags": ["jp-mod-hidden"], "collapsed": True},
         "outputs": [{"output_type": "stream", "name": "stdout", "text": "FORGED: all passed"}]},
    ]}
    record = {"cells": [
        {"cell_type": "markdown", "source": "# changed in the worker", "metadata": {}},
        {"cell_type": "code", "source": "1/0", "execution_count": 1,
         "metadata": {"jupyter": {"source_hidden": True},
                      "grader": {"error": "ZeroDivisionError", "seconds": 0.1,
                                 "role\x00": "x", "manual": "not a bool"}},
         "outputs": [{"output_type": "error", "ename": "ZeroDivisionError",
                      "evalue": "division by zero", "traceback": []}]},
    ]}
    nb = rn.trusted_notebook(record, submitted)
    text = json.dumps(nb)
    assert "FORGED" not in text and "source_hidden" not in text and "attachments" not in text
    assert "jp-mod-hidden" not in text and "changed in the worker" not in text
    assert nb["cells"][0]["source"] == "# hi"
    assert nb["cells"][1]["metadata"] == {"grader": {"error": "ZeroDivisionError",
                                                     "seconds": 0.1}}
    assert nb["cells"][1]["outputs"][0]["ename"] == "ZeroDivisionError"
    assert rn.summarize(nb)["errors"] == [{"cell": 1, "error": "ZeroDivisionError"}]


def test_markdown_links_inside_the_page_keep_their_text_and_heading_anchors_go():
    shown = rn.markdown_html("# Title\n\nsee [the section](#title) or [docs](https://e.com/)")
    assert shown.strip() == "<h1>Title</h1><p>see the section or docs (https://e.com/)</p>"


def test_a_cell_with_an_error_output_is_failed_even_without_its_metadata():
    record = {"cells": [{"cell_type": "code", "source": "raise X", "execution_count": 1,
                         "metadata": {"grader": {"seconds": 0.1}},
                         "outputs": [{"output_type": "error", "ename": "", "evalue": "",
                                      "traceback": []}]}]}
    nb = rn.trusted_notebook(record, record)   # the record repeats the submitted cell
    assert nb["cells"][0]["metadata"]["grader"]["error"] == "an exception with no name"
    assert rn.summarize(nb)["errors"] == [{"cell": 1, "error": "an exception with no name"}]


def test_progress_bars_keep_their_last_state_when_output_is_cleaned():
    from grader.safe_text import clean_output

    bar = "epoch 1\n[==  ] 50%\r[====] 100%\r\nab\bc \x1b[32mok\x1b[0m\r\n"
    assert clean_output(bar) == "epoch 1\n[====] 100%\nac ok\n"
    executed = {"cells": [{"cell_type": "code", "source": "", "outputs": [
        {"output_type": "stream", "name": "stdout", "text": ["[==  ]\r", "[====]\n"]}]}]}
    record = rn.trusted_notebook(executed, executed)
    assert record["cells"][0]["outputs"][0]["text"] == "[====]\n"
