"""The wire between the grader and a sandboxed worker: framing plus an allow-list codec.

Only data crosses: None, bool, int, float, str, lists, tuples, dicts of those, numeric numpy
arrays, and pandas DataFrames built from those. Anything else stays in the worker and crosses
as a *handle* (an id). Nothing is ever unpickled: a frame is a JSON header plus raw array
buffers, and :func:`decode` rebuilds values only from the allowed shapes, checking each one, so
a hostile worker can send wrong numbers but never an object that runs code in the grader.

Frame layout: ``>I`` header length, ``>Q`` total buffer length, ``>I`` length of the sizes
list, the sizes list (JSON), the UTF-8 JSON header, then the buffers back to back.

Nothing a peer announces is trusted: sizes and counts are limits checked before anything is
read, never allocations (memory grows only with bytes actually received), JSON is pre-scanned
for nesting and node count before it is parsed, and a :class:`Limit` gives one exchange a
single byte budget and a single wall-clock deadline across all its frames and reads.
"""
from __future__ import annotations

import json
import math
import mmap
import socket
import struct
import time
from typing import Any, Callable

import numpy as np

MAX_HEADER_BYTES = 8 << 20      # one frame's JSON header (large data travels as buffers)
MAX_SIZES_BYTES = 1 << 20       # the JSON list of buffer sizes
MAX_BUFFERS = 100_000           # buffers (arrays) in one frame
MAX_BUFFER_BYTES = 4 << 30      # buffer bytes of one frame, unless a Limit says less
MAX_DEPTH = 64                  # nesting of a decoded value
MAX_JSON_DEPTH = 4 * MAX_DEPTH + 8  # nesting of the JSON text (a value level is up to 4 deep)
MAX_JSON_NODES = 1_000_000      # values in one JSON text (each costs ~50-250 bytes parsed)
MAX_JSON_OBJECTS = 200_000      # of which JSON objects, the dearest kind
MAX_NODES = 1_000_000           # values in one decoded tree
MAX_HANDLES = 10_000            # remote objects in one decoded tree
READ_CHUNK = 1 << 20            # a read never asks for more than this at once
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
    __slots__ = ("nodes", "handles", "keep_readonly", "clean_key")

    def __init__(self, keep_readonly: bool = False,
                 clean_key: Callable[[str], str] | None = None) -> None:
        self.nodes = 0
        self.handles = 0
        self.keep_readonly = keep_readonly
        self.clean_key = clean_key


def decode(tree: Any, buffers: list, resolve_handle: Callable[[dict], Any], *,
           keep_readonly: bool = False, clean_key: Callable[[str], str] | None = None) -> Any:
    """Rebuild a value from ``tree``, accepting only the allow-listed shapes.

    ``resolve_handle`` turns a ``{"$h": ...}`` node into whatever the receiving side uses
    for remote objects (the grader: a RemoteHandle; the worker: the object it keeps).
    ``keep_readonly``: arrays sent read-only arrive read-only (the worker, so a test's
    read-only input is read-only to the student's code too); otherwise every decoded array is
    the receiver's own writable copy (the grader ignores what a worker claims).
    ``clean_key`` is applied to every string dict key and data frame column name (the grader
    passes grader.safe_text's cleaning). At most MAX_NODES values and MAX_HANDLES handles.
    """
    return _decode(tree, buffers, resolve_handle, 0, _Budget(keep_readonly, clean_key))


def decode_request(tree: Any, buffers: list, resolve_handle: Callable[[dict], Any]) -> Any:
    """:func:`decode` as the worker uses it on a request: read-only arrays stay read-only."""
    return _decode(tree, buffers, resolve_handle, 0, _Budget(keep_readonly=True))


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
            if type(k) is str and budget.clean_key is not None:
                k = budget.clean_key(k)
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
        budget.handles += 1
        if budget.handles > MAX_HANDLES:
            raise WireError(f"more than {MAX_HANDLES:,} remote objects in one value")
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
    readonly = keep_readonly and len(body) == 4
    if count == 0:
        arr = np.zeros(shape, dtype=dtype)
    elif readonly:
        # on immutable bytes: code on this side cannot make it writable again
        # (setflags(write=True) raises), so a read-only argument stays read-only
        arr = np.frombuffer(bytes(buf), dtype=dtype).reshape(shape)
    else:
        arr = np.frombuffer(buf, dtype=dtype).reshape(shape)
    if readonly:
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
        cols[budget.clean_key(name) if budget.clean_key is not None else name] = value
    index = body.get("index")
    index = None if index is None else _decode(index, bufs, resolve, depth + 1, budget)
    lengths = {len(v) for v in cols.values()} | ({len(index)} if index is not None else set())
    if len(lengths) > 1:
        raise WireError("data frame columns differ in length")
    return pd.DataFrame(cols, index=index)


# --------------------------------------------------------------------------------------------
# framing over a socket
# --------------------------------------------------------------------------------------------
class Limit:
    """What one exchange (a request and everything read for it) may cost.

    ``max_bytes``: all bytes read under this limit, every frame of the exchange together
    (prefixes, headers, buffers); an announced size is checked against what is left *before*
    it is read. ``deadline``: a :func:`time.monotonic` time after which no send or read
    starts and none blocks (``socket.timeout`` is raised); every blocking call gets only the
    time that is left, so a peer that trickles a byte a second is stopped at the deadline.
    """

    __slots__ = ("bytes_left", "max_bytes", "deadline")

    def __init__(self, max_bytes: int = MAX_BUFFER_BYTES + MAX_HEADER_BYTES + MAX_SIZES_BYTES,
                 deadline: float | None = None):
        self.bytes_left = self.max_bytes = max_bytes
        self.deadline = deadline

    @classmethod
    def within(cls, seconds: float, max_bytes: int) -> "Limit":
        return cls(max_bytes, time.monotonic() + seconds)

    def take(self, n: int) -> None:
        if n > self.bytes_left:
            raise WireError(f"a reply larger than the grader accepts "
                            f"({self.max_bytes / (1 << 20):,.0f} MiB)")
        self.bytes_left -= n

    def arm(self, sock: socket.socket) -> None:
        """Give ``sock`` the time that is left before the deadline (or none if past it)."""
        if self.deadline is None:
            return
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("deadline reached")
        sock.settimeout(left)


def send(sock: socket.socket, header: dict, buffers: list, limit: Limit | None = None) -> None:
    head = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    sizes = [len(b) if not isinstance(b, memoryview) else b.nbytes for b in buffers]
    header_sizes = json.dumps(sizes).encode()
    prefix = _PREFIX.pack(len(head), sum(sizes))
    if limit is not None:
        limit.arm(sock)
    sock.sendall(prefix + struct.pack(">I", len(header_sizes)) + header_sizes + head)
    for b in buffers:
        if len(b):
            if limit is not None:
                limit.arm(sock)
            sock.sendall(b)


def recv(sock: socket.socket, *, max_buffer_bytes: int = MAX_BUFFER_BYTES,
         limit: Limit | None = None) -> tuple[dict, list]:
    """Read one frame; raise EOFError when the peer has gone, WireError when it lies and
    ``socket.timeout`` at ``limit``'s deadline. Without a ``limit`` the frame gets its own."""
    if limit is None:
        limit = Limit()
    limit.take(_PREFIX.size + 4)
    head_len, total = _PREFIX.unpack(_recv_exact(sock, _PREFIX.size, limit))
    (sizes_len,) = struct.unpack(">I", _recv_exact(sock, 4, limit))
    if head_len > MAX_HEADER_BYTES or sizes_len > MAX_SIZES_BYTES or total > max_buffer_bytes:
        raise WireError("frame larger than the protocol allows")
    limit.take(head_len + sizes_len + total)    # the whole frame must fit before it is read
    sizes = parse_json(_recv_exact(sock, sizes_len, limit))
    if type(sizes) is not list or len(sizes) > MAX_BUFFERS \
            or not all(type(s) is int and s >= 0 for s in sizes) or sum(sizes) != total:
        raise WireError("malformed frame")
    header = parse_json(_recv_exact(sock, head_len, limit))
    if type(header) is not dict:
        raise WireError("malformed frame")
    buffers = [_recv_exact(sock, s, limit, mapped=True) if s else b"" for s in sizes]
    return header, buffers


_SCAN_CHUNK = 1 << 18


def scan_json(raw: bytes | bytearray) -> tuple[int, int, int]:
    """(maximum nesting depth, values, objects) of a JSON text, counted on its bytes outside
    strings (escaped quotes understood) in fixed-size chunks: time and memory are linear and
    small whatever the text. Exact for valid JSON; a bound good enough to refuse for the rest."""
    view = np.frombuffer(raw, dtype=np.uint8)
    depth = deepest = objects = 0
    nodes = 1
    in_string = 0            # parity of unescaped quotes seen so far
    run_odd = False          # the backslash run just before this chunk has odd length
    for start in range(0, len(view), _SCAN_CHUNK):
        c = view[start:start + _SCAN_CHUNK]
        idx = np.arange(len(c), dtype=np.int32)
        backslash = c == 0x5C
        last_other = np.maximum.accumulate(np.where(backslash, np.int32(-1), idx))
        odd = ((idx - last_other) & 1).astype(bool) ^ ((last_other == -1) & run_odd)
        escaped = np.empty(len(c), dtype=bool)       # preceded by an odd run of backslashes
        escaped[0] = run_odd
        escaped[1:] = odd[:-1]
        run_odd = bool(odd[-1])
        quote = (c == 0x22) & ~escaped
        parity = (np.cumsum(quote, dtype=np.int32) + in_string) & 1
        in_string = int(parity[-1])
        outside = (parity == 0) & ~quote
        opening = outside & (c == 0x7B)
        objects += int(opening.sum())
        opening |= outside & (c == 0x5B)
        closing = outside & ((c == 0x5D) | (c == 0x7D))
        nodes += int(opening.sum()) + int((outside & (c == 0x2C)).sum())
        levels = np.cumsum(opening.astype(np.int32) - closing.astype(np.int32)) + depth
        deepest = max(deepest, int(levels.max()))
        depth = int(levels[-1])
    return deepest, nodes, objects


def parse_json(raw: bytes | bytearray) -> Any:
    """``json.loads`` for text from a peer, refused (WireError) when it nests deeper than
    MAX_JSON_DEPTH or holds more than MAX_JSON_NODES values (MAX_JSON_OBJECTS objects):
    checked on the raw bytes first, so neither recursion nor memory depends on the peer."""
    deepest, nodes, objects = scan_json(raw)
    if deepest > MAX_JSON_DEPTH:
        raise WireError("frame header nested too deeply")
    if nodes > MAX_JSON_NODES or objects > MAX_JSON_OBJECTS:
        raise WireError("frame header holds too many values")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise WireError(f"unreadable frame header ({type(exc).__name__})") from None


def _recv_exact(sock: socket.socket, n: int, limit: Limit,
                mapped: bool = False) -> bytearray | mmap.mmap:
    """Exactly ``n`` bytes (already checked against ``limit``), read in chunks so that memory
    grows with what arrives, not with what was announced. ``mapped``: a large array buffer
    goes into an anonymous mapping, which is address space until bytes are written into it
    (no copy on growth, and it is returned to the system as soon as the array is freed)."""
    if mapped and n > READ_CHUNK:
        buf = mmap.mmap(-1, n)
        view = memoryview(buf)
        got = 0
        try:
            while got < n:
                limit.arm(sock)
                k = sock.recv_into(view[got:got + READ_CHUNK])
                if k == 0:
                    raise EOFError("peer closed the connection")
                got += k
        finally:
            view.release()
        return buf
    data = bytearray()
    while len(data) < n:
        limit.arm(sock)
        chunk = sock.recv(min(n - len(data), READ_CHUNK))
        if not chunk:
            raise EOFError("peer closed the connection")
        data += chunk
    return data
