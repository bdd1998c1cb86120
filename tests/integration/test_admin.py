"""The admin listener: GET /healthz and GET /metrics (SPEC "Admin")."""

import unittest
import time

from harness import (CorsdTestCase, HttpConn, free_port, make_config,
                     preflight_hdrs, main)

APP = "https://app.example.com"


@unittest.skip("the admin listener is issue 4 (Operations); not served yet")
class AdminTest(CorsdTestCase):
    @classmethod
    def config(cls, upstream):
        cls.admin_port = free_port()
        return make_config(upstream.url, [{"name": "app", "path": "/", "origins": [APP]}],
                           admin={"listen": "127.0.0.1:%d" % cls.admin_port})

    def admin_get(self, path):
        deadline = time.monotonic() + 5
        while True:  # the admin listener may come up just after the main one
            try:
                c = HttpConn(self.admin_port)
                break
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        with c:
            return c.request("GET", path, [("Host", "127.0.0.1")])

    def test_healthz(self):
        r = self.admin_get("/healthz")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body.strip(), b"ok")
        self.assertNoUpstreamRequests()

    def test_metrics(self):
        self.assertEqual(self.req("OPTIONS", "/x", preflight_hdrs(APP, "GET")).status, 204)
        self.assertEqual(self.req("OPTIONS", "/x", preflight_hdrs("https://e.example",
                                                                  "GET")).status, 403)
        self.assertEqual(self.get("/x", APP).status, 200)
        self.assertEqual(self.get("/x").status, 200)
        r = self.admin_get("/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("Content-Type", "").startswith("text/plain"), r)
        text = r.body.decode()
        self.assertRegex(text, r"(?m)^# TYPE \S+ (counter|gauge|histogram)")
        for word in ("preflight", "actual", "plain", "allowed", "denied"):
            self.assertIn(word, text)
        self.assertRegex(text, r"(?m)_bucket\{.*le=\"\+Inf\"\} \d+")
        # every sample line is "name{labels} value"
        for line in text.splitlines():
            if line and not line.startswith("#"):
                self.assertRegex(line, r"^[a-zA-Z_:][\w:]*(\{.*\})? [-+0-9.eEInfa]+$")


if __name__ == "__main__":
    main()
