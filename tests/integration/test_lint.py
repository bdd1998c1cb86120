"""corsd -t lints: one warning per risky pattern, FILE:LINE:COLUMN, exit 0;
--strict makes them fail (exit 1); safe files and the shipped example lint
clean; only -t lints."""

import os
import re
import unittest

from harness import (TempDirTestCase, SOURCE_DIR, build_request, make_config, preflight_hdrs, run_corsd,
                     to_yaml, main)

APP = "https://app.example.com"
LINTS = os.path.join(SOURCE_DIR, "tests", "data", "config", "lints.yaml")
EXAMPLE = os.path.join(SOURCE_DIR, "conf", "corsd.yaml")

# tests/data/config/lints.yaml: (line, column, a part of the message).
LINTS_WANT = [
    (11, 9, '"https://appxexample.com" (a dot replaced'),
    (12, 9, '"https://evilexample.com" ("evil" prepended'),
    (13, 9, '"https://app.example.com.evil.example" (".evil.example" appended)'),
    (14, 9, "github.io is a public suffix"),
    (25, 9, '"http://app.example.com" is plain http with credentials: true'),
    (26, 9, 'origin "null" with credentials: true'),
    (33, 14, "max_age: 86400 is above 7200"),
    (38, 15, 'headers: ["*"] lets these origins send Authorization'),
]

# One policy per risky pattern, each alone in a generated file: exactly one
# warning, on the line of the offending entry.
RISKY = [
    ("unescaped dots", {"origins": [r"~^https://app.example.com$"]}, "appxexample.com"),
    ("anything before the domain", {"origins": [r"~^https://.*example\.com$"]},
     "evilexample.com"),
    ("anything after the host", {"origins": [r"~^https://app\.example\.com.*"]},
     "app.example.com.evil.example"),
    ("http downgrade", {"origins": [r"~^https*://app\.example\.com$"]},
     '"http://app.example.com" (the http:// downgrade'),
    ("bare parent", {"origins": [r"~^https://(app\.|)example\.com$"]},
     '"https://example.com" (the bare parent domain)'),
    ("shared hosting", {"origins": ["https://*.herokuapp.com"]}, "herokuapp.com is a public"),
    ("public suffix", {"origins": ["https://*.co.uk"]}, "co.uk is a public suffix"),
    ("http with credentials", {"origins": ["http://app.example.com"], "credentials": True},
     "plain http with credentials"),
    ("null with credentials", {"origins": ["null"], "credentials": True},
     'origin "null" with credentials'),
    ("max_age", {"origins": [APP], "max_age": 86400}, "max_age: 86400"),
    ("headers *", {"origins": [APP], "headers": ["*"]}, "Authorization"),
]


class LintTest(TempDirTestCase):
    tmp_prefix = "corsd-lint-"

    def diags(self, path, text):
        """(line, col, message) of every FILE:LINE:COL: line."""
        rx = re.compile(r"^%s:(\d+):(\d+): (.*)$" % re.escape(path), re.M)
        return [(int(m.group(1)), int(m.group(2)), m.group(3)) for m in rx.finditer(text)]

    def warnings(self, path, text):
        return [d for d in self.diags(path, text) if d[2].startswith("warning: ")]

    def test_lints_file_one_warning_each(self):
        rc, out, err = run_corsd(["-t", "-c", LINTS])
        text = out + err
        self.assertEqual(rc, 0, text)
        diags = self.diags(LINTS, text)
        self.assertEqual(len(diags), len(LINTS_WANT), text)
        for (line, col, msg), (wline, wcol, part) in zip(diags, LINTS_WANT):
            self.assertEqual((line, col), (wline, wcol), msg)
            self.assertTrue(msg.startswith("warning: "), msg)
            self.assertIn(part, msg)
        self.assertRegex(text, r"(?m)^%s: ok$" % re.escape(LINTS))

    def test_lints_file_strict_fails(self):
        rc, out, err = run_corsd(["-t", "--strict", "-c", LINTS])
        text = out + err
        self.assertEqual(rc, 1, text)
        self.assertEqual(len(self.warnings(LINTS, text)), len(LINTS_WANT), text)
        self.assertRegex(text, r"(?m)^%s: %d errors \(%d warnings, failing under --strict\)$"
                         % (re.escape(LINTS), len(LINTS_WANT), len(LINTS_WANT)))
        self.assertNotRegex(text, r"(?m)^%s: ok$" % re.escape(LINTS))

    def test_each_pattern_alone(self):
        for name, policy, part in RISKY:
            with self.subTest(name):
                pol = {"name": "p", "path": "/"}
                pol.update(policy)
                yaml = to_yaml(make_config("http://127.0.0.1:9", [pol]))
                path = self.write("one.yaml", yaml)
                rc, out, err = run_corsd(["-t", "-c", path])
                text = out + err
                self.assertEqual(rc, 0, text)
                warns = self.warnings(path, text)
                self.assertEqual(len(warns), 1, text)
                self.assertIn(part, warns[0][2])
                # The warning points into the policy, at its entry's line.
                lines = yaml.splitlines()
                self.assertLess(warns[0][0], len(lines) + 1)
                key = "max_age" if "max_age" in policy else (
                    "headers" if "headers" in policy else "origins")
                self.assertIn(key, lines[warns[0][0] - 1], text)
                rc, out, err = run_corsd(["-t", "--strict", "-c", path])
                self.assertEqual(rc, 1, out + err)
                self.assertRegex(out + err, r"(?m)^%s: 1 error " % re.escape(path))

    def test_safe_files_lint_clean(self):
        safe = self.write("safe.yaml", to_yaml(make_config("http://127.0.0.1:9", [
            {"name": "app", "path": "/api/", "credentials": True,
             "origins": [APP, "https://*.example.com", "http://localhost:3000",
                         r"~^https://(eu|us)-[0-9]+\.app\.example\.com$"],
             "headers": ["Authorization"], "max_age": 7200},
            {"name": "public", "path": "/", "origins": ["*"], "headers": ["*"]}])))
        for path in (safe, EXAMPLE):
            with self.subTest(path=path):
                for args in (["-t", "-c", path], ["-t", "--strict", "-c", path]):
                    rc, out, err = run_corsd(args)
                    text = out + err
                    self.assertEqual(rc, 0, text)
                    self.assertEqual(self.diags(path, text), [], text)
                    self.assertRegex(text, r"(?m)^%s: ok$" % re.escape(path))

    def test_only_dash_t_lints(self):
        # --explain loads the same file without a word about lints.
        req = build_request("OPTIONS", "/token/x", preflight_hdrs(APP, "GET"))
        rc, out, err = run_corsd(["-c", LINTS, "--explain", "-"], input=req)
        self.assertEqual(rc, 0, out + err)
        self.assertNotIn("warning", err)


if __name__ == "__main__":
    main()
