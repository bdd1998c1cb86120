"""SIGTERM / SIGINT: stop accepting, finish the requests in flight (up to
timeouts.shutdown), exit 0 (SPEC "Command line").

Every test starts its own upstream and corsd, drains it, and checks that
corsd exited 0 with no sanitizer report.
"""

import re
import signal
import socket
import threading
import time
import unittest

from harness import (Corsd, HttpConn, Upstream, Reply, build_request,
                     deterministic_bytes, make_config, origin_hdrs)

APP = "https://app.example.com"
SLOW_BODY = deterministic_bytes(200000, seed=7)
# A slow request answers when the test releases it, or after this long: a
# bound, not the synchronisation (the tests release it explicitly).
SLOW_FALLBACK = 10.0


class DrainTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.upstream = Upstream().start()
        self.addCleanup(self.upstream.stop)
        self.release = threading.Event()
        self.addCleanup(self.release.set)  # runs before the upstream stops

        def slow(req, conn, args):
            # Answers when the test says so, or after SLOW_FALLBACK seconds.
            self.release.wait(SLOW_FALLBACK)
            return Reply(200, [("Content-Type", "application/octet-stream")], SLOW_BODY)

        self.upstream.route("slow", slow)
        self.corsd = None

    def start(self, workers=1, shutdown="10s", **over):
        cfg = make_config(self.upstream.url,
                          [{"name": "app", "path": "/", "origins": [APP]}],
                          workers=workers, timeouts={"shutdown": shutdown}, **over)
        self.corsd = Corsd(cfg)
        self.addCleanup(self.corsd.cleanup)
        self.addCleanup(self.corsd.stop)
        self.corsd.start()
        banner = r"running with .* \(%d workers?\)" % workers
        self.assertIsNotNone(self.corsd.wait_log(banner, timeout=5, since=0),
                             self.corsd.output())
        return self.corsd

    def log(self):
        return self.corsd.output()[-6000:]

    def signal_and_wait_draining(self, sig=signal.SIGTERM):
        self.corsd.mark()
        t0 = time.monotonic()
        self.corsd.signal(sig)
        line = self.corsd.wait_log(r"signal %d: draining" % sig, timeout=10)
        self.assertIsNotNone(line, "no 'draining' line:\n" + self.log())
        return t0

    def wait_exit(self, timeout):
        """Waits for corsd to exit by itself; fails (and kills it) if it does not."""
        try:
            rc = self.corsd.proc.wait(timeout=timeout)
        except Exception:
            self.corsd.stop(timeout=0.1)
            self.fail("corsd did not exit within %.1fs of the signal:\n%s"
                      % (timeout, self.log()))
        return rc

    def assertCleanExit(self, rc=None):
        stopped = self.corsd.stop()  # collects the output (SIGTERM only if still running)
        rc = stopped if rc is None else rc
        report = self.corsd.sanitizer_report()
        self.assertIsNone(report, "sanitizer report:\n%s" % report)
        self.assertEqual(rc, 0, "exit status %s:\n%s" % (rc, self.log()))
        self.assertIsNotNone(self.corsd.wait_log(r"\bstopped$", timeout=1, since=0),
                             "no 'stopped' line:\n" + self.log())

    def send_slow(self, n=1):
        """n connections, each with a slow request the upstream has received."""
        conns = []
        for _ in range(n):
            c = self.corsd.conn()
            self.addCleanup(c.close)
            c.send(build_request("GET", "/slow", origin_hdrs(APP)))
            conns.append(c)
        got = self.upstream.wait_requests(n, timeout=10)
        self.assertEqual(len(got), n, "the upstream saw %d of %d slow requests" % (len(got), n))
        return conns

    def assertSlowAnswer(self, c):
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.body), len(SLOW_BODY))
        self.assertTrue(r.body == SLOW_BODY, "the body differs")
        self.assertEqual(r.header("Access-Control-Allow-Origin"), APP, r)
        self.assertTrue(c.is_closed_by_peer(timeout=5),
                        "the connection stayed open after its last answer")
        return r

    def assertSaidClose(self, responses):
        # a subTest: a missing header is reported, and the drain checks still run
        with self.subTest("an answer during the drain says Connection: close"):
            missing = [r for r in responses
                       if "close" not in [t.lower() for t in r.headers.tokens("Connection")]]
            self.assertEqual(missing, [], "%d of %d answers given during the drain lack "
                             "Connection: close" % (len(missing), len(responses)))

    def assertRefused(self, timeout=5):
        """New connections are refused (polled: the workers close their
        listeners when they read the drain from their mailbox)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                s = socket.create_connection(("127.0.0.1", self.corsd.port), timeout=2)
            except ConnectionRefusedError:
                break
            except ConnectionResetError:
                # Several workers: it reached a listener just as that one
                # closed (the kernel resets what its backlog held); the
                # others may still be open.
                pass
            else:
                s.close()
            if time.monotonic() > deadline:
                self.fail("the listen port still accepts connections while draining")
            time.sleep(0.02)  # polling an observable effect, bounded
        # and it stays refused
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", self.corsd.port), timeout=2).close()

    # -- tests -------------------------------------------------------------------
    def test_in_flight_request_finishes(self):
        self.start(shutdown="10s")
        (c,) = self.send_slow(1)
        t0 = self.signal_and_wait_draining()
        self.assertRefused()
        self.assertTrue(self.corsd.alive(), "corsd exited with a request in flight")
        self.release.set()
        r = self.assertSlowAnswer(c)
        rc = self.wait_exit(5)
        self.assertLess(time.monotonic() - t0, 8)
        self.assertSaidClose([r])
        self.assertCleanExit(rc)
        self.assertIsNone(self.corsd.wait_log("still open after", timeout=0, since=0))

    def test_idle_keepalive_closed_at_once(self):
        self.start(shutdown="30s")
        conns = []
        for i in range(4):
            c = self.corsd.conn()
            self.addCleanup(c.close)
            if i > 0:  # three have served a request; the first never sent anything
                r = c.request("GET", "/x", origin_hdrs(APP))
                self.assertEqual(r.status, 200, r)
            conns.append(c)
        t0 = self.signal_and_wait_draining()
        for i, c in enumerate(conns):
            self.assertTrue(c.is_closed_by_peer(timeout=5),
                            "idle connection %d not closed by the drain:\n%s" % (i, self.log()))
        rc = self.wait_exit(5)
        self.assertLess(time.monotonic() - t0, 5, "drain of idle connections took too long")
        self.assertCleanExit(rc)

    def test_shutdown_timeout_stops_stalled_request(self):
        self.start(shutdown="500ms")
        c = self.corsd.conn()
        self.addCleanup(c.close)
        c.send(build_request("GET", "/stall", origin_hdrs(APP)))
        self.assertEqual(len(self.upstream.wait_requests(1, timeout=10)), 1)
        t0 = self.signal_and_wait_draining()
        rc = self.wait_exit(8)
        elapsed = time.monotonic() - t0
        self.assertGreaterEqual(elapsed, 0.4, "corsd did not wait for the request in flight")
        line = self.corsd.wait_log(r"shutdown: 1 client connection\(s\) still open after "
                                   r"timeouts\.shutdown", timeout=1)
        self.assertIsNotNone(line, self.log())
        self.assertCleanExit(rc)
        # the client was not answered: its connection is just closed
        try:
            data = c.sock.recv(65536)
        except (ConnectionResetError, OSError):
            data = b""
        self.assertEqual(data, b"")

    def test_second_signal_stops_now(self):
        self.start(shutdown="30s")
        c = self.corsd.conn()
        self.addCleanup(c.close)
        c.send(build_request("GET", "/stall", origin_hdrs(APP)))
        self.assertEqual(len(self.upstream.wait_requests(1, timeout=10)), 1)
        self.signal_and_wait_draining(signal.SIGTERM)
        # a short bounded look that it really waits for the stalled request
        self.assertIsNone(self.corsd.wait_log(r"\bstopped$", timeout=0.3))
        self.assertTrue(self.corsd.alive())
        t1 = time.monotonic()
        self.corsd.signal(signal.SIGINT)
        rc = self.wait_exit(5)
        self.assertLess(time.monotonic() - t1, 5)
        self.assertIsNotNone(self.corsd.wait_log(r"signal 2 again: stopping now", timeout=1),
                             self.log())
        self.assertCleanExit(rc)
        self.assertTrue(c.is_closed_by_peer(timeout=2))

    def test_healthz_draining_and_reload_ignored(self):
        self.start(shutdown="10s", admin={"listen": "127.0.0.1:0"})
        line = self.corsd.wait_log(r"admin listening on \S+:\d+", timeout=5, since=0)
        self.assertIsNotNone(line, self.log())
        admin_port = int(re.search(r":(\d+)$", line.strip()).group(1))

        def healthz():
            with HttpConn(admin_port) as h:
                return h.request("GET", "/healthz", [("Host", "127.0.0.1")])

        r = healthz()
        self.assertEqual((r.status, r.body), (200, b"ok\n"))
        (c,) = self.send_slow(1)
        self.signal_and_wait_draining()
        r = healthz()
        self.assertEqual((r.status, r.body), (503, b"draining\n"), r)
        # SIGHUP during the drain is ignored
        self.corsd.signal(signal.SIGHUP)
        self.assertIsNotNone(self.corsd.wait_log(r"reload ignored: draining", timeout=5),
                             self.log())
        self.assertIsNone(self.corsd.wait_log(r"reloaded ", timeout=0))
        r = healthz()
        self.assertEqual(r.status, 503, r)
        self.release.set()
        r = self.assertSlowAnswer(c)
        rc = self.wait_exit(5)
        self.assertCleanExit(rc)
        self.assertSaidClose([r])

    def test_several_workers(self):
        self.start(workers=3, shutdown="10s")
        conns = self.send_slow(9)
        t0 = self.signal_and_wait_draining()
        self.assertRefused()
        self.release.set()
        responses = [self.assertSlowAnswer(c) for c in conns]
        rc = self.wait_exit(5)
        self.assertLess(time.monotonic() - t0, 8)
        self.assertCleanExit(rc)
        workers = {e.get("worker") for e in self.corsd.access_entries(since=0)
                   if e.get("path") == "/slow"}
        self.assertEqual(len([e for e in self.corsd.access_entries(since=0)
                              if e.get("path") == "/slow" and e.get("status") == "200"]), 9)
        # with SO_REUSEPORT, 9 connections all on one of 3 workers is (1/3)^8
        self.assertGreater(len(workers), 1, "all slow requests went to one worker: %r"
                           % workers)
        self.assertSaidClose(responses)


if __name__ == "__main__":
    unittest.main(verbosity=2)
