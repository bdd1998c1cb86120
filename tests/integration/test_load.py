"""Concurrency, backpressure and several workers (SPEC rule 5)."""

import threading
import time

from harness import (CLOSE, CorsdTestCase, HttpConn, build_request, make_config, origin_hdrs,
                     sanitized_binary, main)

APP = "https://app.example.com"
STREAM_TOTAL = 256 * 1024 * 1024
BLOCK = bytes(range(256)) * 1024  # 256 KiB


class ConcurrencyMixin:
    def run_concurrent(self, clients=16, per_client=10):
        errors = []

        def client(n):
            try:
                with HttpConn(self.corsd.port) as c:
                    for i in range(per_client):
                        body = ("client %d request %d " % (n, i)).encode() * (1 + i * 37)
                        r = c.request("POST", "/echo?c=%d&i=%d" % (n, i), origin_hdrs(APP), body)
                        if r.status != 200 or r.body != body:
                            errors.append("client %d req %d: %r" % (n, i, r))
                            return
                        if r.header("Access-Control-Allow-Origin") != APP:
                            errors.append("client %d req %d: no ACAO %r" % (n, i, r))
                            return
            except Exception as e:  # reported below
                errors.append("client %d: %r" % (n, e))

        threads = [threading.Thread(target=client, args=(n,), daemon=True)
                   for n in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertFalse(any(t.is_alive() for t in threads), "clients hung")
        self.assertEqual(errors, [])
        self.assertEqual(len(self.upstream.snapshot()), clients * per_client)


class LoadTest(CorsdTestCase, ConcurrencyMixin):
    @classmethod
    def policies(cls, upstream):
        return [{"name": "app", "path": "/", "origins": [APP], "methods": ["GET", "POST"]}]

    def test_concurrent_clients_no_crosstalk(self):
        self.run_concurrent()

    def test_slow_reader_does_not_block_others_and_backpressure(self):
        progress = {"sent": 0, "done": False}

        def flood(req, conn, args):
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                      b"Content-Length: %d\r\n\r\n" % STREAM_TOTAL)
            try:
                while progress["sent"] < STREAM_TOTAL:
                    conn.send(BLOCK)
                    progress["sent"] += len(BLOCK)
            except OSError:
                return CLOSE
            progress["done"] = True
            return None

        self.upstream.route("flood", flood)
        rss_before = self.corsd.rss_kib()
        slow = HttpConn(self.corsd.port)
        try:
            slow.send(build_request("GET", "/flood", origin_hdrs(APP)))
            slow.read_head()  # then never read the body
            # wait until the upstream cannot push any more (bounded)
            deadline = time.monotonic() + 30
            last, still = -1, 0
            while time.monotonic() < deadline and not progress["done"]:
                cur = progress["sent"]
                still = still + 1 if cur == last else 0
                if still >= 10:  # no progress for 1 s
                    break
                last = cur
                time.sleep(0.1)
            self.assertFalse(progress["done"],
                             "corsd read a %d MiB response for a client that reads "
                             "nothing (no backpressure)" % (STREAM_TOTAL >> 20))
            self.assertLess(progress["sent"], 128 * 1024 * 1024)
            if not sanitized_binary():
                grown = self.corsd.rss_kib() - rss_before
                self.assertLess(grown, 32 * 1024,
                                "corsd grew by %d KiB for one slow client" % grown)
            # other clients are served meanwhile
            for _ in range(3):
                r = self.get("/res", APP)
                self.assertEqual(r.status, 200, r)
        finally:
            slow.close()
        # the abandoned stream is cleaned up (and logged intact) and corsd keeps serving
        self.assertAccess(method="GET", path="/flood", status="200")
        r = self.get("/res", APP)
        self.assertEqual(r.status, 200, r)


class MultiWorkerTest(CorsdTestCase, ConcurrencyMixin):
    @classmethod
    def config(cls, upstream):
        return make_config(upstream.url, [
            {"name": "app", "path": "/", "origins": [APP], "methods": ["GET", "POST", "PUT"],
             "headers": ["X-A"], "credentials": True}], workers=2)

    def test_concurrent_clients_two_workers(self):
        self.run_concurrent(clients=8, per_client=8)

    def test_preflight_and_actual_on_every_worker(self):
        for _ in range(8):  # new connections land on either worker
            r = self.req("OPTIONS", "/x", [("Host", "a"), ("Origin", APP),
                                           ("Access-Control-Request-Method", "PUT"),
                                           ("Access-Control-Request-Headers", "x-a")])
            self.assertEqual(r.status, 204, r)
            self.assertEqual(r.header("Access-Control-Allow-Origin"), APP)
            r = self.get("/y", APP)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.header("Access-Control-Allow-Credentials"), "true")
        self.assertEqual([q.method for q in self.upstream.snapshot()], ["GET"] * 8)


if __name__ == "__main__":
    main()
