"""Preflights (SPEC "Behaviour on the wire", rule 1) against the real corsd."""

from harness import (CorsdTestCase, Reply, PREFLIGHT_VARY, PNA_VARY, build_request,
                     preflight_hdrs, main)

APP = "https://app.example.com"


class PreflightTest(CorsdTestCase):
    @classmethod
    def policies(cls, upstream):
        return [
            {"name": "creds", "path": "/creds", "origins": [APP, "https://*.example.org"],
             "methods": ["GET", "POST", "PUT", "PATCH", "DELETE"],
             "headers": ["Content-Type", "X-Request-ID", "Authorization"],
             "expose_headers": ["X-Request-ID"], "credentials": True, "max_age": 600,
             "private_network": True},
            {"name": "basic", "path": "/basic", "origins": [APP],
             "methods": ["GET", "POST", "PATCH"], "headers": ["X-Custom"]},
            {"name": "putonly", "path": "/putonly", "origins": [APP], "methods": ["PUT"]},
            {"name": "anyhdr", "path": "/anyhdr", "origins": [APP],
             "methods": ["GET", "PUT"], "headers": ["*"]},
            {"name": "omit", "path": "/omit", "origins": [APP], "headers": ["X-Custom"],
             "deny": "omit"},
            {"name": "report", "path": "/report", "origins": [APP], "methods": ["GET"],
             "report_only": True},
            {"name": "fwd", "path": "/fwd", "origins": [APP], "methods": ["GET", "PUT"],
             "preflight": "forward"},
            {"name": "star", "path": "/star", "origins": ["*"], "methods": ["GET", "PUT"],
             "headers": ["X-Custom"], "expose_headers": ["X-Request-ID"]},
        ]

    # -- allowed -----------------------------------------------------------
    def test_allowed_credentialed_echoes_origin_bytes(self):
        for origin in ("https://App.Example.com:443", APP, "HTTPS://APP.EXAMPLE.COM",
                       "https://a.b.example.org"):
            with self.subTest(origin=origin):
                self.upstream.reset()
                r = self.preflight("/creds/res", origin, "PUT", "X-Request-ID, content-type")
                self.assertEqual(r.status, 204, r)
                self.assertEqual(r.body, b"")
                self.assertSingle(r, "Access-Control-Allow-Origin", origin)
                self.assertEqual(set(r.cors()), {
                    "access-control-allow-origin", "access-control-allow-methods",
                    "access-control-allow-headers", "access-control-allow-credentials",
                    "access-control-max-age"}, r)
                self.assertIn("PUT", r.headers.tokens("Access-Control-Allow-Methods"))
                self.assertEqual(
                    sorted(t.lower() for t in r.headers.tokens("Access-Control-Allow-Headers")),
                    ["content-type", "x-request-id"])
                self.assertSingle(r, "Access-Control-Allow-Credentials", "true")
                self.assertSingle(r, "Access-Control-Max-Age", "600")
                # private_network is on: its request header joins Vary
                self.assertVaryExactly(r, PNA_VARY)
                self.assertNoUpstreamRequests()
        self.assertAccess(method="OPTIONS", path="/creds/res", kind="preflight",
                          verdict="allowed", policy="creds")

    def test_private_network_answered_when_asked(self):
        r = self.preflight("/creds/res", APP, "GET",
                           extra=[("Access-Control-Request-Private-Network", "true")])
        self.assertEqual(r.status, 204, r)
        self.assertSingle(r, "Access-Control-Allow-Private-Network", "true")
        self.assertSingle(r, "Access-Control-Allow-Origin", APP)
        self.assertVaryExactly(r, PNA_VARY)

    def test_private_network_off(self):
        r = self.preflight("/basic/res", APP, "PATCH", "x-custom",
                           extra=[("Access-Control-Request-Private-Network", "true")])
        self.assertEqual(r.status, 204, r)
        self.assertSingle(r, "Access-Control-Allow-Origin", APP)
        self.assertEqual(set(r.cors()), {"access-control-allow-origin",
                                         "access-control-allow-methods",
                                         "access-control-allow-headers"}, r)
        self.assertVaryExactly(r, PREFLIGHT_VARY)
        self.assertNoUpstreamRequests()

    def test_no_request_headers_no_credentials(self):
        r = self.preflight("/basic/res", APP, "PATCH")
        self.assertEqual(r.status, 204, r)
        self.assertSingle(r, "Access-Control-Allow-Origin", APP)
        self.assertFalse(r.headers.has("Access-Control-Allow-Credentials"), r)
        self.assertFalse(r.headers.has("Access-Control-Max-Age"), r)
        self.assertIn("PATCH", r.headers.tokens("Access-Control-Allow-Methods"))
        self.assertEqual(r.headers.tokens("Access-Control-Allow-Headers"), [])
        self.assertVaryExactly(r, PREFLIGHT_VARY)

    def test_safelisted_methods_always_allowed(self):
        for m in ("GET", "HEAD", "POST"):
            with self.subTest(method=m):
                r = self.preflight("/putonly/res", APP, m)
                self.assertEqual(r.status, 204, r)
                self.assertSingle(r, "Access-Control-Allow-Origin", APP)
        r = self.preflight("/putonly/res", APP, "DELETE")
        self.assertEqual(r.status, 403, r)

    def test_request_headers_parsed_leniently(self):
        hdrs = [("Host", "api.test"), ("Origin", APP),
                ("Access-Control-Request-Method", "GET"),
                ("access-control-request-headers", " X-CUSTOM ,, "),
                ("Access-Control-Request-Headers", ",x-custom\t,")]
        r = self.req("OPTIONS", "/basic/res", hdrs)
        self.assertEqual(r.status, 204, r)
        self.assertSingle(r, "Access-Control-Allow-Origin", APP)
        self.assertEqual({t.lower() for t in r.headers.tokens("Access-Control-Allow-Headers")},
                         {"x-custom"})

    def test_authorization_named_explicitly_under_star_headers(self):
        r = self.preflight("/anyhdr/res", APP, "PUT", "Authorization, X-Foo")
        self.assertEqual(r.status, 204, r)
        toks = [t.lower() for t in r.headers.tokens("Access-Control-Allow-Headers")]
        self.assertIn("authorization", toks, r)
        self.assertIn("x-foo", toks, r)
        self.assertNotIn("*", toks, r)

    def test_star_origin_preflight(self):
        r = self.preflight("/star/res", "https://anyone.example.net", "PUT", "x-custom")
        self.assertEqual(r.status, 204, r)
        self.assertSingle(r, "Access-Control-Allow-Origin", "*")
        self.assertFalse(r.headers.has("Access-Control-Allow-Credentials"), r)
        self.assertNoUpstreamRequests()

    def test_sixty_four_request_headers_allowed(self):
        names = ", ".join("x-h%02d" % i for i in range(64))
        r = self.preflight("/anyhdr/res", APP, "GET", names)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(len(r.headers.tokens("Access-Control-Allow-Headers")), 64)

    # -- denied ------------------------------------------------------------
    def assertDenied(self, r, rule_word, vary=PREFLIGHT_VARY):
        self.assertEqual(r.status, 403, r)
        self.assertNoAllowHeaders(r)
        self.assertVaryExactly(r, vary)
        ct = r.header("Content-Type", "")
        self.assertTrue(ct.lower().startswith("text/plain"), "Content-Type %r" % ct)
        self.assertTrue(r.body.strip(), "empty 403 body")
        self.assertIn(rule_word.lower(), r.body.decode("latin-1").lower(), r.body)
        self.assertNoUpstreamRequests()

    def test_denied_origin(self):
        for origin in ("https://app.example.com.evil.net", "http://app.example.com",
                       "https://app.example.com:8443", "https://evil.example",
                       "https://example.org", "https://evil-example.org", "null"):
            with self.subTest(origin=origin):
                self.upstream.reset()
                self.corsd.mark()
                r = self.preflight("/creds/res", origin, "GET")
                self.assertDenied(r, "origin", PNA_VARY)
                self.assertAccess(kind="preflight", verdict="denied", reason="origin",
                                  policy="creds")

    def test_invalid_origin_never_reflected(self):
        for origin in ("https://user@app.example.com", "https://app.example.com/path",
                       "https://app.example.com/", APP + ", " + APP, "https://app.exa mple.com"):
            with self.subTest(origin=origin):
                r = self.preflight("/basic/res", origin, "GET")
                self.assertEqual(r.status, 403, r)
                self.assertNoAllowHeaders(r)
        # two Origin lines, each valid
        hdrs = preflight_hdrs(APP, "GET") + [("Origin", APP)]
        r = self.req("OPTIONS", "/basic/res", hdrs)
        self.assertEqual(r.status, 403, r)
        self.assertNoAllowHeaders(r)

    def test_denied_method_is_case_sensitive(self):
        r = self.preflight("/basic/res", APP, "patch")
        self.assertDenied(r, "method")
        self.assertAccess(kind="preflight", verdict="denied", reason="method")
        r = self.preflight("/basic/res", APP, "PATCH")
        self.assertEqual(r.status, 204, r)
        r = self.preflight("/basic/res", APP, "DELETE")
        self.assertDenied(r, "method")

    def test_denied_header(self):
        r = self.preflight("/basic/res", APP, "GET", "x-custom, X-Evil-Thing")
        self.assertDenied(r, "x-evil-thing")
        self.assertIn("header", r.body.decode("latin-1").lower())
        self.assertAccess(kind="preflight", verdict="denied", reason="header")

    def test_invalid_header_name_denied(self):
        r = self.preflight("/anyhdr/res", APP, "GET", "x-ok, bad(name")
        self.assertEqual(r.status, 403, r)
        self.assertNoAllowHeaders(r)

    def test_too_many_headers(self):
        names = ", ".join("x-h%02d" % i for i in range(65))
        r = self.preflight("/anyhdr/res", APP, "GET", names)
        self.assertDenied(r, "header")
        self.assertAccess(kind="preflight", verdict="denied", reason="too_many_headers")

    def test_too_many_header_bytes(self):
        names = ", ".join("x-" + ("%02d" % i) * 250 for i in range(9))  # 9 names, > 4 KiB
        self.assertGreater(len(names), 4096)
        r = self.preflight("/anyhdr/res", APP, "GET", names)
        self.assertDenied(r, "header")

    # -- denial hints in the 403 body (and the access log) ------------------
    def test_denial_body_names_the_closest_rule(self):
        cases = [
            ("/creds/res", "https://app.example.com:8443", "GET", None, "origin",
             "origin `https://app.example.com:8443` not allowed: closest entry "
             "`https://app.example.com` differs in port (8443 vs 443)", PNA_VARY),
            ("/creds/res", "http://app.example.com", "GET", None, "origin",
             "origin `http://app.example.com` not allowed: closest entry "
             "`https://app.example.com` differs in scheme (http vs https)", PNA_VARY),
            ("/creds/res", "https://example.org", "GET", None, "origin",
             "origin `https://example.org` not allowed: closest entry `https://*.example.org` "
             "does not cover the bare parent domain example.org", PNA_VARY),
            ("/creds/res", "https://evil-example.org", "GET", None, "origin",
             "origin `https://evil-example.org` not allowed: closest entry "
             "`https://*.example.org` does not cover it: evil-example.org is not a subdomain "
             "of example.org", PNA_VARY),
            ("/basic/res", APP, "patch", None, "method",
             "method `patch` not allowed: not in methods [GET, POST, PATCH]; methods compare "
             "case-sensitively: `patch` is not `PATCH`", PREFLIGHT_VARY),
            ("/basic/res", APP, "GET", "x-custom, X-Custon", "header",
             "header `X-Custon` not allowed: not in headers [X-Custom]; `X-Custom` is 1 edit "
             "away", PREFLIGHT_VARY),
        ]
        for target, origin, method, hdrs, reason, hint, vary in cases:
            with self.subTest(origin=origin, method=method, hdrs=hdrs):
                self.corsd.mark()
                r = self.preflight(target, origin, method, hdrs)
                self.assertDenied(r, reason, vary)
                policy = target.split("/")[1]
                self.assertEqual(r.body.decode("ascii"),
                                 "CORS preflight denied by policy %s: %s\n" % (policy, hint))
                e = self.assertAccess(kind="preflight", verdict="denied", reason=reason)
                # exchange.c logs the hint once it has the field
                if "hint" in e:
                    self.assertEqual(e["hint"], hint, e)

    def test_denial_body_never_echoes_an_invalid_origin(self):
        for origin in ("https://user@app.example.com", "https://app.example.com/<b>x</b>",
                       APP + ", https://evil.example"):
            with self.subTest(origin=origin):
                r = self.preflight("/creds/res", origin, "GET")
                self.assertDenied(r, "origin", PNA_VARY)
                body = r.body.decode("ascii")
                self.assertEqual(body, "CORS preflight denied by policy creds: origin not "
                                 "allowed: the Origin header is not one serialized origin "
                                 "(scheme://host[:port])\n")
        hdrs = preflight_hdrs(APP, "GET") + [("Origin", APP)]
        r = self.req("OPTIONS", "/basic/res", hdrs)
        self.assertEqual(r.status, 403, r)
        self.assertEqual(r.body, b"CORS preflight denied by policy basic: origin not allowed: "
                         b"2 Origin header lines, where one is expected\n")

    # -- deny: omit, report_only -------------------------------------------
    def test_deny_omit(self):
        for origin, hdrs in (("https://evil.example", None), (APP, "X-Other")):
            with self.subTest(origin=origin, hdrs=hdrs):
                r = self.preflight("/omit/res", origin, "GET", hdrs)
                self.assertEqual(r.status, 204, r)
                self.assertNoAllowHeaders(r)
                self.assertVaryExactly(r, PREFLIGHT_VARY)
                self.assertNoUpstreamRequests()
        r = self.preflight("/omit/res", APP, "GET", "x-custom")
        self.assertEqual(r.status, 204, r)
        self.assertSingle(r, "Access-Control-Allow-Origin", APP)

    def test_report_only_answers_as_allowed_and_logs_denial(self):
        origin = "https://evil.example"
        r = self.preflight("/report/res", origin, "GET")
        self.assertEqual(r.status, 204, r)
        self.assertSingle(r, "Access-Control-Allow-Origin", origin)
        self.assertVaryExactly(r, PREFLIGHT_VARY)
        self.assertNoUpstreamRequests()
        e = self.assertAccess(path="/report/res", kind="preflight", verdict="denied",
                              reason="origin")
        self.assertRegex(e.get("report_only", ""), r"(?i)true|yes|1", e)
        self.corsd.mark()
        r = self.preflight("/report/res", APP, "PUT")
        self.assertEqual(r.status, 204, r)
        e = self.assertAccess(path="/report/res", kind="preflight", verdict="denied",
                              reason="method")
        self.assertRegex(e.get("report_only", ""), r"(?i)true|yes|1", e)

    # -- preflight: forward ------------------------------------------------
    def test_forward_preflight_reaches_upstream(self):
        self.upstream.route("fwd-pf", lambda req, conn, args: Reply(200, [
            ("Content-Type", "text/plain"), ("X-From-Upstream", "1"),
            ("Access-Control-Allow-Origin", "*"),
            ("Access-Control-Allow-Methods", "TRACE"),
            ("Access-Control-Allow-Credentials", "true"),
            ("Access-Control-Max-Age", "86400")], b"upstream options body"))
        r = self.preflight("/fwd/fwd-pf", APP, "PUT")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"upstream options body")
        self.assertEqual(r.header("X-From-Upstream"), "1")
        self.assertSingle(r, "Access-Control-Allow-Origin", APP)
        self.assertIn("PUT", r.headers.tokens("Access-Control-Allow-Methods"))
        self.assertNotIn("TRACE", r.headers.tokens("Access-Control-Allow-Methods"))
        self.assertFalse(r.headers.has("Access-Control-Allow-Credentials"), r)
        self.assertFalse(r.headers.has("Access-Control-Max-Age"), r)
        self.assertIn("origin", r.vary_lower())
        reqs = self.upstream.snapshot()
        self.assertEqual(len(reqs), 1, reqs)
        self.assertEqual(reqs[0].method, "OPTIONS")
        self.assertEqual(reqs[0].header("Access-Control-Request-Method"), "PUT")
        self.assertEqual(reqs[0].header("Origin"), APP)

    def test_forward_preflight_denied_origin_gets_no_upstream_cors(self):
        self.upstream.route("fwd-pf2", lambda req, conn, args: Reply(204, [
            ("Access-Control-Allow-Origin", "*"),
            ("Access-Control-Allow-Credentials", "true")]))
        r = self.preflight("/fwd/fwd-pf2", "https://evil.example", "GET")
        self.assertNoAllowHeaders(r)
        self.assertIn("origin", r.vary_lower())

    # -- --explain agrees with the server ----------------------------------
    def test_explain_agrees_with_server(self):
        cases = [
            ("/creds/res", preflight_hdrs("https://App.Example.com:443", "PUT",
                                          "x-request-id, Content-Type"), "allowed", "creds"),
            ("/creds/res", preflight_hdrs(APP, "GET", None, extra=[
                ("Access-Control-Request-Private-Network", "true")]), "allowed", "creds"),
            ("/creds/res", preflight_hdrs("https://app.example.com.evil.net", "GET"),
             "denied", "creds"),
            ("/basic/res", preflight_hdrs(APP, "patch"), "denied", "basic"),
            ("/basic/res", preflight_hdrs(APP, "GET", "X-Evil"), "denied", "basic"),
            ("/omit/res", preflight_hdrs("https://evil.example", "GET"), "denied", "omit"),
            ("/report/res", preflight_hdrs("https://evil.example", "GET"), "denied", "report"),
            ("/star/res", preflight_hdrs("https://x.example", "PUT", "x-custom"), "allowed",
             "star"),
            ("/anyhdr/res", preflight_hdrs(APP, "PUT", "Authorization"), "allowed", "anyhdr"),
        ]
        for target, hdrs, verdict, policy in cases:
            with self.subTest(target=target, hdrs=hdrs):
                head = build_request("OPTIONS", target, hdrs)
                r = self.corsd.send_raw(head, "OPTIONS")
                rc, ex, raw = self.corsd.explain(head)
                self.assertEqual(rc, 0, raw)
                self.assertEqual(ex.word("policy"), policy, raw)
                self.assertEqual(ex.word("kind"), "preflight", raw)
                self.assertEqual(ex.word("verdict"), verdict, raw)
                self.assertEqual(ex.word("status"), str(r.status), raw)
                self.assertEqual(ex.cors(), r.cors(), raw)
                self.assertEqual(sorted(ex.vary_lower()), sorted(r.vary_lower()), raw)
        self.assertNoUpstreamRequests()


if __name__ == "__main__":
    main()
