"""The command line: -t, --strict, --explain, -V, -h, bad usage, signals."""

import os
import re
import signal
import unittest

from harness import (TempDirTestCase, SOURCE_DIR, Corsd, Upstream, build_request, closed_port, make_config,
                     origin_hdrs, preflight_hdrs, run_corsd, to_yaml, main)

APP = "https://app.example.com"
ERR_LINE = r"^%s:(\d+):(\d+): (.*)$"


def both(out, err):
    return out + err


class CliTest(TempDirTestCase):
    tmp_prefix = "corsd-cli-"

    def valid_config(self, **over):
        return make_config("http://127.0.0.1:9", [
            {"name": "app", "path": "/", "origins": [APP], "credentials": True,
             "headers": ["Content-Type"], "max_age": 600}], **over)

    def error_lines(self, path, text):
        rx = re.compile(ERR_LINE % re.escape(path), re.M)
        return [(int(m.group(1)), int(m.group(2)), m.group(3)) for m in rx.finditer(text)]

    # -- -V, -h, bad usage -------------------------------------------------
    def test_version(self):
        for flag in ("-V", "--version"):
            with self.subTest(flag=flag):
                rc, out, err = run_corsd([flag])
                self.assertEqual(rc, 0, out + err)
                self.assertRegex(out + err, r"(?m)^corsd \d+\.\d+\.\d+\s*$")

    def test_help(self):
        for flag in ("-h", "--help"):
            with self.subTest(flag=flag):
                rc, out, err = run_corsd([flag])
                self.assertEqual(rc, 0, out + err)
                text = out + err
                self.assertRegex(text, r"(?i)usage")
                for opt in ("-c", "-t", "--explain", "-V"):
                    self.assertIn(opt, text)

    def test_bad_usage_exits_2(self):
        for args in (["--bogus"], ["-Z"], ["-c"], ["--explain"], ["-c", "x.yaml", "stray-argument"]):
            with self.subTest(args=args):
                rc, out, err = run_corsd(args)
                self.assertEqual(rc, 2, out + err)
                self.assertRegex(err, r"(?i)usage")

    # -- -t ----------------------------------------------------------------
    def test_shipped_config_is_valid(self):
        path = os.path.join(SOURCE_DIR, "conf", "corsd.yaml")
        self.assertTrue(os.path.exists(path), "conf/corsd.yaml is missing")
        rc, out, err = run_corsd(["-t", "-c", path])
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out + err, r"(?m)^%s: ok\s*$" % re.escape(path))

    def test_five_errors_fixture(self):
        path = os.path.join(SOURCE_DIR, "tests", "data", "config", "five-errors.yaml")
        if not os.path.exists(path):
            self.skipTest("tests/data/config/five-errors.yaml is not there (yet)")
        rc, out, err = run_corsd(["-t", "-c", path])
        text = out + err
        self.assertEqual(rc, 1, text)
        errs = [e for e in self.error_lines(path, text) if not e[2].startswith("warning")]
        self.assertEqual(len(errs), 5, text)
        self.assertRegex(text, r"(?m)^%s: 5 errors\s*$" % re.escape(path))

    def test_valid_generated_config(self):
        path = self.write("ok.yaml", to_yaml(self.valid_config()))
        for args in (["-t", "-c", path], ["--test", "--config", path], ["-c", path, "-t"]):
            with self.subTest(args=args):
                rc, out, err = run_corsd(args)
                self.assertEqual(rc, 0, out + err)
                self.assertRegex(out + err, r"(?m)^%s: ok\s*$" % re.escape(path))

    def test_all_errors_reported_with_positions(self):
        text = (
            'listen: "127.0.0.1:0"\n'                        # 1
            'upstream: "http://127.0.0.1:9"\n'               # 2
            'bogus_key: 1\n'                                 # 3  unknown key
            'timeouts:\n'                                    # 4
            '  connect: "five seconds"\n'                    # 5  bad duration
            'policies:\n'                                    # 6
            '  - name: a\n'                                  # 7
            '    origins: ["https://ok.example", "not an origin"]\n'  # 8 malformed origin
            '    credentials: true\n'                        # 9
            '    max_age: -5\n'                              # 10 negative
            '  - name: b\n'                                  # 11
            '    path: /b\n'                                 # 12
            '    origins: ["*"]\n'                           # 13 * with credentials
            '    credentials: true\n'                        # 14
            '    headers: ["Bad Header"]\n'                  # 15 bad header name
            '  - name: c\n'                                  # 16
            '    path: /c\n'                                 # 17
            '    origins: ["~^https://(unclosed"]\n'         # 18 bad regex
        )
        path = self.write("bad.yaml", text)
        rc, out, err = run_corsd(["-t", "-c", path])
        combined = out + err
        self.assertEqual(rc, 1, combined)
        errs = [e for e in self.error_lines(path, combined) if not e[2].startswith("warning")]
        lines = sorted({e[0] for e in errs})
        for want in (3, 5, 8, 10, 15, 18):
            self.assertIn(want, lines, combined)
        self.assertTrue(13 in lines or 14 in lines, combined)
        for _, col, _ in errs:
            self.assertGreaterEqual(col, 1, combined)
        self.assertRegex(combined, r"(?m)^%s: %d errors\s*$" % (re.escape(path), len(errs)))

    def test_duplicate_policies_and_empty_list(self):
        cfg = make_config("http://127.0.0.1:9", [
            {"name": "a", "path": "/x", "origins": [APP]},
            {"name": "b", "path": "/x", "origins": [APP]}])
        path = self.write("dup.yaml", to_yaml(cfg))
        rc, out, err = run_corsd(["-t", "-c", path])
        self.assertEqual(rc, 1, out + err)
        self.assertTrue(self.error_lines(path, out + err), out + err)
        cfg["policies"] = []
        path = self.write("empty.yaml", to_yaml(cfg))
        rc, out, err = run_corsd(["-t", "-c", path])
        self.assertEqual(rc, 1, out + err)
        self.assertTrue(self.error_lines(path, out + err), out + err)

    def test_missing_file(self):
        path = os.path.join(self.dir, "nope.yaml")
        rc, out, err = run_corsd(["-t", "-c", path])
        self.assertEqual(rc, 1, out + err)
        self.assertIn(path, out + err)

    def test_invalid_config_refuses_to_start(self):
        port = closed_port()
        cfg = self.valid_config(listen="127.0.0.1:%d" % port)
        cfg["policies"][0]["origins"] = ["*"]  # with credentials: an error
        path = self.write("bad-start.yaml", to_yaml(cfg))
        rc, out, err = run_corsd(["-c", path], timeout=30)
        self.assertEqual(rc, 1, out + err)
        self.assertTrue(self.error_lines(path, out + err), out + err)
        self.assertNotRegex(out + err, r"listening on")


    def test_lint_warnings_and_strict(self):
        cfg = make_config("http://127.0.0.1:9", [
            {"name": "gh", "path": "/gh", "origins": ["https://*.github.io"]},
            {"name": "dots", "path": "/dots",
             "origins": ["~^https://app.example.com$"]},  # unescaped dots
            {"name": "age", "path": "/age", "origins": [APP], "max_age": 86400}])
        path = self.write("lint.yaml", to_yaml(cfg))
        rc, out, err = run_corsd(["-t", "-c", path])
        text = out + err
        self.assertEqual(rc, 0, text)
        warns = [e for e in self.error_lines(path, text) if e[2].startswith("warning")]
        self.assertEqual(len(warns), 3, text)
        self.assertRegex(text, r"(?m)^%s: ok\s*$" % re.escape(path))
        rc, out, err = run_corsd(["-t", "--strict", "-c", path])
        self.assertEqual(rc, 1, out + err)
        self.assertIn("%s: 3 errors (3 warnings, failing under --strict)" % path, out + err)

    # -- --explain ---------------------------------------------------------
    def test_explain_from_file_and_stdin(self):
        path = self.write("ex.yaml", to_yaml(self.valid_config()))
        head = build_request("OPTIONS", "/x", preflight_hdrs(
            "https://App.example.com", "POST", "content-type"))
        reqfile = os.path.join(self.dir, "req.txt")
        with open(reqfile, "wb") as f:
            f.write(head)
        rc, out, err = run_corsd(["-c", path, "--explain", reqfile])
        self.assertEqual(rc, 0, out + err)
        rc2, out2, err2 = run_corsd(["-c", path, "--explain", "-"], input=head)
        self.assertEqual(rc2, 0, out2 + err2)
        self.assertEqual(out, out2)
        self.assertRegex(out, r"(?m)^policy: app$")
        self.assertRegex(out, r"(?m)^kind: preflight$")
        self.assertRegex(out, r"(?m)^verdict: allowed$")
        self.assertRegex(out, r"(?m)^reason: origin\b")
        self.assertRegex(out, r"(?m)^status: 204$")
        self.assertRegex(out, r"(?m)^Access-Control-Allow-Origin: https://App\.example\.com$")
        self.assertRegex(out, r"(?mi)^Access-Control-Allow-Credentials: true$")
        self.assertRegex(out, r"(?mi)^Access-Control-Max-Age: 600$")
        self.assertRegex(out, r"(?mi)^Vary: .*Access-Control-Request-Method")

    def test_explain_no_policy_and_denials(self):
        cfg = make_config("http://127.0.0.1:9", [
            {"name": "api", "path": "/api", "origins": [APP]}])
        path = self.write("ex2.yaml", to_yaml(cfg))
        head = build_request("GET", "/other", origin_hdrs(APP))
        rc, out, err = run_corsd(["-c", path, "--explain", "-"], input=head)
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out, r"(?m)^policy: -$")
        self.assertRegex(out, r"(?m)^status: upstream$")
        self.assertNotRegex(out, r"(?mi)^Access-Control-")
        head = build_request("OPTIONS", "/api/x", preflight_hdrs(APP, "DELETE"))
        rc, out, err = run_corsd(["-c", path, "--explain", "-"], input=head)
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out, r"(?m)^verdict: denied$")
        self.assertRegex(out, r"(?m)^reason: method\b")
        self.assertRegex(out, r"(?m)^status: 403$")
        self.assertNotRegex(out, r"(?mi)^Access-Control-Allow-")

    def test_explain_hint_and_trace(self):
        cfg = make_config("http://127.0.0.1:9", [
            {"name": "api", "path": "/api", "origins": ["http://localhost:3000"],
             "methods": ["GET", "PUT"], "headers": ["X-Request-ID"]}])
        path = self.write("ex3.yaml", to_yaml(cfg))
        cases = [
            (preflight_hdrs("http://localhost:5173", "PUT"), "origin",
             "origin `http://localhost:5173` not allowed: closest entry "
             "`http://localhost:3000` differs in port (5173 vs 3000)"),
            (preflight_hdrs("http://localhost:3000", "put"), "method",
             "method `put` not allowed: not in methods [GET, PUT]; methods compare "
             "case-sensitively: `put` is not `PUT`"),
            (preflight_hdrs("http://localhost:3000", "GET", "X-Requestid"), "header",
             "header `X-Requestid` not allowed: not in headers [X-Request-ID]; "
             "`X-Request-ID` is 1 edit away"),
        ]
        for hdrs, reason, hint in cases:
            with self.subTest(reason=reason):
                head = build_request("OPTIONS", "/api/x", hdrs)
                rc, out, err = run_corsd(["-c", path, "--explain", "-"], input=head)
                self.assertEqual(rc, 0, out + err)
                self.assertRegex(out, r"(?m)^verdict: denied$")
                self.assertRegex(out, r"(?m)^reason: %s\b" % reason)
                self.assertIn("\nhint: %s\n" % hint, out)
                # the 403 body, then the numbered trace, which ends the report
                self.assertIn("\n\nCORS preflight denied by policy api: %s\n" % hint, out)
                trace = out.split("\ntrace:\n", 1)[1]
                steps = re.findall(r"(?m)^  (\d+)\. (.+)$", trace)
                self.assertEqual([int(n) for n, _ in steps], list(range(1, len(steps) + 1)),
                                 out)
                self.assertEqual(len(steps), len(trace.splitlines()), out)
                texts = [t for _, t in steps]
                self.assertTrue(texts[0].startswith("policy api (line "), out)
                self.assertEqual(texts[1], "kind: preflight (OPTIONS with Origin and "
                                 "Access-Control-Request-Method)")
                self.assertIn(hint, texts, out)
                self.assertTrue(texts[-1].startswith("deny: reject: 403"), out)
        # allowed: no hint line, the trace says which entry matched
        head = build_request("OPTIONS", "/api/x", preflight_hdrs(
            "http://localhost:3000", "PUT", "x-request-id"))
        rc, out, err = run_corsd(["-c", path, "--explain", "-"], input=head)
        self.assertEqual(rc, 0, out + err)
        self.assertNotRegex(out, r"(?m)^hint:")
        self.assertRegex(out, r'(?m)^  3\. origin `http://localhost:3000` matched entry '
                         r'"http://localhost:3000" \(line \d+\)$')
        self.assertRegex(out, r"(?m)^  4\. method PUT allowed \(in methods\)$")
        self.assertRegex(out, r"(?m)^  5\. header x-request-id allowed \(in headers\)$")

    def test_explain_invalid_origin_is_escaped(self):
        path = self.write("ex4.yaml", to_yaml(self.valid_config()))
        head = (b"GET /x HTTP/1.1\r\nHost: h\r\nOrigin: https://a.example/\x1b[31m\xff\r\n"
                b"\r\n")
        rc, out, err = run_corsd(["-c", path, "--explain", "-"], input=head)
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out, r"(?m)^reason: origin_invalid$")
        self.assertRegex(out, r"(?m)^hint: origin not allowed: the Origin header is not one "
                         r"serialized origin")
        self.assertNotIn("\x1b", out)
        self.assertIn("https://a.example/\\x1b[31m\\xff", out)

    def test_explain_golden_files(self):
        """--explain prints exactly tests/data/explain/CASE.txt for CASE.req
        (the unit test test_explain checks explain_text against them too)."""
        gdir = os.path.join(SOURCE_DIR, "tests", "data", "explain")
        policy = os.path.join(gdir, "policy.yaml")
        names = sorted(f[:-4] for f in os.listdir(gdir) if f.endswith(".req"))
        self.assertGreaterEqual(len(names), 10)
        for name in names:
            with self.subTest(case=name):
                with open(os.path.join(gdir, name + ".req"), "rb") as f:
                    head = f.read()
                with open(os.path.join(gdir, name + ".txt"), "rb") as f:
                    want = f.read().decode("ascii")
                rc, out, err = run_corsd(["-c", policy, "--explain", "-"], input=head)
                self.assertEqual(rc, 0, out + err)
                self.assertEqual(out, want)


class SignalTest(unittest.TestCase):
    def test_sigterm_exits(self):
        up = Upstream().start()
        self.addCleanup(up.stop)
        d = Corsd(make_config(up.url, [{"name": "a", "path": "/", "origins": [APP]}]))
        self.addCleanup(d.cleanup)
        self.addCleanup(d.stop)
        d.start()
        r = d.request("GET", "/x", origin_hdrs(APP))
        self.assertEqual(r.status, 200)
        rc = d.stop()
        self.assertFalse(d.hung, "corsd ignored SIGTERM:\n" + d.output())
        self.assertIsNone(d.sanitizer_report(), d.output())
        # SPEC says exit 0 after the drain; the drain is a later issue, so
        # for now only a crash (a signal other than SIGTERM) fails.
        self.assertIn(rc, (0, -signal.SIGTERM), "exit status after SIGTERM\n" + d.output())
        if rc != 0:
            print("note: corsd exited with %s after SIGTERM (SPEC: 0)" % rc)


if __name__ == "__main__":
    main()
