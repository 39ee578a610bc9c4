"""Figure data for the report's grid of held-out digits: a few images with what the model
predicted and the true label, mistakes first.

Suites call :func:`sample_predictions` in the grader process with the held-out images, the true
labels and the predicted labels, and record the result as the figure kind
``"sample_predictions"`` (drawn by :mod:`grader.plots`)::

    record.figure("sample_predictions", sample_predictions(mnist.x_test, mnist.y_test, predicted))

The grid shows the student at most :data:`MAX_ITEMS` held-out images with their true labels: a
bounded, deliberate disclosure (docs/SECURITY.md). The choice is deterministic (the same
predictions give the same grid) and spread over the held-out set rather than its first rows.

This module needs numpy only; bad input raises :class:`grader.plots.FigureDataError` (imported
when it is raised, so a suite that imports this module does not load matplotlib).
"""
from __future__ import annotations

from typing import Any

import numpy as np

MAX_ITEMS = 24            # images one grid may show; grader.plots refuses more
SIDE = 28                 # MNIST images are 28x28
CLASSES = 10
MAX_INPUT_ITEMS = 200_000  # held-out items accepted at all (MNIST has 10,000)


def _error(message: str) -> Exception:
    from grader.plots import FigureDataError
    return FigureDataError(message)


def _labels(values: Any, name: str) -> np.ndarray:
    """1-D int labels 0-9; class scores of shape (n, 10) give their argmax."""
    arr = np.asarray(values)
    if arr.ndim == 2 and arr.shape[1] == CLASSES and arr.dtype.kind in "fiub":
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise _error(f"{name}: the class scores contain NaN or inf")
        arr = arr.argmax(axis=1)
    if arr.ndim != 1:
        raise _error(f"{name}: expected one label per image, got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise _error(f"{name}: expected whole-number labels 0-9")
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "iu":
        raise _error(f"{name}: expected integer labels 0-9, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= CLASSES):
        raise _error(f"{name}: labels must be digits 0-9 (found {arr.min()}..{arr.max()})")
    return arr


def _images(images: Any) -> np.ndarray:
    """(n, 28, 28) float array from (n, 784), (n, 28, 28) or (n, 28, 28, 1)."""
    arr = np.asarray(images)
    if arr.dtype.kind not in "fiub":
        raise _error(f"images: expected numbers, got dtype {arr.dtype}")
    if arr.ndim == 2 and arr.shape[1] == SIDE * SIDE:
        arr = arr.reshape(len(arr), SIDE, SIDE)
    elif arr.ndim == 4 and arr.shape[1:] == (SIDE, SIDE, 1):
        arr = arr[..., 0]
    if arr.ndim != 3 or arr.shape[1:] != (SIDE, SIDE):
        raise _error(f"images: expected shape (n, 784), (n, 28, 28) or (n, 28, 28, 1), "
                     f"got {arr.shape}")
    return arr


def _to_uint8(selected: np.ndarray, scale: float) -> np.ndarray:
    with np.errstate(invalid="ignore", over="ignore"):
        pixels = np.nan_to_num(selected.astype(np.float64) * scale, nan=0.0, posinf=255.0,
                               neginf=0.0)
    return np.clip(np.round(pixels), 0, 255).astype(np.uint8)


def _spread(indices: np.ndarray, k: int) -> np.ndarray:
    """``k`` of ``indices`` evenly spaced over them (all of them when there are no more)."""
    if k <= 0 or indices.size == 0:
        return indices[:0]
    if indices.size <= k:
        return indices
    return indices[np.linspace(0, indices.size - 1, k).round().astype(int)]


def sample_predictions(images: Any, true: Any, predicted: Any, count: int = MAX_ITEMS,
                       *, title: str | None = None) -> dict:
    """JSON-able data of the figure kind ``"sample_predictions"``.

    ``images``: the held-out images, shape (n, 784), (n, 28, 28) or (n, 28, 28, 1), either
    floats in [0, 1] or pixel values 0..255. ``true``/``predicted``: one digit per image
    (``predicted`` may also be class scores of shape (n, 10)). Picks ``min(count, 24, n)``
    images: the misclassified ones first, spread evenly over them, then correct ones, spread
    the same way. Returns::

        {"images": [[28 rows of 56 hex digits], ...], "true": [...], "predicted": [...],
         "mistakes": <misclassified among all n>, "total": n}

    Each image is 28 strings, one per row, of its 28 pixel values 0..255 as two hex digits
    each (``"00007fff..."``): result.json is written indented, where a list of ints would put
    every pixel on a line of its own (~400 kB for a grid instead of ~50 kB). ``title``, when
    given, replaces the caption ("Held-out digits, mistakes first: 87 of 1,000 wrong").
    """
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
        raise _error(f"count: expected a whole number >= 0, got {count!r}")
    true_arr = _labels(true, "true")
    pred_arr = _labels(predicted, "predicted")
    n = true_arr.size
    if n > MAX_INPUT_ITEMS:
        raise _error(f"true: {n:,} items is more than the {MAX_INPUT_ITEMS:,} accepted")
    if pred_arr.size != n:
        raise _error(f"predicted: {pred_arr.size} labels for {n} true labels")
    imgs = _images(images)
    if len(imgs) != n:
        raise _error(f"images: {len(imgs)} images for {n} labels")

    wrong = np.flatnonzero(pred_arr != true_arr)
    right = np.flatnonzero(pred_arr == true_arr)
    k = min(int(count), MAX_ITEMS, n)
    chosen = _spread(wrong, k)
    chosen = np.concatenate([chosen, _spread(right, k - chosen.size)]).astype(int)

    # floats up to 1 are [0, 1] intensities (what preprocess() gives); anything else 0..255
    scale = 1.0
    if imgs.dtype.kind == "f" and n:
        finite = imgs[np.isfinite(imgs)]
        if finite.size and finite.max() <= 1.0:
            scale = 255.0
    pixels = _to_uint8(imgs[chosen], scale)
    data = {
        "images": [[row.tobytes().hex() for row in image] for image in pixels],
        "true": [int(v) for v in true_arr[chosen]],
        "predicted": [int(v) for v in pred_arr[chosen]],
        "mistakes": int(wrong.size),
        "total": int(n),
    }
    if title is not None:
        data["title"] = str(title)
    return data
