"""The wire between the grader and a sandboxed worker: framing plus an allow-list codec.

Only data crosses: None, bool, int, float, str, lists, tuples, dicts of those, numeric numpy
arrays, and pandas DataFrames built from those. Anything else stays in the worker and crosses
as a *handle* (an id). Nothing is ever unpickled: a frame is a JSON header plus raw array
buffers, and :func:`decode` rebuilds values only from the allowed shapes, checking each one, so
a hostile worker can send wrong numbers but never an object that runs code in the grader.

Frame layout: ``>I`` header length, ``>Q`` total buffer length, the UTF-8 JSON header, then the
buffers back to back (sizes listed in the header).
"""
from __future__ import annotations

import json
import math
import socket
import struct
from typing import Any, Callable

import numpy as np

MAX_HEADER_BYTES = 64 << 20
MAX_BUFFER_BYTES = 4 << 30
MAX_DEPTH = 64
MAX_NODES = 2_000_000
_ALLOWED_KINDS = "biuf"     # bool, signed, unsigned, float; no objects, strings, voids, datetimes
_PREFIX = struct.Struct(">IQ")


class WireError(Exception):
    """A frame or value that breaks the protocol (a lying or broken worker)."""


class Handle:
    """A reference to an object that stays on the other side of the wire."""

    __slots__ = ("id", "type_name", "callable")

    def __init__(self, id: int, type_name: str = "object", callable: bool = False):
        self.id, self.type_name, self.callable = id, type_name, callable

    def __repr__(self) -> str:
        return f"<handle #{self.id} {self.type_name}>"


# --------------------------------------------------------------------------------------------
# encoding
# --------------------------------------------------------------------------------------------
def encode(value: Any, buffers: list, make_handle: Callable[[Any], Handle] | None = None) -> Any:
    """Turn ``value`` into a JSON tree, appending array bytes to ``buffers``.

    ``make_handle`` decides what happens to objects outside the allow-list: the worker passes
    a function that keeps the object and returns a Handle; the grader passes none, so trying
    to send such an object is a programming error (TypeError).
    """
    return _encode(value, buffers, make_handle, 0)


def _encode(v: Any, bufs: list, mk: Callable | None, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise TypeError("value nested too deeply to send")
    t = type(v)
    if v is None or t is bool or t is str:
        return v
    if t is int:
        return v if abs(v) < 2**63 else {"$big": str(v)}
    if t is float:
        return v if math.isfinite(v) else {"$f": repr(v)}
    if t is Handle:
        return {"$h": v.id}
    if t is list:
        return [_encode(x, bufs, mk, depth + 1) for x in v]
    if t is tuple:
        return {"$t": [_encode(x, bufs, mk, depth + 1) for x in v]}
    if t is dict and all(type(k) in (str, int, float, bool) or k is None for k in v):
        return {"$d": [[_encode(k, bufs, mk, depth + 1), _encode(x, bufs, mk, depth + 1)]
                       for k, x in v.items()]}
    if t is np.ndarray and v.dtype.kind in _ALLOWED_KINDS and v.dtype.names is None:
        arr = np.ascontiguousarray(v).reshape(v.shape)  # ascontiguousarray makes 0-d 1-d
        bufs.append(memoryview(arr).cast("B") if arr.size else b"")
        node = [arr.dtype.str, list(arr.shape), len(bufs) - 1]
        if not v.flags.writeable:
            node.append(False)      # the receiver may keep it read-only (see decode)
        return {"$a": node}
    if isinstance(v, np.generic) and v.dtype.kind in _ALLOWED_KINDS:
        return _encode(v.item(), bufs, mk, depth)
    frame = _encode_dataframe(v, bufs, mk, depth)
    if frame is not None:
        return frame
    if mk is None:
        raise TypeError(f"cannot send a {t.__module__}.{t.__qualname__} across the sandbox")
    h = mk(v)
    return {"$h": h.id, "type": h.type_name, "callable": h.callable}


def _encode_dataframe(v: Any, bufs: list, mk: Callable | None, depth: int) -> Any:
    """pandas frames and series travel as their columns (numeric arrays or lists of str)."""
    mod = type(v).__module__
    if not mod.startswith("pandas"):
        return None
    import pandas as pd

    def column(series: "pd.Series") -> Any:
        if series.dtype.kind in _ALLOWED_KINDS:
            return _encode(series.to_numpy(), bufs, mk, depth + 1)
        return [None if (x is None or (isinstance(x, float) and math.isnan(x))) else str(x)
                for x in series.tolist()]

    if type(v) is pd.Series:
        return column(v)
    if type(v) is pd.DataFrame:
        return {"$df": {"columns": [str(c) for c in v.columns],
                        "index": _encode(np.asarray(v.index.to_numpy()), bufs, mk, depth + 1)
                        if v.index.dtype.kind in "iu" else None,
                        "data": [column(v.iloc[:, i]) for i in range(v.shape[1])]}}
    return None


# --------------------------------------------------------------------------------------------
# decoding: the allow-list
# --------------------------------------------------------------------------------------------
class _Budget:
    __slots__ = ("nodes", "keep_readonly")

    def __init__(self, keep_readonly: bool = False) -> None:
        self.nodes = 0
        self.keep_readonly = keep_readonly


def decode(tree: Any, buffers: list, resolve_handle: Callable[[dict], Any], *,
           keep_readonly: bool = False) -> Any:
    """Rebuild a value from ``tree``, accepting only the allow-listed shapes.

    ``resolve_handle`` turns a ``{"$h": ...}`` node into whatever the receiving side uses
    for remote objects (the grader: a RemoteHandle; the worker: the object it keeps).
    ``keep_readonly``: arrays sent read-only arrive read-only (the worker, so a test's
    read-only input is read-only to the student's code too); otherwise every decoded array is
    the receiver's own writable copy (the grader ignores what a worker claims).
    """
    return _decode(tree, buffers, resolve_handle, 0, _Budget(keep_readonly))


def _decode(n: Any, bufs: list, resolve: Callable, depth: int, budget: _Budget) -> Any:
    budget.nodes += 1
    if depth > MAX_DEPTH or budget.nodes > MAX_NODES:
        raise WireError("value too deeply nested or too large")
    t = type(n)
    if n is None or t in (bool, int, float, str):
        return n
    if t is list:
        return [_decode(x, bufs, resolve, depth + 1, budget) for x in n]
    if t is not dict or len(n) == 0:
        raise WireError(f"unexpected node {t.__name__}")
    key = next(iter(n))
    body = n[key]
    if key == "$t" and type(body) is list:
        return tuple(_decode(x, bufs, resolve, depth + 1, budget) for x in body)
    if key == "$d" and type(body) is list:
        out = {}
        for pair in body:
            if type(pair) is not list or len(pair) != 2:
                raise WireError("malformed dict entry")
            k = _decode(pair[0], bufs, resolve, depth + 1, budget)
            if not (k is None or type(k) in (str, int, float, bool)):
                raise WireError("dict key of a disallowed type")
            out[k] = _decode(pair[1], bufs, resolve, depth + 1, budget)
        return out
    if key == "$a":
        return _decode_array(body, bufs, budget.keep_readonly)
    if key == "$f" and body in ("nan", "inf", "-inf"):
        return float(body)
    if key == "$big" and type(body) is str and len(body) < 4000:
        try:
            return int(body)
        except ValueError:
            raise WireError("malformed big integer") from None
    if key == "$h" and type(body) is int:
        return resolve(n)
    if key == "$df" and type(body) is dict:
        return _decode_dataframe(body, bufs, resolve, depth, budget)
    raise WireError(f"unexpected tag {str(key)[:20]!r}")


def _decode_array(body: Any, bufs: list, keep_readonly: bool = False) -> np.ndarray:
    if type(body) is not list or len(body) not in (3, 4) or \
            (len(body) == 4 and body[3] is not False):
        raise WireError("malformed array")
    dtype_str, shape, index = body[:3]
    if type(dtype_str) is not str or len(dtype_str) > 8 or type(shape) is not list \
            or type(index) is not int or not 0 <= index < len(bufs):
        raise WireError("malformed array")
    try:
        dtype = np.dtype(dtype_str)
    except TypeError:
        raise WireError(f"unknown dtype {dtype_str!r}") from None
    if dtype.kind not in _ALLOWED_KINDS or dtype.names is not None or dtype.itemsize > 16:
        raise WireError(f"dtype {dtype_str!r} is not allowed")
    if len(shape) > 32 or any(type(d) is not int or d < 0 for d in shape):
        raise WireError("malformed array shape")
    count = math.prod(shape)
    buf = bufs[index]
    if count * dtype.itemsize != len(buf):
        raise WireError("array shape does not match its data")
    if count == 0:
        arr = np.zeros(shape, dtype=dtype)
    else:
        arr = np.frombuffer(buf, dtype=dtype).reshape(shape)
    if keep_readonly and len(body) == 4:
        arr.flags.writeable = False
    return arr


def _decode_dataframe(body: dict, bufs: list, resolve: Callable, depth: int, budget: _Budget):
    import pandas as pd

    columns = body.get("columns")
    data = body.get("data")
    if type(columns) is not list or type(data) is not list or len(columns) != len(data) \
            or not all(type(c) is str for c in columns):
        raise WireError("malformed data frame")
    cols = {}
    for name, col in zip(columns, data):
        value = _decode(col, bufs, resolve, depth + 1, budget)
        if isinstance(value, np.ndarray):
            if value.ndim != 1:
                raise WireError("data frame column is not one-dimensional")
        elif type(value) is list:
            if not all(x is None or type(x) is str for x in value):
                raise WireError("data frame text column holds non-text values")
            value = pd.array(value, dtype=object)
        else:
            raise WireError("malformed data frame column")
        cols[name] = value
    index = body.get("index")
    index = None if index is None else _decode(index, bufs, resolve, depth + 1, budget)
    lengths = {len(v) for v in cols.values()} | ({len(index)} if index is not None else set())
    if len(lengths) > 1:
        raise WireError("data frame columns differ in length")
    return pd.DataFrame(cols, index=index)


# --------------------------------------------------------------------------------------------
# framing over a socket
# --------------------------------------------------------------------------------------------
def send(sock: socket.socket, header: dict, buffers: list) -> None:
    head = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    sizes = [len(b) if not isinstance(b, memoryview) else b.nbytes for b in buffers]
    header_sizes = json.dumps(sizes).encode()
    prefix = _PREFIX.pack(len(head), sum(sizes))
    sock.sendall(prefix + struct.pack(">I", len(header_sizes)) + header_sizes + head)
    for b in buffers:
        if len(b):
            sock.sendall(b)


def recv(sock: socket.socket, *, max_buffer_bytes: int = MAX_BUFFER_BYTES) -> tuple[dict, list]:
    """Read one frame; raise EOFError when the peer has gone, WireError when it lies."""
    head_len, total = _PREFIX.unpack(_recv_exact(sock, _PREFIX.size))
    (sizes_len,) = struct.unpack(">I", _recv_exact(sock, 4))
    if head_len > MAX_HEADER_BYTES or sizes_len > MAX_HEADER_BYTES or total > max_buffer_bytes:
        raise WireError("frame larger than the protocol allows")
    try:
        sizes = json.loads(_recv_exact(sock, sizes_len))
        header = json.loads(_recv_exact(sock, head_len))
    except (ValueError, RecursionError) as exc:
        raise WireError(f"unreadable frame header ({type(exc).__name__})") from None
    if type(sizes) is not list or not all(type(s) is int and s >= 0 for s in sizes) \
            or sum(sizes) != total or type(header) is not dict:
        raise WireError("malformed frame")
    buffers = [_recv_exact(sock, s) if s else b"" for s in sizes]
    return header, buffers


def _recv_exact(sock: socket.socket, n: int) -> bytearray:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if k == 0:
            raise EOFError("peer closed the connection")
        got += k
    return buf
