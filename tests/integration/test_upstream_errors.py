"""Upstream failures (SPEC rule 6): 502/504 carrying CORS headers, broken
responses, stale pooled connections."""

import errno
import select
import socket
import threading
import time

from harness import (CLOSE, CorsdTestCase, HttpConn, IncompleteResponse, Response, build_request,
                     closed_port, make_config, origin_hdrs, main)

APP = "https://app.example.com"


class UpstreamErrorBase(CorsdTestCase):
    @classmethod
    def extra_setup(cls):
        cls.dead_port = closed_port()
        # A listener that never accepts, its backlog filled: connects to it hang.
        cls.blackhole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        cls.blackhole.bind(("127.0.0.1", 0))
        cls.blackhole.listen(0)
        cls.addClassCleanup(cls.blackhole.close)
        cls.fillers = []
        cls.blackhole_works = cls._fill_backlog()

    @classmethod
    def _fill_backlog(cls):
        addr = cls.blackhole.getsockname()
        for _ in range(8):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            cls.fillers.append(s)
            cls.addClassCleanup(s.close)
            err = s.connect_ex(addr)
            if err == errno.EINPROGRESS:
                # does it complete? if not within 300 ms, the backlog is full
                _, w, _ = select.select([], [s], [], 0.3)
                if not w:
                    return True
        return False

    @classmethod
    def config(cls, upstream):
        dead = "http://127.0.0.1:%d" % cls.dead_port
        hole = "http://127.0.0.1:%d" % cls.blackhole.getsockname()[1]
        policies = [
            {"name": "dead", "path": "/dead", "origins": [APP], "credentials": True,
             "upstream": dead},
            {"name": "deadstar", "path": "/deadstar", "origins": ["*"], "upstream": dead},
            {"name": "hole", "path": "/hole", "origins": [APP], "upstream": hole},
            {"name": "live", "path": "/live", "origins": [APP], "credentials": True},
        ]
        return make_config(upstream.url, policies,
                           timeouts={"connect": "1s", "upstream": "1s"})

    def assertStillServing(self):
        r = self.get("/live/res", APP)
        self.assertEqual(r.status, 200, r)



class UpstreamErrorTest(UpstreamErrorBase):
    def test_refused_is_502_with_cors(self):
        t0 = time.monotonic()
        r = self.get("/dead/res", APP)
        self.assertEqual(r.status, 502, r)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertSingle(r, "Access-Control-Allow-Origin", APP)
        self.assertSingle(r, "Access-Control-Allow-Credentials", "true")
        self.assertIn("origin", r.vary_lower())
        self.assertAccess(path="/dead/res", status="502")
        self.assertStillServing()

    def test_refused_star_policy(self):
        r = self.get("/deadstar/res", "https://x.example")
        self.assertEqual(r.status, 502, r)
        self.assertSingle(r, "Access-Control-Allow-Origin", "*")
        r = self.get("/deadstar/res")
        self.assertEqual(r.status, 502, r)
        self.assertSingle(r, "Access-Control-Allow-Origin", "*")

    def test_refused_denied_origin_has_no_cors(self):
        r = self.get("/dead/res", "https://evil.example")
        self.assertEqual(r.status, 502, r)
        self.assertNoCors(r)
        self.assertIn("origin", r.vary_lower())

    def test_stalled_upstream_is_504_with_cors(self):
        t0 = time.monotonic()
        r = self.get("/live/stall", APP)
        elapsed = time.monotonic() - t0
        self.assertEqual(r.status, 504, r)
        self.assertGreater(elapsed, 0.5)
        self.assertLess(elapsed, 8)
        self.assertSingle(r, "Access-Control-Allow-Origin", APP)
        self.assertSingle(r, "Access-Control-Allow-Credentials", "true")
        self.assertIn("origin", r.vary_lower())
        self.assertStillServing()

    def test_connect_timeout_is_504(self):
        if not self.blackhole_works:
            self.skipTest("could not make a local listener whose connects hang")
        t0 = time.monotonic()
        r = self.get("/hole/res", APP)
        elapsed = time.monotonic() - t0
        self.assertEqual(r.status, 504, r)
        self.assertLess(elapsed, 8)
        self.assertSingle(r, "Access-Control-Allow-Origin", APP)

    def test_garbage_response_is_502(self):
        def garbage(req, conn, args):
            conn.send(b"this is not HTTP at all\r\n\r\n")
            return CLOSE

        self.upstream.route("garbage", garbage)
        r = self.get("/live/garbage", APP)
        self.assertEqual(r.status, 502, r)
        self.assertSingle(r, "Access-Control-Allow-Origin", APP)
        self.assertStillServing()

    def test_close_without_response_is_502(self):
        self.upstream.route("slam", lambda req, conn, args: CLOSE)
        r = self.get("/live/slam", APP)
        self.assertEqual(r.status, 502, r)
        self.assertSingle(r, "Access-Control-Allow-Origin", APP)
        self.assertStillServing()

    def test_stale_pooled_connection_is_not_an_error(self):
        def answer_then_close(req, conn, args):
            # a keep-alive response, then the upstream drops the idle connection
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbye")
            conn.close_after = True
            return None

        self.upstream.route("close-after", answer_then_close)
        with self.corsd.conn() as c:
            for i in range(6):
                r = c.request("GET", "/live/close-after", origin_hdrs(APP))
                self.assertEqual((r.status, r.body), (200, b"bye"), "request %d: %r" % (i, r))
                r = c.request("GET", "/live/res", origin_hdrs(APP))
                self.assertEqual(r.status, 200, "request %d: %r" % (i, r))

    def test_many_errors_do_not_disturb_other_connections(self):
        other = HttpConn(self.corsd.port)
        try:
            r = other.request("GET", "/live/res", origin_hdrs(APP))
            self.assertEqual(r.status, 200)
            for _ in range(10):
                self.assertEqual(self.get("/dead/res", APP).status, 502)
            r = other.request("GET", "/live/res", origin_hdrs(APP))
            self.assertEqual(r.status, 200)
        finally:
            other.close()


class TruncatedResponseTest(UpstreamErrorBase):
    # Its own corsd: a crash here must not hide the other results.

    def test_upstream_dies_mid_body_closes_client(self):
        head_seen = threading.Event()

        def truncated(req, conn, args):
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"a" * 1000)
            head_seen.wait(10)  # the client has the head: now fail
            return CLOSE

        self.upstream.route("truncated", truncated)
        try:
            with self.corsd.conn() as c:
                c.send(build_request("GET", "/live/truncated", origin_hdrs(APP)))
                version, status, reason, headers = c.read_head()
                head_seen.set()
                self.assertEqual(status, 200)
                self.assertSingle(Response(version, status, reason, headers, b""),
                                  "Access-Control-Allow-Origin", APP)
                with self.assertRaises((IncompleteResponse, ConnectionResetError)):
                    body = c.read_body("GET", status, headers)
                    self.fail("the truncated body was framed as complete: %d bytes"
                              % len(body))
        finally:
            head_seen.set()
        self.assertAccess(path="/live/truncated", method="GET", status="200")
        self.assertStillServing()

    def test_upstream_dies_at_once_never_looks_complete(self):
        # Head, part of the body and the close arrive together.  corsd may
        # answer 502 or forward the 200 and then cut the body; either way the
        # client must get the status the access log reports, never silence,
        # and never a complete-looking body.
        def truncated(req, conn, args):
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"a" * 1000)
            return CLOSE

        self.upstream.route("truncated-now", truncated)
        for i in range(3):
            with self.subTest(attempt=i):
                self.corsd.mark()
                with self.corsd.conn() as c:
                    c.send(build_request("GET", "/live/truncated-now", origin_hdrs(APP)))
                    try:
                        version, status, reason, headers = c.read_head()
                    except (IncompleteResponse, ConnectionResetError) as e:
                        status = "no response (%s)" % e
                    if status == 200:
                        with self.assertRaises((IncompleteResponse, ConnectionResetError)):
                            c.read_body("GET", status, headers)
                e = self.assertAccess(path="/live/truncated-now", method="GET")
                self.assertEqual(str(status), e.get("status"),
                                 "the client got %s, the access log says %s" % (status, e))
                self.assertIn(status, (200, 502))
        self.assertStillServing()

    def test_upstream_dies_mid_chunked_body_closes_client(self):
        head_seen = threading.Event()

        def truncated(req, conn, args):
            conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"5\r\nhello\r\n")
            head_seen.wait(10)
            return CLOSE

        self.upstream.route("truncated-chunked", truncated)
        try:
            with self.corsd.conn() as c:
                c.send(build_request("GET", "/live/truncated-chunked", origin_hdrs(APP)))
                version, status, reason, headers = c.read_head()
                head_seen.set()
                self.assertEqual(status, 200)
                with self.assertRaises((IncompleteResponse, ConnectionResetError, ValueError)):
                    body = c.read_body("GET", status, headers)
                    self.fail("the truncated body was framed as complete: %r" % body)
        finally:
            head_seen.set()
        self.assertStillServing()


del UpstreamErrorBase  # not a test class itself

if __name__ == "__main__":
    main()
