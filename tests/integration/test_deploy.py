"""The deployment files agree with corsd and with each other: the systemd unit
passes `systemd-analyze verify` and keeps its sandbox, the Dockerfile's policy,
ports and HEALTHCHECK match the policy it bakes in, the sidecar examples mount
policies that load, and `cmake --install` puts the binary, the unit and
/etc/corsd/corsd.yaml in place.

Fast and offline: nothing here builds an image or starts systemd (the tools in
../shared/tools/ops do that). Needs systemd-analyze (Debian package `systemd`)
for the verify and security checks, and skips them with the reason otherwise.
"""

import http.server
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
import unittest

from harness import SOURCE_DIR, corsd_bin, main

UNIT = os.path.join(SOURCE_DIR, "systemd", "corsd.service")
DOCKERFILE = os.path.join(SOURCE_DIR, "Dockerfile")
DOCKERIGNORE = os.path.join(SOURCE_DIR, ".dockerignore")
CONF = os.path.join(SOURCE_DIR, "conf", "corsd.yaml")
COMPOSE_DIR = os.path.join(SOURCE_DIR, "examples", "compose")
KUBE = os.path.join(SOURCE_DIR, "examples", "kubernetes", "corsd-sidecar.yaml")

# corsd's built-in default (SPEC "Command line"); every deployment uses it.
POLICY_PATH = "/etc/corsd/corsd.yaml"
# The unit's sandbox must not score worse than this (systemd-analyze security).
EXPOSURE_MAX = 2.0
RUN_TIMEOUT = 60


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def run(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=RUN_TIMEOUT, **kw)


def corsd_check(testcase, path):
    """`corsd -t` on a policy file: it must load."""
    r = run([corsd_bin(), "-t", "-c", path])
    testcase.assertEqual(r.returncode, 0, "%s does not load:\n%s" % (path, r.stdout))


# --------------------------------------------------------------------------
# Just enough of each format to read the facts the tests compare.

def parse_unit(text):
    """{section: [(key, value), ...]}; keys may repeat, as systemd allows."""
    sections, cur = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        m = re.fullmatch(r"\[(\w+)\]", line)
        if m:
            cur = sections.setdefault(m.group(1), [])
            continue
        key, _, value = line.partition("=")
        cur.append((key.strip(), value.strip()))
    return sections


def unit_values(unit, key, section="Service"):
    return [v for k, v in unit.get(section, []) if k == key]


def unit_value(unit, key, section="Service"):
    """The value in force: the last assignment."""
    vals = unit_values(unit, key, section)
    return vals[-1] if vals else None


def yaml_top(text, key):
    """A top-level scalar or flow list of a policy file, unquoted."""
    m = re.search(r"^%s:[ \t]*(.*?)[ \t]*(?:#.*)?$" % re.escape(key), text, re.M)
    return m.group(1) if m else None


def yaml_listen(text, key="listen", section=None):
    """The addresses of `listen` (top level, or inside `section:`) as
    [(host, port)]; scalar, flow list or block list."""
    if section:
        m = re.search(r"^%s:[ \t]*\n((?:[ \t]+.*\n?|[ \t]*\n)*)" % section, text, re.M)
        if not m:
            return []
        text = "\n".join(l.strip() for l in m.group(1).splitlines())
    m = re.search(r"^%s:[ \t]*(.*?)[ \t]*(?:#.*)?$((?:\n[ \t]*-.*)*)" % key, text, re.M)
    if not m:
        return []
    raw = m.group(1).strip("[]") if m.group(1) else ""
    items = [s for s in raw.split(",") if s.strip()]
    items += re.findall(r"-[ \t]*(\S+)", m.group(2) or "")
    out = []
    for item in items:
        item = item.strip().strip("'\"")
        host, _, port = item.rpartition(":")
        out.append((host.strip("[]"), int(port)))
    return out


def yaml_int(text, key):
    m = re.search(r"^[ \t]*%s:[ \t]*(\d+)" % re.escape(key), text, re.M)
    return int(m.group(1)) if m else None


def duration_s(value, default):
    if value is None:
        return default
    m = re.fullmatch(r"(\d+)(ms|s|m|h)?", value.strip("'\""))
    mult = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]
    return int(m.group(1)) * mult


def parse_dockerfile(text):
    """[(stage_index, INSTRUCTION, args)] with continuation lines joined."""
    joined, buf = [], ""
    for line in text.splitlines():
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        joined.append(buf + line)
        buf = ""
    out, stage = [], -1
    for line in joined:
        instr, _, args = line.strip().partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            stage += 1
        out.append((stage, instr, args.strip()))
    return out


# --------------------------------------------------------------------------

class UnitFileTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.text = read(UNIT)
        cls.unit = parse_unit(cls.text)
        cls.conf = read(CONF)

    def local_unit(self):
        """The unit with its corsd path pointing at the binary under test:
        verify checks that every Exec command exists."""
        d = tempfile.mkdtemp(prefix="corsd-deploy-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "corsd.service")
        binary = os.path.abspath(corsd_bin())
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.text.replace("/usr/sbin/corsd", binary))
        return path

    def analyze(self):
        exe = shutil.which("systemd-analyze")
        if exe is None:
            self.skipTest("systemd-analyze not installed (Debian package: systemd)")
        return exe

    def test_verify(self):
        """systemd-analyze verify prints nothing: it only warns about an unknown
        or misspelled key (exit 0, setting silently ignored), so any line is a
        finding."""
        exe = self.analyze()
        r = run([exe, "verify", "--man=no", "--generators=no", self.local_unit()])
        findings = []
        for line in r.stdout.splitlines():
            m = re.search(r"Command (/\S+) is not executable", line)
            if m and m.group(1) == "/bin/kill" and not os.path.exists("/bin/kill"):
                continue  # procps is not installed on this machine; servers have it
            if line.strip():
                findings.append(line)
        self.assertEqual(findings, [], "systemd-analyze verify (exit %d)" % r.returncode)

    def test_security_exposure(self):
        exe = self.analyze()
        r = run([exe, "security", "--offline=true", "--no-pager", self.local_unit()])
        m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", r.stdout)
        if m is None and "offline" in r.stdout:
            self.skipTest("this systemd-analyze has no --offline (systemd < 250)")
        self.assertIsNotNone(m, r.stdout)
        self.assertLessEqual(float(m.group(1)), EXPOSURE_MAX, r.stdout)

    def test_notify_and_reload(self):
        u = self.unit
        self.assertEqual(unit_value(u, "Type"), "notify")
        self.assertIn(unit_value(u, "NotifyAccess"), (None, "main"))
        start = shlex.split(unit_value(u, "ExecStart"))
        self.assertEqual(start, ["/usr/sbin/corsd", "-c", POLICY_PATH])
        pre = [shlex.split(v) for v in unit_values(u, "ExecStartPre")]
        self.assertIn(["/usr/sbin/corsd", "-t", "-c", POLICY_PATH], pre)
        reload_ = [shlex.split(v) for v in unit_values(u, "ExecReload")]
        self.assertEqual(reload_[-1], ["/bin/kill", "-HUP", "$MAINPID"])
        # No Restart=always: a clean SIGTERM stop must stay stopped.
        self.assertIn(unit_value(u, "Restart"), (None, "no", "on-failure", "on-abnormal"))

    def test_stop_outlasts_the_drain(self):
        m = re.search(r"^[ \t]+shutdown:[ \t]*([^\s#]+)", self.conf, re.M)
        shutdown = duration_s(m.group(1) if m else None, 10)
        stop = duration_s(unit_value(self.unit, "TimeoutStopSec"), 90)
        self.assertGreater(stop, shutdown)

    def test_sandbox(self):
        u = self.unit
        want = {
            "DynamicUser": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
            "PrivateTmp": "yes", "PrivateDevices": "yes", "NoNewPrivileges": "yes",
            "MemoryDenyWriteExecute": "yes", "CapabilityBoundingSet": "",
        }
        got = {k: unit_value(u, k) for k in want}
        self.assertEqual(got, want)
        self.assertIn("@system-service", unit_values(u, "SystemCallFilter"))
        families = set(unit_value(u, "RestrictAddressFamilies").split())
        self.assertEqual(families, {"AF_INET", "AF_INET6", "AF_UNIX"})
        self.assertIsNone(unit_value(u, "User"), "DynamicUser picks the user")

    def test_capabilities_follow_the_ports(self):
        """CAP_NET_BIND_SERVICE only when the shipped policy needs a port
        below 1024."""
        ports = [p for _, p in yaml_listen(self.conf) + yaml_listen(self.conf, section="admin")]
        self.assertTrue(ports)
        ambient = unit_value(self.unit, "AmbientCapabilities") or ""
        if min(ports) < 1024:
            self.assertIn("CAP_NET_BIND_SERVICE", ambient)
            self.assertIn("CAP_NET_BIND_SERVICE",
                          unit_value(self.unit, "CapabilityBoundingSet"))
            # Inside a private user namespace the capability does not
            # reach the host's network namespace.
            self.assertNotEqual(unit_value(self.unit, "PrivateUsers"), "yes")
        else:
            self.assertEqual(ambient, "")

    def test_nofile_covers_max_connections(self):
        """A client connection can hold an upstream one too."""
        conns = yaml_int(self.conf, "max_connections") or 4096
        self.assertGreaterEqual(int(unit_value(self.unit, "LimitNOFILE")), 2 * conns + 64)


class DockerfileTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.instr = parse_dockerfile(read(DOCKERFILE))
        cls.last = max(s for s, _, _ in cls.instr)
        cls.final = [(i, a) for s, i, a in cls.instr if s == cls.last]
        copies = [a.split() for i, a in cls.final if i == "COPY"]
        dest = [c for c in copies if c[-1] == POLICY_PATH]
        cls.policy_src = dest[0][-2] if dest else None
        cls.policy = read(os.path.join(SOURCE_DIR, cls.policy_src)) if dest else ""

    def final_one(self, name):
        vals = [a for i, a in self.final if i == name]
        self.assertEqual(len(vals), 1, "one %s in the runtime stage" % name)
        return vals[0]

    def test_stages(self):
        froms = [a.split() for _, i, a in self.instr if i == "FROM"]
        self.assertEqual(len(froms), 2, "a build stage and a runtime stage")
        for f in froms:
            self.assertEqual(f[0], "debian:bookworm-slim")
        self.assertEqual([w.lower() for w in froms[0][1:]], ["as", froms[0][2].lower()])
        build = froms[0][2]
        self.assertIn(("COPY", "--from=%s /src/build/corsd /usr/sbin/corsd" % build),
                      self.final)
        runs = " ".join(a for i, a in self.final if i == "RUN")
        self.assertNotIn("-dev", runs, "no -dev package in the runtime stage")

    def test_buildah_compatible(self):
        """buildah takes no RUN heredocs and no COPY --link."""
        for _, i, a in self.instr:
            self.assertNotIn("<<", a if i == "RUN" else "", a)
            self.assertNotIn("--link", a if i in ("COPY", "ADD") else "", a)

    def test_policy_is_baked_in_and_loads(self):
        self.assertIsNotNone(self.policy_src, "a COPY to %s" % POLICY_PATH)
        corsd_check(self, os.path.join(SOURCE_DIR, self.policy_src))
        cmd = json.loads(self.final_one("CMD"))
        self.assertEqual(cmd, ["-c", POLICY_PATH])
        self.assertEqual(json.loads(self.final_one("ENTRYPOINT")), ["/usr/sbin/corsd"])

    def test_ports_match_the_policy(self):
        """In a container corsd must listen on every address, and EXPOSE the
        ports its policy binds."""
        listen = yaml_listen(self.policy)
        admin = yaml_listen(self.policy, section="admin")
        self.assertTrue(listen and admin)
        for host, _ in listen + admin:
            self.assertIn(host, ("0.0.0.0", "::"))
        exposed = {int(p.split("/")[0]) for p in self.final_one("EXPOSE").split()}
        self.assertEqual(exposed, {p for _, p in listen + admin})

    def test_healthcheck_asks_admin(self):
        admin_port = yaml_listen(self.policy, section="admin")[0][1]
        env = dict(a.split("=", 1) for i, a in self.final if i == "ENV" and "=" in a)
        self.assertEqual(int(env["CORSD_HEALTH_PORT"]), admin_port)
        hc = self.final_one("HEALTHCHECK")
        self.assertIn("/healthz", hc)
        self.assertIn("${CORSD_HEALTH_PORT:-%d}" % admin_port, hc)

    def test_user_signal(self):
        user = self.final_one("USER")
        uid = user.split(":")[0]
        self.assertTrue(uid.isdigit() and int(uid) != 0,
                        "numeric non-root USER (Kubernetes runAsNonRoot checks it)")
        self.assertEqual(self.final_one("STOPSIGNAL"), "SIGTERM")

    def healthcheck_argv(self):
        hc = self.final_one("HEALTHCHECK")
        return json.loads(hc[hc.index("CMD") + 3:].strip())

    def test_healthcheck_command(self):
        """The HEALTHCHECK itself, run here against a stand-in admin
        endpoint: healthy on 200 only."""
        argv = self.healthcheck_argv()
        if shutil.which(argv[0]) is None:
            self.skipTest("%s not installed" % argv[0])
        status = {"code": 200}

        class Admin(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                code = status["code"] if self.path == "/healthz" else 404
                self.send_response(code)
                self.send_header("Content-Length", "3")
                self.end_headers()
                self.wfile.write(b"ok\n")

            def log_message(self, *a):
                pass

        srv = http.server.HTTPServer(("127.0.0.1", 0), Admin)
        srv.timeout = 5
        t = threading.Thread(target=srv.serve_forever, daemon=True)
        t.start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        env = dict(os.environ, CORSD_HEALTH_PORT=str(srv.server_address[1]))
        self.assertEqual(run(argv, env=env).returncode, 0, "healthy on 200")
        status["code"] = 503
        self.assertNotEqual(run(argv, env=env).returncode, 0, "unhealthy on 503")
        srv.shutdown()
        srv.server_close()
        self.assertNotEqual(run(argv, env=env).returncode, 0, "unhealthy when closed")

    def test_runtime_libraries(self):
        """Every shared library corsd links to comes from a package the
        runtime stage installs (or from the base image)."""
        if not (shutil.which("ldd") and shutil.which("dpkg")):
            self.skipTest("needs ldd and dpkg")
        runs = " ".join(a for i, a in self.final if i == "RUN")
        r = run(["ldd", corsd_bin()])
        self.assertEqual(r.returncode, 0, r.stdout)
        paths = dict(re.findall(r"^\s*(\S+) => (/\S+)", r.stdout, re.M))
        # Only what corsd itself needs: apt brings the dependencies of
        # those packages along.
        if shutil.which("readelf"):
            d = run(["readelf", "-d", corsd_bin()])
            needed = re.findall(r"\(NEEDED\).*\[(.+?)\]", d.stdout)
            paths = {k: v for k, v in paths.items() if k in needed}
        base = {"libc6", "libgcc-s1"}
        for name, path in sorted(paths.items()):
            if re.match(r"lib(asan|ubsan|lsan|tsan|stdc\+\+|gcc_s|m|c|pthread|dl)\.so", name):
                continue  # sanitizer runtimes and glibc: not what the image ships
            real = os.path.realpath(path)
            q = run(["dpkg", "-S", real])
            if q.returncode != 0:
                q = run(["dpkg", "-S", path])
            if q.returncode != 0:
                continue  # not from a package (a local build): nothing to check
            pkg = q.stdout.split(":")[0]
            if pkg not in base:
                self.assertRegex(runs, r"\b%s\b" % re.escape(pkg),
                                 "%s (%s) is not installed in the runtime stage" % (name, pkg))

    def test_dockerignore_keeps_the_sources(self):
        """The context is only what the Dockerfile copies: build trees and .git
        stay out, every COPY source stays in."""
        rules = [l.strip() for l in read(DOCKERIGNORE).splitlines()
                 if l.strip() and not l.startswith("#")]
        self.assertEqual(rules[0], "*")
        allowed = [r[1:].rstrip("/") for r in rules if r.startswith("!")]
        for s, i, a in self.instr:
            if i != "COPY" or a.startswith("--from"):
                continue
            for src in a.split()[:-1]:
                src = src.rstrip("/").lstrip("./")
                self.assertTrue(any(src == p or src.startswith(p + "/") for p in allowed),
                                "COPY %s is excluded by .dockerignore" % src)
                self.assertTrue(os.path.exists(os.path.join(SOURCE_DIR, src)), src)


class ExamplesTest(unittest.TestCase):
    maxDiff = None

    def test_compose(self):
        text = read(os.path.join(COMPOSE_DIR, "compose.yaml"))
        mounts = re.findall(r"-\s*(\./\S+):%s(?::ro)?" % re.escape(POLICY_PATH), text)
        self.assertEqual(len(mounts), 1, "the compose file mounts one policy")
        path = os.path.normpath(os.path.join(COMPOSE_DIR, mounts[0]))
        corsd_check(self, path)
        policy = read(path)
        port = yaml_listen(policy)[0][1]
        self.assertRegex(text, r'"\d+:%d"' % port, "the listen port is published")
        self.assertIn('network_mode: "service:api"', text)
        upstream = yaml_top(policy, "upstream").strip("\"'")
        self.assertTrue(upstream.startswith("http://127.0.0.1:"), "a sidecar's upstream")
        # The image's HEALTHCHECK asks 127.0.0.1 on the admin port.
        df = read(DOCKERFILE)
        health = int(re.search(r"CORSD_HEALTH_PORT=(\d+)", df).group(1))
        self.assertEqual(yaml_listen(policy, section="admin")[0][1], health)

    def test_kubernetes(self):
        text = read(KUBE)
        m = re.search(r"^  corsd\.yaml: \|\n((?:    .*\n|\s*\n)+)", text, re.M)
        self.assertIsNotNone(m, "a ConfigMap with corsd.yaml")
        policy = "\n".join(l[4:] for l in m.group(1).splitlines()) + "\n"
        d = tempfile.mkdtemp(prefix="corsd-deploy-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "corsd.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(policy)
        corsd_check(self, path)

        ports = dict(re.findall(r"- name: (\w+)\n\s+containerPort: (\d+)", text))
        self.assertEqual(int(ports["http"]), yaml_listen(policy)[0][1])
        admin = yaml_listen(policy, section="admin")[0]
        self.assertEqual(admin[0], "0.0.0.0", "the kubelet probes the pod IP")
        self.assertEqual(int(ports["admin"]), admin[1])
        self.assertIn("mountPath: %s" % os.path.dirname(POLICY_PATH), text)
        self.assertEqual(text.count("path: /healthz"), 2, "readiness and liveness")
        uid = read(DOCKERFILE)
        uid = re.search(r"^USER (\d+)", uid, re.M).group(1)
        self.assertIn("runAsUser: %s" % uid, text)


class InstallTest(unittest.TestCase):
    """`cmake --install` of the build that made CORSD_BIN."""

    def setUp(self):
        self.build = os.path.dirname(os.path.abspath(corsd_bin()))
        if not os.path.exists(os.path.join(self.build, "cmake_install.cmake")):
            self.skipTest("CORSD_BIN is not at the top of a CMake build tree")
        if shutil.which("cmake") is None:
            self.skipTest("cmake not installed")
        self.dest = tempfile.mkdtemp(prefix="corsd-install-")
        self.addCleanup(shutil.rmtree, self.dest, True)

    def install(self, prefix):
        r = run(["cmake", "--install", self.build, "--prefix", prefix],
                env=dict(os.environ, DESTDIR=self.dest))
        self.assertEqual(r.returncode, 0, r.stdout)
        return r.stdout

    def test_install(self):
        self.install("/usr")
        root = self.dest
        self.assertTrue(os.access(os.path.join(root, "usr/sbin/corsd"), os.X_OK))
        with open(os.path.join(root, "etc/corsd/corsd.yaml"), encoding="utf-8") as f:
            self.assertEqual(f.read(), read(CONF))
        with open(os.path.join(root, "usr/lib/systemd/system/corsd.service"),
                  encoding="utf-8") as f:
            self.assertEqual(f.read(), read(UNIT), "prefix /usr: the unit as shipped")

        # Another prefix: the unit names the binary where it really is, and
        # the administrator's policy is kept.
        with open(os.path.join(root, "etc/corsd/corsd.yaml"), "a", encoding="utf-8") as f:
            f.write("# edited\n")
        self.install("/usr/local")
        unit = parse_unit(read(os.path.join(root, "usr/local/lib/systemd/system/corsd.service")))
        self.assertEqual(shlex.split(unit_value(unit, "ExecStart")),
                         ["/usr/local/sbin/corsd", "-c", POLICY_PATH])
        self.assertTrue(os.access(os.path.join(root, "usr/local/sbin/corsd"), os.X_OK))
        with open(os.path.join(root, "etc/corsd/corsd.yaml"), encoding="utf-8") as f:
            self.assertTrue(f.read().endswith("# edited\n"))


if __name__ == "__main__":
    main()
