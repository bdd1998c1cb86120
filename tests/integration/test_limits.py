"""Limits and timeouts of the data path (SPEC rules 5-7, `limits` and
`timeouts`): max_connections, slowloris heads and bodies, answers that are
slower than timeouts.client but must not be cut, a client that keeps sending
while its answer streams, and the upstream pool."""

import os
import select
import socket
import threading
import time

from harness import (CorsdTestCase, HttpConn, Reply, build_request, make_config, origin_hdrs,
                     main)

APP = "https://app.example.com"


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def nothing_arrives(sock, seconds):
    """True when no byte and no EOF arrive within seconds (a bounded wait
    for something that must not happen)."""
    r, _, _ = select.select([sock], [], [], seconds)
    return not r


def policy():
    return [{"name": "app", "path": "/", "origins": [APP]}]


class MaxConnectionsTest(CorsdTestCase):
    """At max_connections corsd stops accepting; a new connection waits in
    the backlog and is served as soon as another one closes."""

    @classmethod
    def config(cls, upstream):
        return make_config(upstream.url, policy(), limits={"max_connections": 3})

    def test_waits_then_served_and_existing_keep_working(self):
        held = [HttpConn(self.corsd.port) for _ in range(3)]
        waiting = None
        try:
            for c in held:  # each is accepted and served
                self.assertEqual(c.request("GET", "/a", origin_hdrs(APP)).status, 200)
            self.assertIsNotNone(self.corsd.wait_log(r"max_connections \(3\) reached"))
            waiting = HttpConn(self.corsd.port)  # the kernel's backlog takes it
            waiting.send(build_request("GET", "/waiting", origin_hdrs(APP)))
            self.assertTrue(nothing_arrives(waiting.sock, 0.7),
                            "a 4th connection was served over max_connections: 3")
            # The ones already open keep working while the limit holds.
            for c in held:
                self.assertEqual(c.request("GET", "/b", origin_hdrs(APP)).status, 200)
            held.pop().close()
            r = waiting.read_response()
            self.assertEqual(r.status, 200, r)
            self.assertIsNotNone(self.corsd.wait_log(r"accepting again"))
        finally:
            for c in held:
                c.close()
            if waiting:
                waiting.close()
        self.assertIn("/waiting", [q.path for q in self.upstream.snapshot()])


class ClientTimeoutTest(CorsdTestCase):
    """timeouts.client bounds how long a whole request may take to arrive
    (slowloris), never how long an answer may take."""

    @classmethod
    def config(cls, upstream):
        return make_config(upstream.url, policy(), timeouts={"client": "1s"})

    @classmethod
    def extra_setup(cls):
        def drip(req, conn, args):
            # 8 chunks 250 ms apart: 2 s of streaming, twice timeouts.client.
            conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for i in range(8):
                time.sleep(0.25)
                part = b"part %d\n" % i
                conn.send(b"%x\r\n%s\r\n" % (len(part), part))
            conn.send(b"0\r\n\r\n")
            return None

        def slow(req, conn, args):
            time.sleep(2)  # the upstream thinks for twice timeouts.client
            return Reply(200, [("Content-Type", "text/plain")], b"slow but fine")

        cls.upstream.route("drip", drip)
        cls.upstream.route("slow", slow)

    def trickle_until_closed(self, c, first, byte_every=0.15, limit=8.0):
        """Sends `first`, then one more header byte every byte_every
        seconds; returns the seconds until corsd closed the connection."""
        t0 = time.monotonic()
        c.send(first)
        while time.monotonic() - t0 < limit:
            try:
                c.send(b"x")
            except OSError:
                return time.monotonic() - t0
            if c.is_closed_by_peer(timeout=byte_every):
                return time.monotonic() - t0
        self.fail("a trickling client was kept for %.0f s" % limit)

    def test_slowloris_head_is_cut(self):
        with self.corsd.conn() as c:
            took = self.trickle_until_closed(c, b"GET /a HTTP/1.1\r\nHost: api.test\r\nX-Slow: ")
        # Each byte arrives well within 1 s, so only a whole-request deadline
        # cuts it; evhttp's idle timeout alone would keep it forever.
        self.assertGreaterEqual(took, 0.9)
        self.assertLess(took, 4.0)
        self.assertNoUpstreamRequests()

    def test_slowloris_body_is_cut(self):
        with self.corsd.conn() as c:
            took = self.trickle_until_closed(
                c, b"POST /echo HTTP/1.1\r\nHost: api.test\r\nContent-Length: 1000\r\n\r\n")
        self.assertGreaterEqual(took, 0.9)
        self.assertLess(took, 4.0)
        self.assertNoUpstreamRequests()

    def test_streaming_answer_longer_than_client_timeout_is_whole(self):
        with self.corsd.conn() as c:
            r = c.request("GET", "/drip", origin_hdrs(APP))
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.body, b"".join(b"part %d\n" % i for i in range(8)))
            # and the connection is still good for the next request
            self.assertEqual(c.request("GET", "/a", origin_hdrs(APP)).status, 200)

    def test_slow_upstream_is_not_a_slow_client(self):
        r = self.get("/slow", APP)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"slow but fine")

    def test_idle_keepalive_closed_after_timeout(self):
        with self.corsd.conn() as c:
            self.assertEqual(c.request("GET", "/a", origin_hdrs(APP)).status, 200)
            t0 = time.monotonic()
            self.assertTrue(c.is_closed_by_peer(timeout=5))
            self.assertGreaterEqual(time.monotonic() - t0, 0.8)


class FastSenderTest(CorsdTestCase):
    """A client that keeps sending while its answer streams (and does not
    read) cannot make corsd buffer what it sends."""

    @classmethod
    def policies(cls, upstream):
        return policy()

    @classmethod
    def extra_setup(cls):
        cls.stop_endless = threading.Event()

        def endless(req, conn, args):
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (1 << 40))
            block = b"e" * 65536
            deadline = time.monotonic() + 60
            try:
                while not cls.stop_endless.is_set() and time.monotonic() < deadline:
                    conn.send(block)
            except OSError:
                pass
            return None

        cls.upstream.route("endless", endless)

    def test_sender_is_throttled_and_memory_bounded(self):
        pid = self.corsd.proc.pid
        before = rss_kib(pid)
        c = HttpConn(self.corsd.port)
        try:
            c.send(build_request("GET", "/endless", origin_hdrs(APP)))
            self.upstream.wait_requests(1)
            c.sock.setblocking(False)
            junk = build_request("POST", "/echo", origin_hdrs(APP), b"j" * 60000)
            sent, stalled_since = 0, None
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and sent < (256 << 20):
                _, w, _ = select.select([], [c.sock], [], 0.1)
                if not w:
                    if stalled_since is None:
                        stalled_since = time.monotonic()
                    elif time.monotonic() - stalled_since > 1.0:
                        break  # corsd stopped reading us: backpressure
                    continue
                stalled_since = None
                try:
                    sent += c.sock.send(junk)
                except BlockingIOError:
                    continue
            grown = rss_kib(pid) - before
        finally:
            self.stop_endless.set()
            c.close()
        # Kernel socket buffers on loopback hold a few MiB; corsd itself
        # holds at most max_header_bytes + 64 KiB of what we sent.
        self.assertLess(sent, 48 << 20, "corsd kept reading a client it was not answering")
        self.assertLess(grown, 32 * 1024, "RSS grew by %d KiB" % grown)
        # and it still serves others
        self.assertEqual(self.get("/after", APP).status, 200)


class PoolTest(CorsdTestCase):
    """The upstream pool: connections are reused across client connections,
    and the idle ones kept are capped (64 per upstream address)."""

    @classmethod
    def policies(cls, upstream):
        return policy()

    @classmethod
    def extra_setup(cls):
        cls.release = threading.Event()

        def hold(req, conn, args):
            cls.release.wait(30)
            return Reply(200, [("Content-Type", "text/plain")], b"held")

        cls.upstream.route("hold", hold)

    def test_reuse_across_client_connections(self):
        for i in range(30):
            self.assertEqual(self.get("/r%d" % i, APP).status, 200)
        self.assertEqual(len(self.upstream.snapshot()), 30)
        self.assertLessEqual(self.upstream.accepted, 2,
                             "30 sequential requests opened %d upstream connections"
                             % self.upstream.accepted)

    def test_idle_connections_capped(self):
        n = 80
        results = []
        threads = []

        def one(i):
            results.append(self.get("/hold/%d" % i, APP).status)

        try:
            for i in range(n):
                t = threading.Thread(target=one, args=(i,), daemon=True)
                t.start()
                threads.append(t)
            self.upstream.wait_requests(n, timeout=30)
        finally:
            self.release.set()
        for t in threads:
            t.join(30)
        self.assertEqual(results.count(200), n, results)
        # 80 upstream connections were busy at once; at most 64 stay idle.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with self.upstream.lock:
                open_now = len(self.upstream.conns)
            if open_now <= 64:
                break
            time.sleep(0.05)
        self.assertLessEqual(open_now, 64)
        self.assertGreater(self.upstream.accepted, 64)


if __name__ == "__main__":
    main()
