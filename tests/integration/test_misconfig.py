"""The misconfiguration attacks every CORS deployment is tested for, on the
wire: arbitrary origin reflection, trusted null, prefix and suffix matches,
unescaped dots and unanchored regexes, the http:// downgrade, other ports,
third-party wildcards, "*" with credentials, an upstream's own CORS headers
bleeding through, and private-network opt-in leaks.

Each class is a table of (policy, attacking Origin, expectation) rows sent to
the real corsd, as a preflight and as an actual request, in front of a real
upstream. Every answer is also held to what no row may break (see
assertWireInvariants). Where a policy really does accept the attack (the
unescaped dot, a wildcard over shared hosting, "~.*"), the row says so and
LintTest shows that `corsd -t` reports it and `--strict` fails.
tests/unit/test_attacks.c runs the same classes against the pure decision."""

import re

from harness import (CLOSE, CorsdTestCase, PNA_VARY, PREFLIGHT_VARY, Reply, TempDirTestCase,
                     closed_port, make_config, origin_hdrs, parse_head, preflight_hdrs,
                     run_corsd, main)

APP = "https://app.example.com"
EVIL = "https://evil.example"

DENY, ALLOW, STAR = "deny", "allow", "star"


def wire_origin(origin):
    """The Origin as evhttp will hand it on: str of latin-1 bytes."""
    return origin.encode("utf-8").decode("latin-1")


class AttackRows:
    """Sends rows and checks their answers; mixed into CorsdTestCase."""

    def assertWireInvariants(self, r, origin, ctx):
        """What no answer may do: more than one Access-Control-Allow-Origin,
        a value other than "*" or the Origin's exact bytes, "*" with
        credentials, or credentials without an origin."""
        acao = r.headers.get_all("Access-Control-Allow-Origin")
        acac = r.headers.get_all("Access-Control-Allow-Credentials")
        self.assertLessEqual(len(acao), 1, "%s: %r" % (ctx, r))
        if acao and acao[0] != "*":
            self.assertEqual(acao[0], origin, "%s: reflected something else: %r" % (ctx, r))
        if acac:
            self.assertEqual(acac, ["true"], ctx)
            self.assertTrue(acao and acao[0] != "*",
                            "%s: credentials with %r" % (ctx, acao))

    def assertNotEchoed(self, r, origin, ctx):
        if len(origin) > 4:  # "*" and "null" are too common to look for
            for name, value in r.headers:
                self.assertNotIn(origin, value, "%s: %s echoes the Origin" % (ctx, name))

    def check_row(self, path, origin, want, credentials):
        """The row as a preflight and as an actual request, on one connection."""
        wo = wire_origin(origin)
        with self.corsd.conn() as c:
            for kind in ("preflight", "actual"):
                ctx = "%s %s Origin %r" % (kind, path, origin)
                if kind == "preflight":
                    r = c.request("OPTIONS", path + "/res", preflight_hdrs(wo, "PUT"))
                else:
                    r = c.request("GET", path + "/res", origin_hdrs(wo))
                self.assertWireInvariants(r, wo, ctx)
                if want == DENY:
                    self.assertEqual(r.status, 403 if kind == "preflight" else 200,
                                     "%s: %r" % (ctx, r))
                    self.assertEqual(r.cors(), {}, "%s: %r" % (ctx, r))
                    self.assertIn("origin", r.vary_lower(), ctx)
                    self.assertNotEchoed(r, wo, ctx)
                    if kind == "actual":
                        # proxied, but the browser gets nothing to read it with
                        self.assertEqual(r.header("X-Upstream"), "yes", ctx)
                elif want == ALLOW:
                    self.assertEqual(r.status, 204 if kind == "preflight" else 200,
                                     "%s: %r" % (ctx, r))
                    self.assertSingle(r, "Access-Control-Allow-Origin", wo)
                    self.assertEqual(r.headers.get_all("Access-Control-Allow-Credentials"),
                                     ["true"] if credentials else [], ctx)
                    self.assertIn("origin", r.vary_lower(), ctx)
                else:
                    self.assertEqual(r.status, 204 if kind == "preflight" else 200,
                                     "%s: %r" % (ctx, r))
                    self.assertSingle(r, "Access-Control-Allow-Origin", "*")
                    self.assertFalse(r.headers.has("Access-Control-Allow-Credentials"), ctx)
                    self.assertNotEchoed(r, wo, ctx)

    def run_table(self, rows):
        creds = {p["path"]: p.get("credentials", False) for p in self.policy_list}
        for path, origin, want in rows:
            with self.subTest(path=path, origin=origin, want=want):
                self.check_row(path, origin, want, creds[path])


# --------------------------------------------------------------------------
# Origin matching: one corsd, one policy per entry under attack.

ORIGIN_POLICIES = [
    {"name": "exact", "path": "/exact", "origins": [APP], "credentials": True,
     "methods": ["GET", "PUT"], "expose_headers": ["X-Request-ID"]},
    {"name": "exact-open", "path": "/exact-open", "origins": [APP], "methods": ["GET", "PUT"]},
    {"name": "apex", "path": "/apex", "origins": ["https://example.com"], "credentials": True,
     "methods": ["GET", "PUT"]},
    {"name": "wild", "path": "/wild", "origins": ["https://*.example.com"],
     "credentials": True, "methods": ["GET", "PUT"]},
    {"name": "wildport", "path": "/wildport", "origins": ["https://*.example.com:*"],
     "credentials": True, "methods": ["GET", "PUT"]},
    {"name": "port", "path": "/port", "origins": [APP + ":8443"], "credentials": True,
     "methods": ["GET", "PUT"]},
    {"name": "localhost", "path": "/localhost", "origins": ["http://localhost:3000"],
     "credentials": True, "methods": ["GET", "PUT"]},
    {"name": "rx", "path": "/rx", "origins": [r"~^https://(www\.)?example\.com$"],
     "credentials": True, "methods": ["GET", "PUT"]},
    {"name": "rx-dots", "path": "/rx-dots", "origins": [r"~^https://app.example.com$"],
     "credentials": True, "methods": ["GET", "PUT"]},
    {"name": "rx-open", "path": "/rx-open", "origins": [r"~https://app\.example\.com"],
     "credentials": True, "methods": ["GET", "PUT"]},
    {"name": "rx-alt", "path": "/rx-alt",
     "origins": [r"~https://app\.example\.com|https://admin\.example\.com"],
     "credentials": True, "methods": ["GET", "PUT"]},
    {"name": "rx-any", "path": "/rx-any", "origins": ["~.*"], "credentials": True,
     "methods": ["GET", "PUT"]},
    {"name": "null", "path": "/null", "origins": ["null"], "credentials": True,
     "methods": ["GET", "PUT"]},
    {"name": "star", "path": "/star", "origins": ["*"], "methods": ["GET", "PUT"],
     "expose_headers": ["X-Total"]},
    {"name": "star-beside", "path": "/star-beside", "origins": [APP, "*"],
     "methods": ["GET", "PUT"]},
    {"name": "shared", "path": "/shared", "origins": ["https://*.github.io"],
     "methods": ["GET", "PUT"]},
]

REFLECTION = [
    ("/exact", EVIL, DENY),
    ("/exact", "https://attacker.invalid", DENY),
    ("/exact", "http://localhost:8080", DENY),
    ("/exact", "*", DENY),
    ("/exact", EVIL + ", " + APP, DENY),
    ("/exact", APP + ", " + EVIL, DENY),
    ("/exact", APP + " " + EVIL, DENY),
    ("/exact-open", EVIL, DENY),
    ("/exact-open", "*", DENY),
    ("/wild", EVIL, DENY),
    ("/wildport", EVIL + ":8443", DENY),
    ("/rx", EVIL, DENY),
    ("/null", EVIL, DENY),
    ("/exact", APP, ALLOW),
    ("/exact-open", APP, ALLOW),
    # "*" without credentials: a literal "*", whatever the Origin holds
    ("/star", EVIL, STAR),
    ("/star", APP, STAR),
    ("/star", "null", STAR),
    ("/star", "*", STAR),
    ("/star", "https://u@evil.example", STAR),
    ("/star", EVIL + "/<script>", STAR),
    ("/star", "https://a.example, https://b.example", STAR),
    ("/star-beside", APP, STAR),
    ("/star-beside", EVIL, STAR),
]

TRUSTED_NULL = [
    ("/exact", "null", DENY),
    ("/exact-open", "null", DENY),
    ("/wild", "null", DENY),
    ("/wildport", "null", DENY),
    ("/rx", "null", DENY),
    # SPEC "Origins": null only by a literal "null" or "*"; a regex, even
    # ~.*, never matches it (while ~.* reflects every real origin: LintTest)
    ("/rx-any", "null", DENY),
    ("/null", "Null", DENY),
    ("/null", "NULL", DENY),
    ("/null", "nulll", DENY),
    ("/null", "null,null", DENY),
    ("/null", "null null", DENY),
    ("/null", "https://null", DENY),
    ("/null", "file://", DENY),
    ("/null", "file:///etc/passwd", DENY),
    ("/null", "data:,", DENY),
    ("/null", "null", ALLOW),
    ("/star", "null", STAR),
]

AFFIX = [(p, o, DENY) for p in ("/apex", "/wild", "/rx") for o in (
    "https://example.com.evil.net",
    "https://evilexample.com",
    "https://evil-example.com",
    "https://notexample.com",
    "https://xexample.com",
    "https://example.co",
    "https://example.comx",
    "https://example.com.",
    "https://wwwxexample.com",
    "HTTPS://EXAMPLE.COM.EVIL.NET",
    "https://example.com.evil.net:443",
    "https://example%2ecom",
    "https://ex%61mple.com",
    "https://example.com%2f.evil.net",
    "https://ex\u00e4mple.com",
    "https://xn--exmple-cua.com",
    "https://example.com@evil.net",
    "https://evil.net@example.com",
    "https://example.com:443@evil.net",
    "https://example.com\\@evil.net",
    "https://evil.net\\.example.com",
    "https:\\\\example.com",
    "https://example.com/.evil.net",
    "https://evil.net/https://example.com",
    "https://evil.net?https://example.com",
    "https://evil.net#https://example.com",
    "https://example.com .evil.net",
    "//example.com",
    "example.com",
)] + [
    ("/apex", "https://www.example.com", DENY),
    ("/wild", "https://example.com", DENY),
    ("/wild", "https://a.example.com.evil.net", DENY),
    ("/wild", "https://a-example.com", DENY),
    ("/wild", "https://a.xexample.com", DENY),
    ("/wild", "https://a.example.co", DENY),
    ("/wild", "https://a.example.com.", DENY),
    ("/wild", "https://.example.com", DENY),
    ("/wild", "https://a..example.com", DENY),
    ("/wild", "https://evil.net#.example.com", DENY),
    ("/wild", "https://evil.net?.example.com", DENY),
    ("/wild", "https://evil.net/.example.com", DENY),
    ("/wild", "https://evil.net%2f.example.com", DENY),
    ("/rx", "https://www.example.com.evil.net", DENY),
    ("/rx", "https://evil.www.example.com", DENY),
    # the controls: case and the default port are not attacks
    ("/apex", "https://example.com", ALLOW),
    ("/apex", "HTTPS://Example.COM:443", ALLOW),
    ("/wild", "https://a.example.com", ALLOW),
    ("/wild", "https://a.b.example.com", ALLOW),
    ("/wild", "HTTPS://A.EXAMPLE.COM", ALLOW),
    ("/rx", "https://www.example.com", ALLOW),
    ("/rx", "https://EXAMPLE.com", ALLOW),
]

REGEXES = [
    # the unescaped dot is a real hole (LintTest: corsd -t reports this origin)
    ("/rx-dots", "https://appxexample.com", ALLOW),
    ("/rx-dots", "https://app-example.com", ALLOW),
    # unanchored as written, anchored by corsd
    ("/rx-open", "https://app.example.com.evil.net", DENY),
    ("/rx-open", "https://evil.net/?https://app.example.com", DENY),
    ("/rx-open", "https://evil.net?https://app.example.com", DENY),
    ("/rx-open", "https://evil.app.example.com", DENY),
    ("/rx-open", "xhttps://app.example.com", DENY),
    ("/rx-open", "https://app.example.com:8443", DENY),
    ("/rx-open", "https://appxexample.com", DENY),
    ("/rx-alt", "https://app.example.com.evil.net", DENY),
    ("/rx-alt", "https://evil.admin.example.com", DENY),
    ("/rx-alt", "https://admin.example.com.evil.net", DENY),
    ("/rx-open", APP, ALLOW),
    ("/rx-alt", "https://admin.example.com", ALLOW),
    ("/rx-dots", APP, ALLOW),
]

DOWNGRADE = [
    ("/exact", "http://app.example.com", DENY),
    ("/exact-open", "http://app.example.com", DENY),
    ("/exact", "HTTP://APP.EXAMPLE.COM", DENY),
    ("/exact", "http://app.example.com:443", DENY),
    ("/exact", "ws://app.example.com", DENY),
    ("/exact", "wss://app.example.com", DENY),
    ("/wild", "http://a.example.com", DENY),
    ("/wild", "http://a.example.com:443", DENY),
    ("/wildport", "http://a.example.com", DENY),
    ("/wildport", "http://a.example.com:8443", DENY),
    ("/rx", "http://example.com", DENY),
    ("/rx-open", "http://app.example.com", DENY),
    ("/exact", APP, ALLOW),
    ("/wild", "https://a.example.com", ALLOW),
]

PORTS = [
    ("/exact", APP + ":8443", DENY),
    ("/exact", APP + ":444", DENY),
    ("/exact", APP + ":80", DENY),
    ("/exact", APP + ":65535", DENY),
    ("/exact", APP + ":0", DENY),
    ("/exact", APP + ":", DENY),
    ("/port", APP, DENY),
    ("/port", APP + ":8444", DENY),
    ("/port", APP + ":443", DENY),
    ("/port", "http://app.example.com:8443", DENY),
    ("/wild", "https://a.example.com:8443", DENY),
    # ":*" frees the port and nothing else
    ("/wildport", "http://a.example.com:8443", DENY),
    ("/wildport", "wss://a.example.com:8443", DENY),
    ("/wildport", "https://example.com:8443", DENY),
    ("/wildport", "https://a.example.net:8443", DENY),
    ("/wildport", "https://a.example.com.evil.net:8443", DENY),
    ("/wildport", "https://evilexample.com:8443", DENY),
    ("/localhost", "http://localhost:30000", DENY),
    ("/localhost", "http://localhost:300", DENY),
    ("/localhost", "http://localhost:3001", DENY),
    ("/localhost", "http://localhost", DENY),
    ("/localhost", "https://localhost:3000", DENY),
    ("/localhost", "http://127.0.0.1:3000", DENY),
    ("/rx", "https://example.com:8443", DENY),
    ("/exact", APP + ":443", ALLOW),
    ("/port", APP + ":8443", ALLOW),
    ("/wildport", "https://a.example.com:8443", ALLOW),
    ("/wildport", "https://a.example.com:1", ALLOW),
    ("/wildport", "https://a.example.com", ALLOW),
    ("/localhost", "http://localhost:3000", ALLOW),
]

THIRD_PARTY = [
    # a stranger's site under shared hosting is accepted: the decision cannot
    # know who owns it (LintTest: corsd -t reports the entry)
    ("/shared", "https://evil.github.io", ALLOW),
    ("/shared", "https://github.io", DENY),
    ("/shared", "https://evil.github.io.evil.net", DENY),
    ("/shared", "https://evilgithub.io", DENY),
    ("/shared", "http://evil.github.io", DENY),
]


class OriginAttackTest(AttackRows, CorsdTestCase):
    policy_list = ORIGIN_POLICIES

    @classmethod
    def policies(cls, upstream):
        return cls.policy_list

    def test_arbitrary_origin_reflection(self):
        self.run_table(REFLECTION)

    def test_two_origin_lines_never_reflected(self):
        for path in ("/exact", "/null"):
            for pair in ((APP, EVIL), (EVIL, APP), ("null", "null"), (APP, APP)):
                with self.subTest(path=path, pair=pair):
                    hdrs = [("Host", "api.test")] + [("Origin", o) for o in pair]
                    r = self.req("GET", path + "/res", hdrs)
                    self.assertEqual(r.status, 200, r)
                    self.assertEqual(r.cors(), {}, r)
                    r = self.req("OPTIONS", path + "/res",
                                 hdrs + [("Access-Control-Request-Method", "GET")])
                    self.assertEqual(r.status, 403, r)
                    self.assertEqual(r.cors(), {}, r)

    def test_trusted_null(self):
        self.run_table(TRUSTED_NULL)

    def test_prefix_and_suffix_match(self):
        self.run_table(AFFIX)

    def test_unescaped_dots_and_unanchored_regexes(self):
        self.run_table(REGEXES)

    def test_http_downgrade(self):
        self.run_table(DOWNGRADE)

    def test_other_ports(self):
        self.run_table(PORTS)

    def test_third_party_wildcards(self):
        self.run_table(THIRD_PARTY)

    def test_regex_any_reflects_but_never_null(self):
        # "~.*" with credentials: every real origin, echoed with credentials;
        # that is what the lint reports (LintTest), and null stays out
        self.run_table([("/rx-any", EVIL, ALLOW), ("/rx-any", "https://attacker.invalid", ALLOW),
                        ("/rx-any", "null", DENY), ("/rx-any", "https://u@evil.example", DENY),
                        ("/rx-any", "*", DENY)])

    def test_credentialed_policies_never_answer_star(self):
        # Whatever is sent, a credentialed policy never says "*"; every row
        # above already held each answer to that (assertWireInvariants).
        for p in ORIGIN_POLICIES:
            if not p.get("credentials"):
                continue
            for origin in ("*", APP, "null", EVIL, "https://*.example.com"):
                with self.subTest(policy=p["name"], origin=origin):
                    for r in (self.get(p["path"] + "/res", origin),
                              self.preflight(p["path"] + "/res", origin, "GET")):
                        self.assertNotEqual(r.header("Access-Control-Allow-Origin"), "*", r)
                        self.assertWireInvariants(r, origin, p["name"])
        self.assertAccess(policy="exact", origin=r"\*", verdict="denied",
                          reason="origin_invalid")


# --------------------------------------------------------------------------
# The upstream's own CORS headers: none reaches the client.

EVIL_CORS = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Credentials", "true"),
    ("access-control-allow-origin", EVIL),
    ("ACCESS-CONTROL-EXPOSE-HEADERS", "*"),
    ("Access-Control-Allow-Private-Network", "true"),
    ("Access-control-allow-methods", "PUT, DELETE, TRACE"),
    ("Access-Control-Allow-Headers", "*"),
    ("Access-Control-Max-Age", "86400"),
    ("Access-Control-Allow-Origin", EVIL),
    ("Access-Control-Allow-Credentials", "true"),
]


def install_evil_routes(upstream):
    def evil(req, conn, args):
        code = int(args[0]) if args else 200
        hdrs = list(EVIL_CORS) + [("X-Canary", "kept"), ("Vary", "Accept-Encoding")]
        if code in (204, 304):
            return Reply(code, hdrs)
        return Reply(code, hdrs + [("Content-Type", "text/plain")], b"upstream says hi")

    def raw(data, close=False):
        def fn(req, conn, args):
            conn.send(data)
            if close:
                return CLOSE
            return None
        return fn

    def partial(req, conn, args):
        conn.send(b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: " + EVIL.encode() + b"\r\n")
        conn.wait_closed_or_stop(timeout=30)
        return CLOSE

    upstream.route("evil", evil)
    upstream.route("evil-early", raw(
        b"HTTP/1.1 103 Early Hints\r\nAccess-Control-Allow-Origin: " + EVIL.encode() +
        b"\r\nLink: </a.css>; rel=preload\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: " + EVIL.encode() +
        b"\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"))
    upstream.route("evil-trailer", raw(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Access-Control-Allow-Origin"
        b"\r\nContent-Type: text/plain\r\n\r\n5\r\nhello\r\n0\r\n"
        b"Access-Control-Allow-Origin: " + EVIL.encode() + b"\r\n"
        b"Access-Control-Allow-Credentials: true\r\n\r\n"))
    upstream.route("evil-space", raw(
        b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin : " + EVIL.encode() +
        b"\r\nContent-Length: 2\r\n\r\nok", close=True))
    upstream.route("evil-fold", raw(
        b"HTTP/1.1 200 OK\r\nX-A: a\r\n Access-Control-Allow-Origin: " + EVIL.encode() +
        b"\r\nContent-Length: 2\r\n\r\nok", close=True))
    upstream.route("evil-partial", partial)


def read_raw(conn):
    """Every head (1xx included) and the trailer bytes of one response."""
    heads, trailers = [], b""
    while True:
        head = conn.bs.read_until(b"\r\n\r\n")
        heads.append(head)
        start, hdrs = parse_head(head)
        if int(start.split(" ")[1]) >= 200:
            break
    if "chunked" in (hdrs.get("Transfer-Encoding") or "").lower():
        for _ in range(1000):
            size = int(conn.bs.read_until(b"\r\n", 4096).split(b";")[0], 16)
            if size == 0:
                for _ in range(100):
                    line = conn.bs.read_until(b"\r\n", 65536)
                    if not line:
                        break
                    trailers += line + b"\r\n"
                break
            conn.bs.read_exact(size + 2)
    elif hdrs.get("Content-Length"):
        conn.bs.read_exact(int(hdrs.get("Content-Length")))
    return heads, hdrs, trailers


class UpstreamBleedTest(CorsdTestCase):
    @classmethod
    def extra_setup(cls):
        install_evil_routes(cls.upstream)
        cls.dead = "http://127.0.0.1:%d" % closed_port()

    @classmethod
    def config(cls, upstream):
        return make_config(upstream.url, [
            {"name": "creds", "path": "/creds", "origins": [APP], "credentials": True,
             "methods": ["GET", "PUT"], "expose_headers": ["X-Request-ID"]},
            {"name": "open", "path": "/open", "origins": [APP], "methods": ["GET", "PUT"]},
            {"name": "star", "path": "/star", "origins": ["*"], "expose_headers": ["X-Total"]},
            {"name": "fwd", "path": "/fwd", "origins": [APP], "methods": ["GET", "PUT"],
             "preflight": "forward", "credentials": True},
            {"name": "dead", "path": "/dead", "origins": [APP], "credentials": True,
             "upstream": cls.dead},
        ], timeouts={"upstream": "2s"})

    # What corsd itself sends, by policy, for an allowed actual request.
    OWN = {
        "creds": {"access-control-allow-origin": [APP],
                  "access-control-allow-credentials": ["true"],
                  "access-control-expose-headers": ["X-Request-ID"]},
        "open": {"access-control-allow-origin": [APP]},
        "star": {"access-control-allow-origin": ["*"],
                 "access-control-expose-headers": ["X-Total"]},
    }

    def assertNoBleed(self, r, want, ctx):
        self.assertEqual(r.cors(), want, "%s: %r" % (ctx, r))
        for name, value in r.headers:
            self.assertNotIn(EVIL, value, "%s: %s" % (ctx, name))

    def test_actual_responses(self):
        cases = [  # (path, Origin, corsd's own CORS headers)
            ("/creds", APP, self.OWN["creds"]),
            ("/creds", EVIL, {}),
            ("/creds", "null", {}),
            ("/creds", None, {}),
            ("/open", APP, self.OWN["open"]),
            ("/open", EVIL, {}),
            ("/star", EVIL, self.OWN["star"]),
            ("/star", None, self.OWN["star"]),
            ("/nopolicy", APP, {}),  # no policy matches: proxied, and cleaned
            ("/nopolicy", None, {}),
        ]
        for status in (200, 404, 500, 204, 304):
            for method in ("GET", "HEAD", "POST"):
                if method != "GET" and status not in (200, 500):
                    continue
                for path, origin, want in cases:
                    ctx = "%s %s %d Origin %r" % (method, path, status, origin)
                    with self.subTest(ctx):
                        r = self.req(method, "%s/evil/%d" % (path, status), origin_hdrs(origin),
                                     b"x" if method == "POST" else None)
                        self.assertEqual(r.status, status, r)
                        self.assertEqual(r.header("X-Canary"), "kept", r)
                        self.assertNoBleed(r, want, ctx)
        self.assertAccess(path="/nopolicy/evil/200", policy="-", reason="no_policy")

    def test_forwarded_preflight(self):
        cases = [  # (Origin, requested method, corsd's own headers)
            (APP, "PUT", {"access-control-allow-origin": [APP],
                          "access-control-allow-credentials": ["true"],
                          "access-control-allow-methods": ["GET, PUT"]}),
            (APP, "DELETE", {}),
            (EVIL, "GET", {}),
            ("null", "GET", {}),
        ]
        for status in (200, 204, 404):
            for origin, method, want in cases:
                ctx = "forwarded preflight %d Origin %r %s" % (status, origin, method)
                with self.subTest(ctx):
                    self.upstream.reset()
                    r = self.req("OPTIONS", "/fwd/evil/%d" % status, preflight_hdrs(
                        origin, method, extra=[("Access-Control-Request-Private-Network",
                                                "true")]))
                    self.assertEqual(r.status, status, r)
                    self.assertEqual(r.header("X-Canary"), "kept", r)
                    self.assertNoBleed(r, want, ctx)
                    self.assertEqual(len(self.upstream.snapshot()), 1)

    def test_interim_and_trailer_lines(self):
        for route in ("evil-early", "evil-trailer"):
            for origin, want in ((APP, [APP]), (EVIL, [])):
                with self.subTest(route=route, origin=origin):
                    with self.corsd.conn() as c:
                        c.send(("GET /open/%s HTTP/1.1\r\nHost: api.test\r\nOrigin: %s\r\n\r\n"
                                % (route, origin)).encode())
                        heads, hdrs, trailers = read_raw(c)
                    final = heads[-1].decode("latin-1")
                    self.assertTrue(final.startswith("HTTP/1.1 200"), final)
                    self.assertEqual(hdrs.get_all("Access-Control-Allow-Origin"), want, final)
                    for part in heads + [trailers]:
                        self.assertNotIn(EVIL.encode(), part)
                        if part is not heads[-1]:
                            self.assertNotIn(b"access-control", part.lower())

    def test_corsd_errors_carry_only_corsd_headers(self):
        cases = [  # (target, status): smuggling attempts are refused whole
            ("/creds/evil-space", 502),
            ("/creds/evil-fold", 502),
            ("/dead/res", 502),
            ("/creds/evil-partial", 504),
        ]
        for target, status in cases:
            for origin, want in ((APP, self.OWN["creds"] if target.startswith("/creds")
                                  else {"access-control-allow-origin": [APP],
                                        "access-control-allow-credentials": ["true"]}),
                                 (EVIL, {})):
                with self.subTest(target=target, origin=origin):
                    r = self.get(target, origin)
                    self.assertEqual(r.status, status, r)
                    self.assertNoBleed(r, want, target)
                    self.assertIn("origin", r.vary_lower())
                if status == 504:
                    break  # one wait on the timeout is enough


# --------------------------------------------------------------------------
# Private Network Access: only on, allowed and asked for.

class PrivateNetworkTest(CorsdTestCase):
    @classmethod
    def extra_setup(cls):
        install_evil_routes(cls.upstream)

    @classmethod
    def policies(cls, upstream):
        return [
            {"name": "pn", "path": "/pn", "origins": [APP], "headers": ["X-Custom"],
             "private_network": True},
            {"name": "pn-creds", "path": "/pn-creds", "origins": [APP, "null"],
             "credentials": True, "private_network": True},
            {"name": "pn-off", "path": "/pn-off", "origins": [APP]},
            {"name": "pn-omit", "path": "/pn-omit", "origins": [APP], "private_network": True,
             "deny": "omit"},
            {"name": "pn-fwd", "path": "/pn-fwd", "origins": [APP], "private_network": True,
             "preflight": "forward"},
        ]

    def test_preflights(self):
        rows = [  # (path, Origin, method, request headers, ACRPN, status, ACAPN sent)
            ("/pn", APP, "GET", None, "true", 204, True),
            ("/pn-creds", APP, "POST", None, "true", 204, True),
            ("/pn-fwd", APP, "GET", None, "true", 200, True),
            ("/pn", APP, "GET", None, None, 204, False),
            ("/pn", APP, "GET", None, "false", 204, False),
            ("/pn-fwd", APP, "GET", None, None, 200, False),  # the upstream says true
            ("/pn", EVIL, "GET", None, "true", 403, False),
            ("/pn", "http://app.example.com", "GET", None, "true", 403, False),
            ("/pn", "null", "GET", None, "true", 403, False),
            ("/pn", "https://u@app.example.com", "GET", None, "true", 403, False),
            ("/pn", APP, "DELETE", None, "true", 403, False),
            ("/pn", APP, "GET", "X-Evil", "true", 403, False),
            ("/pn-creds", APP, "PUT", None, "true", 403, False),
            ("/pn-omit", EVIL, "GET", None, "true", 204, False),
            ("/pn-fwd", EVIL, "GET", None, "true", 200, False),  # the upstream says true
            ("/pn-off", APP, "GET", None, "true", 204, False),
            ("/pn-off", EVIL, "GET", None, "true", 403, False),
        ]
        for path, origin, method, hdrs, acrpn, status, sent in rows:
            with self.subTest(path=path, origin=origin, method=method, hdrs=hdrs, acrpn=acrpn):
                extra = [("Access-Control-Request-Private-Network", acrpn)] if acrpn else []
                r = self.req("OPTIONS", path + "/evil/200",
                             preflight_hdrs(origin, method, hdrs, extra=extra))
                self.assertEqual(r.status, status, r)
                self.assertEqual(r.headers.get_all("Access-Control-Allow-Private-Network"),
                                 ["true"] if sent else [], r)
                if sent:
                    self.assertSingle(r, "Access-Control-Allow-Origin", origin)
                if status == 403 or (status == 204 and path == "/pn-omit"):
                    self.assertEqual(r.cors(), {}, r)
                pn_on = path != "/pn-off"
                vary = r.vary_lower()
                self.assertEqual("access-control-request-private-network" in vary, pn_on, r)
                if path != "/pn-fwd":
                    self.assertVaryExactly(r, PNA_VARY if pn_on else PREFLIGHT_VARY)

    def test_never_on_actual_responses(self):
        for path in ("/pn", "/pn-creds", "/pn-fwd", "/pn-off"):
            for origin in (APP, EVIL, None):
                for method in ("GET", "POST", "OPTIONS"):
                    with self.subTest(path=path, origin=origin, method=method):
                        hdrs = origin_hdrs(origin, extra=[
                            ("Access-Control-Request-Private-Network", "true")])
                        r = self.req(method, path + "/evil/200", hdrs,
                                     b"x" if method == "POST" else None)
                        self.assertEqual(r.status, 200, r)
                        self.assertEqual(r.header("X-Canary"), "kept", r)
                        self.assertFalse(r.headers.has("Access-Control-Allow-Private-Network"),
                                         r)
                        self.assertNotIn("access-control-request-private-network",
                                         r.vary_lower(), r)


# --------------------------------------------------------------------------
# At load: what the wire accepts above, corsd -t reports; "*" with
# credentials never loads.

# Each risky entry on a line of its own: (line, a part of its one warning).
RISKY_YAML = """\
upstream: "http://127.0.0.1:9"
policies:
  - name: open
    path: /open
    origins:
      - '~^https://app.example.com$'
      - "https://*.github.io"
      - "https://*.herokuapp.com"
      - "https://*.s3.amazonaws.com"
      - "https://*.amazonaws.com"
      - "https://*.co.uk"
      - '~^https://.*example\\.com$'
      - '~.*'
      - "https://app.example.com"
      - "https://*.example.com:*"
      - '~https://app\\.example\\.com'
  - name: creds
    path: /creds
    credentials: true
    origins:
      - '~.+'
      - "null"
      - "http://app.example.com"
      - "https://app.example.com"
"""
RISKY_WANT = [
    (6, '"https://appxexample.com" (a dot replaced'),
    (7, "github.io is a public suffix or shared-hosting domain"),
    (8, "herokuapp.com is a public suffix"),
    (9, "s3.amazonaws.com is a public suffix"),
    (10, "covers s3.amazonaws.com, a public suffix"),
    (11, "co.uk is a public suffix"),
    (12, '"https://evilexample.com" ("evil" prepended'),
    (13, '"https://attacker.invalid" (an unrelated site'),
    (21, '"https://attacker.invalid" (an unrelated site'),
    (22, 'origin "null" with credentials: true'),
    (23, "is plain http with credentials: true"),
]

STAR_CREDS_YAML = """\
upstream: "http://127.0.0.1:9"
listen: "127.0.0.1:0"
policies:
  - name: public
    path: /public
    origins: &any ["*"]
  - name: a
    path: /a
    origins: ["https://app.example.com", "*"]
    headers: ["*"]
    expose_headers: ["*"]
    credentials: true
  - name: b
    path: /b
    credentials: "true"
    origins: *any
"""
# In the loader's order, policy by policy; the aliased "*" is reported where
# it is written.
STAR_CREDS_WANT = [
    (9, 42, 'origins: "*" cannot be combined with credentials: true'),
    (10, 15, 'headers: "*" cannot be combined with credentials: true'),
    (11, 22, 'expose_headers: "*" cannot be combined with credentials: true'),
    (6, 20, 'origins: "*" cannot be combined with credentials: true'),
]


class LintTest(TempDirTestCase):
    tmp_prefix = "corsd-misconfig-"

    def diags(self, path, text):
        rx = re.compile(r"^%s:(\d+):(\d+): (.*)$" % re.escape(path), re.M)
        return [(int(m.group(1)), int(m.group(2)), m.group(3)) for m in rx.finditer(text)]

    def test_lint_reports_what_the_wire_accepts(self):
        path = self.write("risky.yaml", RISKY_YAML)
        rc, out, err = run_corsd(["-t", "-c", path])
        text = out + err
        self.assertEqual(rc, 0, text)
        diags = self.diags(path, text)
        self.assertEqual([d[0] for d in diags], [w[0] for w in RISKY_WANT], text)
        for (line, col, msg), (wline, part) in zip(diags, RISKY_WANT):
            self.assertEqual(col, 9, msg)  # the entry's own column
            self.assertTrue(msg.startswith("warning: "), msg)
            self.assertIn(part, msg)
        self.assertRegex(text, r"(?m)^%s: ok$" % re.escape(path))
        rc, out, err = run_corsd(["-t", "--strict", "-c", path])
        self.assertEqual(rc, 1, out + err)
        self.assertRegex(out + err, r"(?m)^%s: %d errors \(%d warnings, failing under --strict\)$"
                         % (re.escape(path), len(RISKY_WANT), len(RISKY_WANT)))

    def test_star_with_credentials_never_loads(self):
        path = self.write("star.yaml", STAR_CREDS_YAML)
        rc, out, err = run_corsd(["-t", "-c", path])
        text = out + err
        self.assertEqual(rc, 1, text)
        self.assertFalse([d for d in self.diags(path, text) if d[2].startswith("warning")],
                         text)
        got = [(l, c) for l, c, _ in self.diags(path, text)]
        self.assertEqual(got, [(l, c) for l, c, _ in STAR_CREDS_WANT], text)
        for (_, _, msg), (_, _, part) in zip(self.diags(path, text), STAR_CREDS_WANT):
            self.assertIn(part, msg)
        self.assertRegex(text, r"(?m)^%s: 4 errors$" % re.escape(path))
        # and the daemon refuses it before binding anything
        rc, out, err = run_corsd(["-c", path], timeout=60)
        self.assertEqual(rc, 1, out + err)
        self.assertNotIn("listening on", out + err)
        self.assertEqual(len(self.diags(path, out + err)), 4, out + err)


if __name__ == "__main__":
    main()
