"""Figures for the HTML report: the plot data in result.json, drawn as inline SVG.

Figure data is recorded by hidden suites but shaped by the student's code (sizes, labels, titles),
so it is untrusted here. Every drawing function validates and caps its input, and
:func:`render_figure` turns any failure into a note: a broken figure never breaks a report.

The SVG is made from numbers by matplotlib and then cleaned so that it is safe to inline:
text is drawn as glyph outlines (``svg.fonttype = "path"``) so no string from the data survives as
SVG text; the XML prolog, comments and the global ``<style>`` are dropped; ids get a per-figure
prefix because several SVGs share one HTML document. Titles are returned separately for the
HTML caption, where Jinja escapes them.

matplotlib is used through ``Figure`` objects, not pyplot: nothing global is registered, so no
figure can leak and no GUI backend is ever chosen.
"""
from __future__ import annotations

import atexit
import io
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any, Callable, Mapping

# matplotlib writes its font cache to ~/.config/matplotlib unless told otherwise; graders run
# in CI and containers where the home directory may be read-only or shared.
if not os.environ.get("MPLCONFIGDIR"):
    os.environ["MPLCONFIGDIR"] = tempfile.mkdtemp(prefix="grader-mpl-")
    # removed when the grader exits (by this process only, not a forked child)
    atexit.register(lambda path=os.environ["MPLCONFIGDIR"], pid=os.getpid():
                    os.getpid() == pid and shutil.rmtree(path, ignore_errors=True))

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # never a GUI backend, even if pyplot gets imported later

import numpy as np  # noqa: E402
from matplotlib.backends.backend_svg import FigureCanvasSVG  # noqa: E402
from matplotlib.colors import ListedColormap, to_rgb  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

KINDS = ("confusion_matrix", "learning_curves", "roc_curve", "decision_boundary",
         "sample_predictions")

# Caps on untrusted data: beyond these the figure is thinned (curves, points, grids) or refused
# (a 500-class confusion matrix is not a figure anyone can read).
MAX_CLASSES = 30
MAX_SERIES = 12
MAX_CURVE_POINTS = 4000
MAX_SCATTER_POINTS = 3000
MAX_GRID_SIDE = 300
MIN_GRID_SIDE = 20
MAX_REGION_EDGES = 6_000     # cell borders between regions a decision boundary may draw
MAX_SVG_CHARS = 4_000_000    # one figure in the report, whatever the data
MAX_LABEL_CHARS = 24
# Raw values one figure may carry at all: checked before any conversion, so a 5000x5000 grid
# or a curve of millions of points is refused in microseconds, not converted for seconds.
MAX_INPUT_VALUES = 2_000_000
MAX_TITLE_CHARS = 200
# The grid of held-out digits: at most this many images (grader/suites/sample_grid.py picks them),
# each IMAGE_SIDE x IMAGE_SIDE pixel values 0..255, labels 0..N_DIGITS-1.
MAX_SAMPLE_ITEMS = 24
SAMPLE_COLUMNS = 6
SAMPLE_GREYS = 64
IMAGE_SIDE = 28
N_DIGITS = 10
MAX_SAMPLE_TOTAL = 10**9     # held-out items a grid may claim to come from

DEFAULT_TITLES = {
    "confusion_matrix": "Confusion matrix",
    "learning_curves": "Learning curves",
    "roc_curve": "ROC curve",
    "decision_boundary": "Decision boundary",
    "sample_predictions": "Held-out digits, mistakes first",
}

# Restrained palette shared with the report's CSS.
INK = "#1f2933"
MUTED = "#7b8794"
GRID = "#e4e7eb"
PALETTE = ("#2f6fde", "#e8833a", "#2e9e6a", "#c94f7c", "#8a63d2", "#b08a2e",
           "#3aa6b9", "#7d8b99", "#d64545", "#5b7c3a")

_RC = {
    "svg.fonttype": "path",      # glyphs as paths: no data strings as SVG text
    "svg.hashsalt": "grader",    # deterministic clip-path ids: identical input, identical report
    "font.size": 9,
    "axes.edgecolor": MUTED,
    "axes.labelcolor": INK,
    "axes.titlesize": 9,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "xtick.labelcolor": INK,
    "ytick.labelcolor": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "legend.fontsize": 8,
}


class FigureDataError(ValueError):
    """The figure data does not have the documented shape (docs/SUITES.md, "Figures")."""


@dataclass(frozen=True)
class RenderedFigure:
    """One figure ready for the report: ``svg`` is None when it could not be drawn, and then
    ``note`` says why. ``title`` is plain (unescaped) text for the HTML caption."""
    kind: str
    title: str
    svg: str | None
    note: str = ""


# ---- input validation -------------------------------------------------------------------------

def _title(kind: str, data: Mapping[str, Any]) -> str:
    title = data.get("title") if isinstance(data, Mapping) else None
    if not isinstance(title, str) or not title.strip():
        if kind == "sample_predictions":
            return _sample_caption(data)
        return DEFAULT_TITLES.get(kind, kind)
    return _shorten(title.strip(), MAX_TITLE_CHARS)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _label(value: Any) -> str:
    """A class or series label as matplotlib should draw it: short, never mathtext, never
    hidden (matplotlib's legend skips labels that start with an underscore)."""
    text = _shorten(str(value), MAX_LABEL_CHARS)
    return "\u200b" + text if text.startswith("_") else text


def _require(data: Any, *keys: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise FigureDataError(f"expected an object, got {type(data).__name__}")
    missing = [k for k in keys if k not in data]
    if missing:
        raise FigureDataError(f"missing field(s): {', '.join(missing)}")
    return data


def _too_many(name: str, count: int, shape: str = "") -> FigureDataError:
    return FigureDataError(f"{name}: {shape or f'{count:,} values'} is more than the "
                           f"{MAX_INPUT_VALUES:,} values a report figure may hold; record "
                           f"fewer points (every n-th epoch, a coarser grid)")


def _vector(values: Any, name: str, *, min_len: int = 1) -> np.ndarray:
    """A 1-D float array; JSON nulls (how result.json stores NaN) become NaN."""
    if not isinstance(values, (list, tuple)):
        raise FigureDataError(f"{name}: expected a list of numbers")
    if len(values) > MAX_INPUT_VALUES:
        raise _too_many(name, len(values))
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise FigureDataError(f"{name}: expected a list of numbers") from None
    if arr.ndim != 1 or arr.size < min_len:
        raise FigureDataError(f"{name}: expected a flat list of at least {min_len} number(s)")
    return arr


def _matrix(values: Any, name: str) -> np.ndarray:
    if not isinstance(values, (list, tuple)):
        raise FigureDataError(f"{name}: expected a list of rows")
    first = values[0] if values else None
    width = len(first) if isinstance(first, (list, tuple)) else 1
    if len(values) * width > MAX_INPUT_VALUES:
        raise _too_many(name, len(values) * width, f"{len(values)}x{width}")
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise FigureDataError(f"{name}: expected equal-length rows of numbers") from None
    if arr.ndim != 2 or 0 in arr.shape:
        raise FigureDataError(f"{name}: expected a non-empty 2-D list of rows")
    return arr


def _thin(n: int, limit: int) -> np.ndarray:
    """Evenly spaced indices keeping the first and last, so a long curve keeps its ends."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(int))


# ---- drawing ----------------------------------------------------------------------------------

def _new_figure(width: float = 4.8, height: float = 3.4, ncols: int = 1):
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasSVG(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    for ax in axes:
        ax.grid(True, color=GRID, linewidth=0.8)
        ax.set_axisbelow(True)
    return fig, axes


def _no_math(*texts) -> None:
    for text in texts:
        text.set_parse_math(False)


def confusion_matrix(data: Mapping[str, Any]) -> Figure:
    """Counts of true (rows) against predicted (columns) classes, darker for more."""
    data = _require(data, "matrix")
    raw = data["matrix"]
    if isinstance(raw, (list, tuple)) and len(raw) > MAX_CLASSES:  # before converting it
        raise FigureDataError(f"matrix: {len(raw)} classes is more than a readable {MAX_CLASSES}")
    counts = _matrix(raw, "matrix")
    n = counts.shape[0]
    if counts.shape != (n, n):
        raise FigureDataError(f"matrix: expected a square matrix, got {counts.shape[0]}x{counts.shape[1]}")
    if n > MAX_CLASSES:
        raise FigureDataError(f"matrix: {n} classes is more than a readable {MAX_CLASSES}")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise FigureDataError("matrix: counts must be finite and non-negative")
    labels = data.get("labels")
    if labels is None:
        labels = list(range(n))
    if not isinstance(labels, (list, tuple)) or len(labels) != n:
        raise FigureDataError(f"labels: expected {n} labels, one per row of the matrix")
    labels = [_label(v) for v in labels]

    side = min(4.6, 2.4 + 0.24 * n)
    fig, (ax,) = _new_figure(side + 0.9, side)
    ax.grid(False)
    mesh = ax.pcolormesh(counts, cmap="Blues", vmin=0, vmax=max(counts.max(), 1),
                         edgecolors="white", linewidth=0.5)
    ax.set_xlim(0, n)
    ax.set_ylim(n, 0)  # first class at the top, as in every textbook
    ax.set_aspect("equal")
    ticks = np.arange(n) + 0.5
    ax.set_xticks(ticks, labels, rotation=45 if max(map(len, labels)) > 3 else 0,
                  ha="right" if max(map(len, labels)) > 3 else "center")
    ax.set_yticks(ticks, labels)
    _no_math(*ax.get_xticklabels(), *ax.get_yticklabels())
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlabel("Predicted")
    ax.set_ylabel("True")
    if n <= 15:
        threshold = counts.max() / 2
        size = 8 if n <= 10 else 6.5
        for i in range(n):
            for j in range(n):
                value = counts[i, j]
                text = f"{value:.0f}" if float(value).is_integer() else f"{value:.2g}"
                ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize=size,
                        color="white" if value > threshold else INK)
    fig.colorbar(mesh, ax=ax, shrink=0.8, aspect=25).outline.set_visible(False)
    return fig


def learning_curves(data: Mapping[str, Any]) -> Figure:
    """Per-epoch series; losses on the left, every other metric on the right; ``val_*`` dashed
    in the colour of its training series."""
    data = _require(data, "series")
    series = data["series"]
    if not isinstance(series, Mapping) or not series:
        raise FigureDataError("series: expected an object of name -> list of numbers")
    if len(series) > MAX_SERIES:
        raise FigureDataError(f"series: {len(series)} series is more than {MAX_SERIES}")
    total = sum(len(v) for v in series.values() if isinstance(v, (list, tuple)))
    if total > MAX_INPUT_VALUES:
        raise _too_many("series", total)
    curves = {str(name): _vector(values, f"series[{str(name)[:40]!r}]")
              for name, values in series.items()}

    def base(name: str) -> str:
        return name[4:] if name.startswith("val_") else name

    losses = [n for n in curves if "loss" in base(n).lower()]
    others = [n for n in curves if n not in losses]
    groups = [g for g in (losses, others) if g]
    colours: dict[str, str] = {}
    for name in curves:
        colours.setdefault(base(name), PALETTE[len(colours) % len(PALETTE)])

    fig, axes = _new_figure(4.6 * len(groups), 3.2, ncols=len(groups))
    for ax, names in zip(axes, groups):
        for name in names:
            values = curves[name]
            keep = _thin(values.size, MAX_CURVE_POINTS)
            epochs = keep + 1
            ax.plot(epochs, values[keep], color=colours[base(name)],
                    linestyle="--" if name.startswith("val_") else "-",
                    linewidth=1.6, marker="o" if values.size <= 30 else None, markersize=3,
                    label=_label(name))
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss" if names is losses else "metric")
        ax.xaxis.get_major_locator().set_params(integer=True)
        legend = ax.legend(loc="best")
        _no_math(*legend.get_texts())
    return fig


def roc_curve(data: Mapping[str, Any]) -> Figure:
    """True-positive against false-positive rate, with the chance diagonal and the AUC."""
    data = _require(data, "fpr", "tpr")
    fpr = _vector(data["fpr"], "fpr", min_len=2)
    tpr = _vector(data["tpr"], "tpr", min_len=2)
    if fpr.size != tpr.size:
        raise FigureDataError(f"fpr and tpr differ in length ({fpr.size} vs {tpr.size})")
    finite = np.isfinite(fpr) & np.isfinite(tpr)
    if not finite.any() or np.any((fpr[finite] < -1e-9) | (fpr[finite] > 1 + 1e-9)
                                  | (tpr[finite] < -1e-9) | (tpr[finite] > 1 + 1e-9)):
        raise FigureDataError("fpr and tpr must be rates between 0 and 1")
    keep = _thin(fpr.size, MAX_CURVE_POINTS)
    auc = data.get("auc")
    label = "ROC"
    if isinstance(auc, (int, float)) and not isinstance(auc, bool) and math.isfinite(auc):
        label = f"AUC = {float(auc):.3f}"

    fig, (ax,) = _new_figure(3.9, 3.6)
    ax.plot([0, 1], [0, 1], color=MUTED, linestyle=":", linewidth=1.2, label="chance")
    ax.plot(fpr[keep], tpr[keep], color=PALETTE[0], linewidth=1.8, label=label)
    ax.fill_between(fpr[keep], tpr[keep], color=PALETTE[0], alpha=0.08, linewidth=0)
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.legend(loc="lower right")
    return fig


def decision_boundary(data: Mapping[str, Any]) -> Figure:
    """Predicted class regions over a grid, with the data points coloured by their label.

    ``x``/``y`` may be the grid's axes (lengths = columns/rows of ``Z``) or full meshgrids of
    ``Z``'s shape, which is what ``decision_grid`` returns.
    """
    data = _require(data, "x", "y", "Z")
    Z = _matrix(data["Z"], "Z")
    xs, ys = data["x"], data["y"]
    if xs and isinstance(xs[0], (list, tuple)):
        X, Y = _matrix(xs, "x"), _matrix(ys, "y")
        if X.shape != Z.shape or Y.shape != Z.shape:
            raise FigureDataError(f"x, y and Z must have the same shape as meshgrids "
                                  f"({X.shape}, {Y.shape}, {Z.shape})")
    else:
        x, y = _vector(xs, "x", min_len=2), _vector(ys, "y", min_len=2)
        if (y.size, x.size) != Z.shape:
            raise FigureDataError(f"Z must have len(y) rows and len(x) columns: "
                                  f"Z is {Z.shape[0]}x{Z.shape[1]}, len(y)={y.size}, len(x)={x.size}")
        X, Y = np.meshgrid(x, y)
    if min(Z.shape) < 2:
        raise FigureDataError("Z: the grid needs at least 2x2 cells")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(Y))):
        raise FigureDataError("x and y must be finite")
    rows, cols = _thin(Z.shape[0], MAX_GRID_SIDE), _thin(Z.shape[1], MAX_GRID_SIDE)
    X, Y, Z = X[np.ix_(rows, cols)], Y[np.ix_(rows, cols)], Z[np.ix_(rows, cols)]
    # a noisy grid (every cell its own region) would draw contours for seconds and megabytes:
    # coarsen it until its region edges fit the budget
    while _region_edges(Z) > MAX_REGION_EDGES and min(Z.shape) > 2 * MIN_GRID_SIDE:
        rows, cols = _thin(Z.shape[0], Z.shape[0] // 2), _thin(Z.shape[1], Z.shape[1] // 2)
        X, Y, Z = X[np.ix_(rows, cols)], Y[np.ix_(rows, cols)], Z[np.ix_(rows, cols)]

    points = labels = None
    if data.get("points") is not None:
        points = _matrix(data["points"], "points")
        if points.shape[1] != 2:
            raise FigureDataError("points: expected [x, y] pairs")
        if data.get("labels") is not None:
            labels = _vector(data["labels"], "labels")
            if labels.size != points.shape[0]:
                raise FigureDataError("labels: expected one label per point")
        keep = _thin(points.shape[0], MAX_SCATTER_POINTS)
        points = points[keep]
        labels = labels[keep] if labels is not None else None

    fig, (ax,) = _new_figure(4.2, 3.8)
    ax.grid(False)
    z_classes = np.unique(Z[np.isfinite(Z)])
    if z_classes.size == 0:
        raise FigureDataError("Z: no finite values")
    if z_classes.size <= len(PALETTE):
        classes = np.unique(np.concatenate(
            [z_classes, labels[np.isfinite(labels)] if labels is not None else []]))
        colours = [PALETTE[i % len(PALETTE)] for i in range(classes.size)]
        pale = [tuple(0.78 + 0.22 * c for c in to_rgb(col)) for col in colours]
        edges = np.concatenate([[classes[0] - 0.5], (classes[:-1] + classes[1:]) / 2,
                                [classes[-1] + 0.5]])
        ax.contourf(X, Y, Z, levels=edges, colors=pale)
        if z_classes.size > 1:
            ax.contour(X, Y, Z, levels=edges[1:-1], colors=MUTED, linewidths=0.8)
        point_cmap = ListedColormap(colours)
        point_norm = dict(vmin=-0.5, vmax=classes.size - 0.5)
        to_index = {c: i for i, c in enumerate(classes)}
        point_values = (np.array([to_index.get(v, 0) for v in labels])
                        if labels is not None else None)
    else:  # continuous scores rather than labels
        filled = ax.contourf(X, Y, Z, levels=12, cmap="RdBu_r", alpha=0.6)
        fig.colorbar(filled, ax=ax, shrink=0.8).outline.set_visible(False)
        point_cmap, point_norm, point_values = ListedColormap(PALETTE), {}, labels
    if points is not None:
        if point_values is None:
            ax.scatter(points[:, 0], points[:, 1], s=10, color=INK, linewidths=0)
        else:
            ax.scatter(points[:, 0], points[:, 1], c=point_values, cmap=point_cmap, s=12,
                       edgecolors="white", linewidths=0.4, **point_norm)
    ax.set_xlim(X.min(), X.max())
    ax.set_ylim(Y.min(), Y.max())
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    return fig


def _region_edges(Z: np.ndarray) -> int:
    """Neighbouring cells in different regions (classes, or one of 12 contour bands)."""
    finite = Z[np.isfinite(Z)]
    if finite.size == 0:
        return 0
    if np.unique(finite).size > len(PALETTE):     # continuous scores: the 12 contour bands
        lo, hi = float(finite.min()), float(finite.max())
        Z = np.digitize(Z, np.linspace(lo, hi, 13)[1:-1]) if hi > lo else np.zeros_like(Z)
    return int(np.count_nonzero(Z[1:, :] != Z[:-1, :]) + np.count_nonzero(Z[:, 1:] != Z[:, :-1]))


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SAMPLE_TOTAL:
        raise FigureDataError(f"{name}: expected a whole number from 0 to {MAX_SAMPLE_TOTAL:,}")
    return value


def _digits(values: Any, name: str, n: int) -> list[int]:
    if not isinstance(values, (list, tuple)) or len(values) != n:
        raise FigureDataError(f"{name}: expected a list of {n} labels, one per image")
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < N_DIGITS
               for v in values):
        raise FigureDataError(f"{name}: labels must be whole numbers 0-{N_DIGITS - 1}")
    return list(values)


def _sample_counts(data: Mapping[str, Any], shown: int | None = None) -> tuple[int, int] | None:
    """(mistakes, total) of a grid's held-out set, or None when neither is given."""
    if "mistakes" not in data and "total" not in data:
        return None
    mistakes, total = _count(data.get("mistakes"), "mistakes"), _count(data.get("total"), "total")
    if mistakes > total:
        raise FigureDataError(f"mistakes: {mistakes:,} is more than the {total:,} items")
    if shown is not None and total < shown:
        raise FigureDataError(f"total: {total:,} items, fewer than the {shown} images shown")
    return mistakes, total


def _sample_caption(data: Any) -> str:
    """``Held-out digits, mistakes first: 87 of 1,000 wrong`` (without the counts when the data
    does not give them, or gives them malformed: the drawing then says why)."""
    base = DEFAULT_TITLES["sample_predictions"]
    try:
        counts = _sample_counts(data) if isinstance(data, Mapping) else None
    except FigureDataError:
        counts = None
    return base if counts is None else f"{base}: {counts[0]:,} of {counts[1]:,} wrong"


_HEX_ROW = re.compile(r"[0-9a-f]{%d}" % (2 * IMAGE_SIDE))


def _image(image: Any) -> np.ndarray:
    """One 28x28 image: 28 rows, each a string of 56 hex digits (what sample_grid writes) or a
    list of 28 numbers 0..255; the shape is checked before any conversion."""
    side = IMAGE_SIDE
    if not (isinstance(image, (list, tuple)) and len(image) == side):
        raise FigureDataError(f"images: every image must be {side} rows of {side} pixel values")
    if all(isinstance(row, str) for row in image):
        if not all(_HEX_ROW.fullmatch(row) for row in image):
            raise FigureDataError(f"images: a row given as text must be {2 * side} hex digits "
                                  f"(two per pixel)")
        return np.frombuffer(bytes.fromhex("".join(image)), dtype=np.uint8).reshape(side, side)
    if not all(isinstance(row, (list, tuple)) and len(row) == side for row in image):
        raise FigureDataError(f"images: every image must be {side} rows of {side} pixel values")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for row in image for v in row):
        raise FigureDataError("images: pixel values must be numbers")
    pixels = np.asarray(image, dtype=float)
    if not np.all(np.isfinite(pixels)) or pixels.min() < 0 or pixels.max() > 255:
        raise FigureDataError("images: pixel values must be finite numbers from 0 to 255")
    return pixels


def sample_predictions(data: Mapping[str, Any]) -> Figure:
    """A grid of held-out images titled ``pred P / true T``, the mistakes first and marked by
    a ✗ and "≠" in the title, a thick red frame and red text (not by colour alone).

    ``images`` is a list of up to 24 images of 28 rows, each 56 hex digits (two per pixel, as
    grader/suites/sample_grid.py writes them) or 28 numbers 0..255; ``true`` and
    ``predicted`` one digit 0-9 per image; ``mistakes`` and ``total`` (optional, together) the
    wrong predictions and the items of the whole held-out set, shown in the caption.
    """
    data = _require(data, "images", "true", "predicted")
    raw = data["images"]
    if not isinstance(raw, (list, tuple)) or not raw:
        raise FigureDataError("images: expected a non-empty list of images")
    if len(raw) > MAX_SAMPLE_ITEMS:
        raise FigureDataError(f"images: {len(raw):,} images is more than the "
                              f"{MAX_SAMPLE_ITEMS} a grid shows")
    pixels = np.stack([_image(image) for image in raw]).astype(float)
    # 64 grey levels look the same at this size, and bound the embedded PNGs: 24 images of
    # noise (what compresses worst) stay under 150 kB of SVG with their titles
    pixels = np.round(pixels * (SAMPLE_GREYS - 1) / 255) * (255 / (SAMPLE_GREYS - 1))
    n = len(raw)
    true = _digits(data["true"], "true", n)
    predicted = _digits(data["predicted"], "predicted", n)
    wrong = [p != t for p, t in zip(predicted, true)]
    counts = _sample_counts(data, shown=n)
    if counts is not None and counts[0] < sum(wrong):
        raise FigureDataError(f"mistakes: {counts[0]:,} overall, fewer than the "
                              f"{sum(wrong)} wrong predictions shown")
    order = sorted(range(n), key=lambda i: not wrong[i])  # mistakes first, otherwise as given

    cols = min(SAMPLE_COLUMNS, n)
    rows = -(-n // cols)
    fig = Figure(figsize=(1.1 * cols + 0.2, 1.12 * rows + 0.3), layout="constrained")
    FigureCanvasSVG(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    mistake_colour = PALETTE[8]
    for ax, i in zip(axes, order):
        # interpolation "none": each image goes into the SVG as its own 28x28 PNG (data: URL)
        ax.imshow(pixels[i], cmap="gray_r", vmin=0, vmax=255, interpolation="none")
        ax.set_axis_off()   # no ticks, spines or background: one frame path per image
        ax.add_patch(Rectangle((0, 0), 1, 1, transform=ax.transAxes, fill=False, clip_on=False,
                               edgecolor=mistake_colour if wrong[i] else GRID,
                               linewidth=2.6 if wrong[i] else 0.8))
        if wrong[i]:
            title = f"✗ pred {predicted[i]} ≠ true {true[i]}"
        else:
            title = f"pred {predicted[i]} / true {true[i]}"
        ax.set_title(title, fontsize=7, pad=3, color=mistake_colour if wrong[i] else INK)
    for ax in axes[n:]:
        ax.set_visible(False)
    if any(wrong):
        _no_math(fig.supxlabel("✗ red frame: wrong prediction", fontsize=7, color=MUTED))
    return fig


DRAWERS: dict[str, Callable[[Mapping[str, Any]], Figure]] = {
    "confusion_matrix": confusion_matrix,
    "learning_curves": learning_curves,
    "roc_curve": roc_curve,
    "decision_boundary": decision_boundary,
    "sample_predictions": sample_predictions,
}


# ---- SVG output -------------------------------------------------------------------------------

_ID = re.compile(r'\bid="([^"]+)"')
_HREF = re.compile(r'(\bxlink:href|\bhref)="#([^"]+)"')
_URL = re.compile(r"url\(#([^)]+)\)")
_UNSAFE = re.compile(r"<\s*script|<\s*foreignObject|\son[a-z]+\s*=|javascript:|(?:href|src)=\"(?!#|data:image/png;base64,)",
                     re.IGNORECASE)


def to_svg(fig: Figure, *, id_prefix: str = "fig") -> str:
    """Serialise ``fig`` as an SVG element safe to inline in HTML (see the module docstring)."""
    if not re.fullmatch(r"[A-Za-z][\w-]*", id_prefix):
        raise ValueError(f"id_prefix must be a plain identifier, got {id_prefix!r}")
    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Creator": None, "Date": None,
                                                   "Format": None, "Type": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.DOTALL)
    svg = re.sub(r"<style[^>]*>.*?</style>", "", svg, flags=re.DOTALL)
    svg = _ID.sub(lambda m: f'id="{id_prefix}-{m.group(1)}"', svg)
    svg = _HREF.sub(lambda m: f'{m.group(1)}="#{id_prefix}-{m.group(2)}"', svg)
    svg = _URL.sub(lambda m: f"url(#{id_prefix}-{m.group(1)})", svg)
    svg = svg.replace("<svg ", f'<svg class="plot" role="img" aria-labelledby="{id_prefix}-caption" ', 1)
    svg = re.sub(r">\s+<", "><", svg).strip()
    if _UNSAFE.search(svg):  # defence in depth: the steps above should make this impossible
        raise FigureDataError("the drawn figure contained markup that is not allowed")
    return svg


def render_figure(kind: str, data: Any, *, id_prefix: str = "fig") -> RenderedFigure:
    """Draw one figure of ``kind`` from its JSON ``data``; never raises for bad kind or data."""
    title = _title(kind, data) if isinstance(data, Mapping) else DEFAULT_TITLES.get(kind, str(kind))
    drawer = DRAWERS.get(kind)
    if drawer is None:
        return RenderedFigure(str(kind), _shorten(str(kind), MAX_TITLE_CHARS), None,
                              f"unknown figure kind {_shorten(str(kind), 60)!r}; "
                              f"known kinds: {', '.join(KINDS)}")
    try:
        with matplotlib.rc_context(_RC), np.errstate(all="ignore"):
            fig = drawer(data)
            svg = to_svg(fig, id_prefix=id_prefix)
            if len(svg) > MAX_SVG_CHARS:
                raise FigureDataError(f"the drawing is {len(svg) / 1e6:.0f} MB, more than "
                                      f"the {MAX_SVG_CHARS / 1e6:.0f} MB a report figure may be")
            return RenderedFigure(kind, title, svg)
    except Exception as exc:  # a broken figure must never break a report
        reason = str(exc) if isinstance(exc, FigureDataError) else f"{type(exc).__name__}: {exc}"
        return RenderedFigure(kind, title, None, "could not draw this figure: " + _shorten(reason, 300))


def figure_specs(figures: Any) -> list[tuple[str, Any]]:
    """``ExerciseResult.figures`` as (kind, data) pairs, in recorded order.

    Keys are figure kinds; a value may also be a list of data objects (several figures of one
    kind), and a data object with a string ``"kind"`` field names its own kind (so keys such as
    ``"roc_test_set"`` work too).
    """
    if not isinstance(figures, Mapping):
        return []
    specs: list[tuple[str, Any]] = []
    for key, value in figures.items():
        for data in value if isinstance(value, list) else [value]:
            kind = data.get("kind") if isinstance(data, Mapping) else None
            specs.append((kind if isinstance(kind, str) else str(key), data))
    return specs
