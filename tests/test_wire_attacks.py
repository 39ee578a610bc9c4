"""A worker that lies about sizes, counts and pace cannot make the grader wait or swell.

Each test puts a fake worker -- a thread on the other end of a socketpair that answers the
grader's request with hostile frames -- behind a real StudentModule, and measures the grader
process's peak memory (VmHWM, reset through /proc/self/clear_refs) and the call's wall time:
the call must fail with ProtocolViolation / CallTimeout / BudgetExhausted, no later than its
deadline, and the peak must stay under the documented ceiling (docs/SECURITY.md):
``max_reply_bytes`` of data plus PARSE_CEILING for parsing a header. The attacker thread's own
buffers count against the grader here, so the figures are upper bounds.
"""
from __future__ import annotations

import json
import os
import re
import socket
import struct
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from grader import proxy, wire
from grader.proxy import (BudgetExhausted, CallTimeout, ProtocolViolation, StudentError,
                          StudentModule, WorkerProcess)
from grader.sandbox import Limits, detect_mode
from helpers_core import write_source

MIB = 1 << 20
CALL_TIMEOUT = 2.0
DEADLINE_SLACK = 1.0        # a call ends at most this long after its deadline
REPLY_CAP = 64 * MIB        # max_reply_bytes for these tests (the default is 512 MiB)
PARSE_CEILING = 160 * MIB   # what parsing one header may add, whatever it holds

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(field: str) -> int:
    return int(re.search(rf"^{field}:\s+(\d+) kB", STATUS.read_text(), re.M).group(1))


def _can_reset_peak() -> bool:
    try:
        CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not STATUS.exists() or not _can_reset_peak(),
                                reason="needs Linux /proc/self/clear_refs to measure peak RSS")


# --------------------------------------------------------------------------------------------
# the fake worker
# --------------------------------------------------------------------------------------------
class _NoOutput:
    def text(self) -> str:
        return ""

    def join(self, timeout=None) -> None:
        pass


class FakeWorker(WorkerProcess):
    """A 'worker' that is a thread running ``attack(sock, request_header)`` per request."""

    def __init__(self, attack, reads: bool = True):
        self.sock, self.peer = socket.socketpair()
        self.output = _NoOutput()
        self.killed = threading.Event()
        self.attack, self.reads = attack, reads
        self.sent = 0
        self.peak_memory = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        if not self.reads:          # never reads a request: the grader's send must time out
            self.killed.wait(60)
            return
        try:
            while not self.killed.is_set():
                header, _ = wire.recv(self.peer)
                self.attack(self, header)
        except (OSError, EOFError, wire.WireError):
            pass

    def send_raw(self, data: bytes | bytearray | memoryview) -> None:
        self.peer.sendall(data)
        self.sent += len(data)

    @property
    def alive(self) -> bool:
        return not self.killed.is_set()

    def kill(self) -> None:
        self.killed.set()
        try:
            self.peer.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def wait_exit(self, timeout: float = 5.0) -> int | None:
        self.kill()
        return -9

    def describe_exit(self) -> str:
        return "it was killed"

    def close(self) -> None:
        self.kill()
        self.thread.join(10)
        self.sock.close()
        self.peer.close()


def frame(header: dict, sizes: list[int] | None = None, total: int | None = None,
          head: bytes | None = None) -> bytes:
    """The bytes before a frame's buffers, announcing whatever the attack claims."""
    head = json.dumps(header).encode() if head is None else head
    sizes = sizes or []
    sizes_text = json.dumps(sizes).encode()
    total = sum(sizes) if total is None else total
    return struct.pack(">IQ", len(head), total) + struct.pack(">I", len(sizes_text)) \
        + sizes_text + head


@pytest.fixture
def fake(tmp_path):
    """A StudentModule whose worker is ``attack``; closes it afterwards."""
    made = []

    def make(attack, *, call_timeout=CALL_TIMEOUT, budget=60.0,
             reads=True) -> tuple[StudentModule, FakeWorker]:
        path = write_source(tmp_path, "fake.py", "x = 1\n")
        module = StudentModule("fake", path, tmp_path, detect_mode("reduced"), Limits(),
                               call_timeout=call_timeout, budget=budget)
        worker = FakeWorker(attack, reads)
        module._worker, module._generation = worker, 1
        module.MAX_RESTARTS = 0          # nothing real is ever started
        module.max_reply_bytes = REPLY_CAP
        made.append(module)
        return module, worker

    yield make
    for module in made:
        module.close()


class Measured:
    elapsed = 0.0
    peak = 0
    retained = 0
    error: BaseException | None = None


def measure(module: StudentModule, request=("getattr", ["f"])) -> Measured:
    """Run one request; its wall time, the growth of peak RSS and what it raised."""
    out = Measured()
    base = _status_kib("VmRSS")
    CLEAR_REFS.write_text("5")
    t0 = time.monotonic()
    try:
        module._request(request[0], None, list(request[1]), label="f")
    except (ProtocolViolation, CallTimeout, BudgetExhausted, StudentError) as exc:
        out.error = exc
    out.elapsed = time.monotonic() - t0
    out.peak = (_status_kib("VmHWM") - base) * 1024
    out.retained = (_status_kib("VmRSS") - base) * 1024
    FIGURES.append((_current_test(), out))
    return out


FIGURES: list = []


def _current_test() -> str:
    return os.environ.get("PYTEST_CURRENT_TEST", "?").split("::")[-1].split(" ")[0]


# --------------------------------------------------------------------------------------------
# sizes and counts are limits, not allocations
# --------------------------------------------------------------------------------------------
def test_a_huge_announced_frame_is_refused_before_anything_is_read(fake):
    def attack(w, req):
        w.send_raw(frame({"ok": True, "re": req["seq"]}, total=wire.MAX_BUFFER_BYTES * 4))
    module, _ = fake(attack)
    got = measure(module)
    assert isinstance(got.error, ProtocolViolation) and "larger than" in str(got.error)
    assert got.elapsed < 1 and got.peak < 16 * MIB


def test_an_announced_size_under_the_cap_costs_only_the_bytes_that_arrive(fake):
    """60 MiB announced, 20 MiB sent, then silence: memory follows the 20 MiB, not the 60;
    the call stops at its deadline and nothing it read outlives it (even while the test
    still holds the exception)."""
    chunk = b"\0" * MIB

    def attack(w, req):
        w.send_raw(frame({"ok": True, "re": req["seq"], "value": {"$a": ["|u1", [60 * MIB], 0]}},
                         sizes=[60 * MIB]))
        for _ in range(20):
            w.send_raw(chunk)
        w.killed.wait(30)
    module, _ = fake(attack)
    got = measure(module)
    assert isinstance(got.error, CallTimeout)
    assert CALL_TIMEOUT - 0.1 <= got.elapsed <= CALL_TIMEOUT + DEADLINE_SLACK
    assert 16 * MIB < got.peak < 40 * MIB, f"peak grew by {got.peak / MIB:.1f} MiB"
    assert got.retained < 8 * MIB, f"{got.retained / MIB:.1f} MiB still held after the call"


def test_more_real_bytes_than_the_reply_cap_are_refused(fake):
    """Many buffers that together exceed the cap: refused before they are read."""
    def attack(w, req):
        sizes = [MIB] * (REPLY_CAP // MIB + 1)
        w.send_raw(frame({"ok": True, "re": req["seq"], "value": None}, sizes=sizes))
        chunk = b"\1" * MIB
        for _ in sizes:
            w.send_raw(chunk)
    module, _ = fake(attack)
    got = measure(module)
    assert isinstance(got.error, ProtocolViolation) and "larger than the grader accepts" \
        in str(got.error)
    assert got.peak < 16 * MIB


def test_a_reply_just_under_the_cap_is_accepted_and_costs_its_size(fake):
    n = REPLY_CAP - 2 * MIB

    def attack(w, req):
        w.send_raw(frame({"ok": True, "re": req["seq"], "value": {"$a": ["|u1", [n], 0]}},
                         sizes=[n]))
        view = memoryview(b"\7" * MIB)
        left = n
        while left:
            w.send_raw(view[:min(left, MIB)])
            left -= min(left, MIB)
    module, _ = fake(attack)
    out = Measured()
    base = _status_kib("VmRSS")
    CLEAR_REFS.write_text("5")
    value = module._request("getattr", None, ["f"], label="f")
    out.peak = (_status_kib("VmHWM") - base) * 1024
    assert isinstance(value, np.ndarray) and value.nbytes == n and value[-1] == 7
    del value
    FIGURES.append((_current_test(), out))
    assert out.peak < REPLY_CAP + 16 * MIB, f"peak grew by {out.peak / MIB:.1f} MiB"


# --------------------------------------------------------------------------------------------
# headers: bytes, depth, nodes, handles
# --------------------------------------------------------------------------------------------
def _send_header(w, head: bytes) -> None:
    w.send_raw(struct.pack(">IQ", len(head), 0) + struct.pack(">I", 2) + b"[]")
    view = memoryview(head)
    for start in range(0, len(head), MIB):
        w.send_raw(view[start:start + MIB])


def test_sixty_megabytes_of_nesting_is_refused_by_its_announced_size(fake):
    def attack(w, req):
        w.send_raw(struct.pack(">IQ", 60 * MIB, 0) + struct.pack(">I", 2) + b"[]")
        chunk = b"[" * MIB
        for _ in range(60):
            w.send_raw(chunk)
    module, _ = fake(attack)
    got = measure(module)
    assert isinstance(got.error, ProtocolViolation)
    assert got.elapsed < 1 and got.peak < 16 * MIB


@pytest.mark.parametrize("head", [
    pytest.param(lambda: b"[" * wire.MAX_HEADER_BYTES, id="header-cap of ["),
    pytest.param(lambda: b'{"x":' * (wire.MAX_HEADER_BYTES // 5), id="header-cap of {"),
    pytest.param(lambda: b"[" + b"0," * (wire.MAX_HEADER_BYTES // 2 - 2) + b"0]",
                 id="4M numbers"),
    pytest.param(lambda: b"[" + b'"abcdefgh",' * (wire.MAX_HEADER_BYTES // 11 - 1) + b'""]',
                 id="760k strings"),
    pytest.param(lambda: b"[" + b"{}," * (wire.MAX_HEADER_BYTES // 3 - 1) + b"{}]",
                 id="2.8M objects"),
])
def test_headers_at_the_size_cap_are_refused_before_parsing(fake, head):
    data = head()
    assert len(data) <= wire.MAX_HEADER_BYTES

    def attack(w, req):
        _send_header(w, data)
    module, _ = fake(attack)
    got = measure(module)
    assert isinstance(got.error, ProtocolViolation), got.error
    assert got.peak < PARSE_CEILING, f"peak grew by {got.peak / MIB:.1f} MiB"


def _reply_with(value_text: bytes, seq: int) -> bytes:
    return b'{"ok":true,"re":' + str(seq).encode() + b',"value":' + value_text + b"}"


@pytest.mark.parametrize("count, error", [
    (1_000_000, "larger than"),               # 9 MB of handles: over the header cap
    (190_000, "remote objects"),              # under the JSON caps: the handle cap stops it
])
def test_a_flood_of_handles_is_refused(fake, count, error):
    head = _reply_with(b"[" + b",".join(b'{"$h":%d}' % i for i in range(count)) + b"]", 1)

    def attack(w, req):
        assert req["seq"] == 1
        w.send_raw(struct.pack(">IQ", len(head), 0) + struct.pack(">I", 2) + b"[]")
        w.send_raw(head)
    module, _ = fake(attack)
    got = measure(module)
    assert isinstance(got.error, ProtocolViolation) and error in str(got.error), got.error
    assert got.peak < PARSE_CEILING, f"peak grew by {got.peak / MIB:.1f} MiB"


def test_the_largest_parseable_header_stays_under_the_ceiling(fake):
    """Just under every JSON cap (nodes, objects, bytes): parsed and decoded, and the
    memory that costs is the documented parse ceiling."""
    n_objects = wire.MAX_JSON_OBJECTS - 10
    per = b'{"$t":["abcdefghij",1.5]}'
    strings = (wire.MAX_JSON_NODES - 4 * n_objects - 20)
    body = b"[" + b",".join([per] * n_objects) + b"," + b",".join([b'"s"'] * strings) + b"]"
    assert len(body) < wire.MAX_HEADER_BYTES - 100
    reply = _reply_with(body, 1)
    head = struct.pack(">IQ", len(reply), 0) + struct.pack(">I", 2) + b"[]" + reply
    del body, reply

    def attack(w, req):
        assert req["seq"] == 1
        w.send_raw(head)
    module, _ = fake(attack)
    out = Measured()
    base = _status_kib("VmRSS")
    CLEAR_REFS.write_text("5")
    t0 = time.monotonic()
    value = module._request("getattr", None, ["f"], label="f")
    out.elapsed = time.monotonic() - t0
    out.peak = (_status_kib("VmHWM") - base) * 1024
    assert len(value) == n_objects + strings and value[0] == ("abcdefghij", 1.5)
    del value
    FIGURES.append((_current_test(), out))
    assert out.peak < PARSE_CEILING, f"peak grew by {out.peak / MIB:.1f} MiB"


# --------------------------------------------------------------------------------------------
# pace: one deadline per call, the budget during calls
# --------------------------------------------------------------------------------------------
def _trickle(w, req):
    data = frame({"ok": True, "re": req["seq"], "value": "x" * 1000})
    for i in range(len(data)):
        if w.killed.wait(0.2):        # a byte every 0.2 s: every single read is quick
            return
        w.send_raw(data[i:i + 1])


def test_a_trickling_worker_is_stopped_at_the_call_deadline(fake):
    module, worker = fake(_trickle)
    got = measure(module)
    assert isinstance(got.error, CallTimeout), got.error
    assert CALL_TIMEOUT - 0.1 <= got.elapsed <= CALL_TIMEOUT + DEADLINE_SLACK
    assert worker.killed.is_set() and worker.sent > 3


def test_the_exercise_budget_stops_a_call_in_progress(fake):
    module, _ = fake(_trickle, call_timeout=30.0, budget=1.5)
    got = measure(module)
    assert isinstance(got.error, BudgetExhausted), got.error
    assert got.elapsed <= 1.5 + DEADLINE_SLACK


def test_endless_small_frames_end_the_call_at_once_and_never_answer_the_next(fake):
    def attack(w, req):
        small = frame({"ok": True, "re": req["seq"], "value": 1})
        while not w.killed.is_set():
            w.send_raw(small)
    module, worker = fake(attack)
    got = measure(module)          # the first frame is the answer; the rest is never read
    assert got.error is None and got.elapsed < 1
    got = measure(module)          # a stale frame is not an answer to this request
    assert isinstance(got.error, ProtocolViolation) and "does not answer" in str(got.error)
    assert got.peak < 16 * MIB and worker.killed.is_set()


def test_a_worker_that_never_reads_cannot_block_the_send(fake):
    """The request itself (64 MiB of arguments) must be sent before the deadline too."""
    module, worker = fake(None, reads=False)
    big = np.zeros(8 * MIB)        # 64 MiB: far beyond any socket buffer
    got = measure(module, ("getattr", [big]))
    assert isinstance(got.error, CallTimeout), got.error
    assert CALL_TIMEOUT - 0.1 <= got.elapsed <= CALL_TIMEOUT + DEADLINE_SLACK


def test_an_object_whose_asarray_is_another_object_is_a_type_error_not_a_recursion(fake):
    def attack(w, req):
        wire.send(w.peer, {"ok": True, "re": req["seq"],
                           "value": {"$h": req["seq"], "type": "x.Lying", "callable": False}}, [])
    module, _ = fake(attack)
    lying = module._request("getattr", None, ["f"], label="f")
    with pytest.raises(TypeError, match="did not give numbers"):
        np.asarray(lying)


# --------------------------------------------------------------------------------------------
# text from the worker is cleaned where it enters the proxy
# --------------------------------------------------------------------------------------------
def test_worker_text_is_cleaned_where_it_enters(fake):
    dirty = "red\x1b[31m\u202eevil\x00\r\nline"

    def attack(w, req):
        if req["op"] == "getattr" and req["args"] == ["error"]:
            reply = {"ok": False, "re": req["seq"], "error": {
                "type": dirty, "builtin": "ValueError", "message": dirty, "traceback": dirty}}
        else:
            reply = {"ok": True, "re": req["seq"], "value": {"$d": [[dirty, 1]]},
                     "observed": None}
        buffers: list = []
        wire.send(w.peer, reply, buffers)
    module, _ = fake(attack)
    value = module._request("getattr", None, ["value"], label="value")
    (key,) = value
    with pytest.raises(ValueError) as info:
        module._request("getattr", None, ["error"], label="error")
    for text in (key, str(info.value), info.value.type_name, info.value.student_traceback):
        assert "\x1b" not in text and "\u202e" not in text and "\x00" not in text \
            and "\r" not in text, repr(text)
        assert "evil" in text


# --------------------------------------------------------------------------------------------
# the pieces, directly
# --------------------------------------------------------------------------------------------
def _walk_json(text: str) -> tuple[int, int, int]:
    """scan_json's answer, the slow obvious way (a character at a time)."""
    depth = deepest = objects = 0
    nodes, in_string, escaped = 1, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            nodes += 1
            objects += ch == "{"
        elif ch in "]}":
            depth -= 1
        elif ch == ",":
            nodes += 1
    return deepest, nodes, objects


def test_scan_json_counts_outside_strings_across_chunk_borders(monkeypatch):
    import random

    rng = random.Random(7)
    tricky = ['q"\\"[{,', "\\\\", "]]]}}", '\\"', "\\" * 3 + '"', "[[", ""]

    def value(depth=0):
        r = rng.random()
        if depth > 6 or r < 0.3:
            return rng.choice([1, 2.5, None, True, *tricky])
        if r < 0.65:
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        return {rng.choice(tricky) + str(i): value(depth + 1) for i in range(rng.randint(0, 3))}

    monkeypatch.setattr(wire, "_SCAN_CHUNK", 7)     # carries across many chunk borders
    for _ in range(1500):
        text = json.dumps(value())
        assert wire.scan_json(text.encode()) == _walk_json(text), text


def test_closing_brackets_inside_a_string_do_not_hide_deep_nesting():
    text = b'["' + b"]" * 5000 + b'",' + b"[" * 400 + b"]" * 400 + b"]"
    with pytest.raises(wire.WireError, match="nested"):
        wire.parse_json(text)


def test_one_byte_budget_covers_every_frame_of_a_call():
    a, b = socket.socketpair()
    try:
        for _ in range(2):
            wire.send(a, {"x": 1}, [b"\0" * 1000])
        limit = wire.Limit(max_bytes=1500)
        wire.recv(b, limit=limit)                       # ~1040 bytes: fits
        with pytest.raises(wire.WireError, match="larger than the grader accepts"):
            wire.recv(b, limit=limit)                   # the second one does not
    finally:
        a.close()
        b.close()


def test_a_deadline_in_the_past_stops_before_any_read():
    a, b = socket.socketpair()
    try:
        wire.send(a, {"x": 1}, [])
        with pytest.raises(socket.timeout):
            wire.recv(b, limit=wire.Limit(deadline=time.monotonic() - 1))
    finally:
        a.close()
        b.close()


def test_handles_per_value_are_capped():
    tree = [{"$h": i} for i in range(wire.MAX_HANDLES + 1)]
    with pytest.raises(wire.WireError, match="remote objects"):
        wire.decode(tree, [], lambda node: node["$h"])
    assert len(wire.decode(tree[:-1], [], lambda node: node["$h"])) == wire.MAX_HANDLES


def test_the_read_only_flag_crosses_only_where_asked():
    frozen = np.arange(4.0)
    frozen.flags.writeable = False
    buffers: list = []
    tree = wire.encode({"z": frozen, "w": np.arange(2.0)}, buffers)
    raw = [bytearray(memoryview(b).cast("B")) for b in buffers]   # as read from a socket
    worker_side = wire.decode(tree, raw, None, keep_readonly=True)
    grader_side = wire.decode(tree, raw, None)
    assert not worker_side["z"].flags.writeable and worker_side["w"].flags.writeable
    assert grader_side["z"].flags.writeable


def test_released_handles_are_freed_in_the_worker(tmp_path):
    source = '''
        import weakref

        _alive = weakref.WeakSet()

        class Thing:
            pass

        def make():
            thing = Thing()
            _alive.add(thing)
            return thing

        def alive():
            return len(_alive)
    '''
    path = write_source(tmp_path, "things.py", source)
    module = StudentModule("things", path, tmp_path, detect_mode("reduced"), Limits(),
                           call_timeout=20, budget=120)
    try:
        kept = [module.make() for _ in range(5)]
        dropped = [module.make() for _ in range(3)]
        assert module.alive() == 8
        del dropped
        import gc

        gc.collect()
        assert module.alive() == 5          # released with this very request
        del kept
        gc.collect()
        assert module.alive() == 0
        # the explicit op works too (its signature used to make it fail)
        thing = module.make()
        module._request("release", None, [[thing._id]], label="release")
        assert module.alive() == 0
    finally:
        module.close()


# --------------------------------------------------------------------------------------------
# the figures, for the record (pytest -s shows them)
# --------------------------------------------------------------------------------------------
def test_zz_report_figures(capsys):
    if not FIGURES:
        pytest.skip("run with the rest of this file")
    worst = max(out.peak for _, out in FIGURES)
    longest = max(out.elapsed for _, out in FIGURES)
    with capsys.disabled():
        for name, out in FIGURES:
            print(f"\n  {name}: peak +{out.peak / MIB:.1f} MiB, {out.elapsed:.2f} s, "
                  f"{type(out.error).__name__ if out.error else 'answered'}", end="")
        print(f"\nwire attacks: peak RSS growth {worst / MIB:.1f} MiB (cap {REPLY_CAP / MIB:.0f} "
              f"MiB data + {PARSE_CEILING / MIB:.0f} MiB parse ceiling), longest call "
              f"{longest:.2f} s (call limit {CALL_TIMEOUT:.1f} s)")
