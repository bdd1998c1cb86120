"""Fault injection against the real binary (issue 5; SPEC rules 5 and 6).

Each case is an upstream behaviour (a raw route that misbehaves on the wire)
or a client that walks away, plus what the client must see: a 502 with the
CORS headers of rule 2, a response cut off so that it never looks complete
(fewer bytes than its Content-Length, or chunks without the last one) and a
closed connection, or the right answer despite the noise (1xx before the
final head, extra bytes after the body).

After every iteration of every case corsd must answer a normal request on a
new connection (and on the same one, when it stayed open) with the right
body and CORS headers. Each case runs a warm-up and then two phases of many
iterations: corsd's open descriptors (/proc/PID/fd) must then be back at the
baseline taken after the class's warm-up, and its RSS must not have grown by
more than RSS_MARGIN_KIB in both phases, so that a leak of a few hundred
bytes per iteration shows (see RSS_MARGIN_KIB).

The pool is kept deterministic: the baseline is taken with one idle pooled
upstream connection (sequential warm-up), each iteration ends with a normal
request that leaves one there again, and the one test that makes several
pooled connections at once flushes the pool by restarting the upstream.

1xx: corsd reads and drops interim responses (100, 103) and forwards only
the final one (evhttp cannot send an interim response; RFC 9110 15.2 lets a
proxy drop them, and a client that did not send Expect: 100-continue has no
use for a 100). Their header lines (a 103's Link) never reach the client.
"""

import os
import socket
import struct
import threading
import time

from harness import (CLOSE, VALGRIND, CorsdTestCase, Reply, Upstream, build_request, main,
                     make_config, origin_hdrs, parse_head)

APP = "https://app.example.com"
OK_PATH = "/ok/plain"

# Iterations per case, in two phases of this many (plus a warm-up). The
# RSS check needs many; valgrind is 10-50x slower and finds leaks itself, so
# there each case runs a few times only.
FAST = 2 if VALGRIND else 64
SLOW = 1 if VALGRIND else 16
WARMUP = 1 if VALGRIND else 8
# RSS growth allowed over one phase. A case fails when RSS grew by more than
# this in both phases: a leak grows it in every phase, while a one-time step
# (the heap's high-water mark rising once with a larger buffer, as streaming
# does) shows in one phase only. A leak of 200 bytes per iteration (12.5 KiB
# over 64) fails a FAST case; 800 bytes a SLOW one. Measured growth per
# phase, normal and ASan builds: 0 KiB, now and then a single step of 4-8 KiB.
# (A leak shows only once freed heap memory no longer absorbs it: with 240
# bytes leaked per upstream call, half the cases failed, the other half ran
# right after cases that had freed large buffers.)
RSS_MARGIN_KIB = 12
# A client that leaves mid-stream leaves corsd holding however much was in
# flight (up to 128 KiB read from the upstream and 256 KiB for the client):
# the heap's high-water mark then still rises now and then by up to 150 KiB
# (measured over 640 iterations), so these cases allow more, which still
# catches a leak of 2 KiB per iteration (an exchange, a call, a buffer).
STREAM = 1 if VALGRIND else 32
STREAM_MARGIN_KIB = 64
# ASan keeps freed blocks in a quarantine (256 MiB by default), so its RSS
# grows with every free until that fills; even a 2 MiB one moves RSS by
# +-1 MiB as blocks of other sizes cycle through it. Without it, RSS shows
# what corsd holds, as in the normal build. Use-after-free is still caught
# for freed memory not yet handed out again, and every other test keeps the
# full quarantine.
ASAN_NO_QUARANTINE = "quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
CLASS_WARMUP = 4 if VALGRIND else 100
SYNC_TIMEOUT = 20.0


def read_cut_body(c, headers):
    """Reads a response body to the connection's end: (the body bytes it
    carried, whether its framing said it was complete)."""
    try:
        raw = c.bs.read_to_eof()
    except ConnectionResetError:
        raw, c.bs.buf = c.bs.buf, b""
    except TimeoutError:
        raise AssertionError("the client connection stayed open after a cut body: %r"
                             % c.bs.buf) from None
    te = headers.get("Transfer-Encoding")
    if te is not None and "chunked" in te.lower():
        return unchunk(raw)
    cl = headers.get("Content-Length")
    if cl is not None:
        return raw[:int(cl)], len(raw) >= int(cl)
    return raw, False  # close-delimited: an end is indistinguishable from a cut


def unchunk(raw):
    """Decodes what there is of a chunked body: (data, ended with the last
    chunk and the blank line after it)."""
    data, pos = b"", 0
    while True:
        eol = raw.find(b"\r\n", pos)
        if eol < 0:
            return data, False
        size = int(raw[pos:eol].split(b";")[0], 16)
        pos = eol + 2
        if size == 0:
            return data, raw.find(b"\r\n\r\n", pos - 2) >= 0
        data += raw[pos:pos + size]
        if len(raw) < pos + size + 2:
            return data, False
        pos += size + 2


class Sync:
    """Per-iteration rendezvous between a test's client side and a route."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.head_seen = threading.Event()     # the client has read the head
        self.req_seen = threading.Event()      # the route has the request
        self.extra_sent = threading.Event()    # the route wrote its extra bytes
        self.upstream_closed = threading.Event()  # corsd closed the upstream side

    def wait(self, ev, what):
        if not ev.wait(SYNC_TIMEOUT):
            raise AssertionError("timed out waiting for: " + what)


SYNC = Sync()


def rst_close(conn):
    """Close with a reset instead of a FIN."""
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.sock.close()
    return CLOSE


def send_parts(conn, *parts):
    """Separate writes with Nagle off, so the parts tend to arrive apart."""
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for p in parts:
        conn.send(p)


def head_of_size(total, status=b"200 OK"):
    """A response head of exactly `total` bytes (blank line included), with
    Content-Length: 2 for a body "ok"."""
    start = b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\nX-Pad: "
    pad = total - len(start) - len(b"\r\n\r\n")
    assert pad > 0
    return start + b"p" * pad + b"\r\n\r\n"


def lines_head(n):
    """A head with n header lines (Content-Length included)."""
    lines = [b"HTTP/1.1 200 OK", b"Content-Length: 2"]
    lines += [b"X-H%d: v" % i for i in range(n - 1)]
    return b"\r\n".join(lines) + b"\r\n\r\n"


FINAL = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Final: yes\r\n"
         b"Content-Length: 5\r\n\r\nfinal")


def after_head(prefix, reset=False):
    """A route that sends prefix (a head and part of a body), waits until the
    client has read the head, then closes (or resets): the upstream failing
    mid-body."""
    def route(req, conn, args):
        conn.send(prefix)
        SYNC.wait(SYNC.head_seen, "the client to read the head")
        return rst_close(conn) if reset else CLOSE
    return route


def route_then_close(data, reset=False):
    def route(req, conn, args):
        if data:
            conn.send(data)
        return rst_close(conn) if reset else CLOSE
    return route


def route_send_and_watch(data):
    """Sends data, then keeps the connection open until corsd closes it
    (which it must: after a protocol error, or after a body followed by
    bytes nobody asked for, the connection is not reusable)."""
    def route(req, conn, args):
        conn.send(data)
        if conn.wait_closed_or_stop(SYNC_TIMEOUT):
            SYNC.upstream_closed.set()
        return CLOSE
    return route


def route_raw(data):
    def route(req, conn, args):
        conn.send(data)
        return None
    return route


# --------------------------------------------------------------------------
# The table. expect: "502" (with CORS headers, upstream failure logged as
# `err`), "cut" (a 200 head with CORS headers whose body then never
# completes: `sent` is what the upstream sent of it), or "ok" (a 200 with
# `body`, no interim response on the wire, no header named in `absent`).

class Case:
    def __init__(self, name, route, expect, err=None, body=None, sent=b"", absent=(),
                 iterations=FAST, watch=False, rss=True):
        self.name = name
        self.route = route
        self.expect = expect
        self.err = err
        self.body = body
        self.sent = sent
        self.absent = absent
        self.iterations = iterations
        self.watch = watch  # the route reports corsd closing the upstream side
        self.rss = rss


CL_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n"
CH_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
HINTS = b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n"

CASES = [
    # -- the upstream goes away before or inside the head: 502
    Case("close_before_head", route_then_close(b""), "502", err="closed"),
    Case("reset_before_head", route_then_close(b"", reset=True), "502", err="closed"),
    Case("close_mid_status_line", route_then_close(b"HTTP/1.1 20"), "502", err="closed"),
    Case("close_mid_headers", route_then_close(b"HTTP/1.1 200 OK\r\nContent-Type: te"), "502",
         err="closed"),
    Case("reset_mid_headers", route_then_close(b"HTTP/1.1 200 OK\r\nX-A: b\r\n", reset=True),
         "502", err="closed"),
    # -- garbage instead of a head: 502, and the connection is dropped
    Case("garbage_then_close", route_then_close(b"this is not HTTP at all\r\n\r\n"), "502",
         err="protocol"),
    Case("garbage_kept_open", route_send_and_watch(b"SSH-2.0-OpenSSH_9.2\r\n\r\n"), "502",
         err="protocol", watch=True),
    Case("binary_garbage", route_send_and_watch(bytes(range(256)) + b"\n\n"), "502",
         err="protocol", watch=True),
    Case("conflicting_content_length", route_send_and_watch(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"), "502",
        err="protocol", watch=True),
    Case("bad_content_length", route_send_and_watch(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello"), "502", err="protocol",
        watch=True),
    Case("switching_protocols", route_send_and_watch(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"),
        "502", err="protocol", watch=True),
    # -- response heads over the limits of src/resp.c and src/upstream.c
    Case("head_64k_is_the_limit", route_raw(head_of_size(65536) + b"ok"), "ok", body=b"ok",
         iterations=SLOW),
    Case("head_over_64k", route_send_and_watch(head_of_size(65537) + b"ok"), "502",
         err="protocol", watch=True, iterations=SLOW),
    Case("head_128_lines_is_the_limit", route_raw(lines_head(128) + b"ok"), "ok", body=b"ok",
         iterations=SLOW),
    Case("head_129_lines", route_send_and_watch(lines_head(129) + b"ok"), "502",
         err="protocol", watch=True, iterations=SLOW),
    # -- interim responses before the final one: dropped, the final one forwarded
    Case("continue_100", route_raw(CONTINUE + FINAL), "ok", body=b"final"),
    Case("early_hints_103", route_raw(HINTS + FINAL), "ok", body=b"final", absent=("Link",)),
    Case("interim_in_pieces", lambda req, conn, args: send_parts(
        conn, CONTINUE[:9], CONTINUE[9:], HINTS[:30], HINTS[30:], FINAL[:20], FINAL[20:]),
        "ok", body=b"final", absent=("Link",)),
    Case("interim_32_is_the_limit", route_raw(HINTS * 31 + CONTINUE + FINAL), "ok",
         body=b"final", absent=("Link",), iterations=SLOW),
    Case("interim_33", route_send_and_watch(HINTS * 32 + CONTINUE + FINAL), "502",
         err="protocol", watch=True, iterations=SLOW),
    Case("interim_then_close", route_then_close(CONTINUE + HINTS), "502", err="closed"),
    # -- the upstream fails after the head went out: cut, never complete
    Case("close_mid_body_length", after_head(CL_HEAD + b"a" * 1000), "cut",
         sent=b"a" * 1000, err="closed"),
    Case("reset_mid_body_length", after_head(CL_HEAD + b"r" * 3000, reset=True), "cut",
         sent=b"r" * 3000, err="closed"),
    Case("close_mid_body_chunked", after_head(CH_HEAD + b"5\r\nhello\r\n"), "cut",
         sent=b"hello", err="closed"),
    Case("close_mid_chunk", after_head(CH_HEAD + b"5\r\nhello\r\n100\r\n0123456789"), "cut",
         sent=b"hello0123456789", err="closed"),
    Case("close_before_last_chunk_crlf", after_head(CH_HEAD + b"5\r\nhello\r\n0\r\n"), "cut",
         sent=b"hello", err="closed"),
    Case("bad_chunk_size", after_head(CH_HEAD + b"5\r\nhello\r\nzz\r\nmore\r\n0\r\n\r\n"),
         "cut", sent=b"hello", err="protocol"),
    Case("reset_ends_close_delimited_body", after_head(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil-close", reset=True),
        "cut", sent=b"until-close", err="closed"),
    # -- a body shorter or longer than its Content-Length
    Case("body_shorter_then_close", route_then_close(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"s" * 50), "cut",
        sent=b"s" * 50, err="closed"),
    # the upstream stops sending: cut after timeouts.upstream (2s) between
    # reads, so only a few iterations and no RSS check
    Case("body_shorter_then_stall", route_send_and_watch(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"t" * 50), "cut",
        sent=b"t" * 50, err="timeout", watch=True, iterations=1, rss=False),
    Case("body_longer_same_write", route_send_and_watch(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL"), "ok", body=b"hello", watch=True),
]


# --------------------------------------------------------------------------
# Routes of the tests that are not rows of the table.

STREAM_BLOCK = b"z" * 65536


def stream_until_closed(conn, head, block):
    """Sends head, then blocks until corsd closes the connection (the
    client left mid-response); bounded."""
    conn.send(head)
    deadline = time.monotonic() + SYNC_TIMEOUT
    try:
        while time.monotonic() < deadline and not conn.server.stopping.is_set():
            conn.send(block)
    except TimeoutError:
        pass  # a send that stays blocked: corsd neither reads nor closes
    except OSError:
        SYNC.upstream_closed.set()
    return CLOSE


def route_think(req, conn, args):
    """A slow upstream: it has the request and thinks until corsd gives up
    on it (the client left)."""
    SYNC.req_seen.set()
    if conn.wait_closed_or_stop(SYNC_TIMEOUT):
        SYNC.upstream_closed.set()
    return CLOSE


def route_extra_later(req, conn, args):
    """A complete response, then (once the client has it) bytes nobody asked
    for: a whole second response or garbage (args[0])."""
    # Nagle would hold the extra bytes back until corsd ACKs the response:
    # "sent" must mean "in corsd's socket" before the client goes on.
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    SYNC.wait(SYNC.head_seen, "the client to read the response")
    if args and args[0] == "garbage":
        conn.send(b"\x00garbage\r\n\r\n")
    else:
        conn.send(SMUGGLED)
    SYNC.extra_sent.set()
    if conn.wait_closed_or_stop(SYNC_TIMEOUT):
        SYNC.upstream_closed.set()
    return CLOSE


# libevent 2.1 reads at most 4 KiB per read event while corsd waits for a
# head: a response of exactly that size is complete after one read, with the
# bytes behind it (sent in the same write) still in the kernel.
EXACT_HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n"
EXACT_BODY = b"x" * (4096 - len(EXACT_HEAD % 4000))
SMUGGLED = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-Smuggled: yes\r\n\r\nEVIL"


def route_extra_pipelined(req, conn, args):
    conn.send(EXACT_HEAD % len(EXACT_BODY) + EXACT_BODY + SMUGGLED)
    if conn.wait_closed_or_stop(SYNC_TIMEOUT):
        SYNC.upstream_closed.set()
    return CLOSE


def route_drop_reused(req, conn, args):
    """Answers the first request of a connection; on a reused one it closes
    without a word, as a server whose keep-alive timer fired just as the
    request came in."""
    if sum(r.conn_id == req.conn_id for r in conn.server.snapshot()) > 1:
        return CLOSE
    return Reply(200, [("Content-Type", "text/plain")], b"fresh")


GATHER = {"n": 0, "want": 0, "cond": threading.Condition()}


def route_gather(req, conn, args):
    """Holds each request until GATHER["want"] of them are in, so that many
    upstream connections are open at once (and then pooled)."""
    with GATHER["cond"]:
        GATHER["n"] += 1
        GATHER["cond"].notify_all()
        GATHER["cond"].wait_for(lambda: GATHER["n"] >= GATHER["want"], SYNC_TIMEOUT)
    return Reply(200, [("Content-Type", "text/plain")], b"gathered")


ROUTES = {
    "stream_length": lambda req, conn, args: stream_until_closed(
        conn, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (1 << 40), STREAM_BLOCK),
    "stream_chunked": lambda req, conn, args: stream_until_closed(
        conn, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"%x\r\n" % len(STREAM_BLOCK) + STREAM_BLOCK + b"\r\n"),
    "think": route_think,
    "extra_later": route_extra_later,
    "extra_pipelined": route_extra_pipelined,
    "drop_reused": route_drop_reused,
    "gather": route_gather,
    # reads the request, then closes without an answer: it may have acted
    "vanish": lambda req, conn, args: CLOSE,
}


class FaultTest(CorsdTestCase):
    @classmethod
    def config(cls, upstream):
        return make_config(upstream.url, [
            {"name": "app", "path": "/", "origins": [APP], "credentials": True,
             "methods": ["GET", "POST"]}],
            timeouts={"connect": "2s", "upstream": "2s"})

    @classmethod
    def install_routes(cls, up):
        for case in CASES:
            up.route(case.name, case.route)
        for name, fn in ROUTES.items():
            up.route(name, fn)

    @classmethod
    def extra_setup(cls):
        cls.install_routes(cls.upstream)

    @classmethod
    def setUpClass(cls):
        saved = os.environ.get("ASAN_OPTIONS")
        os.environ["ASAN_OPTIONS"] = (saved + ":" if saved else "") + ASAN_NO_QUARANTINE
        try:
            super().setUpClass()
        finally:
            if saved is None:
                del os.environ["ASAN_OPTIONS"]
            else:
                os.environ["ASAN_OPTIONS"] = saved
        for _ in range(CLASS_WARMUP):
            with cls.corsd.conn() as c:
                c.request("GET", OK_PATH, origin_hdrs(APP))
        cls.fd_baseline = cls.measure_fds()

    @classmethod
    def measure_fds(cls):
        """corsd's descriptors with one idle pooled upstream connection and
        no client: counted with a client open, then waited down by one."""
        with cls.corsd.conn() as c:
            r = c.request("GET", OK_PATH, origin_hdrs(APP))
            assert r.status == 200, r
            with_client = cls.corsd.fd_count()
        return cls.corsd.wait_fds_at_most(with_client - 1)

    def setUp(self):
        super().setUp()
        SYNC.reset()

    # -- checks ------------------------------------------------------------
    def assertCors(self, head_or_resp, what):
        headers = head_or_resp.headers if hasattr(head_or_resp, "headers") else head_or_resp
        self.assertEqual(headers.get_all("Access-Control-Allow-Origin"), [APP], what)
        self.assertEqual(headers.get_all("Access-Control-Allow-Credentials"), ["true"], what)
        self.assertIn("origin", [t.lower() for t in headers.tokens("Vary")], what)

    def assertServes(self, conn=None):
        """A normal request answers 200 with its own body and CORS headers,
        on conn (when it is still open) and on a new connection."""
        conns = [conn] if conn is not None else []
        for c in conns + [None]:
            if c is None:
                with self.corsd.conn() as fresh:
                    r = fresh.request("GET", OK_PATH, origin_hdrs(APP))
            else:
                r = c.request("GET", OK_PATH, origin_hdrs(APP))
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.header("X-Upstream"), "yes", r)
            self.assertIn(b'"target": "%s"' % OK_PATH.encode(), r.body, r.body)
            self.assertCors(r, "normal request after a fault: %r" % (r,))

    def assertFdsAtBaseline(self, what):
        n = self.corsd.wait_fds_at_most(self.fd_baseline)
        self.assertLessEqual(n, self.fd_baseline, "%s: corsd holds %d descriptors, baseline %d"
                             % (what, n, self.fd_baseline))

    def rss(self):
        return None if VALGRIND else self.corsd.rss_kib()

    def assertNoSteadyGrowth(self, rss, what, iterations, margin=RSS_MARGIN_KIB):
        """rss: RSS before, between and after the two phases (None under
        valgrind, where RSS is valgrind's own and it checks leaks itself)."""
        if rss[0] is None:
            return
        grown = [b - a for a, b in zip(rss, rss[1:])]
        self.assertLessEqual(min(grown), margin,
                             "%s: RSS grew by %s KiB in two phases of %d iterations"
                             % (what, grown, iterations))

    def read_first_head(self, c):
        """The first head on the wire, 1xx or not."""
        start, headers = parse_head(c.bs.read_until(b"\r\n\r\n"))
        parts = start.split(" ", 2)
        return parts[0], int(parts[1]), headers

    # -- running a case ----------------------------------------------------
    def run_case(self, case, first):
        SYNC.reset()
        if first:
            self.corsd.mark()
        path = "/app/%s" % case.name
        c = self.corsd.conn()
        try:
            c.send(build_request("GET", path, origin_hdrs(APP)))
            version, status, headers = self.read_first_head(c)
            what = "%s: %s %d %r" % (case.name, version, status, headers)
            if case.expect == "502":
                self.assertEqual(status, 502, what)
                self.assertCors(headers, what)
                body = c.read_body("GET", status, headers)
                self.assertEqual(body, b"corsd: upstream failed\n", what)
                if case.watch:
                    SYNC.wait(SYNC.upstream_closed, "corsd to close the upstream connection")
                if first:
                    self.assertAccess(path=path, status="502", upstream=case.err)
                self.assertServes(c)
            elif case.expect == "ok":
                self.assertEqual(status, 200, "%s (an interim response reached the client?)"
                                 % what)
                self.assertCors(headers, what)
                for name in case.absent:
                    self.assertFalse(headers.has(name), what)
                body = c.read_body("GET", status, headers)
                self.assertEqual(body, case.body, what)
                if case.watch:
                    SYNC.wait(SYNC.upstream_closed, "corsd to close the upstream connection")
                if first:
                    self.assertAccess(path=path, status="200", upstream="200")
                # nothing the upstream sent after the body reaches this
                # connection or another request
                self.assertServes(c)
            else:
                self.assertEqual(status, 200, what)
                self.assertCors(headers, what)
                SYNC.head_seen.set()
                got, complete = read_cut_body(c, headers)
                self.assertFalse(complete, "%s: the cut body looks complete: %r"
                                 % (case.name, got))
                self.assertEqual(got, case.sent, case.name)
                if case.watch:
                    SYNC.wait(SYNC.upstream_closed, "corsd to close the upstream connection")
                if first:
                    self.assertAccess(path=path, status="200", upstream=case.err)
                self.assertServes()
        finally:
            SYNC.head_seen.set()
            c.close()

    def check_case(self, case):
        self.run_iterations(case.name, lambda i: self.run_case(case, i == 0), case.iterations,
                            rss=case.rss)

    # -- the client walks away ---------------------------------------------
    def test_client_gone_mid_request(self):
        """Mid-head, and with the head sent and half the body: nothing
        reaches the upstream, and nothing stays open."""
        body_head = build_request("POST", "/app/never", origin_hdrs(APP), b"")
        body_head = body_head.replace(b"Content-Length: 0", b"Content-Length: 100000")
        sends = [body_head[:len(body_head) // 2], body_head + b"b" * 50000]

        def once(i):
            with self.corsd.conn() as c:
                c.send(sends[i % 2])
            self.assertServes()

        self.run_iterations("client_gone_mid_request", once, FAST)
        self.assertEqual([r for r in self.upstream.snapshot() if "never" in r.target], [])

    def client_gone_mid_response(self, route):
        path = "/app/" + route

        def once(i):
            SYNC.reset()
            self.corsd.mark()
            with self.corsd.conn() as c:
                c.send(build_request("GET", path, origin_hdrs(APP)))
                status, headers = c.read_head()[1::2]
                self.assertEqual(status, 200)
                self.assertCors(headers, route)
                c.bs.read_exact(100000)  # a part of the stream went through
            SYNC.wait(SYNC.upstream_closed, "corsd to close the streaming upstream")
            self.assertAccess(path=path, status="200", upstream="200/client-closed")
            self.assertServes()

        self.run_iterations(route, once, STREAM, margin=STREAM_MARGIN_KIB, warmup=2 * WARMUP)

    def test_client_gone_mid_response_length(self):
        self.client_gone_mid_response("stream_length")

    def test_client_gone_mid_response_chunked(self):
        self.client_gone_mid_response("stream_chunked")

    def client_gone_while_upstream_thinks(self, half_close):
        path = "/app/think"

        def once(i):
            SYNC.reset()
            self.corsd.mark()
            with self.corsd.conn() as c:
                c.send(build_request("GET", path, origin_hdrs(APP)))
                SYNC.wait(SYNC.req_seen, "the upstream to get the request")
                if half_close:
                    c.sock.shutdown(socket.SHUT_WR)
                    # corsd gives up on the request and closes its side
                    self.assertTrue(c.is_closed_by_peer(), "corsd kept a half-closed client")
            SYNC.wait(SYNC.upstream_closed, "corsd to close the thinking upstream")
            # not the upstream timeout (2s) closing it: that would log 504
            self.assertAccess(path=path, status="499", upstream="-/client-closed")
            self.assertServes()

        self.run_iterations("think", once, SLOW)

    def test_client_gone_while_upstream_thinks(self):
        self.client_gone_while_upstream_thinks(False)

    def test_client_half_closes_while_upstream_thinks(self):
        self.client_gone_while_upstream_thinks(True)

    # -- the upstream's connection after a response -------------------------
    def test_extra_bytes_after_body_never_reach_the_next_request(self):
        """Bytes after a complete Content-Length body, arriving once the
        response is out: the pooled connection must be dropped, not handed to
        the next request (which would take them for its response)."""
        for kind in ("response", "garbage"):
            path = "/app/extra_later/" + kind

            def once(i):
                SYNC.reset()
                with self.corsd.conn() as c:
                    r = c.request("GET", path, origin_hdrs(APP))
                    self.assertEqual((r.status, r.body), (200, b"hello"), r)
                    SYNC.head_seen.set()
                    SYNC.wait(SYNC.extra_sent, "the upstream to send its extra bytes")
                    # on the same client connection, and so likely the same
                    # worker and pool
                    self.assertServes(c)
                SYNC.wait(SYNC.upstream_closed, "corsd to drop the connection")

            with self.subTest(kind=kind):
                self.run_iterations("extra_later/" + kind, once, FAST)

    def test_extra_bytes_never_reach_a_pipelined_request(self):
        """The same with the next request already waiting (pipelined): corsd
        starts it as soon as the first answer is out, before its loop has
        seen the bytes behind that answer. The pooled connection must be
        checked at reuse, not only watched while idle."""
        def once(i):
            SYNC.reset()
            with self.corsd.conn() as c:
                c.send(build_request("GET", "/app/extra_pipelined", origin_hdrs(APP))
                       + build_request("GET", OK_PATH, origin_hdrs(APP)))
                r = c.read_response()
                self.assertEqual((r.status, r.body), (200, EXACT_BODY), r)
                r = c.read_response()
                self.assertEqual(r.status, 200, r)
                self.assertFalse(r.headers.has("X-Smuggled"), r)
                self.assertIn(b'"target": "%s"' % OK_PATH.encode(), r.body, r.body)
                self.assertServes(c)
            SYNC.wait(SYNC.upstream_closed, "corsd to drop the connection")

        self.run_iterations("extra_pipelined", once, FAST)

    def test_stale_pooled_connection_is_retried(self):
        """A pooled connection the upstream closes as the request arrives:
        corsd sends the request again on a fresh one, the client sees 200."""
        def once(i):
            self.upstream.reset()
            # the pooled connection serves one request the upstream counts
            self.assertServes()
            with self.corsd.conn() as c:
                r = c.request("GET", "/app/drop_reused", origin_hdrs(APP))
                self.assertEqual((r.status, r.body), (200, b"fresh"), r)
                self.assertCors(r, "drop_reused")
                self.assertServes(c)
            seen = [q.conn_id for q in self.upstream.snapshot() if "drop_reused" in q.target]
            # on the pooled connection (dropped), then on a fresh one
            self.assertEqual(len(set(seen)), 2, seen)

        self.run_iterations("drop_reused", once, FAST)

    def test_non_idempotent_requests_are_never_repeated(self):
        """POST and PATCH take a fresh upstream connection even with one idle
        in the pool, and are not sent again when the upstream closes without
        an answer (RFC 9110 section 9.2.2): the client gets a 502, and the
        upstream has seen the request exactly once."""
        def once(i):
            for method in ("POST", "PATCH"):
                self.upstream.reset()
                self.assertServes()  # one idle pooled connection now
                pooled = {q.conn_id for q in self.upstream.snapshot()}
                with self.corsd.conn() as c:
                    r = c.request(method, "/app/vanish/%d" % i, origin_hdrs(APP), body=b"pay once")
                    self.assertEqual(r.status, 502, r)
                    self.assertCors(r, method + " vanish")
                seen = [q for q in self.upstream.snapshot() if "vanish" in q.target]
                self.assertEqual([(q.method, q.body) for q in seen], [(method, b"pay once")],
                                 "the upstream must see it once")
                self.assertNotIn(seen[0].conn_id, pooled, "sent on a pooled connection")
                # a GET after it may still use the pooled connection
                self.assertServes()

        self.run_iterations("non_idempotent", once, FAST)

    def test_upstream_restart_with_idle_pooled_connections(self):
        """The upstream restarts (its connections closed) while corsd holds
        several of them idle: the next requests all succeed, and the dead
        connections are closed."""
        k = 4

        def once(i):
            GATHER["n"], GATHER["want"] = 0, k
            results = [None] * k

            def fetch(j):
                try:
                    results[j] = self.corsd.request("GET", "/app/gather", origin_hdrs(APP))
                except Exception as e:  # reported below
                    results[j] = e

            threads = [threading.Thread(target=fetch, args=(j,)) for j in range(k)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(SYNC_TIMEOUT)
            for r in results:
                self.assertEqual(getattr(r, "status", r), 200, r)
            # k pooled connections (the baseline holds one)
            self.assertEqual(self.corsd.wait_fds_at_most(self.fd_baseline + k - 1),
                             self.fd_baseline + k - 1)
            old = self.upstream
            new = Upstream(port=old.port)
            self.install_routes(new)
            new.start()
            type(self).upstream = new
            self.addClassCleanup(new.stop)
            old.stop()
            for _ in range(2 * k):
                self.assertServes()
            self.assertFdsAtBaseline("restart")

        self.run_iterations("restart", once, 1 if VALGRIND else 3, rss=False)

    def run_iterations(self, what, once, iterations, rss=True, margin=RSS_MARGIN_KIB,
                       warmup=WARMUP):
        """once(i) for a warm-up, then twice `iterations` times: the
        descriptors back at the baseline after the warm-up and at the end,
        and no steady RSS growth (assertNoSteadyGrowth)."""
        warm = min(warmup, iterations)
        for i in range(warm):
            once(i)
        self.assertFdsAtBaseline(what + " (warm-up)")
        samples = [self.rss() if rss else None]
        for phase in (1, 2):
            for i in range(warm + (phase - 1) * iterations, warm + phase * iterations):
                once(i)
            samples.append(self.rss() if rss else None)
        self.assertFdsAtBaseline(what)
        self.assertNoSteadyGrowth(samples, what, iterations, margin)

def _make_test(case):
    def test(self):
        self.check_case(case)
    test.__name__ = "test_" + case.name
    return test


for _case in CASES:
    setattr(FaultTest, "test_" + _case.name, _make_test(_case))


if __name__ == "__main__":
    main()
