"""Shared machinery for corsd's integration tests.

Starts the real corsd binary (CORSD_BIN) and a real upstream HTTP/1.1 server,
both on 127.0.0.1, and talks raw HTTP/1.1 to them.  Standard library only.

Rules kept here so every test file gets them for free:
  * every socket has a timeout, every wait and loop is bounded;
  * readiness is detected (corsd's "listening on HOST:PORT" log line), never slept for;
  * every process started is killed by its PID, also when a test fails or the
    interpreter exits early;
  * corsd's stderr is drained continuously and kept, so tests can assert on
    log lines and sanitizer reports are caught at shutdown.
"""

import atexit
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("CORSD_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))

# Generous: the suite also runs under ASan+UBSan.
START_TIMEOUT = float(os.environ.get("CORSD_IT_START_TIMEOUT", "20"))
IO_TIMEOUT = float(os.environ.get("CORSD_IT_IO_TIMEOUT", "15"))
STOP_TIMEOUT = 10.0

LISTEN_RE = re.compile(r"listening on (\S+):(\d+)")
SANITIZER_RE = re.compile(
    r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
    r"ThreadSanitizer|AddressSanitizer:DEADLYSIGNAL|"
    # valgrind memcheck (CORSD_VALGRIND=1): every error it reports
    r"==\d+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|"
    r"Syscall param|Mismatched free|Source and destination overlap|"
    r"Process terminating|.*definitely lost in)"
)

# CORSD_VALGRIND=1 runs every corsd under valgrind memcheck: any invalid
# access or definite leak makes it exit 99, which fails the test like a
# sanitizer report. Slower by 10-50x, so waits scale with CORSD_IT_SLOW.
VALGRIND = os.environ.get("CORSD_VALGRIND") == "1"
VALGRIND_CMD = ["valgrind", "--tool=memcheck", "--quiet", "--error-exitcode=99",
                "--leak-check=full", "--show-leak-kinds=definite",
                "--errors-for-leak-kinds=definite", "--track-fds=no",
                "--child-silent-after-fork=yes"]


def corsd_cmd(args):
    """The argv that runs corsd with args (under valgrind when asked)."""
    return (VALGRIND_CMD if VALGRIND else []) + [corsd_bin()] + list(args)


def proc_fd_count(pid):
    """Open descriptors of a process, from /proc/PID/fd."""
    return len(os.listdir("/proc/%d/fd" % pid))


def proc_rss_kib(pid):
    """Resident set size of a process in KiB, from /proc/PID/status."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


def corsd_bin():
    path = os.environ.get("CORSD_BIN")
    if path:
        return os.path.abspath(path)  # corsd runs in its own directory
    for cand in ("build/corsd", "build-it/corsd"):
        p = os.path.join(SOURCE_DIR, cand)
        if os.access(p, os.X_OK):
            return p
    raise RuntimeError("CORSD_BIN is not set and no built corsd was found")


def sanitized_binary():
    """Whether CORSD_BIN is an ASan build, whose RSS (its quarantine and
    shadow memory) says nothing about corsd's own memory."""
    try:
        with open(corsd_bin(), "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


# --------------------------------------------------------------------------
# Process bookkeeping: everything we start is killed by PID, whatever happens.

_live_procs = {}
_live_lock = threading.Lock()


def _track(proc):
    with _live_lock:
        _live_procs[proc.pid] = proc


def _untrack(proc):
    with _live_lock:
        _live_procs.pop(proc.pid, None)


def _kill_all_tracked():
    with _live_lock:
        procs = list(_live_procs.values())
        _live_procs.clear()
    for p in procs:
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


atexit.register(_kill_all_tracked)


def _on_term(signum, frame):  # ctest's timeout, ^C from a shell
    _kill_all_tracked()
    sys.exit(128 + signum)


for _sig in (signal.SIGTERM, signal.SIGHUP):
    try:
        signal.signal(_sig, _on_term)
    except (ValueError, OSError):
        pass


# --------------------------------------------------------------------------
# YAML emission (block style; strings quoted unless plainly safe).

_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def _yaml_scalar(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return str(v)
    s = str(v)
    if (re.fullmatch(r"[A-Za-z0-9_/][A-Za-z0-9_./-]*", s)
            and s.lower() not in _YAML_WORDS
            and not re.fullmatch(r"[-+]?[0-9][0-9_.]*", s)):
        return s
    return json.dumps(s)  # a JSON string is a valid YAML double-quoted scalar


def _yaml_lines(obj, indent):
    pad = "  " * indent
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, dict):
                out.append("%s%s:" % (pad, k))
                out.extend(_yaml_lines(v, indent + 1))
            elif isinstance(v, list) and any(isinstance(e, (dict, list)) for e in v):
                out.append("%s%s:" % (pad, k))
                out.extend(_yaml_lines(v, indent + 1))
            elif isinstance(v, list):
                out.append("%s%s: [%s]" % (pad, k, ", ".join(_yaml_scalar(e) for e in v)))
            else:
                out.append("%s%s: %s" % (pad, k, _yaml_scalar(v)))
    elif isinstance(obj, list):
        for e in obj:
            if isinstance(e, dict):
                sub = _yaml_lines(e, indent + 1)
                first = sub[0].lstrip()
                out.append("%s- %s" % (pad, first))
                out.extend(sub[1:])
            else:
                out.append("%s- %s" % (pad, _yaml_scalar(e)))
    else:
        out.append(pad + _yaml_scalar(obj))
    return out


def to_yaml(obj):
    return "\n".join(_yaml_lines(obj, 0)) + "\n"


def make_config(upstream_url, policies, **overrides):
    """A complete policy file as a dict: listen on an ephemeral port, fast
    timeouts, access log on.  Top-level keys can be overridden or added."""
    cfg = {
        "listen": "127.0.0.1:0",
        "upstream": upstream_url,
        "workers": 1,
        "timeouts": {"connect": "2s", "upstream": "10s", "client": "30s", "shutdown": "2s"},
        "log": {"level": "info", "format": "text", "access": True},
        "policies": policies,
    }
    for k, v in overrides.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            merged = dict(cfg[k])
            merged.update(v)
            cfg[k] = merged
        else:
            cfg[k] = v
    return cfg


def closed_port():
    """A 127.0.0.1 port nobody listens on (bound, then closed)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


free_port = closed_port


# --------------------------------------------------------------------------
# HTTP message helpers.


def cors_headers(headers):
    """{lowercased Access-Control-* name: [values]} as sent."""
    out = {}
    for k, v in headers:
        if k.lower().startswith("access-control-"):
            out.setdefault(k.lower(), []).append(v)
    return out

class IncompleteResponse(Exception):
    def __init__(self, msg, partial=b"", head=None):
        Exception.__init__(self, msg)
        self.partial = partial
        self.head = head


class Headers:
    """An ordered list of (name, value) with case-insensitive lookups."""

    def __init__(self, items=()):
        self.items = list(items)

    def get(self, name, default=None):
        n = name.lower()
        for k, v in self.items:
            if k.lower() == n:
                return v
        return default

    def get_all(self, name):
        n = name.lower()
        return [v for k, v in self.items if k.lower() == n]

    def has(self, name):
        return bool(self.get_all(name))

    def names(self):
        return [k for k, _ in self.items]

    def tokens(self, name):
        """Comma-separated tokens over every line of `name`, stripped, no empties."""
        out = []
        for v in self.get_all(name):
            out.extend(t.strip() for t in v.split(",") if t.strip())
        return out

    def __iter__(self):
        return iter(self.items)

    def __repr__(self):
        return "Headers(%r)" % (self.items,)


class Response:
    def __init__(self, version, status, reason, headers, body):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def vary(self):
        return self.headers.tokens("Vary")

    def vary_lower(self):
        return [t.lower() for t in self.vary()]

    def cors(self):
        return cors_headers(self.headers)

    def __repr__(self):
        return "<Response %d %r %r body=%d bytes>" % (
            self.status, self.reason, self.headers.items, len(self.body))


def parse_head(head):
    """(start-line parts, Headers) from a head without its final CRLFCRLF."""
    lines = head.split(b"\r\n")
    start = lines[0].decode("latin-1")
    items = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            raise ValueError("bad header line %r" % line)
        items.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    return start, Headers(items)


def build_request(method, target, headers=(), body=None, version="HTTP/1.1",
                  content_length=True):
    """Raw request bytes.  `headers` is a list of (name, value); nothing is
    added except Content-Length for a body (unless content_length=False)."""
    out = ["%s %s %s\r\n" % (method, target, version)]
    hl = list(headers)
    if body is not None and content_length and not any(
            k.lower() in ("content-length", "transfer-encoding") for k, _ in hl):
        hl.append(("Content-Length", str(len(body))))
    for k, v in hl:
        out.append("%s: %s\r\n" % (k, v))
    out.append("\r\n")
    data = "".join(out).encode("latin-1")
    if body is not None:
        data += body
    return data


def chunk_encode(parts):
    out = b""
    for p in parts:
        if p:
            out += b"%x\r\n" % len(p) + p + b"\r\n"
    return out + b"0\r\n\r\n"


class BufferedSocket:
    """Reads exact amounts / lines from a socket with a timeout."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.eof = False

    def _fill(self):
        if self.eof:
            return False
        data = self.sock.recv(65536)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def read_until(self, delim, limit=1 << 20):
        while True:
            i = self.buf.find(delim)
            if i >= 0:
                out, self.buf = self.buf[:i], self.buf[i + len(delim):]
                return out
            if len(self.buf) > limit:
                raise IncompleteResponse("no %r within %d bytes" % (delim, limit), self.buf)
            if not self._fill():
                raise IncompleteResponse("EOF before %r" % (delim,), self.buf)

    def read_exact(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise IncompleteResponse("EOF after %d of %d bytes" % (len(self.buf), n),
                                         self.buf)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_to_eof(self, limit=64 << 20):
        while self._fill():
            if len(self.buf) > limit:
                raise IncompleteResponse("body too large", self.buf)
        out, self.buf = self.buf, b""
        return out


def read_chunked(bs):
    body = b""
    while True:
        line = bs.read_until(b"\r\n", 4096)
        size = int(line.split(b";")[0].strip(), 16)
        if size == 0:
            while bs.read_until(b"\r\n", 65536):  # trailers
                pass
            return body
        try:
            body += bs.read_exact(size)
        except IncompleteResponse as e:
            raise IncompleteResponse(str(e), body + e.partial)
        if bs.read_exact(2) != b"\r\n":
            raise IncompleteResponse("bad chunk terminator", body)


class HttpConn:
    """One client connection to corsd (keep-alive capable)."""

    def __init__(self, port, host="127.0.0.1", timeout=IO_TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.bs = BufferedSocket(self.sock)

    def settimeout(self, t):
        self.sock.settimeout(t)

    def send(self, data):
        self.sock.sendall(data)

    def read_head(self):
        """(version, status, reason, Headers); skips 1xx responses."""
        while True:
            head = self.bs.read_until(b"\r\n\r\n")
            start, headers = parse_head(head)
            parts = start.split(" ", 2)
            version, status = parts[0], int(parts[1])
            reason = parts[2] if len(parts) > 2 else ""
            if 100 <= status < 200:
                continue
            return version, status, reason, headers

    def read_body(self, method, status, headers):
        if method == "HEAD" or status in (204, 304):
            return b""
        te = headers.get("Transfer-Encoding")
        if te is not None and "chunked" in te.lower():
            return read_chunked(self.bs)
        cl = headers.get("Content-Length")
        if cl is not None:
            return self.bs.read_exact(int(cl))
        return self.bs.read_to_eof()

    def read_response(self, method="GET"):
        version, status, reason, headers = self.read_head()
        body = self.read_body(method, status, headers)
        return Response(version, status, reason, headers, body)

    def request(self, method, target, headers=(), body=None, **kw):
        self.send(build_request(method, target, headers, body, **kw))
        return self.read_response(method)

    def is_closed_by_peer(self, timeout=IO_TIMEOUT):
        """True when the peer closes (EOF or reset) within timeout."""
        if self.bs.buf:
            return False
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.sock], [], [], left)
            if r:
                try:
                    data = self.sock.recv(65536)
                except (ConnectionResetError, OSError):
                    return True
                if not data:
                    return True
                self.bs.buf += data
                return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


# --------------------------------------------------------------------------
# The upstream: a threaded raw-socket HTTP/1.1 server with keep-alive.

class UpstreamRequest:
    def __init__(self, method, target, version, headers, body, conn_id):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.conn_id = conn_id

    @property
    def path(self):
        return self.target.split("?", 1)[0]

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def __repr__(self):
        return "<UpstreamRequest %s %s %r body=%d>" % (
            self.method, self.target, self.headers.items, len(self.body))


class Reply:
    """What a handler returns: serialised with Content-Length unless
    chunks is given (then chunked).  close=True closes after it."""

    def __init__(self, status=200, headers=(), body=b"", reason=None, close=False,
                 chunks=None):
        self.status = status
        self.headers = list(headers)
        self.body = body if isinstance(body, bytes) else body.encode()
        self.reason = reason
        self.close = close
        self.chunks = chunks

    def serialise(self, head_request=False):
        reason = self.reason or REASONS.get(self.status, "Status")
        out = ["HTTP/1.1 %d %s\r\n" % (self.status, reason)]
        names = {k.lower() for k, _ in self.headers}
        hl = list(self.headers)
        if self.chunks is not None:
            hl.append(("Transfer-Encoding", "chunked"))
        elif (self.status not in (204, 304) and not (100 <= self.status < 200)
              and "content-length" not in names):
            hl.append(("Content-Length", str(len(self.body))))
        if self.close and "connection" not in names:
            hl.append(("Connection", "close"))
        for k, v in hl:
            out.append("%s: %s\r\n" % (k, v))
        out.append("\r\n")
        data = "".join(out).encode("latin-1")
        if head_request or self.status in (204, 304):
            return data
        if self.chunks is not None:
            return data + chunk_encode(self.chunks)
        return data + self.body


REASONS = {200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently",
           304: "Not Modified", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
           418: "I'm a teapot", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable"}

CLOSE = object()  # handler result: close the connection without answering


def deterministic_bytes(n, seed=1):
    return random.Random(seed).randbytes(n)


CHUNKED_PARTS = [b"first chunk\n", bytes(range(256)), b"x" * 70000, b"\r\n0\r\n\r\n-not-the-end",
                 b"last chunk"]
CHUNKED_BODY = b"".join(CHUNKED_PARTS)
BIG_SIZE = 3 * 1024 * 1024 + 12345


class UpstreamConn:
    """Handed to handlers that write raw bytes themselves."""

    def __init__(self, server, sock, conn_id):
        self.server = server
        self.sock = sock
        self.conn_id = conn_id
        self.close_after = False

    def send(self, data):
        self.sock.sendall(data)

    def wait_closed_or_stop(self, timeout=120):
        """Block until the peer closes or the server stops (bounded)."""
        deadline = time.monotonic() + timeout
        while not self.server.stopping.is_set() and time.monotonic() < deadline:
            r, _, _ = select.select([self.sock], [], [], 0.1)
            if r:
                try:
                    data = self.sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    with self.server.lock:
                        self.server.peer_closed_stalls += 1
                    return True
        return False


class Upstream:
    """Behaviour chosen by the first path segment that names a route
    (so `/anypolicy/prefix/cors` runs the `cors` route); the remaining
    segments are passed as args.  Tests add routes with route(name, fn);
    fn(req, conn, args) returns a Reply, CLOSE, or None (it wrote the answer
    itself through conn.send)."""

    def __init__(self, port=None):
        """port: bind this port instead of a free one, e.g. to restart an
        upstream in place; SO_REUSEPORT lets the new one bind before the old
        one stops, so no connection attempt is refused in between."""
        self.want_port = port
        self.routes = {}
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.requests = []
        self.accepted = 0
        self.peer_closed_stalls = 0
        self.stopping = threading.Event()
        self.sock = None
        self.threads = []
        self.conns = set()
        self._install_default_routes()

    # -- routes ------------------------------------------------------------
    def route(self, name, fn):
        self.routes[name] = fn

    def _install_default_routes(self):
        r = self.routes

        def default(req, conn, args):
            body = json.dumps({"method": req.method, "target": req.target,
                               "body_len": len(req.body)}).encode()
            return Reply(200, [("Content-Type", "application/json"),
                               ("X-Upstream", "yes")], body)

        r[""] = default
        r["cors"] = lambda req, conn, args: Reply(200, [
            ("Content-Type", "text/plain"),
            ("Access-Control-Allow-Origin", "*"),
            ("Access-Control-Allow-Credentials", "true"),
            ("Access-Control-Expose-Headers", "X-Upstream-Secret"),
            ("Access-Control-Allow-Methods", "PUT, DELETE"),
            ("Access-Control-Max-Age", "99999"),
            ("Vary", "Accept-Encoding"),
        ], b"cors body")
        r["vary-star"] = lambda req, conn, args: Reply(
            200, [("Vary", "*"), ("Content-Type", "text/plain")], b"vary star")
        r["vary-origin"] = lambda req, conn, args: Reply(
            200, [("Vary", "origin, Accept-Encoding"), ("Content-Type", "text/plain")],
            b"vary origin")
        r["chunked"] = lambda req, conn, args: Reply(
            200, [("Content-Type", "application/octet-stream")], chunks=CHUNKED_PARTS)
        big = {}

        def big_route(req, conn, args):
            if "b" not in big:
                big["b"] = deterministic_bytes(BIG_SIZE)
            return Reply(200, [("Content-Type", "application/octet-stream")], big["b"])

        r["big"] = big_route

        def stall(req, conn, args):
            conn.wait_closed_or_stop()
            return CLOSE

        r["stall"] = stall
        r["echo"] = lambda req, conn, args: Reply(
            200, [("Content-Type", req.header("Content-Type", "application/octet-stream"))],
            req.body)

        def status(req, conn, args):
            code = int(args[0]) if args else 200
            if code in (204, 304):
                return Reply(code, [("X-Status", str(code))])
            return Reply(code, [("Content-Type", "text/plain"), ("X-Status", str(code))],
                         ("status %d\n" % code).encode())

        r["status"] = status

    # -- lifecycle ---------------------------------------------------------
    def start(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(("127.0.0.1", self.want_port or 0))
        s.listen(128)
        s.settimeout(0.1)
        self.sock = s
        self.port = s.getsockname()[1]
        t = threading.Thread(target=self._accept_loop, name="upstream-accept", daemon=True)
        t.start()
        self.threads.append(t)
        return self

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def stop(self):
        if self.stopping.is_set():
            return
        self.stopping.set()
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in list(self.threads):
            t.join(timeout=5)
        try:
            self.sock.close()
        except OSError:
            pass

    def reset(self):
        with self.lock:
            self.requests = []
            self.accepted = 0
            self.peer_closed_stalls = 0

    def snapshot(self):
        with self.lock:
            return list(self.requests)

    def wait_requests(self, n, timeout=IO_TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return list(self.requests)

    # -- server ------------------------------------------------------------
    def _accept_loop(self):
        conn_id = 0
        while not self.stopping.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            conn_id += 1
            with self.lock:
                self.accepted += 1
                self.conns.add(c)
            t = threading.Thread(target=self._serve, args=(c, conn_id),
                                 name="upstream-conn-%d" % conn_id, daemon=True)
            self.threads.append(t)
            t.start()

    def _read_request(self, bs):
        """One request, or None at a clean EOF between requests."""
        while b"\r\n\r\n" not in bs.buf:
            if self.stopping.is_set():
                return None
            r, _, _ = select.select([bs.sock], [], [], 0.1)
            if not r:
                continue
            try:
                if not bs._fill():
                    return None
            except OSError:
                return None
        head = bs.read_until(b"\r\n\r\n")
        start, headers = parse_head(head)
        method, target, version = start.split(" ", 2)
        te = headers.get("Transfer-Encoding")
        if te is not None and "chunked" in te.lower():
            body = read_chunked(bs)
        elif headers.get("Content-Length") is not None:
            body = bs.read_exact(int(headers.get("Content-Length")))
        else:
            body = b""
        return method, target, version, headers, body

    def _dispatch(self, path):
        segs = path.split("/")
        for i, seg in enumerate(segs):
            if seg and seg in self.routes:
                return self.routes[seg], segs[i + 1:]
        return self.routes[""], []

    def _serve(self, sock, conn_id):
        sock.settimeout(IO_TIMEOUT)
        bs = BufferedSocket(sock)
        conn = UpstreamConn(self, sock, conn_id)
        try:
            while not self.stopping.is_set():
                try:
                    got = self._read_request(bs)
                except (IncompleteResponse, ValueError, OSError):
                    return
                if got is None:
                    return
                method, target, version, headers, body = got
                req = UpstreamRequest(method, target, version, headers, body, conn_id)
                with self.cond:
                    self.requests.append(req)
                    self.cond.notify_all()
                fn, args = self._dispatch(req.path)
                result = fn(req, conn, args)
                if result is CLOSE:
                    return
                if isinstance(result, Reply):
                    sock.sendall(result.serialise(head_request=(method == "HEAD")))
                    if result.close:
                        return
                if conn.close_after:
                    return
                if (headers.get("Connection", "").lower() == "close"
                        or version == "HTTP/1.0"):
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
# corsd.

ACCESS_RE = re.compile(r"^\S+\s+\w+\s+access(\s.*)?$")
KV_RE = re.compile(r'([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|\S*)')


_ESC = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "0": "\0"}


def unescape(v):
    """Undo the text log's quoting: \\" \\\\ \\n \\r \\t \\xNN \\uNNNN."""
    out, i = [], 0
    while i < len(v):
        c = v[i]
        if c == "\\" and i + 1 < len(v):
            n = v[i + 1]
            if n == "x" and i + 3 < len(v):
                out.append(chr(int(v[i + 2:i + 4], 16)))
                i += 4
                continue
            if n == "u":
                out.append(chr(int(v[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append(_ESC.get(n, n))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def parse_kv(text):
    out = {}
    for k, v in KV_RE.findall(text or ""):
        if v.startswith('"') and v.endswith('"') and len(v) >= 2:
            v = unescape(v[1:-1])
        out[k] = v
    return out


def parse_access(line):
    """The key=value dict of an access log line (text or JSON), else None."""
    s = line.strip()
    if s.startswith("{"):
        try:
            obj = json.loads(s)
        except ValueError:
            return None
        if obj.get("msg") == "access" or obj.get("message") == "access":
            return {k: (str(v).lower() if isinstance(v, bool) else str(v))
                    for k, v in obj.items()}
        return None
    m = ACCESS_RE.match(s)
    if not m:
        return None
    return parse_kv(m.group(1))


class Corsd:
    def __init__(self, config, name="corsd", extra_args=()):
        self.dir = tempfile.mkdtemp(prefix="corsd-it-")
        self.config_path = os.path.join(self.dir, name + ".yaml")
        self.write_config(config)
        self.extra_args = list(extra_args)
        self.proc = None
        self.lines = []
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.readers = []
        self.port = None
        self.hung = False
        self.returncode = None
        self._mark = 0

    def write_config(self, config):
        text = config if isinstance(config, str) else to_yaml(config)
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.config_path)  # atomic for reload tests

    def _drain(self, stream, tag):
        try:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\n")
                with self.cond:
                    self.lines.append(line)
                    self.cond.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            with self.cond:
                self.cond.notify_all()

    def start(self, timeout=START_TIMEOUT):
        self.proc = subprocess.Popen(corsd_cmd(["-c", self.config_path] + self.extra_args),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=self.dir)
        _track(self.proc)
        for stream, tag in ((self.proc.stderr, "err"), (self.proc.stdout, "out")):
            t = threading.Thread(target=self._drain, args=(stream, tag), daemon=True)
            t.start()
            self.readers.append(t)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines:
                    m = LISTEN_RE.search(line)
                    if m and "admin" not in line.lower():
                        self.port = int(m.group(2))
                        return self
                if self.proc.poll() is not None:
                    # let the readers finish collecting the output
                    self.cond.wait(0.2)
                    raise RuntimeError("corsd exited with %s before listening:\n%s"
                                       % (self.proc.returncode, self.output()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError("corsd did not log 'listening on' within %.0fs:\n%s"
                                       % (timeout, self.output()))
                self.cond.wait(min(left, 0.2))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def output(self, since=0):
        with self.lock:
            return "\n".join(self.lines[since:])

    def log_lines(self, since=None):
        with self.lock:
            return list(self.lines[self._mark if since is None else since:])

    def mark(self):
        with self.lock:
            self._mark = len(self.lines)
        return self._mark

    def wait_log(self, pattern, timeout=IO_TIMEOUT, since=None):
        """First log line (after the mark) matching the regex; None on timeout."""
        rx = re.compile(pattern)
        start = self._mark if since is None else since
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines[start:]:
                    if rx.search(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None and not self._readers_alive():
                    return None
                self.cond.wait(min(left, 0.2))

    def _readers_alive(self):
        return any(t.is_alive() for t in self.readers)

    def access_entries(self, since=None):
        return [e for e in (parse_access(l) for l in self.log_lines(since)) if e is not None]

    def wait_access(self, timeout=IO_TIMEOUT, since=None, **want):
        """The first access entry after the mark whose fields match the
        given regexes (full match), e.g. wait_access(path="/x", verdict="denied")."""
        rx = {k: re.compile(v) for k, v in want.items()}
        start = self._mark if since is None else since
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines[start:]:
                    e = parse_access(line)
                    if e is None:
                        continue
                    if all(k in e and r.fullmatch(e[k]) for k, r in rx.items()):
                        return e
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._readers_alive()):
                    return None
                self.cond.wait(min(left, 0.2))

    def signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, wait; SIGKILL if it hangs (self.hung).  Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.hung = True
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        for t in self.readers:
            t.join(timeout=5)
        for s in (self.proc.stdout, self.proc.stderr):
            try:
                s.close()
            except OSError:
                pass
        _untrack(self.proc)
        self.returncode = self.proc.returncode
        return self.returncode

    def fd_count(self):
        return proc_fd_count(self.proc.pid)

    def rss_kib(self):
        return proc_rss_kib(self.proc.pid)

    def wait_fds_at_most(self, limit, timeout=IO_TIMEOUT):
        """Waits (bounded) until corsd holds at most limit descriptors, as
        closes complete asynchronously; returns the last count seen."""
        deadline = time.monotonic() + timeout
        while True:
            n = self.fd_count()
            if n <= limit or time.monotonic() >= deadline:
                return n
            time.sleep(0.05)

    def sanitizer_report(self):
        with self.lock:
            bad = [i for i, l in enumerate(self.lines) if SANITIZER_RE.search(l)]
            if not bad:
                return None
            return "\n".join(self.lines[max(0, bad[0] - 5):bad[0] + 60])

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- talking to it -----------------------------------------------------
    def conn(self, timeout=IO_TIMEOUT):
        return HttpConn(self.port, timeout=timeout)

    def request(self, method, target, headers=(), body=None, **kw):
        with self.conn() as c:
            return c.request(method, target, headers, body, **kw)

    def send_raw(self, data, method="GET"):
        with self.conn() as c:
            c.send(data)
            return c.read_response(method)

    def explain(self, head, config_path=None, timeout=60):
        return run_explain(config_path or self.config_path, head, timeout)


def run_corsd(args, input=None, timeout=60):
    """Run corsd to completion: (exit status, stdout, stderr)."""
    p = subprocess.Popen(corsd_cmd(args), stdin=subprocess.PIPE
                         if input is not None else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _track(p)
    try:
        out, err = p.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate(timeout=5)
        raise
    finally:
        _untrack(p)
    return p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


class Explanation:
    def __init__(self, text):
        self.text = text
        self.fields = {}
        self.headers = Headers()
        lines = text.splitlines()
        i = 0
        while i < len(lines) and lines[i].strip():
            k, _, v = lines[i].partition(":")
            self.fields[k.strip().lower()] = v.strip()
            i += 1
        items = []
        while i < len(lines) and not lines[i].strip():
            i += 1
        for line in lines[i:]:  # the header block ends at the next blank line
            if not line.strip():
                break
            k, sep, v = line.partition(":")
            if sep:
                items.append((k.strip(), v.strip()))
        self.headers = Headers(items)

    def get(self, key):
        return self.fields.get(key)

    def word(self, key):
        """The first word of a field: "denied (report_only: ...)" -> "denied"."""
        v = self.fields.get(key)
        return v.split()[0] if v else v

    def cors(self):
        return cors_headers(self.headers)

    def vary_lower(self):
        return [t.lower() for t in self.headers.tokens("Vary")]


def run_explain(config_path, head, timeout=60):
    if isinstance(head, str):
        head = head.encode("latin-1")
    rc, out, err = run_corsd(["-c", config_path, "--explain", "-"], input=head, timeout=timeout)
    text = out if "policy:" in out else err
    return rc, Explanation(text), out + err


# --------------------------------------------------------------------------
# Test-case base class: one upstream and one corsd per class.

def origin_hdrs(origin=None, host="api.test", extra=()):
    h = [("Host", host)]
    if origin is not None:
        h.append(("Origin", origin))
    return h + list(extra)


def preflight_hdrs(origin, method, req_headers=None, host="api.test", extra=()):
    h = [("Host", host), ("Origin", origin), ("Access-Control-Request-Method", method)]
    if req_headers is not None:
        h.append(("Access-Control-Request-Headers", req_headers))
    return h + list(extra)


class TempDirTestCase(unittest.TestCase):
    """A test case with its own temporary folder (self.dir), removed after
    each test, and write(name, text) -> path."""
    maxDiff = None
    tmp_prefix = "corsd-"

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix=self.tmp_prefix)
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path


class CorsdTestCase(unittest.TestCase):
    maxDiff = None

    @classmethod
    def policies(cls, upstream):
        raise NotImplementedError

    @classmethod
    def config(cls, upstream):
        return make_config(upstream.url, cls.policies(upstream))

    @classmethod
    def extra_setup(cls):
        pass

    @classmethod
    def setUpClass(cls):
        cls.upstream = Upstream().start()
        cls.addClassCleanup(cls.upstream.stop)
        cls.extra_setup()
        cls.corsd = Corsd(cls.config(cls.upstream))
        cls.addClassCleanup(cls.corsd.cleanup)
        cls.addClassCleanup(cls.corsd.stop)
        cls.corsd.start()

    @classmethod
    def tearDownClass(cls):
        crashed = not cls.corsd.alive()
        rc = cls.corsd.stop()
        problems = []
        report = cls.corsd.sanitizer_report()
        if report:
            problems.append("sanitizer report in corsd's stderr:\n" + report)
        if crashed:
            problems.append("corsd died during the tests (exit %s)" % rc)
        if cls.corsd.hung:
            problems.append("corsd did not exit within %ds of SIGTERM (killed)" % STOP_TIMEOUT)
        elif rc != 0 and not crashed:
            # Also how LeakSanitizer reports leaks at exit.
            problems.append("corsd exited with %s after SIGTERM, not 0" % rc)
        if problems:
            raise AssertionError("\n".join(problems) + "\n--- corsd stderr tail ---\n"
                                 + "\n".join(cls.corsd.lines[-40:]))

    def setUp(self):
        if not self.corsd.alive():
            self.fail("corsd is not running (exit %s):\n%s"
                      % (self.corsd.proc.returncode, self.corsd.output()[-4000:]))
        self.upstream.reset()
        self.corsd.mark()

    def tearDown(self):
        if not self.corsd.alive():
            self.fail("corsd died during this test (exit %s):\n%s"
                      % (self.corsd.proc.poll(), self.corsd.output()[-4000:]))

    # -- shortcuts ---------------------------------------------------------
    def req(self, method, target, headers=(), body=None, **kw):
        return self.corsd.request(method, target, headers, body, **kw)

    def get(self, target, origin=None, host="api.test", extra=()):
        return self.req("GET", target, origin_hdrs(origin, host, extra))

    def preflight(self, target, origin, method, req_headers=None, host="api.test", extra=()):
        return self.req("OPTIONS", target, preflight_hdrs(origin, method, req_headers, host, extra))

    # -- assertions --------------------------------------------------------
    def assertNoAllowHeaders(self, resp):
        allow = [k for k in resp.cors() if k.startswith("access-control-allow-")
                 or k in ("access-control-expose-headers", "access-control-max-age")]
        self.assertEqual(allow, [], "unexpected CORS headers in %r" % (resp,))

    def assertNoCors(self, resp):
        self.assertEqual(resp.cors(), {}, "unexpected Access-Control-* in %r" % (resp,))

    def assertVaryExactly(self, resp, tokens):
        got = resp.vary_lower()
        self.assertEqual(sorted(got), sorted(t.lower() for t in tokens),
                         "Vary of %r" % (resp,))

    def assertVaryHasOrigin(self, resp):
        got = resp.vary_lower()
        self.assertTrue("origin" in got or got == ["*"], "no Origin in Vary of %r" % (resp,))
        self.assertEqual(len(got), len(set(got)), "duplicate Vary tokens in %r" % (resp,))

    def assertSingle(self, resp, name, value):
        vals = resp.headers.get_all(name)
        self.assertEqual(vals, [value], "%s in %r" % (name, resp))

    def assertNoUpstreamRequests(self):
        reqs = self.upstream.snapshot()
        self.assertEqual(reqs, [], "the upstream was called")

    def assertAccess(self, timeout=5, **want):
        e = self.corsd.wait_access(timeout=timeout, **want)
        if e is None:
            self.fail("no access log line matching %r; access lines:\n%s"
                      % (want, "\n".join(l for l in self.corsd.log_lines()
                                         if "access" in l)))
        return e


PREFLIGHT_VARY = ["Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"]
PNA_VARY = PREFLIGHT_VARY + ["Access-Control-Request-Private-Network"]


def main():
    unittest.main(verbosity=2)
