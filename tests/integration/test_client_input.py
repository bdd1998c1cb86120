"""Bad client input (SPEC rule 7): 400/413, never reaching the upstream, and
stalled clients dropped after timeouts.client."""

import time

from harness import CorsdTestCase, HttpConn, IncompleteResponse, make_config, origin_hdrs, main

APP = "https://app.example.com"


class ClientInputTest(CorsdTestCase):
    @classmethod
    def config(cls, upstream):
        return make_config(upstream.url, [
            {"name": "app", "path": "/", "origins": [APP], "methods": ["GET", "POST", "PUT"]}],
            timeouts={"client": "1s"},
            limits={"max_header_bytes": 4096, "max_body_bytes": 1000})

    def raw(self, data):
        """Send raw bytes; the response, or None when corsd just closed."""
        with self.corsd.conn() as c:
            c.send(data)
            try:
                return c.read_response()
            except (IncompleteResponse, ConnectionResetError):
                return None

    def assertRejected(self, data, status=400):
        self.upstream.reset()
        r = self.raw(data)
        self.assertIsNotNone(r, "connection closed without a response")
        self.assertEqual(r.status, status, r)
        self.assertNoUpstreamRequests()
        # and corsd is still fine
        ok = self.get("/res", APP)
        self.assertEqual(ok.status, 200, ok)

    def test_oversize_headers_400(self):
        data = (b"GET /res HTTP/1.1\r\nHost: api.test\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n")
        self.assertRejected(data, 400)

    def test_body_limit_is_inclusive(self):
        r = self.req("POST", "/echo", origin_hdrs(APP), b"b" * 1000)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"b" * 1000)
        self.upstream.reset()
        data = (b"POST /echo HTTP/1.1\r\nHost: api.test\r\nContent-Length: 1001\r\n\r\n"
                + b"b" * 1001)
        self.assertRejected(data, 413)

    def test_conflicting_content_length(self):
        self.assertRejected(b"POST /echo HTTP/1.1\r\nHost: api.test\r\nContent-Length: 5\r\n"
                            b"Content-Length: 6\r\n\r\nhello!")

    def test_transfer_encoding_with_content_length(self):
        self.assertRejected(b"POST /echo HTTP/1.1\r\nHost: api.test\r\nContent-Length: 5\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")

    def test_transfer_encoding_other_than_chunked(self):
        # evhttp decodes only a lone "chunked": anything else would leave the
        # body to be parsed as the next request.
        for te in (b"gzip, chunked", b"chunked, gzip", b"identity", b"xchunked"):
            with self.subTest(te=te):
                self.assertRejected(b"POST /echo HTTP/1.1\r\nHost: api.test\r\n"
                                    b"Transfer-Encoding: " + te + b"\r\n\r\n"
                                    b"5\r\nhello\r\n0\r\n\r\n")
        self.assertRejected(b"POST /echo HTTP/1.1\r\nHost: api.test\r\n"
                            b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"5\r\nhello\r\n0\r\n\r\n")
        self.assertRejected(b"POST /echo HTTP/1.0\r\nHost: api.test\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")

    def test_too_many_connection_lines(self):
        lines = b"".join(b"Connection: x-h%d\r\n" % i for i in range(17))
        self.assertRejected(b"GET /res HTTP/1.1\r\nHost: api.test\r\n" + lines + b"\r\n")
        # sixteen are fine, and every header they name stays home
        lines = b"".join(b"Connection: x-h%d\r\nX-H%d: 1\r\n" % (i, i) for i in range(16))
        self.upstream.reset()
        r = self.raw(b"GET /res HTTP/1.1\r\nHost: api.test\r\n" + lines + b"\r\n")
        self.assertEqual(r.status, 200, r)
        q = self.upstream.snapshot()[0]
        self.assertFalse([k for k, _ in q.headers if k.lower().startswith("x-h")], q)

    def test_missing_host(self):
        self.assertRejected(b"GET /res HTTP/1.1\r\nOrigin: https://app.example.com\r\n\r\n")

    def test_two_hosts(self):
        self.assertRejected(b"GET /res HTTP/1.1\r\nHost: api.test\r\nHost: evil.test\r\n\r\n")

    def test_bad_header_names(self):
        for name in (b"Bad Name", b"X(y)", b"X-A\x01", b"X\"q"):
            with self.subTest(name=name):
                self.assertRejected(b"GET /res HTTP/1.1\r\nHost: api.test\r\n" + name
                                    + b": 1\r\n\r\n")

    def test_control_characters_never_reflected(self):
        for origin in (b"https://app.example.com\x00evil", b"https://app.example.com\x7f"):
            with self.subTest(origin=origin):
                with self.corsd.conn() as c:
                    c.send(b"GET /res HTTP/1.1\r\nHost: api.test\r\nOrigin: " + origin
                           + b"\r\n\r\n")
                    try:
                        head = c.bs.read_until(b"\r\n\r\n")
                    except (IncompleteResponse, ConnectionResetError):
                        continue
                self.assertNotIn(b"\x00", head)
                self.assertNotIn(b"evil", head)
                self.assertNotIn(b"\x7f", head)

    def test_stalled_client_dropped(self):
        t0 = time.monotonic()
        with self.corsd.conn() as c:
            c.send(b"GET /res HTTP/1.1\r\nHost: api")
            self.assertTrue(c.is_closed_by_peer(timeout=10), "a stalled client was kept")
        self.assertLess(time.monotonic() - t0, 10)
        with self.corsd.conn() as c:  # idle, nothing sent
            self.assertTrue(c.is_closed_by_peer(timeout=10), "an idle client was kept")
        self.assertNoUpstreamRequests()

    def test_stall_does_not_disturb_others(self):
        stalled = HttpConn(self.corsd.port)
        try:
            stalled.send(b"POST /echo HTTP/1.1\r\nHost: api.test\r\nContent-Length: 10\r\n\r\nab")
            for _ in range(5):
                r = self.get("/res", APP)
                self.assertEqual(r.status, 200, r)
        finally:
            stalled.close()


if __name__ == "__main__":
    main()
