"""Browser end-to-end: a real headless Chromium accepts (and refuses) corsd's answers.

A page served from one loopback origin (http://127.0.0.1:A, tests/browser/page.html
and cases.js) runs fetch() against corsd on another (http://127.0.0.1:B), which
proxies to the harness's upstream.  The cases are preflighted, credentialed, denied
and large requests; each records what the script could read (did fetch() resolve,
the status, the response headers it may see, the body).  The tests below assert on
those observations and on what the upstream and corsd's access log saw.

Chromium is driven through chromedriver's W3C WebDriver HTTP interface with urllib
(standard library only).  Debian's chromium and chromium-driver packages are
installed by `scripts/deps.sh test`; without them the test is skipped, unless
CORSD_REQUIRE_BROWSER is set (then it fails).  CORSD_CHROMIUM and
CORSD_CHROMEDRIVER override the binaries.

Every process started here is ended by its PID: chromedriver, the Chromium
processes under it, and the crash reporter Chromium double-forks (found by the
work directory in its command line: HOME points there, so nothing is written to
the real home either).  Every wait is bounded.  Chromium is kept off the network:
host names other than 127.0.0.1 do not resolve, and its background services are off.
"""

import atexit
import hashlib
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import zlib

import harness
from harness import (CorsdTestCase, Reply, closed_port, deterministic_bytes, main, make_config,
                     parse_access)

BROWSER_DIR = os.path.join(harness.SOURCE_DIR, "tests", "browser")
COOKIE = "corsd_sid=browser-test"
OTHER_ORIGIN = "http://127.0.0.1:1"  # the only origin the denied policies allow
MIB = 1024 * 1024
LARGE_SIZE = 5 * MIB + 123           # served with Content-Length, and chunked
UPLOAD_SIZE = 4 * MIB + 7            # cases.js's UPLOAD_SIZE
SECRET = "s3cret"
# Response headers a script may always read (the Fetch Standard's CORS-safelisted
# response-header names).
SAFELISTED = {"cache-control", "content-language", "content-length", "content-type",
              "expires", "last-modified", "pragma"}

DRIVER_START_TIMEOUT = 20.0
SESSION_TIMEOUT = 90.0    # starting Chromium on a busy 2-core machine
SCRIPT_TIMEOUT = 120.0    # all the cases, in the page (each has 10 s in cases.js)
CALL_TIMEOUT = 30.0       # any other WebDriver call
DRIVER_PORT_RE = re.compile(r"started successfully on port (\d+)")


def _find(env, *candidates):
    p = os.environ.get(env)
    if p:
        return p if os.access(p, os.X_OK) else None
    for c in candidates:
        if os.access(c, os.X_OK):
            return c
    return None


def chromium_bin():
    # The real binary rather than Debian's /usr/bin/chromium wrapper script, which
    # adds flags of its own (remote extensions among them).
    return _find("CORSD_CHROMIUM", "/usr/lib/chromium/chromium", "/usr/bin/chromium")


def chromedriver_bin():
    return _find("CORSD_CHROMEDRIVER", "/usr/bin/chromedriver",
                 "/usr/lib/chromium/chromedriver")


# --------------------------------------------------------------------------
# Processes: chromedriver is a Popen tracked by the harness (killed at exit);
# the Chromium processes it starts are found by walking /proc and are killed by
# PID, each checked against its start time so a reused PID is never hit.

def _proc_table():
    """{pid: (ppid, starttime)} of every process."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d, "rb") as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rfind(b")") + 2:].split()
        try:
            out[int(d)] = (int(fields[1]), int(fields[19]))
        except (IndexError, ValueError):
            continue
    return out


def descendants(pid):
    """{pid: starttime} of every process below pid."""
    table = _proc_table()
    children = {}
    for p, (pp, _) in table.items():
        children.setdefault(pp, []).append(p)
    out, stack = {}, [pid]
    while stack:
        for c in children.get(stack.pop(), ()):
            if c not in out:
                out[c] = table[c][1]
                stack.append(c)
    return out


def _starttime(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            s = f.read()
        return int(s[s.rfind(b")") + 2:].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _state(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            s = f.read()
        return s[s.rfind(b")") + 2:].split()[0].decode()
    except (OSError, IndexError):
        return None


def alive_of(procs):
    """The (pid, starttime) pairs that still name a live, non-zombie process."""
    return {p: st for p, st in procs.items()
            if _starttime(p) == st and _state(p) not in (None, "Z", "X")}


_browser_procs = {}  # pid -> starttime, every Chromium process seen under our driver
_browser_lock = threading.Lock()


def _remember(procs):
    with _browser_lock:
        _browser_procs.update(procs)


def mentioning(text):
    """{pid: starttime} of the processes whose command line contains text."""
    needle = text.encode()
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                if needle not in f.read():
                    continue
        except OSError:
            continue
        st = _starttime(int(d))
        if st is not None:
            out[int(d)] = st
    return out


def kill_remembered(grace=0.0, timeout=5.0):
    """Give the remembered Chromium processes `grace` seconds to exit by
    themselves, then SIGKILL those still alive and wait until they are gone.
    Returns {pid: starttime} of the ones that had to be killed."""
    with _browser_lock:
        procs = dict(_browser_procs)
    deadline = time.monotonic() + grace
    while alive_of(procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    killed = alive_of(procs)
    for pid in killed:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while alive_of(procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = alive_of(procs)
    if left:
        raise RuntimeError("Chromium processes survived SIGKILL: %r" % (left,))
    with _browser_lock:
        for pid in procs:
            _browser_procs.pop(pid, None)
    return killed


def _kill_at_exit():
    try:
        kill_remembered(0.0, 2.0)
    except RuntimeError as e:
        sys.stderr.write("test_browser: %s\n" % e)


atexit.register(_kill_at_exit)


# --------------------------------------------------------------------------
# A minimal W3C WebDriver client over urllib.

class WebDriverError(Exception):
    pass


class ChromeDriver:
    def __init__(self, driver, chromium, workdir):
        self.driver = driver
        self.chromium = chromium
        self.workdir = workdir
        self.proc = None
        self.session = None
        self.port = None
        self.log_path = os.path.join(workdir, "chromedriver.log")
        # Never through a proxy from the environment: everything here is loopback.
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def env(self):
        """Chromium writes under HOME (its crash reporter's database, caches):
        keep all of it in the work directory, which also names every process
        of ours in its command line (see quit())."""
        env = dict(os.environ)
        home = os.path.join(self.workdir, "home")
        os.makedirs(home, exist_ok=True)
        env.update(HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
                   XDG_CACHE_HOME=os.path.join(home, ".cache"))
        for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
                  "ALL_PROXY"):
            env.pop(k, None)
        return env

    # -- transport ---------------------------------------------------------
    def call(self, method, path, body=None, timeout=CALL_TIMEOUT):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), data=data,
                                     method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with self.opener.open(req, timeout=timeout) as r:
                payload = r.read()
        except urllib.error.HTTPError as e:
            payload = e.read()
            try:
                v = json.loads(payload)["value"]
                msg = "%s: %s" % (v.get("error"), v.get("message"))
            except (ValueError, KeyError, TypeError, AttributeError):
                msg = payload[:2000].decode("utf-8", "replace")
            raise WebDriverError("%s %s -> HTTP %d: %s" % (method, path, e.code, msg))
        return json.loads(payload).get("value")

    # -- lifecycle ---------------------------------------------------------
    def start(self):
        log = open(self.log_path, "wb")
        try:
            # Port 0: chromedriver binds a free port and logs which.
            self.proc = subprocess.Popen(
                [self.driver, "--port=0", "--allowed-ips=127.0.0.1"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=self.workdir, env=self.env())
        finally:
            log.close()
        harness._track(self.proc)
        deadline = time.monotonic() + DRIVER_START_TIMEOUT
        last = None
        while True:  # readiness: the port is logged, then GET /status says ready
            if self.proc.poll() is not None:
                raise RuntimeError("chromedriver exited with %s:\n%s"
                                   % (self.proc.returncode, self.log_tail()))
            if self.port is None:
                m = DRIVER_PORT_RE.search(self.log_tail())
                if m:
                    self.port = int(m.group(1))
            if self.port is not None:
                try:
                    if (self.call("GET", "/status", timeout=2) or {}).get("ready"):
                        break
                except (OSError, WebDriverError, ValueError) as e:
                    last = e
            if time.monotonic() > deadline:
                raise RuntimeError("chromedriver not ready within %.0fs (%s):\n%s"
                                   % (DRIVER_START_TIMEOUT, last, self.log_tail()))
            time.sleep(0.05)
        return self

    def new_session(self):
        profile = os.path.join(self.workdir, "profile")
        args = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--user-data-dir=" + profile, "--window-size=800,600",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update",
            "--disable-domain-reliability", "--disable-sync", "--no-pings",
            "--disable-breakpad", "--disable-crash-reporter",
            "--no-proxy-server",
            "--metrics-recording-only", "--password-store=basic",
            # Off the network: no host name resolves except 127.0.0.1 itself.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            "--disable-features=Translate,OptimizationHints,MediaRouter,"
            "DialMediaRouteProvider,AutofillServerCommunication,"
            "CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions",
        ]
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "timeouts": {"script": int(SCRIPT_TIMEOUT * 1000), "pageLoad": 30000,
                         "implicit": 0},
            "goog:chromeOptions": {"binary": self.chromium, "args": args},
        }}}
        v = self.call("POST", "/session", caps, timeout=SESSION_TIMEOUT)
        self.session = v["sessionId"]
        self.remember_browser()
        return v.get("capabilities", {})

    def remember_browser(self):
        """Chromium's processes: those under chromedriver, and those that left
        the tree (its crash reporter double-forks) but name our work directory."""
        if self.proc is not None:
            _remember(descendants(self.proc.pid))
        _remember(mentioning(self.workdir))

    def navigate(self, url):
        self.call("POST", "/session/%s/url" % self.session, {"url": url}, timeout=60)

    def execute_async(self, script, args=(), timeout=SCRIPT_TIMEOUT + 15):
        return self.call("POST", "/session/%s/execute/async" % self.session,
                         {"script": script, "args": list(args)}, timeout=timeout)

    def execute(self, script, args=()):
        return self.call("POST", "/session/%s/execute/sync" % self.session,
                         {"script": script, "args": list(args)})

    def wait_for(self, script, timeout, describe):
        """Poll a sync script until it returns true (bounded)."""
        deadline = time.monotonic() + timeout
        while not self.execute(script):
            if time.monotonic() > deadline:
                raise RuntimeError("not true within %.0fs: %s (%s)" % (timeout, script,
                                                                      describe()))
            time.sleep(0.05)

    def quit(self):
        """End the session (Chromium exits), then chromedriver; kill whatever of
        them is left, by PID.  Returns {pid: starttime} of the Chromium processes
        that did not exit by themselves within a few seconds and were killed."""
        self.remember_browser()
        if self.session is not None:
            try:
                self.call("DELETE", "/session/%s" % self.session, timeout=CALL_TIMEOUT)
            except (OSError, WebDriverError, ValueError):
                pass
            self.session = None
        self.remember_browser()
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.kill(self.proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.kill(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=5)
            harness._untrack(self.proc)
        self.remember_browser()
        return kill_remembered(grace=5.0)

    def log_tail(self, n=40):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])


# --------------------------------------------------------------------------
# The page's server: page.html (which sets the cookie) and cases.js, nothing else.

class PageServer:
    FILES = {"/page.html": "text/html; charset=utf-8",
             "/cases.js": "text/javascript; charset=utf-8"}

    def __init__(self, directory):
        files = {}
        for path, ctype in self.FILES.items():
            with open(os.path.join(directory, path.lstrip("/")), "rb") as f:
                files[path] = (ctype, f.read())
        self.requests = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                path = self.path.split("?", 1)[0]
                if path not in files:
                    server.requests.append((self.command, self.path, 404))
                    self.send_error(404)
                    return
                server.requests.append((self.command, self.path, 200))
                ctype, body = files[path]
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                if path == "/page.html":
                    self.send_header("Set-Cookie", COOKIE + "; Path=/; SameSite=Lax")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, fmt, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       name="page-server", daemon=True)

    @property
    def origin(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


# --------------------------------------------------------------------------
# The upstream's routes for these cases (on top of the harness's defaults).

LARGE = deterministic_bytes(LARGE_SIZE, seed=6)


def _digest(b):
    return {"length": len(b), "adler32": zlib.adler32(b), "sha256": hashlib.sha256(b).hexdigest()}


# Sent on every answer of the data routes, so a leak would show in the browser:
# a second Access-Control-Allow-Origin breaks every allowed case, a leaked
# Expose-Headers would make X-Secret readable.
UPSTREAM_CORS = [("Access-Control-Allow-Origin", "*"),
                 ("Access-Control-Expose-Headers", "X-Secret, Set-Cookie"),
                 ("Access-Control-Allow-Credentials", "true")]


def route_data(req, conn, args):
    if req.method == "OPTIONS":  # only reached under preflight: forward
        # CORS headers that would refuse the browser's PUT: corsd must replace them.
        return Reply(204, [("Access-Control-Allow-Origin", "http://upstream.invalid"),
                           ("Access-Control-Allow-Methods", "GET"),
                           ("Access-Control-Allow-Headers", "X-Other"),
                           ("Access-Control-Max-Age", "99999"),
                           ("Vary", "Accept-Encoding")])
    rid = req.header("X-Request-ID") or "up-" + (args[0] if args else "")
    body = json.dumps({"method": req.method, "path": req.path,
                       "cookie": req.header("Cookie"),
                       "body": req.body.decode("latin-1")}).encode()
    return Reply(200, [("Content-Type", "application/json"), ("X-Request-ID", rid),
                       ("X-Secret", SECRET), ("Cache-Control", "no-store"),
                       ("Vary", "Accept-Encoding")] + UPSTREAM_CORS, body)


def route_large(req, conn, args):
    return Reply(200, [("Content-Type", "application/octet-stream"),
                       ("X-Request-ID", "large"), ("X-Secret", SECRET)] + UPSTREAM_CORS,
                 LARGE)


def route_large_chunked(req, conn, args):
    sizes = [1, 100, 8192, 65536, 200000, 3, 1 << 20]
    parts, i, k = [], 0, 0
    while i < len(LARGE):
        n = sizes[k % len(sizes)]
        parts.append(LARGE[i:i + n])
        i += n
        k += 1
    return Reply(200, [("Content-Type", "application/octet-stream"),
                       ("X-Request-ID", "large-chunked")] + UPSTREAM_CORS, chunks=parts)


def route_upload(req, conn, args):
    return Reply(200, [("Content-Type", "application/json"),
                       ("X-Request-ID", "upload")] + UPSTREAM_CORS,
                 json.dumps(_digest(req.body)).encode())


RUN_SCRIPT = """
const done = arguments[arguments.length - 1];
if (typeof window.corsdRunCases !== "function") {
  done(JSON.stringify({_error: "cases.js did not load"}));
} else {
  window.corsdRunCases(arguments[0]).then(
    (r) => done(JSON.stringify(r)),
    (e) => done(JSON.stringify({_error: String(e && e.stack ? e.stack : e)})));
}
"""

PAGE_TIMEOUT = 20.0
PAGE_STATE_SCRIPT = """return JSON.stringify({href: location.href, readyState: document.readyState,
  scripts: Array.from(document.scripts, (s) => s.src || "(inline)"),
  text: document.body ? document.body.innerText.slice(0, 300) : null});"""
PROGRESS_SCRIPT = "return window.corsdProgress ? JSON.stringify(window.corsdProgress) : null;"


class BrowserTest(CorsdTestCase):
    """One Chromium run of every case in setUpClass; each test checks one case."""

    results = None

    @classmethod
    def extra_setup(cls):
        for name, fn in (("data", route_data), ("large", route_large),
                         ("large-chunked", route_large_chunked), ("upload", route_upload)):
            cls.upstream.route(name, fn)
        cls.page = PageServer(BROWSER_DIR).start()
        cls.addClassCleanup(cls.page.stop)

    @classmethod
    def config(cls, upstream):
        page = cls.page.origin
        api = {"origins": [page], "methods": ["GET", "HEAD", "POST", "PUT", "PATCH"],
               "headers": ["Content-Type", "X-Request-ID"],
               "expose_headers": ["X-Request-ID"], "credentials": True}
        return make_config(upstream.url, [
            dict(name="api", path="/api/", **api),
            {"name": "plain", "path": "/plain/", "origins": [page],
             "expose_headers": ["X-Request-ID"]},
            {"name": "public", "path": "/public/", "origins": ["*"],
             "expose_headers": ["*"]},
            dict(name="forward", path="/forward/", preflight="forward", **api),
            {"name": "denied", "path": "/denied/", "origins": [OTHER_ORIGIN],
             "methods": ["GET", "PUT"], "headers": ["Content-Type", "X-Request-ID"]},
            {"name": "omit", "path": "/omit/", "origins": [OTHER_ORIGIN], "deny": "omit",
             "methods": ["GET", "PUT"], "headers": ["Content-Type", "X-Request-ID"]},
            {"name": "enforce", "path": "/enforce/", "origins": [OTHER_ORIGIN],
             "enforce": True},
            dict(name="down", path="/down/", upstream="http://127.0.0.1:%d" % closed_port(),
                 **api),
        ], limits={"max_body_bytes": 8 * MIB})

    @classmethod
    def setUpClass(cls):
        chromium, driver = chromium_bin(), chromedriver_bin()
        if not (chromium and driver):
            msg = ("headless Chromium is not installed (chromium: %s, chromedriver: %s); "
                   "scripts/deps.sh test installs Debian's chromium and chromium-driver"
                   % (chromium, driver))
            if os.environ.get("CORSD_REQUIRE_BROWSER"):
                raise RuntimeError(msg + " and CORSD_REQUIRE_BROWSER is set")
            raise unittest.SkipTest(msg)
        super().setUpClass()
        cls.api = "http://127.0.0.1:%d" % cls.corsd.port
        cls.workdir = workdir = tempfile.mkdtemp(prefix="corsd-browser-")
        cls.addClassCleanup(shutil.rmtree, workdir, ignore_errors=True)
        wd = ChromeDriver(driver, chromium, workdir)
        t0 = time.monotonic()
        try:
            wd.start()
            caps = wd.new_session()
            cls.browser_version = caps.get("browserVersion")
            wd.navigate(cls.page.origin + "/page.html")
            wd.wait_for("return typeof window.corsdRunCases === 'function';", PAGE_TIMEOUT,
                        lambda: "page state %s; page server saw %r" % (
                            wd.execute(PAGE_STATE_SCRIPT), cls.page.requests))
            try:
                raw = wd.execute_async(RUN_SCRIPT, [cls.api])
            except WebDriverError as e:
                # Keep what the cases that finished saw; the tests report the rest.
                raw = wd.execute(PROGRESS_SCRIPT)
                if not raw:
                    raise
                partial = json.loads(raw)
                partial["_error"] = "%s (case running: %s)" % (e, partial.get("_current"))
                raw = json.dumps(partial)
            wd.remember_browser()
        except Exception as e:
            raise RuntimeError("driving Chromium failed: %s\n--- chromedriver log ---\n%s"
                               % (e, wd.log_tail())) from e
        finally:
            cls.leftover = wd.quit()
        cls.browser_seconds = time.monotonic() - t0
        cls.results = json.loads(raw)
        if set(cls.results) <= {"_error", "_current"}:
            raise RuntimeError("the page failed: %s" % cls.results.get("_error"))
        # What the upstream and corsd saw, kept before any test runs.
        cls.upstream_log = cls.upstream.snapshot()
        cls.access_log = [e for e in (parse_access(l) for l in cls.corsd.log_lines(since=0))
                          if e is not None]

    def setUp(self):
        # Not CorsdTestCase.setUp: the logs of the browser run must stay.
        if not self.corsd.alive():
            self.fail("corsd is not running (exit %s):\n%s"
                      % (self.corsd.proc.returncode, self.corsd.output()[-4000:]))

    # -- helpers -----------------------------------------------------------
    def case(self, name):
        self.assertIn(name, self.results, "case %s did not run" % name)
        o = self.results[name]
        self.assertNotIn("crashed", o, o)
        return o

    def seen(self, path):
        """The methods the upstream received for path, in order."""
        return [r.method for r in self.upstream_log if r.path == path]

    def upstream_requests(self, path):
        return [r for r in self.upstream_log if r.path == path]

    def access(self, path, **want):
        """corsd's access entries for path whose fields equal want."""
        return [e for e in self.access_log if e.get("path") == path
                and all(e.get(k) == v for k, v in want.items())]

    def assertReadable(self, o, status=200):
        self.assertTrue(o["fetched"], "fetch() rejected: %r" % (o,))
        self.assertEqual(o["type"], "cors", o)
        self.assertEqual(o["status"], status, o)
        self.assertNotIn("bodyError", o, o)

    def assertBlocked(self, o):
        """fetch() rejected: the page learns nothing, not even a status."""
        self.assertFalse(o["fetched"], "the page could read the response: %r" % (o,))
        self.assertEqual(o.get("error"), "TypeError", o)
        self.assertEqual(set(o), {"fetched", "error", "message"}, o)

    def assertOnlyExposed(self, o, exposed):
        """The script can enumerate the safelisted headers and `exposed`, nothing else."""
        names = set(o["names"])
        extra = names - SAFELISTED - set(exposed)
        self.assertEqual(extra, set(), "headers the script should not see: %r" % (o,))
        for n in exposed:
            self.assertIn(n, names, o)
        self.assertIsNone(o["headers"]["x-secret"], o)
        self.assertIsNone(o["headers"]["access-control-allow-origin"], o)
        self.assertIsNone(o["headers"]["set-cookie"], o)

    def body_json(self, o):
        try:
            return json.loads(o["body"])
        except (ValueError, TypeError):
            self.fail("body is not the upstream's JSON: %r" % (o,))

    # -- the page ----------------------------------------------------------
    def test_page_is_cross_origin_and_has_the_cookie(self):
        p = self.results["_page"]
        self.assertEqual(p["origin"], self.page.origin)
        self.assertNotEqual(p["origin"], self.api)
        self.assertIn(COOKIE, p["cookie"])

    def test_every_case_ran(self):
        self.assertNotIn("_error", self.results, self.results.get("_error"))
        names = [k for k in self.results if not k.startswith("_")]
        self.assertGreaterEqual(len(names), 24, names)
        for n in names:
            self.assertNotIn("crashed", self.results[n], (n, self.results[n]))

    def test_chromium_processes_all_ended(self):
        # quit() killed (by PID) whatever was left after a grace period: nothing
        # should have needed it.
        self.assertEqual(self.leftover, {}, "Chromium processes that had to be killed")
        self.assertEqual(alive_of(mentioning(self.workdir)), {})

    # -- allowed -----------------------------------------------------------
    def test_simple_get(self):
        o = self.case("simple_get")
        self.assertReadable(o)
        self.assertEqual(o["headers"]["x-request-id"], "up-simple-get")
        self.assertEqual(o["headers"]["content-type"], "application/json")
        self.assertOnlyExposed(o, ["x-request-id", "content-type"])
        b = self.body_json(o)
        self.assertEqual((b["method"], b["cookie"]), ("GET", None), b)
        self.assertEqual(self.seen("/api/data/simple-get"), ["GET"])
        self.assertEqual(self.upstream_requests("/api/data/simple-get")[0].header("Origin"),
                         self.page.origin)
        self.assertTrue(self.access("/api/data/simple-get", kind="actual",
                                    verdict="allowed", status="200"), self.access_log)

    def test_simple_post_is_not_preflighted(self):
        o = self.case("simple_post")
        self.assertReadable(o)
        b = self.body_json(o)
        self.assertEqual((b["method"], b["body"]), ("POST", "plain text"))
        self.assertEqual(self.seen("/api/data/simple-post"), ["POST"])
        self.assertFalse(self.access("/api/data/simple-post", kind="preflight"))

    def test_preflighted_put(self):
        o = self.case("preflight_put")
        self.assertReadable(o)
        self.assertEqual(o["headers"]["x-request-id"], "rid-put")
        self.assertOnlyExposed(o, ["x-request-id"])
        b = self.body_json(o)
        self.assertEqual((b["method"], json.loads(b["body"])), ("PUT", {"hello": "corsd"}))
        # corsd answered the preflight itself: the upstream saw only the PUT.
        self.assertEqual(self.seen("/api/data/preflight-put"), ["PUT"])
        self.assertTrue(self.access("/api/data/preflight-put", kind="preflight",
                                    verdict="allowed", status="204"), self.access_log)

    def test_preflighted_patch(self):
        o = self.case("preflight_patch")
        self.assertReadable(o)
        self.assertEqual(self.body_json(o)["method"], "PATCH")
        self.assertEqual(self.seen("/api/data/preflight-patch"), ["PATCH"])

    def test_credentialed_get_sends_cookie_and_reads_answer(self):
        # The upstream also sends Access-Control-Allow-Origin: * (and its own
        # Allow-Credentials): had either leaked, Chromium would refuse this.
        o = self.case("credentialed_get")
        self.assertReadable(o)
        self.assertOnlyExposed(o, ["x-request-id"])
        self.assertEqual(self.body_json(o)["cookie"], COOKIE)
        self.assertEqual(self.seen("/api/data/cred-get"), ["GET"])

    def test_credentialed_preflighted_put(self):
        o = self.case("credentialed_put")
        self.assertReadable(o)
        self.assertEqual(o["headers"]["x-request-id"], "rid-cred-put")
        self.assertEqual(self.body_json(o)["cookie"], COOKIE)
        reqs = self.upstream_requests("/api/data/cred-put")
        self.assertEqual([r.method for r in reqs], ["PUT"])

    def test_upstream_error_status_is_readable(self):
        o = self.case("upstream_404")
        self.assertReadable(o, 404)
        self.assertEqual(o["body"], "status 404\n")
        self.assertEqual(self.seen("/api/status/404"), ["GET"])

    def test_upstream_down_502_is_readable(self):
        o = self.case("upstream_down")
        self.assertReadable(o, 502)
        self.assertEqual(self.seen("/down/data/down-get"), [])
        self.assertTrue(self.access("/down/data/down-get", status="502", verdict="allowed"),
                        self.access_log)

    def test_forwarded_preflight_gets_corsds_headers(self):
        o = self.case("forward_put")
        self.assertReadable(o)
        self.assertEqual(o["headers"]["x-request-id"], "rid-fwd")
        self.assertEqual(self.seen("/forward/data/forward-put"), ["OPTIONS", "PUT"])

    def test_only_forward_policy_sends_options_upstream(self):
        opts = [r.path for r in self.upstream_log if r.method == "OPTIONS"]
        self.assertEqual(opts, ["/forward/data/forward-put"])

    # -- large bodies ------------------------------------------------------
    def assertLarge(self, o):
        self.assertReadable(o)
        self.assertEqual(o["body"]["length"], LARGE_SIZE)
        want = _digest(LARGE)
        self.assertEqual(o["body"]["adler32"], want["adler32"])
        if o["body"]["sha256"] is not None:
            self.assertEqual(o["body"]["sha256"], want["sha256"])
        self.assertIsNone(o["headers"]["x-secret"], o)

    def test_large_download(self):
        o = self.case("large_download")
        self.assertLarge(o)
        self.assertEqual(o["headers"]["content-length"], str(LARGE_SIZE))
        self.assertEqual(o["headers"]["x-request-id"], "large")

    def test_large_chunked_download(self):
        o = self.case("large_chunked")
        self.assertLarge(o)
        self.assertEqual(o["headers"]["x-request-id"], "large-chunked")

    def test_large_upload(self):
        # Chromium sends it on a keep-alive connection that already carried
        # requests: a body larger than corsd's client read watermark must still
        # be read whole, not stall the connection.
        o = self.case("large_upload")
        self.assertReadable(o)
        got = self.body_json(o)
        self.assertEqual(o["sent"]["length"], UPLOAD_SIZE)
        self.assertEqual(got, o["sent"], "the upstream received other bytes than were sent")
        reqs = self.upstream_requests("/api/upload/large-upload")
        self.assertEqual([r.method for r in reqs], ["PUT"])
        body = reqs[0].body
        for i in range(0, UPLOAD_SIZE, 4099):  # the bytes are cases.js's pattern
            self.assertEqual(body[i], ((i * 2654435761) & 0xffffffff) >> 24, i)

    # -- refused by the browser --------------------------------------------
    def test_header_not_allowed(self):
        self.assertBlocked(self.case("header_not_allowed"))
        self.assertEqual(self.seen("/api/data/header-not-allowed"), [])
        self.assertTrue(self.access("/api/data/header-not-allowed", kind="preflight",
                                    verdict="denied", reason="header", status="403"),
                        self.access_log)

    def test_method_not_allowed(self):
        self.assertBlocked(self.case("method_not_allowed"))
        self.assertEqual(self.seen("/api/data/method-not-allowed"), [])
        self.assertTrue(self.access("/api/data/method-not-allowed", kind="preflight",
                                    verdict="denied", reason="method"), self.access_log)

    def test_lowercase_patch_is_not_patch(self):
        self.assertBlocked(self.case("lowercase_patch"))
        self.assertEqual(self.seen("/api/data/lowercase-patch"), [])
        self.assertTrue(self.access("/api/data/lowercase-patch", kind="preflight",
                                    verdict="denied", reason="method"), self.access_log)

    def test_no_credentials_policy(self):
        self.assertReadable(self.case("nocreds_get"))
        o = self.case("nocreds_credentialed")
        self.assertBlocked(o)
        # A simple request is sent (with the cookie); only reading it is refused.
        reqs = self.upstream_requests("/plain/data/nocreds-cred")
        self.assertEqual([r.method for r in reqs], ["GET"])
        self.assertEqual(reqs[0].header("Cookie"), COOKIE)

    def test_star_policy(self):
        o = self.case("star_get")
        self.assertReadable(o)
        # expose_headers ["*"]: every header is readable without credentials.
        self.assertEqual(o["headers"]["x-secret"], SECRET)
        self.assertEqual(o["headers"]["access-control-allow-origin"], "*")
        self.assertIsNone(o["headers"]["access-control-allow-credentials"], o)
        self.assertBlocked(self.case("star_credentialed"))

    def test_denied_origin_actual_request(self):
        self.assertBlocked(self.case("denied_get"))
        # enforce is off: the request was proxied, the browser hid the answer.
        self.assertEqual(self.seen("/denied/data/denied-get"), ["GET"])
        self.assertTrue(self.access("/denied/data/denied-get", kind="actual",
                                    verdict="denied", reason="origin"), self.access_log)

    def test_denied_origin_no_cors_is_opaque(self):
        o = self.case("denied_no_cors")
        self.assertTrue(o["fetched"], o)
        self.assertEqual((o["type"], o["status"], o["names"], o["body"]),
                         ("opaque", 0, [], ""), o)
        self.assertTrue(all(v is None for v in o["headers"].values()), o)

    def test_denied_preflight_reject(self):
        self.assertBlocked(self.case("denied_preflight"))
        self.assertEqual(self.seen("/denied/data/denied-put"), [])
        self.assertTrue(self.access("/denied/data/denied-put", kind="preflight",
                                    verdict="denied", reason="origin", status="403"),
                        self.access_log)

    def test_denied_preflight_omit(self):
        self.assertBlocked(self.case("omit_preflight"))
        self.assertEqual(self.seen("/omit/data/omit-put"), [])
        self.assertTrue(self.access("/omit/data/omit-put", kind="preflight",
                                    verdict="denied", status="204"), self.access_log)

    def test_enforce_blocks_before_upstream(self):
        self.assertBlocked(self.case("enforce_get"))
        self.assertEqual(self.seen("/enforce/data/enforce-get"), [])
        self.assertTrue(self.access("/enforce/data/enforce-get", kind="actual",
                                    verdict="denied", status="403"), self.access_log)


if __name__ == "__main__":
    main()
