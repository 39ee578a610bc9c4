"""The allow-list codec and the framing between grader and worker (grader/wire.py).

The worker is untrusted: everything it sends is decoded here. These tests check that every
allowed value survives the trip exactly, that the trusted side refuses to *send* anything
outside the allow-list, and that forged frames are refused with WireError (never an object,
never pickle, never a crash of another kind).
"""
from __future__ import annotations

import json
import math
import pickle
import socket
import struct
import sys
import threading

import numpy as np
import pandas as pd
import pytest

from grader import wire
from grader.wire import WireError


def _no_handles(node):
    raise AssertionError(f"unexpected handle node {node!r}")


def roundtrip(value, resolve=_no_handles):
    """Encode as the sender does, pass the header through JSON, decode as the receiver."""
    buffers: list = []
    tree = wire.encode(value, buffers)
    tree = json.loads(json.dumps(tree, allow_nan=False))
    return wire.decode(tree, [bytearray(b) for b in buffers], resolve)   # as recv gives


def decode_forged(tree, buffers=()):
    return wire.decode(tree, list(buffers), _no_handles)


# --------------------------------------------------------------------------------------------
# values that must come back exactly
# --------------------------------------------------------------------------------------------
SCALARS = [None, True, False, 0, -1, 7, 2**53 + 1, 2**63 - 1, -(2**63), 2**63, -(2**64),
           10**300, 0.0, -0.0, 1.5, 1e-308, 1.7976931348623157e308, "", "héllo ✓",
           "quote\" and \\ backslash\n"]


@pytest.mark.parametrize("value", SCALARS, ids=repr)
def test_scalars_roundtrip_with_type(value):
    got = roundtrip(value)
    assert got == value and type(got) is type(value)
    if isinstance(value, float):
        assert math.copysign(1.0, got) == math.copysign(1.0, value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")], ids=repr)
def test_non_finite_floats_roundtrip(value):
    got = roundtrip(value)
    assert type(got) is float
    assert (math.isnan(got) and math.isnan(value)) or got == value


def test_nested_containers_keep_their_kind():
    value = {"list": [1, [2, (3, "x")]], 7: (None, {"deep": [True, 2.5]}), 2.5: "float key",
             None: "none key", True: "bool key", "empty": ([], (), {})}
    got = roundtrip(value)
    assert got == value
    assert type(got["list"][1][1]) is tuple
    assert type(got[7]) is tuple and type(got[7][1]) is dict
    assert list(got) == list(value)                   # insertion order survives
    assert type(got["empty"][0]) is list and type(got["empty"][1]) is tuple


def test_numpy_scalars_arrive_as_python_numbers():
    got = roundtrip([np.float64(1.25), np.int32(-4), np.bool_(True), np.uint64(2**64 - 1)])
    assert got == [1.25, -4, True, 2**64 - 1]
    assert [type(x) for x in got] == [float, int, bool, int]


ALLOWED_DTYPES = ["?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8",
                  np.longdouble]


@pytest.mark.parametrize("dtype", ALLOWED_DTYPES, ids=str)
def test_arrays_of_every_allowed_dtype_roundtrip(dtype):
    arr = (np.arange(24) % 5).astype(dtype).reshape(2, 3, 4)
    got = roundtrip(arr)
    assert isinstance(got, np.ndarray)
    assert got.dtype == arr.dtype and got.shape == arr.shape
    np.testing.assert_array_equal(got, arr)


@pytest.mark.parametrize("dtype", ["<i4", ">i4", ">f8", "<f8", ">u2"])
def test_byte_order_is_preserved(dtype):
    arr = np.array([1.0, -2.0, 3.0]).astype(dtype) if "u" not in dtype \
        else np.array([1, 2, 65535]).astype(dtype)
    got = roundtrip(arr)
    assert got.dtype.str == np.dtype(dtype).str
    np.testing.assert_array_equal(got, arr)


@pytest.mark.parametrize("shape", [(0,), (0, 3), (3, 0, 2)])
def test_empty_arrays_roundtrip(shape):
    got = roundtrip(np.zeros(shape, dtype=np.float32))
    assert got.shape == shape and got.dtype == np.float32


def test_non_contiguous_and_fortran_arrays_roundtrip():
    base = np.arange(60, dtype=np.float64).reshape(6, 10)
    for arr in (base[::2, ::3], base.T, np.asfortranarray(base), base[:, 4]):
        got = roundtrip(arr)
        assert got.shape == arr.shape
        np.testing.assert_array_equal(got, arr)


@pytest.mark.parametrize("value", [np.array(3.5), np.array(True), np.array(-7, dtype="i2")],
                         ids=["f8", "bool", "i2"])
def test_zero_dimensional_arrays_keep_their_shape(value):
    got = roundtrip(value)
    assert isinstance(got, np.ndarray)
    assert got.shape == () and got.dtype == value.dtype and got == value


def test_dataframe_roundtrip_numeric_and_text_columns_with_int_index():
    df = pd.DataFrame({"Age": np.array([41, 49, 37], dtype=np.int64),
                       "Rate": [1102.5, 279.0, float("nan")],
                       "Attrition": ["Yes", "No", "Yes"],
                       "Dept": ["Sales", None, "R&D"],
                       "Flag": np.array([True, False, True])},
                      index=[10, 3, 250])
    got = roundtrip(df)
    assert isinstance(got, pd.DataFrame)
    assert list(got.columns) == list(df.columns)
    assert list(got.index) == [10, 3, 250]
    for col in ("Age", "Rate", "Flag"):
        assert got[col].dtype == df[col].dtype
        np.testing.assert_array_equal(got[col].to_numpy(), df[col].to_numpy())
    assert got["Attrition"].tolist() == ["Yes", "No", "Yes"]
    assert got["Dept"].iloc[0] == "Sales" and got["Dept"].iloc[2] == "R&D"
    assert pd.isna(got["Dept"].iloc[1])


def test_series_travels_as_its_values():
    assert roundtrip(pd.Series(["a", "b"])) == ["a", "b"]
    np.testing.assert_array_equal(roundtrip(pd.Series([1.5, 2.5])), [1.5, 2.5])


def test_handles_are_resolved_by_the_receiver():
    seen = []
    got = roundtrip([wire.Handle(5), {"k": wire.Handle(9)}],
                    resolve=lambda node: seen.append(node["$h"]) or f"obj{node['$h']}")
    assert got == ["obj5", {"k": "obj9"}] and seen == [5, 9]


def test_worker_side_keeps_disallowed_objects_as_handles():
    kept = {}

    def keep(obj):
        kept[len(kept) + 1] = obj
        return wire.Handle(len(kept), type(obj).__qualname__, callable(obj))

    buffers: list = []
    obj = object()
    tree = wire.encode({"model": obj, "fn": len}, buffers, keep)
    assert kept == {1: obj, 2: len}
    tree = json.loads(json.dumps(tree))
    got = wire.decode(tree, buffers, lambda n: (n["$h"], n.get("type"), n.get("callable")))
    assert got == {"model": (1, "object", False), "fn": (2, "builtin_function_or_method", True)}


# --------------------------------------------------------------------------------------------
# the trusted side refuses to send anything outside the allow-list
# --------------------------------------------------------------------------------------------
class Opaque:
    pass


@pytest.mark.parametrize("value", [
    np.array([object(), 1], dtype=object),
    np.array(["a", "b"]),                                   # unicode strings
    np.array([b"a"]),                                       # bytes
    np.array([1 + 2j]),                                     # complex
    np.zeros(2, dtype=[("a", "i4"), ("b", "f8")]),          # structured
    np.array(["2024-01-01"], dtype="datetime64[D]"),
    Opaque(), object(), b"bytes", bytearray(b"x"), {1, 2}, frozenset(), 1 + 2j,
    len, lambda: 0, {(1, 2): "tuple key"}, [1, [Opaque()]], {"k": Opaque()},
    np.float64(1).__class__,                                # a type
], ids=lambda v: type(v).__name__)
def test_trusted_side_cannot_send_disallowed_values(value):
    with pytest.raises(TypeError):
        wire.encode(value, [])


def test_encode_refuses_runaway_nesting():
    value: list = []
    for _ in range(wire.MAX_DEPTH + 5):
        value = [value]
    with pytest.raises(TypeError):
        wire.encode(value, [])


# --------------------------------------------------------------------------------------------
# forged frames: everything refused with WireError
# --------------------------------------------------------------------------------------------
def deep(levels: int):
    tree: object = 1
    for _ in range(levels):
        tree = [tree]
    return tree


FORGED = {
    "unknown tag": ({"$pickle": "gASVAAAA"}, []),
    "unknown tag after a valid-looking one": ({"$x": 1, "$t": []}, []),
    "empty dict node": ({}, []),
    "object dtype": ({"$a": ["|O", [1], 0]}, [b"\0" * 8]),
    "object dtype big-endian": ({"$a": [">O", [1], 0]}, [b"\0" * 8]),
    "structured dtype": ({"$a": ["i4,f8", [1], 0]}, [b"\0" * 12]),
    "void dtype": ({"$a": ["V8", [1], 0]}, [b"\0" * 8]),
    "unicode dtype": ({"$a": ["<U2", [1], 0]}, [b"\0" * 8]),
    "bytes dtype": ({"$a": ["S8", [1], 0]}, [b"\0" * 8]),
    "datetime dtype": ({"$a": ["M8", [1], 0]}, [b"\0" * 8]),
    "complex dtype": ({"$a": ["c16", [1], 0]}, [b"\0" * 16]),
    "unknown dtype": ({"$a": ["zz", [1], 0]}, [b"\0" * 8]),
    "dtype not a string": ({"$a": [8, [1], 0]}, [b"\0" * 8]),
    "long dtype string": ({"$a": ["<f8" + " " * 20, [1], 0]}, [b"\0" * 8]),
    "shape does not match buffer": ({"$a": ["<f8", [3], 0]}, [b"\0" * 16]),
    "negative dims": ({"$a": ["<f8", [-1, -2], 0]}, [b"\0" * 16]),
    "float dim": ({"$a": ["<f8", [2.0], 0]}, [b"\0" * 16]),
    "bool dim": ({"$a": ["<f8", [True], 0]}, [b"\0" * 8]),
    "too many dims": ({"$a": ["<f8", [1] * 40, 0]}, [b"\0" * 8]),
    "shape not a list": ({"$a": ["<f8", 2, 0]}, [b"\0" * 16]),
    "buffer index out of range": ({"$a": ["<f8", [1], 3]}, [b"\0" * 8]),
    "negative buffer index": ({"$a": ["<f8", [1], -1]}, [b"\0" * 8]),
    "array body too short": ({"$a": ["<f8", [1]]}, [b"\0" * 8]),
    "deep nesting": (deep(wire.MAX_DEPTH + 10), []),
    "deep tuple nesting": (json.loads('{"$t":[' * 80 + "1" + "]}" * 80), []),
    "dict key list": ({"$d": [[[1, 2], 3]]}, []),
    "dict key tuple": ({"$d": [[{"$t": [1]}, 3]]}, []),
    "dict key array": ({"$d": [[{"$a": ["<f8", [1], 0]}, 3]]}, [b"\0" * 8]),
    "dict entry not a pair": ({"$d": [[1, 2, 3]]}, []),
    "dict body not a list": ({"$d": {"a": 1}}, []),
    "tuple body not a list": ({"$t": "abc"}, []),
    "bad float tag": ({"$f": "1e400"}, []),
    "float tag code": ({"$f": "__import__('os')"}, []),
    "big int not a number": ({"$big": "12x"}, []),
    "big int too long": ({"$big": "9" * 5000}, []),
    "big int not a string": ({"$big": 5}, []),
    "handle id not an int": ({"$h": "1"}, []),
    "frame text column with non-str": (
        {"$df": {"columns": ["a"], "index": None, "data": [[1, 2]]}}, []),
    "frame text column with nested list": (
        {"$df": {"columns": ["a"], "index": None, "data": [[["x"]]]}}, []),
    "frame column 2-d": (
        {"$df": {"columns": ["a"], "index": None, "data": [{"$a": ["<f8", [1, 1], 0]}]}},
        [b"\0" * 8]),
    "frame column lengths differ": (
        {"$df": {"columns": ["a", "b"], "index": None, "data": [["x"], ["y", "z"]]}}, []),
    "frame index length differs": (
        {"$df": {"columns": ["a"], "index": [1, 2, 3], "data": [["x"]]}}, []),
    "frame column names not str": (
        {"$df": {"columns": [1], "index": None, "data": [["x"]]}}, []),
    "frame columns and data differ": (
        {"$df": {"columns": ["a", "b"], "index": None, "data": [["x"]]}}, []),
    "frame column a number": ({"$df": {"columns": ["a"], "index": None, "data": [5]}}, []),
}


@pytest.mark.parametrize("tree,buffers", FORGED.values(), ids=FORGED.keys())
def test_forged_values_are_refused(tree, buffers):
    with pytest.raises(WireError):
        decode_forged(tree, buffers)


def test_node_budget_stops_huge_trees():
    with pytest.raises(WireError):
        decode_forged([0] * (wire.MAX_NODES + 1))


@pytest.fixture
def pickle_forbidden(monkeypatch):
    """Make every unpickling path fail loudly, and watch the audit event for class lookups."""
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError("pickle was used while decoding")

    for name in ("loads", "load", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    watching = [True]

    def audit(event, args):
        if watching[0] and event == "pickle.find_class":
            calls.append(args)

    sys.addaudithook(audit)   # cannot be removed; switched off below
    yield calls
    watching[0] = False


def test_decode_never_unpickles(pickle_forbidden):
    values = [*SCALARS, {"a": (1, [2.0])}, np.arange(6).reshape(2, 3), np.zeros(0),
              pd.DataFrame({"x": [1.0, 2.0], "s": ["a", "b"]}, index=[5, 9])]
    for value in values:
        roundtrip(value)
    for tree, buffers in FORGED.values():
        with pytest.raises(WireError):
            decode_forged(tree, buffers)
    # a real pickle smuggled into a buffer stays inert bytes, or is refused with its dtype
    payload = pickle.dumps(Opaque())
    inert = decode_forged({"$a": ["u1", [len(payload)], 0]}, [payload])
    assert inert.dtype == np.uint8 and inert.tobytes() == payload
    with pytest.raises(WireError):
        decode_forged({"$a": ["|O", [1], 0]}, [payload[:8]])
    assert pickle_forbidden == []


# --------------------------------------------------------------------------------------------
# framing over a socket
# --------------------------------------------------------------------------------------------
@pytest.fixture
def pair():
    a, b = socket.socketpair()
    a.settimeout(10)
    b.settimeout(10)
    yield a, b
    a.close()
    b.close()


def send_in_thread(sock, header, buffers):
    """Large frames exceed the socket buffer: the sender must run beside the receiver."""
    errors = []

    def run():
        try:
            wire.send(sock, header, buffers)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


def test_send_recv_roundtrip_over_a_socket(pair):
    a, b = pair
    value = {"arr": np.arange(300_000, dtype=np.float64)[::3],       # 800 KB, non-contiguous
             "big": 2**70, "nan": float("nan"), "t": (1, "x"), "empty": np.zeros((0, 2))}
    buffers: list = []
    header = {"ok": True, "value": wire.encode(value, buffers)}
    thread, errors = send_in_thread(a, header, buffers)
    got_header, got_buffers = wire.recv(b)
    thread.join(10)
    assert errors == []
    got = wire.decode(got_header["value"], got_buffers, _no_handles)
    np.testing.assert_array_equal(got["arr"], value["arr"])
    assert got["big"] == 2**70 and math.isnan(got["nan"]) and got["t"] == (1, "x")
    assert got["empty"].shape == (0, 2)
    got["arr"][0] = -1.0              # decoded arrays are the grader's own, writable copies
    assert got["arr"][0] == -1.0 and value["arr"][0] == 0.0


def test_several_frames_in_a_row_stay_separate(pair):
    a, b = pair
    for i in range(3):
        buffers: list = []
        wire.send(a, {"i": i, "v": wire.encode(np.full(3, i), buffers)}, buffers)
    for i in range(3):
        header, buffers = wire.recv(b)
        assert header["i"] == i
        np.testing.assert_array_equal(wire.decode(header["v"], buffers, _no_handles), [i] * 3)


def _frame_bytes(header: dict, buffers: list[bytes]) -> bytes:
    head = json.dumps(header).encode()
    sizes = json.dumps([len(x) for x in buffers]).encode()
    return (struct.pack(">IQ", len(head), sum(len(x) for x in buffers))
            + struct.pack(">I", len(sizes)) + sizes + head + b"".join(buffers))


@pytest.mark.parametrize("cut", [0, 3, 12, 16, 20, -5])
def test_peer_closing_mid_frame_is_eof(pair, cut):
    a, b = pair
    frame = _frame_bytes({"ok": True, "value": {"$a": ["<f8", [2], 0]}}, [b"\1" * 16])
    a.sendall(frame[:cut] if cut else b"")
    a.shutdown(socket.SHUT_WR)
    with pytest.raises(EOFError):
        wire.recv(b)


def _raw(prefix_head: int, total: int, sizes_len: int, rest: bytes = b"") -> bytes:
    return struct.pack(">IQ", prefix_head, total) + struct.pack(">I", sizes_len) + rest


@pytest.mark.parametrize("raw", [
    _raw(wire.MAX_HEADER_BYTES + 1, 0, 2, b"[]"),                    # huge header length
    _raw(2, 0, wire.MAX_HEADER_BYTES + 1),                           # huge sizes length
    _raw(2, wire.MAX_BUFFER_BYTES + 1, 2, b"[]{}"),                  # huge buffer total
    _raw(2, 0, 5, b'"abc"{}'),                                       # sizes not a list
    _raw(2, 0, 4, b"[-1]{}"),                                        # negative size
    _raw(2, 0, 5, b"[1.5]{}"),                                       # float size
    _raw(2, 4, 3, b"[2]{}\0\0"),                                     # sizes do not sum to total
    _raw(2, 0, 2, b"[][]"),                                          # header not an object
    _raw(2, 0, 2, b"[]{x"),                                          # header not JSON
    _raw(2, 0, 2, b"\xff\xfe{}"),                                    # sizes not UTF-8/JSON
], ids=["huge header", "huge sizes", "huge total", "sizes not list", "negative size",
        "float size", "sizes vs total", "header not object", "bad json", "bad bytes"])
def test_lying_frames_are_wire_errors(pair, raw):
    a, b = pair
    a.sendall(raw)
    a.shutdown(socket.SHUT_WR)
    with pytest.raises(WireError):
        wire.recv(b)


def test_deeply_nested_json_header_is_a_wire_error(pair):
    a, b = pair
    head = b"[" * 200_000 + b"]" * 200_000
    thread = threading.Thread(target=a.sendall, args=(_raw(len(head), 0, 2, b"[]") + head,),
                              daemon=True)
    thread.start()
    with pytest.raises(WireError):
        wire.recv(b)
    thread.join(10)


def test_recv_honours_a_smaller_buffer_limit(pair):
    a, b = pair
    wire.send(a, {"x": 1}, [b"\0" * 1000])
    with pytest.raises(WireError):
        wire.recv(b, max_buffer_bytes=999)


def test_send_refuses_nan_in_a_header(pair):
    a, _ = pair
    with pytest.raises(ValueError):
        wire.send(a, {"x": float("nan")}, [])
