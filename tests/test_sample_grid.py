"""The report's grid of held-out digits (figure kind "sample_predictions").

grader/suites/sample_grid.py picks at most 24 held-out images, the mistakes first, and
grader/plots.py draws them with "pred P / true T" titles, mistakes marked by a ✗, "≠" and a
red frame. The data is shaped by the student's predictions, so it is validated: bad data
becomes a note in the report, never a crash, and the drawing stays small.
"""
from __future__ import annotations

import base64
import io
import json
import re
import time

import numpy as np
import pytest
from matplotlib.font_manager import FontProperties, findfont, get_font
from matplotlib.patches import Rectangle

from grader import plots
from grader.plots import FigureDataError
from grader.report_html import render_report
from grader.results import ExerciseResult, Result
from grader.suites import sample_grid
from grader.suites.sample_grid import MAX_ITEMS, sample_predictions

MAX_SVG_BYTES = 150_000


def tagged_images(n: int) -> np.ndarray:
    """n uint8 images whose first two pixels spell the item's index (to see which were picked)."""
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = np.arange(n) % 256
    images[:, 0, 1] = np.arange(n) // 256
    images[:, 10:18, 12:16] = 200
    return images


def picked(data: dict) -> list[int]:
    """Indices of the items a grid shows, read back from the tagged pixels."""
    out = []
    for image in data["images"]:
        row = bytes.fromhex(image[0])
        out.append(row[0] + 256 * row[1])
    return out


def labelled(n: int, wrong: list[int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    true = rng.integers(0, 10, n)
    predicted = true.copy()
    predicted[wrong] = (predicted[wrong] + 1 + rng.integers(0, 9, len(wrong))) % 10
    return true, predicted


def glyph_id(char: str) -> str:
    """The id matplotlib gives ``char``'s outline in an SVG (font name + glyph index in hex)."""
    font = get_font(findfont(FontProperties(family="DejaVu Sans")))
    return f"{font.postscript_name}-{font.get_char_index(ord(char)):x}"


# ---- picking the items ------------------------------------------------------------------------

def test_mistakes_come_first_then_correct_items():
    wrong = [3, 17, 40, 41, 90]
    true, predicted = labelled(100, wrong)
    data = sample_predictions(tagged_images(100), true, predicted)
    assert len(data["images"]) == MAX_ITEMS == 24
    assert picked(data)[:5] == wrong
    assert all(p != t for p, t in zip(data["predicted"][:5], data["true"][:5]))
    assert all(p == t for p, t in zip(data["predicted"][5:], data["true"][5:]))
    assert data["true"] == [int(v) for v in true[picked(data)]]
    assert data["predicted"] == [int(v) for v in predicted[picked(data)]]
    assert (data["mistakes"], data["total"]) == (5, 100)
    assert len(set(picked(data))) == 24


def test_many_mistakes_are_spread_over_the_set_deterministically():
    wrong = list(range(0, 1000, 7))           # 143 mistakes
    true, predicted = labelled(1000, wrong)
    images = tagged_images(1000)
    data = sample_predictions(images, true, predicted)
    shown = picked(data)
    assert len(shown) == 24 and set(shown) <= set(wrong)
    assert shown[0] == wrong[0] and shown[-1] == wrong[-1]   # from first to last, not the head
    assert shown == sorted(shown) and max(np.diff(shown)) <= 8 * 7
    assert sample_predictions(images, true, predicted) == data
    assert data["mistakes"] == 143


@pytest.mark.parametrize("count,expected", [(5, 5), (24, 24), (100, 24), (10**9, 24), (0, 0)])
def test_the_count_is_bounded_by_24(count, expected):
    true, predicted = labelled(200, [1, 2])
    data = sample_predictions(tagged_images(200), true, predicted, count=count)
    assert len(data["images"]) == len(data["true"]) == len(data["predicted"]) == expected
    assert data["total"] == 200 and data["mistakes"] == 2


def test_all_correct_and_fewer_items_than_asked():
    true = np.arange(7) % 10
    data = sample_predictions(tagged_images(7), true, true.copy())
    assert len(data["images"]) == 7 and sorted(picked(data)) == list(range(7))
    assert data["mistakes"] == 0 and data["true"] == data["predicted"]
    figure = plots.render_figure("sample_predictions", data)
    assert figure.svg is not None, figure.note
    assert figure.svg.count("<image") == 7
    assert glyph_id("✗") not in figure.svg and glyph_id("≠") not in figure.svg
    assert figure.title == "Held-out digits, mistakes first: 0 of 7 wrong"


def test_image_layouts_and_scales_give_the_same_pixels():
    rng = np.random.default_rng(1)
    raw = rng.integers(0, 256, (30, 28, 28)).astype(np.uint8)
    true, predicted = labelled(30, [4, 9])
    want = sample_predictions(raw, true, predicted)
    for images in (raw.reshape(30, 784), raw[..., None], raw.astype(np.float32),
                   raw.astype(np.float64) / 255.0, (raw / 255.0).reshape(30, 784)):
        assert sample_predictions(images, true, predicted)["images"] == want["images"]
    first = want["images"][0]
    assert len(first) == 28 and all(re.fullmatch(r"[0-9a-f]{56}", row) for row in first)
    assert bytes.fromhex("".join(first)) == raw[4].tobytes()  # the first mistake, exactly


def test_predicted_may_be_class_scores():
    true, predicted = labelled(50, [0, 5, 6])
    scores = np.eye(10)[predicted] * 0.8 + 0.02
    assert sample_predictions(tagged_images(50), true, scores) == \
        sample_predictions(tagged_images(50), true, predicted)


def test_nan_and_out_of_range_pixels_are_clamped_not_fatal():
    images = np.full((12, 784), np.nan)
    images[1] = 1e9
    images[2] = -5
    true, predicted = labelled(12, [1])
    data = sample_predictions(images, true, predicted)
    assert data["images"][0] == ["ff" * 28] * 28          # the mistake: clipped to 255
    assert all(row == "00" * 28 for image in data["images"][1:] for row in image)
    assert plots.render_figure("sample_predictions", data).svg is not None


@pytest.mark.parametrize("images,true,predicted,count", [
    (np.zeros((5, 28, 28)), [1, 2, 3], [1, 2, 3, 4, 5], 24),     # lengths differ
    (np.zeros((5, 28, 28)), [1, 2, 3, 4, 10], [1, 2, 3, 4, 5], 24),  # label out of range
    (np.zeros((5, 28, 28)), [1, 2, 3, 4, -1], [1, 2, 3, 4, 5], 24),
    (np.zeros((5, 28, 28)), [1, 2, 3, 4, 2.5], [1, 2, 3, 4, 5], 24),
    (np.zeros((5, 28, 28)), ["1", "2", "3", "4", "5"], [1, 2, 3, 4, 5], 24),
    (np.zeros((5, 28, 28)), [1, 2, 3, 4, 5], [[1, 2]] * 5, 24),
    (np.zeros((5, 27, 27)), [1, 2, 3, 4, 5], [1, 2, 3, 4, 5], 24),   # not 28x28
    (np.zeros((4, 28, 28)), [1, 2, 3, 4, 5], [1, 2, 3, 4, 5], 24),   # fewer images
    (np.array([["a"] * 784] * 5), [1, 2, 3, 4, 5], [1, 2, 3, 4, 5], 24),
    (np.zeros((5, 28, 28)), [1, 2, 3, 4, 5], np.full((5, 10), np.nan), 24),
    (np.zeros((5, 28, 28)), [1, 2, 3, 4, 5], [1, 2, 3, 4, 5], -1),
    (np.zeros((5, 28, 28)), [1, 2, 3, 4, 5], [1, 2, 3, 4, 5], True),
    (np.zeros((5, 28, 28)), [1, 2, 3, 4, 5], [1, 2, 3, 4, 5], 2.0),
])
def test_bad_input_raises_figure_data_error(images, true, predicted, count):
    with pytest.raises(FigureDataError):
        sample_predictions(images, true, predicted, count=count)


def test_huge_label_arrays_are_refused_before_the_images_are_read():
    labels = np.zeros(sample_grid.MAX_INPUT_ITEMS + 1, dtype=np.int64)
    with pytest.raises(FigureDataError, match="more than"):
        sample_predictions(np.zeros((1, 28, 28)), labels, labels)


def test_the_cap_agrees_with_the_drawing():
    assert sample_grid.MAX_ITEMS == plots.MAX_SAMPLE_ITEMS
    assert "sample_predictions" in plots.KINDS


# ---- drawing ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def worst_grid() -> dict:
    """24 images of random noise (what a PNG compresses worst), half of them mistakes."""
    rng = np.random.default_rng(7)
    images = rng.integers(0, 256, (5000, 28, 28)).astype(np.uint8)
    true, predicted = labelled(5000, list(range(0, 5000, 400)))
    return sample_predictions(images, true, predicted)


def test_the_grid_is_an_svg_of_embedded_pngs_with_marked_mistakes(worst_grid):
    figure = plots.render_figure("sample_predictions", worst_grid, id_prefix="fig3")
    assert figure.svg is not None, figure.note
    assert figure.title == "Held-out digits, mistakes first: 13 of 5,000 wrong"
    images = re.findall(r"<image\b[^>]*>", figure.svg)
    assert len(images) == 24
    assert all('href="data:image/png;base64,' in tag for tag in images)
    # the ✗ and ≠ marks of the mistakes' titles are drawn (as glyph outlines)
    for char in "✗≠":
        assert f'id="fig3-{glyph_id(char)}"' in figure.svg
    assert plots.PALETTE[8].lower() in figure.svg.lower()     # the red frames
    assert 'aria-labelledby="fig3-caption"' in figure.svg
    assert not re.search(r"<script|\son[a-z]+=|href=\"(?!#|data:image/png;base64,)", figure.svg)


def test_the_embedded_pngs_show_the_pixels_of_the_data(worst_grid):
    from PIL import Image

    figure = plots.render_figure("sample_predictions", worst_grid)
    encoded = re.findall(r'href="data:image/png;base64,([^"]+)"', figure.svg)
    for k in (0, 23):        # the first mistake and the last correct item, in drawing order
        png = Image.open(io.BytesIO(base64.b64decode(encoded[k].replace("\n", ""))))
        assert png.size == (28, 28)
        drawn = 255 - np.asarray(png.convert("L"), dtype=float)      # gray_r: 255 is black
        want = np.frombuffer(bytes.fromhex("".join(worst_grid["images"][k])), dtype=np.uint8)
        assert np.abs(drawn - want.reshape(28, 28)).max() <= 4     # 64 grey levels


def test_the_svg_stays_small(worst_grid):
    figure = plots.render_figure("sample_predictions", worst_grid)
    size = len(figure.svg.encode("utf-8"))
    assert 20_000 < size < MAX_SVG_BYTES, size


def test_mistakes_are_drawn_first_framed_and_titled_even_when_given_last():
    images = tagged_images(6)
    data = sample_predictions(images, [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6])
    data["predicted"][4] = 9                                 # a mistake in the fifth place
    data["mistakes"] = 1
    fig = plots.sample_predictions(data)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles[0] == "✗ pred 9 ≠ true 5"
    assert titles[1:] == [f"pred {d} / true {d}" for d in (1, 2, 3, 4, 6)]
    frames = [(p.get_linewidth(), p.get_edgecolor()) for ax in fig.axes if ax.get_visible()
              for p in ax.patches if isinstance(p, Rectangle)]
    assert len(frames) == 6
    assert frames[0][0] > 2 * frames[1][0]
    assert frames[0][1] != frames[1][1]


def test_hand_made_integer_pixels_are_accepted():
    data = {"images": [[[0] * 28] * 28, [[255] * 28] * 28], "true": [1, 2], "predicted": [1, 3]}
    figure = plots.render_figure("sample_predictions", data)
    assert figure.svg is not None, figure.note
    assert figure.title == "Held-out digits, mistakes first"   # no counts given


GOOD = {"images": [["00" * 28] * 28] * 2, "true": [1, 2], "predicted": [1, 3],
        "mistakes": 1, "total": 10}


def bad(**change):
    return {**GOOD, **change}


@pytest.mark.parametrize("data", [
    None, [], "images", {"images": []},
    bad(images=None), bad(images=[]), bad(images="00" * 784),
    bad(images=[["00" * 28] * 28] * 25, true=[1] * 25, predicted=[1] * 25, total=100),
    bad(images=[[]] * 10**6),                                       # huge, refused by length
    bad(images=[["00" * 28] * 27] * 2),                             # 27 rows
    bad(images=[["00" * 27] * 28] * 2),                             # short rows
    bad(images=[["0" * 10**6] * 28] * 2),                           # a row of a million digits
    bad(images=[["GG" * 28] * 28] * 2), bad(images=[["FF" * 28] * 28] * 2),
    bad(images=[[[0] * 28] * 27 + [[0] * 10**6]] * 2),
    bad(images=[[[None] * 28] * 28] * 2),                           # NaN as result.json has it
    bad(images=[[[256] * 28] * 28] * 2), bad(images=[[[-1] * 28] * 28] * 2),
    bad(images=[[["7"] * 28] * 28] * 2), bad(images=[[[True] * 28] * 28] * 2),
    bad(images=[[[float("nan")] * 28] * 28] * 2), bad(images=[[[float("inf")] * 28] * 28] * 2),
    bad(true=[1]), bad(true=[1, 10]), bad(true=[1, -1]), bad(true=[1, 2.0]), bad(true=[1, "2"]),
    bad(true=[1, True]), bad(true=[1, None]), bad(predicted="12"),
    bad(mistakes=-1), bad(mistakes=11), bad(total=1), bad(mistakes=0),  # 1 wrong is shown
    bad(mistakes="1"), bad(total=10**12), bad(mistakes=1.0),
    {k: v for k, v in GOOD.items() if k != "total"},                # counts come together
])
def test_hostile_grid_data_becomes_a_note(data):
    started = time.perf_counter()
    figure = plots.render_figure("sample_predictions", data)
    assert figure.svg is None
    assert figure.note.startswith("could not draw this figure")
    assert time.perf_counter() - started < 2.0


def test_a_broken_grid_never_breaks_the_report():
    result = Result("student", [ExerciseResult(
        "mnist_ann", "graded", max_score=1, score=1,
        figures={"sample_predictions": bad(true=[1, 99], title="<script>alert(1)</script>"),
                 "confusion_matrix": {"matrix": [[1, 0], [0, 1]]}})])
    html = render_report(result)
    assert "could not draw this figure: true: labels must be whole numbers 0-9" in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert html.count('class="plot"') == 1                # the confusion matrix still drawn


def test_a_grid_in_any_exercise_appears_in_its_report_section():
    true, predicted = labelled(300, [5, 6, 7])
    grid = sample_predictions(tagged_images(300), true, predicted)
    result = Result("student", [ExerciseResult("cnn", "graded", max_score=1, score=1,
                                               figures={"sample_predictions": grid})])
    html = render_report(result)
    assert html.count("<image") == 24
    assert re.search(r"<figcaption id=\"fig1-caption\">\s*Held-out digits, mistakes first: 3 of "
                     r"300 wrong\s*</figcaption>", html)
    # the data survives result.json as it is written (indented) and read back
    assert len(json.dumps(grid, indent=2)) < 60_000


# ---- the mnist_ann suite records it ------------------------------------------------------------

@pytest.mark.slow
def test_grading_the_reference_mnist_ann_shows_the_grid(tmp_path):
    from grader import assignment, datasets
    from grader.grading import grade
    from grader.report_html import write_report

    result = grade(assignment.PROJECT_ROOT / "solutions", exercises=["mnist_ann"])
    ex = result.exercises[0]
    grid = ex.figures["sample_predictions"]
    assert len(grid["images"]) == 24
    held_out = datasets.held_out_mnist(datasets.load_mnist())
    assert grid["total"] == len(held_out.y_test)
    accuracy = ex.metrics["accuracy"]
    assert grid["mistakes"] == round((1 - accuracy) * grid["total"])
    # the images are held-out digits as the worker saw them, with their own labels
    index = {held_out.x_test[i].tobytes(): i for i in range(len(held_out.x_test))}
    for image, true, predicted in zip(grid["images"], grid["true"], grid["predicted"]):
        i = index[bytes.fromhex("".join(image))]
        assert true == held_out.y_test[i]
    wrong = [p != t for p, t in zip(grid["predicted"], grid["true"])]
    assert wrong == sorted(wrong, reverse=True) and any(wrong)
    result.write(tmp_path / "result.json")
    reread = Result.read(tmp_path / "result.json")
    html = write_report(reread, tmp_path).read_text(encoding="utf-8")
    caption = f"Held-out digits, mistakes first: {grid['mistakes']:,} of {grid['total']:,} wrong"
    figures = re.findall(r"<figure class=\"figure\">.*?</figure>", html, re.DOTALL)
    grids = [f for f in figures if caption in f]
    assert len(grids) == 1 and grids[0].count("data:image/png;base64,") == 24


@pytest.mark.browser
def test_the_grid_shows_offline_in_chromium(tmp_path):
    from browser import chromium_or_skip

    from grader.report_html import write_report

    true, predicted = labelled(400, [3, 50, 51, 200])
    grid = sample_predictions(tagged_images(400), true, predicted)
    result = Result("student", [ExerciseResult("mnist_ann", "graded", max_score=1, score=1,
                                               figures={"sample_predictions": grid})])
    path = write_report(result, tmp_path)
    browser = chromium_or_skip()
    try:
        browser.send("Network.emulateNetworkConditions", {
            "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        page = browser.load(path, settle=0.5)
        assert page.errors == [], page.errors
        assert [u for u in page.requests if not u.startswith("data:")] == [path.resolve().as_uri()]
        state = browser.evaluate("""({
            images: [...document.querySelectorAll('svg.plot image')].map(i => {
                const r = i.getBoundingClientRect(); return [r.width, r.height]; }),
            label: document.querySelector('svg.plot').getAttribute('aria-labelledby'),
            caption: document.querySelector('figure.figure figcaption').textContent.trim(),
            overflow: document.documentElement.scrollWidth - window.innerWidth,
        })""")
        assert len(state["images"]) == 24
        assert all(w > 30 and h > 30 for w, h in state["images"]), state["images"]
        assert state["caption"] == "Held-out digits, mistakes first: 4 of 400 wrong"
        assert state["label"] == "fig1-caption" and state["overflow"] <= 0
        shot = browser.screenshot(tmp_path / "grid.png")
        assert shot.stat().st_size > 10_000
    finally:
        browser.close()
