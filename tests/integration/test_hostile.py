"""Hostile client input (SPEC rule 7, the Origins section, rule 1's bounded
Access-Control-Request-Headers): request smuggling attempts, control
characters in Origin and ACRH, absurd methods, heads far too big or made of
thousands of lines, and slowloris heads and bodies.

Every case checks its SPEC answer, that nothing malformed reached the
upstream (nothing at all, or exactly one request in corsd's own framing),
that no control character or hostile byte is reflected, that the connection
is closed after a 400 (its framing cannot be trusted), that a bystander's
keep-alive connection is undisturbed, that the access log shows the refusal,
and that corsd's descriptors come back to their count before the case.

Where SPEC is silent the answers follow RFC 9112, refusing what it lets a
recipient refuse (a security proxy must not guess where a request ends):
  * obs-fold, a bare CR, a line ending in a bare LF, a NUL anywhere in the
    head, whitespace between a field name and its colon, a control character
    (HTAB included) or DEL in the request line: 400, connection closed;
  * Content-Length and Transfer-Encoding together, two different
    Content-Length values, a Content-Length list ("5, 5") or anything but
    1*DIGIT ("+5", "-0"): 400, connection closed; two identical
    Content-Length lines are one value (RFC 9110 section 8.6) and the
    upstream hears corsd's own single Content-Length;
  * a body on HEAD or TRACE (evhttp reads none for them, so it would be read
    as the next request): 400, connection closed; GET, OPTIONS and DELETE
    bodies are read and forwarded with corsd's framing;
  * a chunked body's trailer fields are dropped (evhttp reads them and
    keeps none), never forwarded as header fields;
  * methods: case-sensitive; anything but the eight passed through is 501
    from evhttp, CONNECT a 501 from corsd (evhttp's own would keep the
    connection and read the tunnel as requests); a request line over
    max_header_bytes is 400;
  * a HEAD answered by corsd itself carries no body (evhttp would send one).
evhttp's own refusals (400, 413, 501) get an access-log line too, with what
was read of the request line.
"""

import os
import re
import select
import socket
import time

from harness import (VALGRIND, CorsdTestCase, HttpConn, IncompleteResponse, Response,
                     chunk_encode, make_config, main, origin_hdrs, parse_head)

APP = "https://app.example.com"
HOST = b"Host: api.test\r\n"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: api.test\r\n\r\n"
SMUGGLED_CL = b"Content-Length: %d" % len(SMUGGLED)  # the request as a body
SMUGGLED_CHUNKED = chunk_encode([SMUGGLED])
# Time bounds scale on a slow run (valgrind); they are bounds, not benchmarks.
SLOW = float(os.environ.get("CORSD_IT_SLOW", "10" if VALGRIND else "1"))
CLOSE_WAIT = 5.0 * SLOW
# The access log's detail for a request evhttp refused before corsd saw it.
EVHTTP = "refused by evhttp"
# Control characters other than the CRLF that ends a line.
CTL_RE = re.compile(rb"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)|(?<!\r)\n")


def head_of(method, target=b"/res", lines=(), version=b"HTTP/1.1"):
    """A raw head: method target version, Host, then the given raw lines."""
    return (method + b" " + target + b" " + version + b"\r\n" + HOST
            + b"".join(l + b"\r\n" for l in lines) + b"\r\n")


class HostileBase(CorsdTestCase):
    """Shared checks. Each class counts corsd's descriptors before its first
    request, and every test must leave no more but for the upstream
    connections its pool keeps (the upstream's side counts them: a big
    request gets a fresh one)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.base_fds = cls.corsd.fd_count()  # no client, no upstream connection yet

    def upstream_conns(self):
        with self.upstream.lock:
            return len(self.upstream.conns)

    def tearDown(self):
        super().tearDown()
        deadline = time.monotonic() + 10 * SLOW
        while True:  # closes complete asynchronously; a bounded poll
            n, pooled = self.corsd.fd_count(), self.upstream_conns()
            if n <= self.base_fds + pooled or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertLessEqual(n, self.base_fds + pooled,
                             "corsd holds %d descriptors: %d before, %d upstream connections"
                             % (n, self.base_fds, pooled))

    def exchange(self, data, method="GET", want_close=False):
        """Sends raw bytes on a fresh connection and reads one answer:
        (Response or None if closed without one, whether the connection
        closed right after it (asked only with want_close), raw bytes)."""
        with HttpConn(self.corsd.port) as c:
            c.send(data)
            try:
                head = c.bs.read_until(b"\r\n\r\n", limit=1 << 16)
            except (IncompleteResponse, ConnectionResetError):
                return None, True, b""
            start, headers = parse_head(head)
            parts = start.split(" ", 2)
            status = int(parts[1])
            body = c.read_body(method, status, headers)
            closed = want_close and c.is_closed_by_peer(timeout=CLOSE_WAIT)
            r = Response(parts[0], status, parts[2] if len(parts) > 2 else "", headers, body)
            return r, closed, head + b"\r\n\r\n" + body

    def assertNotReflected(self, r, raw):
        self.assertNotIn(b"evil", raw, "a hostile byte string was reflected")
        head = raw.split(b"\r\n\r\n", 1)[0]
        self.assertIsNone(CTL_RE.search(head), "a control character in the answer's head: %r"
                          % head)
        self.assertNotIn(b"\x00", raw)
        self.assertFalse(r.headers.has("Access-Control-Allow-Origin"), r)

    def assertRefused(self, data, status=400, method="GET", detail=None):
        """The answer is `status`, the connection closes after it, nothing
        reaches the upstream, nothing is reflected, the access log says so,
        and a bystander's keep-alive connection keeps working."""
        with HttpConn(self.corsd.port) as by:
            first = by.request("GET", "/bystander/1", origin_hdrs(APP))
            self.assertEqual(first.status, 200, first)
            self.upstream.reset()
            self.corsd.mark()
            r, closed, raw = self.exchange(data, method, want_close=True)
            self.assertIsNotNone(r, "closed without an answer")
            self.assertEqual(r.status, status, r)
            self.assertTrue(closed, "the connection stayed open after a %d" % status)
            self.assertNotReflected(r, raw)
            e = self.assertAccess(status=str(status), reason="bad_request", timeout=CLOSE_WAIT)
            if detail is not None:
                self.assertRegex(e.get("detail", ""), detail, e)
            self.assertNoUpstreamRequests()
            second = by.request("GET", "/bystander/2", origin_hdrs(APP))
            self.assertEqual(second.status, 200, second)
        self.assertEqual([q.path for q in self.upstream.snapshot()], ["/bystander/2"])
        return r

    def assertForwardedOnce(self, data, method, path, body):
        """Answered 200; the upstream heard exactly one request, in corsd's
        own framing (no Transfer-Encoding, one Content-Length that matches
        the body, no control characters), and the connection still reads
        the next request where it really starts."""
        self.upstream.reset()
        with HttpConn(self.corsd.port) as c:
            c.send(data)
            r = c.read_response(method)
            self.assertEqual(r.status, 200, r)
            after = c.request("GET", "/after", origin_hdrs(APP))
            self.assertEqual(after.status, 200, after)
        reqs = self.upstream.snapshot()
        self.assertEqual([(q.method, q.path) for q in reqs], [(method, path), ("GET", "/after")],
                         reqs)
        q = reqs[0]
        self.assertIsNone(q.header("Transfer-Encoding"), q)
        lengths = q.headers.get_all("Content-Length")
        if body:
            self.assertEqual(lengths, [str(len(body))], q)
        else:
            self.assertIn(lengths, ([], ["0"]), q)
        self.assertEqual(q.body, body)
        for k, v in q.headers:
            self.assertIsNone(CTL_RE.search((k + v).encode("latin-1")), q)
        return q


class HostileInputTest(HostileBase):
    @classmethod
    def config(cls, upstream):
        return make_config(upstream.url, [
            {"name": "app", "path": "/", "origins": [APP],
             "methods": ["GET", "POST", "PUT", "DELETE"], "headers": ["X-A"]},
            {"name": "star", "path": "/star", "origins": ["*"], "headers": ["X-A"]},
            {"name": "enforce", "path": "/enforce", "origins": [APP], "enforce": True}],
            timeouts={"client": "10s"},
            limits={"max_header_bytes": 4096, "max_body_bytes": 1000})

    # -- framing: where does the request end? ------------------------------
    def test_content_length_and_transfer_encoding(self):
        # evhttp itself refuses these, whatever the order and the method
        # (corsd's own check stands behind it); the smuggled request never
        # reaches the upstream
        for method, lines, why in (
                (b"POST", [b"Transfer-Encoding: chunked", SMUGGLED_CL], EVHTTP),
                (b"POST", [b"Content-Length: 0", b"Transfer-Encoding: chunked"], EVHTTP),
                (b"POST", [SMUGGLED_CL, b"Transfer-Encoding: chunked", SMUGGLED_CL], EVHTTP),
                (b"GET", [b"Transfer-Encoding: chunked", SMUGGLED_CL], EVHTTP),
                (b"OPTIONS", [SMUGGLED_CL, b"Transfer-Encoding: chunked"], EVHTTP)):
            with self.subTest(method=method, lines=lines):
                self.assertRefused(head_of(method, b"/echo", lines) + SMUGGLED_CHUNKED,
                                   method=method.decode(), detail=why)

    def test_content_length_values(self):
        # what evhttp's strtoll takes is corsd's to refuse; the rest evhttp
        # refuses itself
        cases = {b"+5": "not a number", b"-0": "not a number", b"+0": "not a number",
                 b"5, 5": EVHTTP, b"5,6": EVHTTP, b"0x5": EVHTTP, b"5 5": EVHTTP,
                 b"": EVHTTP, b"\xd9\xa5": EVHTTP}
        for value, why in cases.items():
            with self.subTest(value=value):
                self.assertRefused(head_of(b"POST", b"/echo", [b"Content-Length: " + value])
                                   + b"hello" + SMUGGLED, detail=why)
        # a length past any limit (and past 64 bits)
        self.assertRefused(head_of(b"POST", b"/echo", [b"Content-Length: 99999999999999999999"])
                           + SMUGGLED, status=413, method="POST", detail="max_body_bytes")
        # two lines, different values, the second one smuggling a request
        self.assertRefused(head_of(b"POST", b"/echo", [b"Content-Length: 0", SMUGGLED_CL])
                           + SMUGGLED,
                           detail="conflicting Content-Length")

    def test_identical_content_lengths_are_one(self):
        q = self.assertForwardedOnce(
            head_of(b"POST", b"/echo", [b"Content-Length: 5", b"content-length:\t5 "])
            + b"hello", "POST", "/echo", b"hello")
        self.assertEqual(q.headers.get_all("Content-Length"), ["5"], q)

    def test_whitespace_before_colon(self):
        for line in (SMUGGLED_CL.replace(b":", b" :"), b"Transfer-Encoding : chunked",
                     b"Transfer-Encoding\t: chunked", b"Host : evil.test"):
            with self.subTest(line=line):
                self.assertRefused(head_of(b"POST", b"/echo", [line]) + SMUGGLED_CHUNKED,
                                   detail="not a token")

    def test_obs_fold(self):
        for lines in ([b"X-A: one", b" evil"], [b"X-A: one", b"\tevil"],
                      [b"Transfer-Encoding: x", b" chunked"],
                      [b"Origin: https://app.example.com", b" evil"]):
            with self.subTest(lines=lines):
                self.assertRefused(head_of(b"GET", b"/res", lines), detail="obs-fold")

    def test_bare_lf(self):
        crlf = head_of(b"GET", b"/res", [b"X-A: evil"])
        self.assertRefused(crlf.replace(b"\r\n", b"\n"), detail="bare LF")
        # one line only, and only the blank line that ends the head
        self.assertRefused(crlf.replace(b"X-A: evil\r\n", b"X-A: evil\n"), detail="bare LF")
        self.assertRefused(crlf[:-2] + b"\n", detail="bare LF")
        # a bare LF inside a value makes a line evhttp would read as a header
        self.assertRefused(head_of(b"POST", b"/echo", [b"X-A: a\n" + SMUGGLED_CL])
                           + SMUGGLED, detail="bare LF")

    def test_bare_cr(self):
        for lines in ([b"X-A: a\revil"], [b"X-A: a\r evil"], [b"X-A: evil\r"],
                      [b"Host: api.test\rX-A: evil"]):
            with self.subTest(lines=lines):
                self.assertRefused(head_of(b"GET", b"/res", lines), detail="CR not followed")
        self.assertRefused(b"GET /res HTTP/1.1\r\r\n" + HOST + b"\r\n", detail="CR not followed")

    def test_nul_anywhere_in_the_head(self):
        cases = [
            head_of(b"GET", b"/res", [b"Origin: https://app.example.com\x00evil"]),
            head_of(b"GET", b"/res", [b"Origin: \x00https://app.example.com"]),
            head_of(b"GET", b"/res", [b"X-\x00evil: 1"]),
            # evhttp would end the head at a line starting with NUL and read
            # what follows as the next request
            head_of(b"GET", b"/res", [b"\x00"])[:-2] + SMUGGLED,
            head_of(b"GET", b"/res", [b"\x00evil: 1"]) + SMUGGLED,
            b"GET /res HTTP/1.1\x00evil\r\n" + HOST + b"\r\n",
        ]
        for data in cases:
            with self.subTest(data=data):
                self.assertRefused(data, detail="NUL")

    def test_control_characters_in_the_request_line(self):
        for target in (b"/res\tevil", b"/res\x01evil", b"/res\x7fevil", b"/res\x0bevil",
                       b"/res\x1b[31mevil"):
            with self.subTest(target=target):
                self.assertRefused(b"GET " + target + b" HTTP/1.1\r\n" + HOST + b"\r\n",
                                   detail="control character in the request line")

    def test_bad_bytes_at_every_offset(self):
        # corsd checks a head eight bytes at a time: a bad byte is found
        # wherever it falls in a word, and plain bytes around it are not
        self.upstream.reset()
        for k in range(17):
            for bad, where in ((b"\x01", "target"), (b"\x7f", "target"), (b"\x00", "value"),
                               (b"\r", "value"), (b"\n", "value")):
                with self.subTest(offset=k, bad=bad, where=where):
                    pad = b"a" * k + bad + b"b" * (16 - k)
                    data = (b"GET /" + pad + b" HTTP/1.1\r\n" + HOST + b"\r\n" if where == "target"
                            else head_of(b"GET", b"/res", [b"X-A: " + pad]))
                    r, closed, _ = self.exchange(data, want_close=True)
                    self.assertEqual(r.status, 400, r)
                    self.assertTrue(closed)
            with self.subTest(offset=k, plain=True):  # obs-text, HTAB and SP in a value
                r, _, _ = self.exchange(head_of(b"GET", b"/" + b"\x80~\xff!" * k,
                                                [b"X-A: " + b"\x80~ \t\xff" * k + b"z"]))
                self.assertEqual(r.status, 200, r)
        self.assertEqual(len(self.upstream.snapshot()), 17)

    def test_body_on_head_and_trace(self):
        for method in (b"HEAD", b"TRACE"):
            for lines, body in (([SMUGGLED_CL], SMUGGLED),
                                ([b"Transfer-Encoding: chunked"], SMUGGLED_CHUNKED)):
                with self.subTest(method=method, lines=lines):
                    self.assertRefused(head_of(method, b"/res", lines) + body,
                                       method=method.decode(),
                                       detail="a body on a HEAD or TRACE request")
        # an empty one is no body
        self.assertForwardedOnce(head_of(b"HEAD", b"/res", [b"Content-Length: 0"]),
                                 "HEAD", "/res", b"")

    def test_bodies_on_get_options_delete_stay_bodies(self):
        # evhttp reads these bodies: the request inside is data, forwarded once
        for method in ("GET", "OPTIONS", "DELETE"):
            with self.subTest(method=method):
                self.assertForwardedOnce(head_of(method.encode(), b"/res", [SMUGGLED_CL])
                                         + SMUGGLED, method, "/res", SMUGGLED)
                self.assertForwardedOnce(
                    head_of(method.encode(), b"/res", [b"Transfer-Encoding: chunked"])
                    + SMUGGLED_CHUNKED, method, "/res", SMUGGLED)

    def test_trailer_fields_are_dropped(self):
        body = chunk_encode([b"hello"])[:-2] + (b"X-Trailer: evil\r\nAuthorization: evil\r\n"
                                                b"Host: evil.test\r\nContent-Length: 99\r\n\r\n")
        q = self.assertForwardedOnce(head_of(b"POST", b"/echo", [b"Transfer-Encoding: chunked"])
                                     + body, "POST", "/echo", b"hello")
        self.assertEqual(q.headers.get_all("Host"), ["api.test"], q)
        for name in ("X-Trailer", "Authorization"):
            self.assertIsNone(q.header(name), q)
        # and the head after them is checked as a head
        self.upstream.reset()
        with HttpConn(self.corsd.port) as c:
            c.send(head_of(b"POST", b"/echo", [b"Transfer-Encoding: chunked"]) + body
                   + head_of(b"GET", b"/res", [b"\x00"])[:-2] + SMUGGLED)
            self.assertEqual(c.read_response("POST").status, 200)
            self.assertEqual(c.read_response().status, 400)
            self.assertTrue(c.is_closed_by_peer(timeout=CLOSE_WAIT))
        self.assertEqual([q.path for q in self.upstream.snapshot()], ["/echo"])

    def test_bodies_are_not_heads(self):
        # NUL, bare CR and LF, leading whitespace and a fake request inside
        # bodies are data: pipelined, each request is answered and forwarded.
        body = b"\x00\r \n\nGET /evil HTTP/1.1\r\n\x00\r\n\r\n" + bytes(range(256))
        data = (head_of(b"POST", b"/echo", [b"Content-Length: %d" % len(body)]) + body
                + head_of(b"PUT", b"/echo", [b"Transfer-Encoding: chunked"])
                + chunk_encode([body, body])
                + head_of(b"GET", b"/third"))
        self.upstream.reset()
        with HttpConn(self.corsd.port) as c:
            c.send(data)
            rs = [c.read_response("POST"), c.read_response("PUT"), c.read_response("GET")]
        self.assertEqual([r.status for r in rs], [200, 200, 200], rs)
        self.assertEqual(rs[0].body, body)
        self.assertEqual(rs[1].body, body + body)
        reqs = self.upstream.snapshot()
        self.assertEqual([(q.method, q.path) for q in reqs],
                         [("POST", "/echo"), ("PUT", "/echo"), ("GET", "/third")])

    def test_pipelined_malformed_request_after_a_good_one(self):
        data = head_of(b"GET", b"/first") + head_of(b"GET", b"/second", [b"X-A: a\r evil"])
        self.upstream.reset()
        with HttpConn(self.corsd.port) as c:
            c.send(data + SMUGGLED)
            r1 = c.read_response()
            r2 = c.read_response()
            self.assertTrue(c.is_closed_by_peer(timeout=CLOSE_WAIT))
        self.assertEqual((r1.status, r2.status), (200, 400), (r1, r2))
        self.assertEqual([q.path for q in self.upstream.snapshot()], ["/first"])

    def test_bad_http_versions(self):
        for version in (b"HTTP/1.1x", b"HTTP/2.0", b"HTTP/1.1 evil", b"HTTP/11"):
            with self.subTest(version=version):
                self.assertRefused(b"GET /res " + version + b"\r\n" + HOST + b"\r\n")

    # -- Origin and Access-Control-Request-Headers -------------------------
    def test_control_characters_in_origin_and_acrh(self):
        o = b"Origin: https://app.example.com"
        m = b"Access-Control-Request-Method: PUT"
        for lines in ([o + b"\revil"], [o + b"\x00evil"], [o + b"\nevil: 1"],
                      [o + b"\r\n evil"],
                      [o, m, b"Access-Control-Request-Headers: x-a\revil"],
                      [o, m, b"Access-Control-Request-Headers: x-a\x00evil"],
                      [o, m, b"Access-Control-Request-Headers: x-a\nevil: 1"]):
            with self.subTest(lines=lines):
                method = b"OPTIONS" if m in lines else b"GET"
                self.assertRefused(head_of(method, b"/res", lines), method=method.decode())
        # other control characters: not a valid origin, not a token; never
        # reflected, never allowed
        self.upstream.reset()
        r, _, raw = self.exchange(head_of(b"GET", b"/res", [o + b"\x01evil"]))
        self.assertEqual(r.status, 200, r)
        self.assertNotReflected(r, raw)
        r, _, raw = self.exchange(head_of(b"OPTIONS", b"/res",
                                          [o, m, b"Access-Control-Request-Headers: x-a\x01evil"]),
                                  "OPTIONS")
        self.assertEqual(r.status, 403, r)
        self.assertNotReflected(r, raw)
        self.assertEqual([(q.method, q.header("Origin")) for q in self.upstream.snapshot()],
                         [("GET", "https://app.example.com\x01evil")])

    def test_origin_lists_and_repeated_origins(self):
        pairs = {"list": [b"Origin: https://app.example.com, https://evil.example"],
                 "space": [b"Origin: https://app.example.com https://evil.example"],
                 "lines": [b"Origin: https://app.example.com", b"Origin: https://evil.example"],
                 "same lines": [b"Origin: https://app.example.com",
                                b"Origin: https://app.example.com"]}
        for name, lines in pairs.items():
            with self.subTest(origins=name):
                # an actual request: proxied, no CORS headers, logged as invalid
                self.upstream.reset()
                self.corsd.mark()
                r, _, raw = self.exchange(head_of(b"GET", b"/res", lines))
                self.assertEqual(r.status, 200, r)
                self.assertNotReflected(r, raw)
                self.assertNoCors(r)
                self.assertAccess(path="/res", reason="origin_invalid")
                # a preflight: denied (403), never 204
                r, _, raw = self.exchange(head_of(b"OPTIONS", b"/res", lines + [
                    b"Access-Control-Request-Method: PUT"]), "OPTIONS")
                self.assertEqual(r.status, 403, r)
                self.assertNotReflected(r, raw)
                # only a literal "*" accepts it, and says "*"
                r, _, raw = self.exchange(head_of(b"GET", b"/star/res", lines))
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.headers.get_all("Access-Control-Allow-Origin"), ["*"], r)
                self.assertNotIn(b"evil", raw)
                self.assertEqual(len(self.upstream.snapshot()), 2)

    def test_acrh_of_64_kib_is_over_the_head_limit(self):
        names = ",".join("x-h%d" % i for i in range(9000))[:65536].encode()
        self.assertRefused(head_of(b"OPTIONS", b"/res", [
            b"Origin: https://app.example.com", b"Access-Control-Request-Method: PUT",
            b"Access-Control-Request-Headers: " + names]), method="OPTIONS",
            detail="refused by evhttp")

    def test_thousands_of_tiny_headers(self):
        t0 = time.monotonic()
        self.assertRefused(head_of(b"GET", b"/res", [b"a: b"] * 5000),
                           detail="max_header_bytes")
        self.assertLess(time.monotonic() - t0, 5 * SLOW)

    # -- methods -------------------------------------------------------------
    def test_absurd_methods(self):
        cases = [(b"get", 501, EVHTTP), (b"Get", 501, EVHTTP), (b"PROPFIND", 501, EVHTTP),
                 (b"M-SEARCH", 501, EVHTTP), (b"G{T}", 501, EVHTTP),
                 (b"GE\x7fT", 501, "control character"), (b"\xc7\xb5ET", 501, EVHTTP),
                 (b"X" * 10000, 400, "max_header_bytes")]  # a request line over the limit
        for method, status, why in cases:
            with self.subTest(method=method[:20]):
                self.assertRefused(head_of(method, b"/res") + SMUGGLED, status=status,
                                   detail=why)
        # CONNECT, then what would be the tunnel (evhttp itself would keep
        # the connection and read it as requests)
        for target in (b"api.test:443", b"/res"):
            self.assertRefused(b"CONNECT " + target + b" HTTP/1.1\r\n" + HOST + b"\r\n"
                               + SMUGGLED, status=501, detail="CONNECT")
        # the HTTP/2 preface
        self.assertRefused(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", status=400)

    def test_refusals_of_evhttp_are_logged(self):
        self.corsd.mark()
        self.assertRefused(head_of(b"PROPFIND", b"/dav/x?q=1"), status=501)
        e = self.assertAccess(status="501")
        self.assertEqual((e["method"], e["path"], e["upstream"]), ("PROPFIND", "/dav/x", "-"), e)
        self.assertRegex(e["detail"], "method")
        self.assertGreater(int(e["bytes"]), 0)
        self.corsd.mark()
        self.assertRefused(head_of(b"POST", b"/echo", [b"Content-Length: 1001"])
                           + b"b" * 1001, status=413, method="POST")
        e = self.assertAccess(status="413")
        self.assertEqual((e["method"], e["path"]), ("POST", "/echo"), e)
        self.assertRegex(e["detail"], "max_body_bytes")
        self.corsd.mark()
        long_method = b"Q" * 200
        self.assertRefused(head_of(long_method, b"/res", [b"X-Big: " + b"a" * 5000]),
                           status=400)
        e = self.assertAccess(status="400")
        self.assertTrue(e["method"].startswith("QQQ") and e["method"].endswith("..."), e)
        self.assertLess(len(e["method"]), 64, e)

    def test_only_the_eight_methods_reach_the_upstream(self):
        for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"):
            with self.subTest(method=m):
                self.upstream.reset()
                r = self.req(m, "/res", origin_hdrs(APP))
                self.assertEqual(r.status, 200, r)
                self.assertEqual([q.method for q in self.upstream.snapshot()], [m])

    def test_local_answer_to_head_has_no_body(self):
        # a 403 under enforce, then a request on the same connection: a body
        # sent with the HEAD answer would be read as the next response
        with HttpConn(self.corsd.port) as c:
            c.send(head_of(b"HEAD", b"/enforce/res", [b"Origin: https://evil.example"])
                   + head_of(b"GET", b"/enforce/next"))
            r = c.read_response("HEAD")
            self.assertEqual(r.status, 403, r)
            r2 = c.read_response("GET")
            self.assertEqual(r2.status, 200, r2)
            self.assertIn(b"/enforce/next", r2.body)


class BigHeadTest(HostileBase):
    """With a head limit of 1 MiB: what evhttp lets through reaches corsd's
    own bounds, and costs time linear in its size."""

    @classmethod
    def config(cls, upstream):
        return make_config(upstream.url, [
            {"name": "app", "path": "/", "origins": [APP], "methods": ["GET", "PUT"],
             "headers": ["*"]}],
            timeouts={"client": "10s"}, limits={"max_header_bytes": 1 << 20})

    def preflight_raw(self, lines):
        return self.exchange(head_of(b"OPTIONS", b"/res", [
            b"Origin: https://app.example.com", b"Access-Control-Request-Method: PUT"] + lines),
            "OPTIONS")

    def test_acrh_of_64_kib_is_too_many_headers(self):
        names = ",".join("x-h%d" % i for i in range(9000))[:65536].encode()
        for lines in ([b"Access-Control-Request-Headers: " + names],
                      [b"Access-Control-Request-Headers: x-a"] * 5000,
                      [b"Access-Control-Request-Headers: " + b"," * 60000 + b"x-a"]):
            with self.subTest(size=sum(map(len, lines))):
                self.corsd.mark()
                t0 = time.monotonic()
                r, _, raw = self.preflight_raw(lines)
                self.assertLess(time.monotonic() - t0, 5 * SLOW)
                self.assertEqual(r.status, 403, r)
                self.assertNotReflected(r, raw)
                self.assertIn(b"too many headers", r.body)
                self.assertAccess(status="403", reason="too_many_headers")
        self.assertNoUpstreamRequests()

    def test_thousands_of_tiny_headers_within_the_limit(self):
        n = 20000
        t0 = time.monotonic()
        self.upstream.reset()
        r, _, _ = self.exchange(head_of(b"GET", b"/res", [b"a: b"] * n))
        self.assertLess(time.monotonic() - t0, 5 * SLOW)
        self.assertEqual(r.status, 200, r)
        q = self.upstream.snapshot()
        self.assertEqual(len(q), 1)
        self.assertEqual(q[0].headers.get_all("a"), ["b"] * n)

    def test_absurd_method_within_the_limit(self):
        self.assertRefused(head_of(b"X" * 10000, b"/res") + SMUGGLED, status=501)


class SlowlorisTest(HostileBase):
    """Heads and bodies trickled a byte at a time are cut after
    timeouts.client (1 s) while a bystander is served at once."""

    @classmethod
    def config(cls, upstream):
        return make_config(upstream.url, [{"name": "app", "path": "/", "origins": [APP]}],
                           timeouts={"client": "1s"})

    def trickle(self, prefix, payload, n=8, step=0.1, limit=8.0):
        """n connections send `prefix`, then one byte of `payload` each
        `step` s; a bystander asks every `step` s meanwhile. Returns the
        seconds each trickler lasted and the bystander's slowest answer."""
        socks = [socket.create_connection(("127.0.0.1", self.corsd.port), timeout=5)
                 for _ in range(n)]
        started = time.monotonic()
        lasted = [None] * n
        slowest = 0.0
        by = HttpConn(self.corsd.port)
        try:
            for s in socks:
                s.sendall(prefix)
            i = 0
            while None in lasted and time.monotonic() - started < limit * SLOW:
                for k, s in enumerate(socks):
                    if lasted[k] is not None:
                        continue
                    r, _, _ = select.select([s], [], [], 0)
                    gone = False
                    if r:
                        try:
                            gone = s.recv(4096) == b""
                        except OSError:
                            gone = True
                        self.assertTrue(gone, "a trickler got an answer")
                    else:
                        try:
                            s.send(payload[i % len(payload):i % len(payload) + 1])
                        except OSError:
                            gone = True
                    if gone:
                        lasted[k] = time.monotonic() - started
                i += 1
                t0 = time.monotonic()
                a = by.request("GET", "/bystander/%d" % i, origin_hdrs(APP))
                slowest = max(slowest, time.monotonic() - t0)
                self.assertEqual(a.status, 200, a)
                left = step - (time.monotonic() - t0)
                if left > 0:
                    select.select([], [], [], left)  # pacing, not synchronisation
        finally:
            by.close()
            for s in socks:
                s.close()
        self.assertNotIn(None, lasted, "a trickling client was kept for %.0f s" % limit)
        return lasted, slowest

    def assertCutAfterTimeout(self, lasted, slowest):
        for t in lasted:
            self.assertGreaterEqual(t, 0.9, lasted)
            self.assertLess(t, 4.0 * SLOW, lasted)
        self.assertLess(slowest, 1.0 * SLOW, "the bystander waited %.2f s" % slowest)
        self.assertFalse([q.path for q in self.upstream.snapshot()
                          if not q.path.startswith("/bystander/")])

    def test_head_trickled_from_the_first_byte(self):
        lasted, slowest = self.trickle(b"", b"GET /slow HTTP/1.1\r\nHost: api.test\r\nX-Pad: "
                                       + b"a" * 200)
        self.assertCutAfterTimeout(lasted, slowest)

    def test_body_trickled(self):
        lasted, slowest = self.trickle(head_of(b"POST", b"/echo", [b"Content-Length: 1000"]),
                                       b"b" * 1000)
        self.assertCutAfterTimeout(lasted, slowest)


if __name__ == "__main__":
    main()
