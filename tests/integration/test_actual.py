"""Actual (non-preflight) requests, Vary, origin matching (SPEC rules 2-4, "Origins")."""

import json

from harness import CorsdTestCase, build_request, make_config, origin_hdrs, main

APP = "https://app.example.com"


class ActualTest(CorsdTestCase):
    @classmethod
    def policies(cls, upstream):
        return [
            {"name": "creds", "path": "/creds", "origins": [APP], "credentials": True,
             "expose_headers": ["X-Request-ID", "X-Total"]},
            {"name": "open", "path": "/open", "origins": [APP]},
            {"name": "star", "path": "/star", "origins": ["*"],
             "expose_headers": ["X-Request-ID"]},
            {"name": "enforce", "path": "/enforce", "origins": [APP], "enforce": True},
            {"name": "wild", "path": "/wild",
             "origins": ["https://*.example.com", "https://*.ports.example:*", "null",
                         r"~^https://(app|admin)\.example\.org"]},
            {"name": "rx", "path": "/rx", "origins": [r"~https://.*\.example\.net"]},
        ]

    # -- allowed / denied / no Origin --------------------------------------
    def test_allowed_origin(self):
        origin = "https://App.Example.COM:443"
        r = self.get("/creds/res?x=1", origin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("X-Upstream"), "yes")
        self.assertSingle(r, "Access-Control-Allow-Origin", origin)
        self.assertSingle(r, "Access-Control-Allow-Credentials", "true")
        self.assertEqual({t.lower() for t in r.headers.tokens("Access-Control-Expose-Headers")},
                         {"x-request-id", "x-total"})
        self.assertEqual(set(r.cors()), {"access-control-allow-origin",
                                         "access-control-allow-credentials",
                                         "access-control-expose-headers"}, r)
        self.assertVaryHasOrigin(r)
        reqs = self.upstream.snapshot()
        self.assertEqual(len(reqs), 1, reqs)
        self.assertEqual(reqs[0].header("Origin"), origin)
        self.assertAccess(path="/creds/res", kind="actual", verdict="allowed",
                          policy="creds", status="200")

    def test_denied_origin_still_proxied(self):
        r = self.get("/creds/res", "https://evil.example")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("X-Upstream"), "yes")
        self.assertNoCors(r)
        self.assertIn("origin", r.vary_lower())
        self.assertEqual(len(self.upstream.snapshot()), 1)
        self.assertAccess(path="/creds/res", kind="actual", verdict="denied", reason="origin")

    def test_no_origin_gets_vary_origin_only(self):
        r = self.get("/creds/res")
        self.assertEqual(r.status, 200, r)
        self.assertNoCors(r)
        self.assertVaryExactly(r, ["Origin"])
        self.assertAccess(path="/creds/res", kind="plain", verdict="none")

    def test_head_request(self):
        r = self.req("HEAD", "/creds/res", origin_hdrs(APP))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"")
        self.assertSingle(r, "Access-Control-Allow-Origin", APP)

    def test_options_without_request_method_is_actual(self):
        r = self.req("OPTIONS", "/creds/res", origin_hdrs(APP))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("X-Upstream"), "yes")
        self.assertSingle(r, "Access-Control-Allow-Origin", APP)
        reqs = self.upstream.snapshot()
        self.assertEqual([q.method for q in reqs], ["OPTIONS"])

    # -- the upstream's own CORS headers and Vary --------------------------
    def test_upstream_cors_headers_replaced(self):
        r = self.get("/open/cors", APP)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"cors body")
        self.assertSingle(r, "Access-Control-Allow-Origin", APP)
        self.assertEqual(set(r.cors()), {"access-control-allow-origin"}, r)
        self.assertEqual(sorted(r.vary_lower()), ["accept-encoding", "origin"])

    def test_upstream_cors_headers_removed_for_denied_and_plain(self):
        for origin in ("https://evil.example", None):
            with self.subTest(origin=origin):
                r = self.get("/open/cors", origin)
                self.assertEqual(r.status, 200, r)
                self.assertNoCors(r)
                self.assertEqual(sorted(r.vary_lower()), ["accept-encoding", "origin"])

    def test_credentials_from_policy_not_upstream(self):
        r = self.get("/creds/cors", APP)
        self.assertSingle(r, "Access-Control-Allow-Origin", APP)
        self.assertSingle(r, "Access-Control-Allow-Credentials", "true")
        self.assertNotIn("x-upstream-secret",
                         [t.lower() for t in r.headers.tokens("Access-Control-Expose-Headers")])
        self.assertFalse(r.headers.has("Access-Control-Max-Age"), r)

    def test_vary_merged_without_duplicates(self):
        for origin in (APP, None):
            with self.subTest(origin=origin):
                r = self.get("/creds/vary-origin", origin)
                self.assertEqual(sorted(r.vary_lower()), ["accept-encoding", "origin"], r)

    def test_vary_star_stays_star(self):
        for origin in (APP, "https://evil.example", None):
            with self.subTest(origin=origin):
                r = self.get("/creds/vary-star", origin)
                self.assertEqual(r.vary(), ["*"], r)

    # -- origins: ["*"] ----------------------------------------------------
    def test_star_policy(self):
        for origin in ("https://anything.example", None, "https://user@app.example.com",
                       "null"):
            with self.subTest(origin=origin):
                r = self.get("/star/res", origin)
                self.assertEqual(r.status, 200, r)
                self.assertSingle(r, "Access-Control-Allow-Origin", "*")
                self.assertEqual(
                    [t.lower() for t in r.headers.tokens("Access-Control-Expose-Headers")],
                    ["x-request-id"])
                self.assertFalse(r.headers.has("Access-Control-Allow-Credentials"), r)

    def test_star_policy_replaces_upstream_headers(self):
        r = self.get("/star/cors", "https://x.example")
        self.assertSingle(r, "Access-Control-Allow-Origin", "*")
        self.assertFalse(r.headers.has("Access-Control-Allow-Credentials"), r)
        self.assertFalse(r.headers.has("Access-Control-Allow-Methods"), r)

    # -- origin matching ---------------------------------------------------
    def test_invalid_origin_never_reflected(self):
        bad = ["https://user@app.example.com", "https://user:pw@app.example.com",
               "https://app.example.com/", "https://app.example.com/path",
               "https://app.example.com?q", APP + " " + APP, APP + "," + APP,
               "app.example.com", "https://app.exa\"mple.com", "https://app.example.com:x"]
        for origin in bad:
            with self.subTest(origin=origin):
                r = self.get("/open/res", origin)
                self.assertEqual(r.status, 200, r)
                self.assertNoCors(r)
                self.assertIn("origin", r.vary_lower())
        r = self.req("GET", "/open/res", origin_hdrs(APP) + [("Origin", APP)])
        self.assertNoCors(r)
        self.assertAccess(path="/open/res", verdict="denied", reason="origin_invalid")

    def test_wildcard_regex_null(self):
        cases = {
            "https://a.example.com": True, "https://a.b.example.com": True,
            "https://A.Example.com": True, "https://a.example.com:443": True,
            "https://example.com": False, "https://evil-example.com": False,
            "https://a.example.com.evil.net": False, "http://a.example.com": False,
            "https://a.example.com:8443": False, "https://aexample.com": False,
            "https://x.ports.example:8443": True, "https://x.ports.example": True,
            "https://ports.example:8443": False,
            "null": True, "Null": False,
            "https://app.example.org": True, "https://admin.example.org": True,
            "https://app.example.org:443": True, "https://APP.example.org": True,
            "https://app.example.org.evil.net": False, "https://xapp.example.org": False,
            "https://appxexample.org": False, "http://app.example.org": False,
        }
        for origin, allowed in cases.items():
            with self.subTest(origin=origin):
                r = self.get("/wild/res", origin)
                self.assertEqual(r.status, 200, r)
                if allowed:
                    self.assertSingle(r, "Access-Control-Allow-Origin", origin)
                else:
                    self.assertNoCors(r)
                self.assertIn("origin", r.vary_lower())

    def test_regex_is_anchored_and_sees_only_valid_origins(self):
        cases = {"https://a.example.net": True, "https://a.b.example.net": True,
                 "https://a.example.net.evil.com": False, "https://a.example.net/x": False,
                 "https://u@a.example.net": False, "xhttps://a.example.net": False,
                 "http://a.example.net": False}
        for origin, allowed in cases.items():
            with self.subTest(origin=origin):
                r = self.get("/rx/res", origin)
                if allowed:
                    self.assertSingle(r, "Access-Control-Allow-Origin", origin)
                else:
                    self.assertNoCors(r)

    # -- enforce -----------------------------------------------------------
    def test_enforce_blocks_denied_origin(self):
        r = self.get("/enforce/res", "https://evil.example")
        self.assertEqual(r.status, 403, r)
        self.assertNoCors(r)
        self.assertIn("origin", r.vary_lower())
        self.assertAccess(path="/enforce/res", status="403", verdict="denied")
        self.assertNoUpstreamRequests()

    def test_enforce_allows_allowed_origin_and_plain(self):
        r = self.get("/enforce/res", APP)
        self.assertEqual(r.status, 200, r)
        self.assertSingle(r, "Access-Control-Allow-Origin", APP)
        r = self.get("/enforce/res")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(self.upstream.snapshot()), 2)

    def test_enforce_exempts_same_origin(self):
        cases = [
            ("http://api.test", "api.test", []),
            ("http://api.test:8080", "api.test:8080", []),
            ("https://api.test", "api.test", [("X-Forwarded-Proto", "https")]),
        ]
        for origin, host, extra in cases:
            with self.subTest(origin=origin, host=host):
                self.upstream.reset()
                self.corsd.mark()
                r = self.get("/enforce/res", origin, host=host, extra=extra)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.header("X-Upstream"), "yes")
                self.assertEqual(len(self.upstream.snapshot()), 1)
                self.assertAccess(path="/enforce/res", reason="same_origin")
        # not same-origin: the scheme or the port differs
        for origin, host in (("https://api.test", "api.test"),
                             ("http://api.test:8081", "api.test:8080")):
            with self.subTest(origin=origin, host=host):
                r = self.get("/enforce/res", origin, host=host)
                self.assertEqual(r.status, 403, r)

    # -- the access log cannot be forged -----------------------------------
    def test_access_log_quotes_hostile_values(self):
        evil = 'https://x.example verdict=allowed policy=evil "q" \\ \x01'
        r = self.get("/open/res", evil)
        self.assertNoCors(r)
        e = self.assertAccess(path="/open/res", verdict="denied")
        self.assertEqual(e.get("origin"), evil, e)
        self.assertEqual(e.get("policy"), "open", e)
        for line in self.corsd.log_lines():
            self.assertNotIn("\x01", line)

    # -- --explain agrees --------------------------------------------------
    def test_explain_agrees_with_server(self):
        cases = [
            ("/creds/res", origin_hdrs("https://App.Example.COM:443"), "allowed", "upstream"),
            ("/creds/res", origin_hdrs("https://evil.example"), "denied", "upstream"),
            ("/star/res", origin_hdrs("https://x.example"), "allowed", "upstream"),
            ("/enforce/res", origin_hdrs("https://evil.example"), "denied", "403"),
            ("/wild/res", origin_hdrs("null"), "allowed", "upstream"),
        ]
        for target, hdrs, verdict, status in cases:
            with self.subTest(target=target, hdrs=hdrs):
                head = build_request("GET", target, hdrs)
                r = self.corsd.send_raw(head)
                rc, ex, raw = self.corsd.explain(head)
                self.assertEqual(rc, 0, raw)
                self.assertEqual(ex.word("kind"), "actual", raw)
                self.assertEqual(ex.word("verdict"), verdict, raw)
                self.assertEqual(ex.word("status"), status, raw)
                self.assertEqual(ex.cors(), r.cors(), raw)
                for tok in ex.vary_lower():
                    self.assertIn(tok, r.vary_lower(), raw)
        # no Origin
        head = build_request("GET", "/creds/res", origin_hdrs(None))
        rc, ex, raw = self.corsd.explain(head)
        self.assertEqual(rc, 0, raw)
        self.assertEqual(ex.word("kind"), "plain", raw)
        self.assertEqual(ex.word("verdict"), "none", raw)
        self.assertEqual(ex.cors(), {}, raw)
        self.assertIn("origin", ex.vary_lower(), raw)


class JsonLogTest(CorsdTestCase):
    @classmethod
    def config(cls, upstream):
        return make_config(upstream.url, [{"name": "app", "path": "/", "origins": [APP]}],
                           log={"format": "json"})

    def test_every_line_is_json_and_access_has_the_decision(self):
        evil = 'https://x.example", "verdict": "allowed'
        self.get("/a", APP)
        self.get("/b", evil)
        self.req("OPTIONS", "/c", [("Host", "api.test"), ("Origin", APP),
                                   ("Access-Control-Request-Method", "DELETE")])
        self.assertAccess(path="/c", kind="preflight", verdict="denied", reason="method")
        self.assertAccess(path="/a", kind="actual", verdict="allowed", status="200")
        e = self.assertAccess(path="/b", kind="actual", verdict="denied")
        self.assertEqual(e.get("origin"), evil, e)
        for line in self.corsd.output().splitlines():
            if line.strip():
                json.loads(line)  # raises on a non-JSON line


if __name__ == "__main__":
    main()
