"""Several workers (the `workers` key): one listening port shared through
SO_REUSEPORT, every worker serving, one policy for all, a pool each."""

import os
import signal

from harness import (CorsdTestCase, HttpConn, make_config, origin_hdrs, preflight_hdrs, main)

APP = "https://app.example.com"
WORKERS = 4
# New connections are spread by a hash of their ports: with 64 of them the
# chance that one of 4 workers gets none is 4 * (3/4)^64, about 4e-8.
CONNECTIONS = 64


def listening_ports(pid):
    """The TCP ports corsd's process has in LISTEN state (from /proc)."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                cols = line.split()
                if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                    ports.append(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


class WorkersTest(CorsdTestCase):
    @classmethod
    def config(cls, upstream):
        return make_config(upstream.url, [{"name": "app", "path": "/", "origins": [APP],
                                           "methods": ["GET", "PUT"]}],
                           workers=WORKERS)

    def workers_seen(self, since):
        return {e.get("worker") for e in self.corsd.access_entries(since)}

    def test_one_port_one_listener_per_worker(self):
        ports = listening_ports(self.corsd.proc.pid)
        self.assertEqual(ports, [self.corsd.port] * WORKERS)
        self.assertIn("(%d workers)" % WORKERS, self.corsd.output())

    def test_every_worker_serves_preflights_and_proxies(self):
        mark = self.corsd.mark()
        for i in range(CONNECTIONS):
            with HttpConn(self.corsd.port) as c:
                r = c.request("OPTIONS", "/x", preflight_hdrs(APP, "PUT"))
                self.assertEqual(r.status, 204, r)
                self.assertEqual(r.header("Access-Control-Allow-Origin"), APP)
                r = c.request("GET", "/y/%d" % i, origin_hdrs(APP))
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.header("Access-Control-Allow-Origin"), APP)
        self.assertTrue(self.corsd.wait_access(since=mark, path="/y/%d" % (CONNECTIONS - 1)))
        self.assertEqual(self.workers_seen(mark), {str(i) for i in range(WORKERS)})
        # Only the GETs reached the upstream; each worker pools its own
        # connections, so at most one per worker was needed in sequence.
        self.assertEqual([q.method for q in self.upstream.snapshot()], ["GET"] * CONNECTIONS)
        self.assertLessEqual(self.upstream.accepted, WORKERS)

    def test_reload_reaches_every_worker(self):
        cfg = self.config(self.upstream)
        cfg["policies"][0]["origins"] = ["https://other.example.com"]
        cfg["listen"] = "127.0.0.1:%d" % self.corsd.port
        self.corsd.write_config(cfg)
        try:
            mark = self.corsd.mark()
            self.corsd.signal(signal.SIGHUP)
            self.assertIsNotNone(self.corsd.wait_log(r"reloaded ", since=mark))
            for _ in range(CONNECTIONS):
                with HttpConn(self.corsd.port) as c:
                    r = c.request("OPTIONS", "/x", preflight_hdrs(APP, "PUT"))
                    self.assertEqual(r.status, 403, r)
                    r = c.request("OPTIONS", "/x",
                                  preflight_hdrs("https://other.example.com", "PUT"))
                    self.assertEqual(r.status, 204, r)
            self.assertEqual(self.workers_seen(mark), {str(i) for i in range(WORKERS)})
        finally:
            self.corsd.write_config(self.config(self.upstream))
            mark = self.corsd.mark()
            self.corsd.signal(signal.SIGHUP)
            self.assertIsNotNone(self.corsd.wait_log(r"reloaded ", since=mark))


if __name__ == "__main__":
    main()
