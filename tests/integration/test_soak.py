"""The soak test (issue 5): mixed traffic for a while, with reloads and
upstream restarts, and nothing may go wrong nor grow.

Several client threads (keep-alive, plus fresh connections) send preflights
(allowed and denied), GETs with and without Origin, POST/PUT bodies echoed by
the upstream, multi-MiB streaming downloads (chunked and with
Content-Length), and requests the client abandons mid-body, to a corsd with
two workers and three policies. Meanwhile:

  * every RELOAD_EVERY seconds the policy file flips between two variants
    that differ in what they answer (an extra allowed origin, max_age,
    expose_headers); each reload is confirmed by its log line and, at the
    end, by the admin counter;
  * every RESTART_EVERY seconds the upstream restarts: a new generation
    takes over the listening socket (as systemd socket activation or an
    nginx binary upgrade do) and the old one finishes the answers in flight,
    closes its keep-alive connections and exits.  No connect is ever
    refused.  (Binding a second socket with SO_REUSEPORT instead is not
    clean: with net.ipv4.tcp_migrate_req=0, the default, connections queued
    on the old listener are reset when it closes, and such a 502 is the
    upstream's fault, not corsd's.)
  * some of those closes, and one request in RACE_EVERY on a used upstream
    connection, meet a request corsd has just sent (the keep-alive race,
    made to happen): corsd must retry it on a fresh connection, invisibly.

Every answer must have the status that was asked for, and CORS headers
that match exactly one of the two policies, one that was in force while the
request was in flight (a reload takes effect within GRACE seconds of its log
line).  Any 5xx, any truncated body, any mix of the two policies is a
failure.

Flatness: after a warm-up (20% of the run, at most a minute), and again at
the end, traffic pauses, the upstream restarts (closing corsd's pooled
connections), and corsd's descriptors must come back to exactly what it held
before the first request; its RSS at the end may exceed the one after the
warm-up by at most RSS_SLACK_KIB or RSS_SLACK_FRACTION, whichever is larger
(not checked under ASan, whose quarantine and shadow memory grow with the
number of frees, nor under valgrind).

Duration: CORSD_SOAK_SECONDS (default SHORT_SECONDS, the CI run; smaller and
slower under CORSD_VALGRIND=1).  The long run, e.g.
    CORSD_SOAK_SECONDS=600 CORSD_BIN=build/release/corsd \\
        nice python3 tests/integration/test_soak.py -v
is described in tests/README.md.  The last line on stderr is a summary
to quote.
"""

import collections
import math
import os
import random
import re
import select
import signal
import socket
import struct
import sys
import threading
import time

from harness import (IO_TIMEOUT, PREFLIGHT_VARY, SANITIZER_RE, VALGRIND, BufferedSocket,
                     CLOSE, CorsdTestCase, Corsd, HttpConn, IncompleteResponse, Reply, Response,
                     Upstream, UpstreamConn, UpstreamRequest, build_request,
                     deterministic_bytes, make_config, origin_hdrs, parse_access,
                     preflight_hdrs, sanitized_binary, main)

APP = "https://app.example.com"      # allowed by both variants
OTHER = "https://other.example.com"  # allowed by variant B only
EVIL = "https://evil.example"        # never allowed

SHORT_SECONDS = 24 if VALGRIND else 36
SECONDS = float(os.environ.get("CORSD_SOAK_SECONDS") or SHORT_SECONDS)
WARMUP = min(0.2 * SECONDS, 60.0)
CLIENTS = 3 if VALGRIND else 6
RELOAD_EVERY = 6.0 if VALGRIND else 3.0
RESTART_EVERY = 8.0 if VALGRIND else 10.0
# How long after its "reloaded" line a worker may still answer with the old
# policy: the new one reaches each worker through its mailbox, at once on an
# idle machine; this is for a loaded one.
GRACE = 4.0 if VALGRIND else 2.0
STREAM_MIN, STREAM_MAX = (64 << 10, 512 << 10) if VALGRIND else (1 << 20, 3 << 20)
POST_MAX = (96 << 10) if VALGRIND else (256 << 10)  # above 64 KiB: a fresh upstream connection
FRESH_EVERY = 10      # about one request in FRESH_EVERY is a connection's last
# One request in RACE_EVERY that arrives on a used upstream connection meets
# a close instead of an answer (SoakUpstream._drop); corsd must retry it.
RACE_EVERY = 97
MAX_ERRORS = 50       # stop early: the first ones tell the story
PAUSE_TIMEOUT = 60.0  # a client finishes its request in flight within this
RETIRE_TIMEOUT = 30.0
# RSS growth allowed between the two quiet points. RSS is a high-water mark
# (freed memory mostly stays mapped), and the warm-up need not have met the
# worst moment: all clients at once in their heaviest requests. Each client
# can make corsd hold about 512 KiB at a time (256 KiB waiting for it while
# a download streams, 128 KiB read ahead from the upstream, or a 256 KiB
# request body received whole and its echo), and 1 MiB more covers the
# allocators' spread (glibc arenas per worker, mm.c's per-thread caches).
# Measured: +0.2 to +1.2 MiB in short runs on a loaded machine, +0.2 MiB
# over ten minutes and 1.3M requests. A leak of 100 bytes per request
# exceeds it after 42k requests: within the short run on an idle machine
# (75k requests between the quiet points), within a minute of the long one.
RSS_SLACK_KIB = 1024 + CLIENTS * 512
RSS_SLACK_FRACTION = 0.10

BLOB = deterministic_bytes(STREAM_MAX + (256 << 10), seed=5)
POST_BLOB = deterministic_bytes(POST_MAX, seed=6)

STREAM_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"


def policies(variant):
    b = variant == "B"
    return [
        {"name": "api", "path": "/api", "origins": [APP, OTHER] if b else [APP],
         "methods": ["GET", "POST", "PUT"], "headers": ["Content-Type", "X-Req"],
         "expose_headers": ["X-B"] if b else ["X-A"], "credentials": True,
         "max_age": 601 if b else 600},
        {"name": "pub", "path": "/pub", "origins": ["*"], "expose_headers": ["X-Pub"],
         "max_age": 61 if b else 60},
        {"name": "strict", "path": "/strict", "origins": [APP], "enforce": True},
    ]


def scrape(port):
    """{series text as printed (name{labels}): value} of GET /metrics."""
    with HttpConn(port) as c:
        r = c.request("GET", "/metrics", [("Host", "127.0.0.1")])
    if r.status != 200:
        raise AssertionError("GET /metrics: %r" % (r,))
    out = {}
    for line in r.body.decode("utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


# --------------------------------------------------------------------------
# The expected answers: the CORS headers each variant gives each kind of
# request, and which variants an answer matches.

def cors_want(kind, variant, origin):
    """(status, {Access-Control-* lowercased: [values]}) that `variant`
    answers to a request of `kind` from `origin`."""
    b = variant == "B"
    allowed = origin == APP or (b and origin == OTHER)
    if kind == "preflight":
        if not allowed:
            return 403, {}
        return 204, {"access-control-allow-origin": [origin],
                     "access-control-allow-credentials": ["true"],
                     "access-control-allow-methods": ["GET, POST, PUT"],
                     "access-control-allow-headers": ["content-type, X-Req"],
                     "access-control-max-age": ["601" if b else "600"]}
    if kind == "pub_preflight":
        return 204, {"access-control-allow-origin": ["*"],
                     "access-control-allow-methods": ["GET, HEAD, POST"],
                     "access-control-max-age": ["61" if b else "60"]}
    if kind == "pub_get":
        return 200, {"access-control-allow-origin": ["*"],
                     "access-control-expose-headers": ["X-Pub"]}
    if kind == "strict":
        if origin != APP:
            return 403, {}
        return 200, {"access-control-allow-origin": [APP]}
    # actual requests on /api
    if origin is None or not allowed:
        return 200, {}
    return 200, {"access-control-allow-origin": [origin],
                 "access-control-allow-credentials": ["true"],
                 "access-control-expose-headers": ["X-B" if b else "X-A"]}


def matching_variants(kind, origin, status, cors):
    return frozenset(v for v in "AB" if cors_want(kind, v, origin) == (status, cors))


# --------------------------------------------------------------------------
# The upstream: one generation of a server that restarts gracefully.

class SoakUpstream(Upstream):
    """An Upstream that can hand its listening socket to the next generation
    and retire (answers in flight finish, used keep-alive connections close,
    some just as corsd sends a request on them, a connection that has not
    yet carried a request gets one answer first), and that now and then
    closes a used connection as a request arrives (_drop). It counts
    requests instead of keeping them: a long soak would hold gigabytes of
    bodies."""

    FIRST_REQUEST_WAIT = 10.0
    LINGER = 1.0

    def __init__(self, listener=None):
        Upstream.__init__(self)
        self.listener = listener
        self.count = 0
        self.strict_leaks = 0
        self.idle_closed = 0  # keep-alive connections closed idle by retire()
        self.raced = 0  # ... of which corsd had already sent a request on
        self.dropped = 0  # requests that met a close instead of an answer
        self.arrivals = 0  # requests arrived on used connections
        self.route("stream", self._stream)
        self.route("leak", self._leak)

    def start(self):
        if self.listener is None:
            Upstream.start(self)
            self.listener = self.sock
            return self
        self.sock = self.listener
        self.port = self.sock.getsockname()[1]
        t = threading.Thread(target=self._accept_loop, name="upstream-accept", daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def successor(self):
        return SoakUpstream(self.listener).start()

    def retire(self, timeout=RETIRE_TIMEOUT):
        """Stops accepting (the listener stays open for the successor) and
        waits, bounded, for every connection to end. True when all did."""
        self.stopping.set()
        deadline = time.monotonic() + timeout
        # The accept loop first: until it has seen stopping it may still
        # add (and then start) a thread for one more connection.
        for t in list(self.threads):
            if t.name == "upstream-accept":
                t.join(max(0.0, deadline - time.monotonic()))
        while True:
            alive = [t for t in self.threads if t.is_alive()]
            left = deadline - time.monotonic()
            if not alive or left <= 0:
                break
            alive[0].join(left)
        # one Thread per connection served: a long soak keeps only counters
        self.threads = alive
        return not alive

    def close_listener(self):
        try:
            self.listener.close()
        except OSError:
            pass

    # -- routes --------------------------------------------------------------
    @staticmethod
    def _stream(req, conn, args):
        """/stream/SIZE/OFFSET/SEED/MODE: BLOB[OFFSET:OFFSET+SIZE] in pieces of
        random sizes (1 byte to 256 KiB), chunked (MODE c) or with a
        Content-Length (MODE l)."""
        size, off, seed = int(args[0]), int(args[1]), int(args[2])
        chunked = args[3] == "c"
        rnd = random.Random(seed)
        try:
            if chunked:
                conn.send(STREAM_HEAD + b"Transfer-Encoding: chunked\r\n\r\n")
            else:
                conn.send(STREAM_HEAD + b"Content-Length: %d\r\n\r\n" % size)
            pos = 0
            while pos < size:
                n = min(size - pos, rnd.choice((1, 7, 4096, 65536, 262144,
                                                rnd.randint(1, 262144))))
                data = BLOB[off + pos:off + pos + n]
                conn.send(b"%x\r\n%s\r\n" % (n, data) if chunked else data)
                pos += n
            if chunked:
                conn.send(b"0\r\n\r\n")
        except OSError:  # the client abandoned it and corsd closed
            return CLOSE
        return None

    def _leak(self, req, conn, args):
        with self.lock:
            self.strict_leaks += 1
        return Reply(200, [("Content-Type", "text/plain")], b"must not be reached")

    # -- server --------------------------------------------------------------
    def _count(self, name, n=1):
        with self.lock:
            setattr(self, name, getattr(self, name) + n)

    def _has_bytes(self, bs):
        if bs.buf:
            return True
        r, _, _ = select.select([bs.sock], [], [], 0)
        try:
            return bool(r) and len(bs.sock.recv(1, socket.MSG_PEEK)) > 0
        except OSError:
            return False

    def _drop(self, bs, conn_id):
        """Closes a used connection as a request arrives on it, instead of
        answering: the keep-alive race every HTTP client must survive (the
        server's idle timeout fired as the request was on its way), made to
        happen on purpose. Half are reset with the request unread, half read
        it whole and close with a FIN."""
        if conn_id % 2:
            bs.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            self._read_request(bs)
        self._count("dropped")

    def _race_due(self):
        with self.lock:
            self.arrivals += 1
            return self.arrivals % RACE_EVERY == 0

    def _retiring(self, bs, served, conn_id, since):
        """What a retiring server does with a connection between requests:
        True to close it now.

        A connection that never carried a request gets one answer: corsd
        opened it for a request, and a fresh connection that fails is a
        502 by design. A used one is closed: half at once, the rest as
        corsd's next request arrives (see _drop) or after LINGER."""
        now = time.monotonic()
        if served == 0:
            return now >= since + self.FIRST_REQUEST_WAIT
        if conn_id % 4 < 2:
            self._count("idle_closed")
            self._count("raced", self._has_bytes(bs))
            return True
        if self._has_bytes(bs):
            self._drop(bs, conn_id)
            return True
        if now >= since + self.LINGER:
            self._count("idle_closed")
            return True
        return False

    def _next_request(self, bs, served, conn_id):
        """The next request, or None to close the connection."""
        since = None
        while b"\r\n\r\n" not in bs.buf:
            if self.stopping.is_set():
                if since is None:
                    since = time.monotonic()
                if self._retiring(bs, served, conn_id, since):
                    return None
            r, _, _ = select.select([bs.sock], [], [], 0.05)
            if r and not bs._fill():
                return None
        if served > 0 and self._race_due():
            self._drop(bs, conn_id)
            return None
        return self._read_request(bs)  # the head is here: parses it and the body

    def _serve(self, sock, conn_id):
        sock.settimeout(IO_TIMEOUT)
        bs = BufferedSocket(sock)
        conn = UpstreamConn(self, sock, conn_id)
        served = 0
        try:
            while True:
                try:
                    got = self._next_request(bs, served, conn_id)
                except (IncompleteResponse, ValueError, OSError):
                    return
                if got is None:
                    return
                served += 1
                method, target, version, headers, body = got
                req = UpstreamRequest(method, target, version, headers, body, conn_id)
                with self.lock:
                    self.count += 1
                fn, args = self._dispatch(req.path)
                result = fn(req, conn, args)
                if result is CLOSE:
                    return
                if isinstance(result, Reply):
                    sock.sendall(result.serialise(head_request=(method == "HEAD")))
                    if result.close:
                        return
                if headers.get("Connection", "").lower() == "close":
                    return
        except OSError:
            pass
        finally:
            with self.lock:
                self.conns.discard(sock)
            try:
                sock.close()
            except OSError:
                pass


# --------------------------------------------------------------------------
# Client side.

def read_exact_list(bs, n):
    """n bytes from bs as a list of pieces: no quadratic concatenation for
    multi-MiB bodies, and nothing read past n."""
    head = bs.buf[:n]
    bs.buf = bs.buf[n:]
    parts, got = [head], len(head)
    while got < n:
        data = bs.sock.recv(min(n - got, 262144))
        if not data:
            raise IncompleteResponse("EOF after %d of %d bytes" % (got, n))
        parts.append(data)
        got += len(data)
    return parts


def read_body_big(c, headers):
    te = headers.get("Transfer-Encoding")
    if te is not None and "chunked" in te.lower():
        parts = []
        while True:
            line = c.bs.read_until(b"\r\n", 4096)
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                while c.bs.read_until(b"\r\n", 65536):  # trailers
                    pass
                return b"".join(parts)
            parts.extend(read_exact_list(c.bs, size))
            if c.bs.read_exact(2) != b"\r\n":
                raise IncompleteResponse("bad chunk terminator")
    cl = headers.get("Content-Length")
    if cl is None:
        raise IncompleteResponse("a streamed body without framing: %r" % (headers,))
    return b"".join(read_exact_list(c.bs, int(cl)))


class Client:
    """One client thread's state: its connection, its counters and the
    variant each discriminating answer matched, with when it was in flight."""

    # (kind, weight): a shuffled deck of these, so each appears in every round
    DECK = [("preflight_app", 12), ("preflight_other", 8), ("preflight_evil", 5),
            ("pub_preflight", 4), ("get_app", 10), ("get_other", 6), ("get_cors", 5),
            ("get_plain", 6), ("pub_get", 4), ("head", 3), ("post", 8), ("put", 3),
            ("stream", 3), ("abandon_stream", 1), ("abandon_post", 1), ("strict_deny", 3),
            ("strict_ok", 3)]

    def __init__(self, soak, tid):
        self.soak = soak
        self.tid = tid
        self.rnd = random.Random(1000 + tid)
        self.conn = None
        self.closing = False
        self.counts = {}
        self.fresh = 0
        # (start, end, matched variants, kind) of answers only one variant
        # gives; the main thread takes them as they come (deque: thread-safe)
        self.records = collections.deque()
        self.variants = {}
        self.n = 0
        self.deck = []

    def begin(self):
        """The connection for the next request, and the extra headers it
        carries. Client 0 sends one request per connection, the others
        about one in FRESH_EVERY that ends theirs. Such a last request says
        Connection: close and corsd closes first: clients that closed first
        would leave a TIME_WAIT on an ephemeral port each, and thousands of
        those in a long soak could make other tests' bind(0) fail."""
        if self.conn is None:
            self.conn = HttpConn(self.soak.corsd.port)
            self.fresh += 1
        self.closing = self.tid == 0 or self.rnd.randrange(FRESH_EVERY) == 0
        return self.conn, [("Connection", "close")] if self.closing else []

    def end(self):
        if self.closing:
            if not self.conn.is_closed_by_peer(IO_TIMEOUT):
                raise AssertionError("corsd kept the connection after Connection: close")
            self.drop()

    def drop(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def next_kind(self):
        if not self.deck:
            self.deck = [k for k, w in self.DECK for _ in range(w)]
            self.rnd.shuffle(self.deck)
        return self.deck.pop()

    def run(self):
        soak = self.soak
        try:
            while not soak.stop.is_set():
                if not soak.go.is_set():
                    self.drop()
                    soak.idle[self.tid].set()
                    soak.go.wait(0.2)
                    continue
                kind = self.next_kind()
                self.n += 1
                t0 = time.monotonic()
                try:
                    self.one(kind)
                except Exception as e:  # noqa: BLE001 - every failure counts
                    soak.error("client %d request %d (%s) at +%.1fs: %r"
                               % (self.tid, self.n, kind, t0 - soak.t0, e))
                    self.drop()
                    continue
                self.counts[kind] = self.counts.get(kind, 0) + 1
        finally:
            self.drop()
            soak.idle[self.tid].set()

    def note(self, kind, origin, r, t0, group):
        """Checks that r matches one of the two variants; remembers which."""
        got = matching_variants(group, origin, r.status, r.cors())
        if not got:
            raise AssertionError("matches neither policy variant: %r" % (r,))
        if len(got) == 1:
            self.records.append((t0, time.monotonic(), got, kind))
            v = next(iter(got))
            self.variants[(kind, v)] = self.variants.get((kind, v), 0) + 1

    def check_vary(self, r, preflight):
        got = r.vary_lower()
        if preflight:
            if sorted(got) != sorted(t.lower() for t in PREFLIGHT_VARY):
                raise AssertionError("preflight Vary: %r" % (r,))
        elif "origin" not in got or len(got) != len(set(got)):
            raise AssertionError("Vary: %r" % (r,))

    def one(self, kind):
        rnd = self.rnd
        n = self.n
        t0 = time.monotonic()
        if kind.startswith("preflight_"):
            origin = {"preflight_app": APP, "preflight_other": OTHER,
                      "preflight_evil": EVIL}[kind]
            c, extra = self.begin()
            r = c.request("OPTIONS", "/api/pre/%d" % n,
                          preflight_hdrs(origin, "PUT", "content-type, X-Req", extra=extra))
            self.end()
            self.note(kind, origin, r, t0, "preflight")
            self.check_vary(r, True)
            if r.status == 403 and not r.body.startswith(b"CORS preflight denied by policy api"):
                raise AssertionError("403 body: %r %r" % (r, r.body))
            return
        if kind == "pub_preflight":
            origin = rnd.choice((APP, OTHER, EVIL, "null"))
            c, extra = self.begin()
            r = c.request("OPTIONS", "/pub/pre/%d" % n, preflight_hdrs(origin, "GET", extra=extra))
            self.end()
            self.note(kind, origin, r, t0, "pub_preflight")
            return
        if kind in ("get_app", "get_other", "get_plain", "get_cors", "head"):
            origin = {"get_app": APP, "get_other": OTHER, "get_plain": None, "head": APP,
                      "get_cors": rnd.choice((APP, OTHER, EVIL, None))}[kind]
            target = "/api/%s/%d?q=%d" % ("cors" if kind == "get_cors" else "get", n,
                                           rnd.randrange(1 << 30))
            method = "HEAD" if kind == "head" else "GET"
            c, extra = self.begin()
            r = c.request(method, target, origin_hdrs(origin, extra=extra))
            self.end()
            self.note(kind, origin, r, t0, "actual")
            self.check_vary(r, False)
            if kind == "head":
                if r.body != b"":
                    raise AssertionError("HEAD with a body: %r" % (r,))
            elif kind == "get_cors":
                if r.body != b"cors body" or "accept-encoding" not in r.vary_lower():
                    raise AssertionError("cors route: %r %r" % (r, r.body))
            elif ('"target": "%s"' % target).encode() not in r.body:
                raise AssertionError("wrong upstream answer: %r %r" % (r, r.body[:300]))
            return
        if kind == "pub_get":
            c, extra = self.begin()
            r = c.request("GET", "/pub/x/%d" % n, origin_hdrs(None, extra=extra))
            self.end()
            self.note(kind, None, r, t0, "pub_get")
            return
        if kind in ("post", "put"):
            origin = rnd.choice((APP, OTHER))
            size = rnd.choice((0, 1, rnd.randrange(1, 4096), rnd.randrange(1, POST_MAX)))
            off = rnd.randrange(0, POST_MAX - size + 1)
            body = POST_BLOB[off:off + size]
            c, extra = self.begin()
            r = c.request(kind.upper(), "/api/echo/%d" % n, origin_hdrs(
                origin, extra=[("Content-Type", "application/x-soak")] + extra), body)
            self.end()
            self.note(kind, origin, r, t0, "actual")
            self.check_vary(r, False)
            if r.body != body:
                raise AssertionError("echo of %d bytes came back as %d bytes%s"
                                     % (size, len(r.body), "" if len(r.body) != size
                                        else " that differ"))
            return
        if kind in ("stream", "abandon_stream"):
            origin = rnd.choice((APP, OTHER))
            size = rnd.randrange(STREAM_MIN, STREAM_MAX + 1)
            off = rnd.randrange(0, len(BLOB) - size + 1)
            mode = rnd.choice("cl")
            c, extra = self.begin()
            if kind == "abandon_stream":
                extra = []  # the client hangs up itself
            c.send(build_request("GET", "/api/stream/%d/%d/%d/%s" % (size, off, n, mode),
                                 origin_hdrs(origin, extra=extra)))
            version, status, reason, headers = c.read_head()
            head_only = Response(version, status, reason, headers, b"")
            self.note(kind, origin, head_only, t0, "actual")
            self.check_vary(head_only, False)
            if kind == "abandon_stream":
                c.bs._fill()  # some of the body, then hang up
                self.drop()
                return
            body = read_body_big(c, headers)
            self.end()
            if len(body) != size or body != BLOB[off:off + size]:
                raise AssertionError("stream of %d bytes (%s) came back as %d bytes%s"
                                     % (size, mode, len(body), "" if len(body) != size
                                        else " that differ"))
            return
        if kind == "abandon_post":
            c, _ = self.begin()  # and hangs up mid-body
            size = rnd.randrange(2, POST_MAX)
            c.send(build_request("POST", "/api/echo/%d" % n,
                                 origin_hdrs(APP, extra=[("Content-Length", str(size))]),
                                 POST_BLOB[:size // 2]))
            self.drop()
            return
        if kind in ("strict_deny", "strict_ok"):
            origin = EVIL if kind == "strict_deny" else APP
            target = "/strict/%s/%d" % ("leak" if kind == "strict_deny" else "ok", n)
            c, extra = self.begin()
            r = c.request("GET", target, origin_hdrs(origin, extra=extra))
            self.end()
            self.note(kind, origin, r, t0, "strict")
            self.check_vary(r, False)
            if r.status == 403 and not r.body.startswith(b"CORS request denied by policy strict"):
                raise AssertionError("403 body: %r %r" % (r, r.body))
            return
        raise AssertionError("unknown kind %s" % kind)


# --------------------------------------------------------------------------


class SoakTest(CorsdTestCase):
    @classmethod
    def make_cfg(cls, variant):
        return make_config(cls.upstream_url, policies(variant), workers=2,
                           admin={"listen": "127.0.0.1:0"},
                           timeouts={"connect": "5s", "upstream": "30s", "client": "60s"})

    @classmethod
    def setUpClass(cls):
        # CorsdTestCase.setUpClass, with an upstream that restarts in place.
        cls.upstream = SoakUpstream().start()
        cls.upstream_url = cls.upstream.url
        cls.addClassCleanup(lambda: (cls.upstream.stop(), cls.upstream.close_listener()))
        cls.corsd = Corsd(cls.make_cfg("A"))
        cls.addClassCleanup(cls.corsd.cleanup)
        cls.addClassCleanup(cls.corsd.stop)
        cls.corsd.start()
        line = cls.corsd.wait_log(r"admin listening on \S+:\d+", timeout=5, since=0)
        if line is None:
            raise AssertionError("no 'admin listening on' line:\n" + cls.corsd.output())
        cls.admin_port = int(re.search(r"admin listening on \S+:(\d+)", line).group(1))

    # -- the soak's moving parts -------------------------------------------
    def error(self, msg):
        with self.lock:
            self.errors.append(msg)

    def restart_upstream(self):
        old = self.upstream
        new = old.successor()
        type(self).upstream = new
        self.retired.append(old)
        if not old.retire():
            self.error("upstream generation %d did not finish within %ds: %s still run"
                       % (len(self.retired), RETIRE_TIMEOUT,
                          ", ".join(t.name for t in old.threads)))
        self.restarts += 1

    def reload(self):
        variant = "B" if self.epochs[-1][2] == "A" else "A"
        self.corsd.write_config(self.make_cfg(variant))
        mark = self.corsd.mark()
        t_sig = time.monotonic()
        self.corsd.signal(signal.SIGHUP)
        line = self.corsd.wait_log(r"reloaded %s|reload of .* failed"
                                   % re.escape(self.corsd.config_path),
                                   timeout=IO_TIMEOUT, since=mark)
        if line is None or "failed" in line:
            self.error("reload %d to %s not confirmed: %r" % (len(self.epochs), variant, line))
        self.epochs.append((t_sig, time.monotonic(), variant))

    def pause(self):
        for e in self.idle:
            e.clear()
        self.go.clear()
        deadline = time.monotonic() + PAUSE_TIMEOUT
        for e in self.idle:
            if not e.wait(max(0.0, deadline - time.monotonic())):
                self.error("a client did not pause within %ds" % PAUSE_TIMEOUT)

    def quiet_point(self, what):
        """Traffic paused, the upstream restarted (so corsd's pooled
        connections close): (descriptors, RSS KiB, open connections)."""
        self.pause()
        self.restart_upstream()
        fds = self.corsd.wait_fds_at_most(self.fd0, timeout=IO_TIMEOUT)
        rss = self.corsd.rss_kib()
        deadline = time.monotonic() + IO_TIMEOUT
        while True:  # the gauge trails the closes it counts
            open_conns = int(scrape(self.admin_port).get("corsd_open_connections", -1))
            if open_conns == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.05)  # polling the gauge, bounded
        sys.stderr.write("soak: %s: %d fds, %d KiB RSS, %d open connections\n"
                         % (what, fds, rss, open_conns))
        return fds, rss, open_conns

    def sample(self):
        try:
            self.samples.append((time.monotonic() - self.t0, self.corsd.fd_count(),
                                 self.corsd.rss_kib()))
        except (OSError, RuntimeError) as e:
            self.error("cannot sample corsd: %r" % (e,))

    def traffic(self, until):
        """Runs the clients until `until`, reloading and restarting the
        upstream on their schedules, sampling every second."""
        self.go.set()
        while True:
            now = time.monotonic()
            if now >= until or len(self.errors) >= MAX_ERRORS or not self.corsd.alive():
                return
            if now >= self.next_sample:
                self.sample()
                self.check_epochs()
                self.digest_log()
                self.next_sample += 1.0
            if now >= self.next_reload:
                self.reload()
                self.next_reload = time.monotonic() + RELOAD_EVERY
            if now >= self.next_restart:
                self.restart_upstream()
                self.next_restart = time.monotonic() + RESTART_EVERY
            wake = min(until, self.next_sample, self.next_reload, self.next_restart)
            time.sleep(max(0.0, min(0.25, wake - time.monotonic())))  # pacing, not sync

    def check_epochs(self):
        """Every answer that only one variant gives came from a variant that
        was (or, within GRACE of a reload, may still have been) in force
        while the request was in flight. An answer can be judged as soon as
        it is complete: a later reload cannot move a window that starts
        before the answer ended."""
        ep = self.epochs
        windows = []
        for k, (t_sig, _, v) in enumerate(ep):
            end = ep[k + 1][1] + GRACE if k + 1 < len(ep) else math.inf
            windows.append((t_sig, end, v))
        for c in self.clients:
            while c.records:
                s, e, got, kind = c.records.popleft()
                self.judged += 1
                if not any(v in got and ws <= e and we >= s for ws, we, v in windows):
                    self.error("client %d %s at +%.2f..+%.2fs matched variant %s, not in "
                               "force then" % (c.tid, kind, s - self.t0, e - self.t0,
                                               "/".join(sorted(got))))

    def digest_log(self):
        """Counts corsd's access lines by status and drops the lines read so
        far (a long soak would keep gigabytes of them), keeping a tail for
        the failure messages. A sanitizer or memcheck report among them is
        an error, as CorsdTestCase would find it in the lines it keeps."""
        c = self.corsd
        with c.lock:
            n = max(0, len(c.lines) - 200)
            done = c.lines[:n]
            del c.lines[:n]
            c._mark = max(0, c._mark - n)
        for i, line in enumerate(done):
            e = parse_access(line)
            if e is not None:
                st = e.get("status")
                self.access[st] = self.access.get(st, 0) + 1
            elif SANITIZER_RE.search(line):
                self.error("corsd's stderr:\n" + "\n".join(done[max(0, i - 5):i + 60]))

    # -- the test -------------------------------------------------------------
    def test_soak(self):
        self.lock = threading.Lock()
        self.errors = []
        self.retired = []
        self.restarts = 0
        self.samples = []
        self.stop = threading.Event()
        self.go = threading.Event()
        self.idle = [threading.Event() for _ in range(CLIENTS)]
        self.fd0 = self.corsd.fd_count()
        rss0 = self.corsd.rss_kib()
        m0 = scrape(self.admin_port)
        self.t0 = time.monotonic()
        self.epochs = [(-math.inf, -math.inf, "A")]
        self.judged = 0
        self.access = {}
        self.next_sample = self.t0
        self.next_reload = self.t0 + RELOAD_EVERY
        self.next_restart = self.t0 + RESTART_EVERY

        clients = self.clients = [Client(self, i) for i in range(CLIENTS)]
        threads = [threading.Thread(target=c.run, name="soak-client-%d" % c.tid, daemon=True)
                   for c in clients]
        for t in threads:
            t.start()
        try:
            self.traffic(self.t0 + WARMUP)
            fd_start, rss_start, open_start = self.quiet_point("after warm-up")
            t_mid = time.monotonic()
            self.next_restart = max(self.next_restart, t_mid + RESTART_EVERY / 2)
            self.traffic(t_mid + SECONDS - WARMUP)
            fd_end, rss_end, open_end = self.quiet_point("at the end")
        finally:
            self.stop.set()
            self.go.set()
            for t in threads:
                t.join(PAUSE_TIMEOUT)
        elapsed = time.monotonic() - self.t0
        self.assertFalse(any(t.is_alive() for t in threads), "a client thread hung")
        self.assertTrue(self.corsd.alive(), "corsd died:\n" + self.corsd.output()[-4000:])

        # -- what corsd says --------------------------------------------------
        m1 = scrape(self.admin_port)

        def delta(name):
            return m1.get(name, 0) - m0.get(name, 0)

        reloads_ok = delta('corsd_config_reloads_total{result="ok"}')
        reloads_failed = delta('corsd_config_reloads_total{result="failed"}')
        upstream_errors = {k: v - m0.get(k, 0) for k, v in m1.items()
                           if k.startswith("corsd_upstream_errors_total") and v - m0.get(k, 0)}
        upstream_5xx = delta('corsd_upstream_responses_total{class="5xx"}')
        counts = {}
        for c in clients:
            for k, v in c.counts.items():
                counts[k] = counts.get(k, 0) + v
        total = sum(counts.values())
        # Every request is in the access log (abandoned bodies never became
        # requests), and none was answered 5xx.
        want_lines = total - counts.get("abandon_post", 0)
        deadline = time.monotonic() + IO_TIMEOUT
        while True:
            self.digest_log()
            access_lines = sum(self.access.values()) + len(self.corsd.access_entries(since=0))
            if access_lines >= want_lines or time.monotonic() > deadline:
                break
            time.sleep(0.1)  # the log reader trails corsd, bounded
        by_status = dict(self.access)
        for e in self.corsd.access_entries(since=0):
            by_status[e.get("status")] = by_status.get(e.get("status"), 0) + 1
        self.check_epochs()
        gens = self.retired + [self.upstream]
        served_upstream = sum(u.count for u in gens)
        leaks = sum(u.strict_leaks for u in gens)
        idle_closed = sum(u.idle_closed for u in gens)
        raced = sum(u.raced for u in gens)
        dropped = sum(u.dropped for u in gens)
        variants = {}
        for c in clients:
            for k, v in c.variants.items():
                variants[k] = variants.get(k, 0) + v
        tenths = [self.samples[i * (len(self.samples) - 1) // 10] for i in range(11)]
        lo_fd = min(s[1] for s in self.samples)
        hi_fd = max(s[1] for s in self.samples)
        hi_rss = max(s[2] for s in self.samples)
        sanitized = sanitized_binary()
        check_rss = not sanitized and not VALGRIND
        rss_bound = max(RSS_SLACK_KIB, int(rss_start * RSS_SLACK_FRACTION))

        sys.stderr.write(
            "\nsoak summary: %.0fs (%.0fs warm-up), 2 workers, %d clients (%d connections): "
            "%d requests, %d errors; by kind %s; corsd fds %d idle, %d after warm-up, %d at "
            "the end (%d..%d under load); RSS %d KiB idle, %d after warm-up, %d at the end "
            "(+%d, bound %s; peak %d); RSS KiB at each tenth of the run %s; reloads %d "
            "(metrics ok %d, failed %d); upstream restarts %d (closing %d idle connections, "
            "%d of them as corsd sent a request; %d requests met a close instead of an "
            "answer); upstream requests %d; upstream errors %s; access log statuses %s; "
            "%d answers that only one policy variant gives, checked against the reload "
            "times\n"
            % (elapsed, WARMUP, CLIENTS, sum(c.fresh for c in clients), total,
               len(self.errors), sorted(counts.items()), self.fd0, fd_start, fd_end, lo_fd,
               hi_fd, rss0, rss_start, rss_end, rss_end - rss_start,
               "%d KiB" % rss_bound if check_rss else "not checked (%s)"
               % ("valgrind" if VALGRIND else "ASan"), hi_rss,
               " ".join("+%.0fs:%d" % (t, r) for t, _, r in tenths), len(self.epochs) - 1,
               reloads_ok, reloads_failed, self.restarts, idle_closed, raced, dropped,
               served_upstream,
               upstream_errors or "none", sorted(by_status.items()), self.judged))

        # -- the verdict -------------------------------------------------------
        self.assertEqual(self.errors[:20], [], "%d failures (the first 20 shown)"
                         % len(self.errors))
        self.assertGreater(elapsed, SECONDS * 0.9, "the soak stopped early")
        for kind, _ in Client.DECK:
            self.assertGreater(counts.get(kind, 0), 0, "no %s requests were made" % kind)
        for kind in ("preflight_other", "get_other", "pub_preflight"):
            for v in "AB":
                self.assertIn((kind, v), variants, "%s never answered by variant %s: %r"
                              % (kind, v, variants))
        self.assertGreaterEqual(len(self.epochs) - 1, 2, "too few reloads")
        self.assertEqual((reloads_ok, reloads_failed), (len(self.epochs) - 1, 0))
        self.assertGreaterEqual(self.restarts, 3, "too few upstream restarts")
        self.assertGreater(dropped, 0, "the keep-alive race never happened: retry untested")
        self.assertEqual(leaks, 0, "enforce let denied requests reach the upstream")
        self.assertEqual(upstream_errors, {}, "corsd counted upstream errors")
        self.assertEqual(upstream_5xx, 0)
        self.assertEqual(access_lines, want_lines, "access lines vs requests made")
        self.assertEqual([s for s in by_status if s is None or s.startswith("5")], [],
                         "5xx in the access log: %r" % (by_status,))
        self.assertEqual((open_start, open_end), (0, 0), "corsd_open_connections when idle")
        self.assertEqual((fd_start, fd_end), (self.fd0, self.fd0),
                         "corsd's descriptors when idle: before any request, after the "
                         "warm-up, at the end")
        if check_rss:
            self.assertLessEqual(rss_end - rss_start, rss_bound,
                                 "corsd's RSS grew from %d to %d KiB" % (rss_start, rss_end))


if __name__ == "__main__":
    main()
