"""The user documentation agrees with the code.

* every key the loader accepts (the key tables of src/config.c) is documented in
  conf/corsd.yaml (as a key of the example, or in its comment on policy keys), has
  its own entry in docs/policy.md and in man/corsd.yaml.5, and nothing documented
  there as a key is unknown to the loader;
* the options of `corsd -h` are those of corsd.8's SYNOPSIS, OPTIONS, and the
  README's command-line block; the man pages carry `corsd -V`'s version;
* every metric name of src/metrics.c appears in README.md and corsd.8;
* the man pages render without a groff warning (needs man-db or groff-base);
* the `corsd --explain` examples in README.md and docs/*.md print what the page
  shows, and every relative link in them leads to a file and heading that exist.

Standard library only; runs in well under a second.  CORSD_BIN names the binary
and CORSD_SOURCE_DIR the source tree (both set by ctest).
"""

import os
import re
import shutil
import subprocess
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("CORSD_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
TIMEOUT = 30


def corsd_bin():
    path = os.environ.get("CORSD_BIN")
    if path:
        return path
    for cand in ("build/corsd", "build-it/corsd"):
        p = os.path.join(SOURCE_DIR, cand)
        if os.access(p, os.X_OK):
            return p
    raise unittest.SkipTest("CORSD_BIN is not set and no built corsd was found")


def read(rel):
    with open(os.path.join(SOURCE_DIR, rel), encoding="utf-8") as f:
        return f.read()


def run(args, input=None):
    return subprocess.run([corsd_bin()] + args, input=input, capture_output=True,
                          text=True, timeout=TIMEOUT, cwd=SOURCE_DIR)


# ---------------------------------------------------------------------------
# The keys, three ways.

def c_strings(text):
    return re.findall(r'"((?:[^"\\]|\\.)*)"', text)


def loader_keys():
    """(top, sections, policy) from src/config.c: the top-level key names, the
    dotted paths of the keys of each section (timeouts.connect, ...), and the
    keys of a policy. Every table the loader checks keys against is read."""
    src = read("src/config.c")

    def table(name):
        m = re.search(r"static const char \*const %s\[\] = \{(.*?)\};" % name, src, re.S)
        assert m, "src/config.c has no %s[] table any more: update test_docs.py" % name
        return c_strings(m.group(1))

    top = table("top_keys")
    policy = table("policy_keys")
    sections = {}
    # Each section loader: static void load_<section>(...) { static const char
    # *const keys[] = {...}; ... } -- up to the function's closing brace.
    for m in re.finditer(r"\nstatic void load_(\w+)\([^)]*\)\n\{(.*?)\n\}\n", src, re.S):
        keys = re.search(r"static const char \*const keys\[\] = \{(.*?)\};", m.group(2), re.S)
        if keys:
            sections[m.group(1)] = c_strings(keys.group(1))
    # Every table that map_key() is given must have been read.
    calls = re.findall(r"map_key\(ld, \w+, \w+, (\w+),", src)
    assert set(calls) <= {"top_keys", "policy_keys", "keys"}, calls
    assert calls.count("keys") == len(sections), (
        "map_key is called with %d section tables, test_docs.py found %d: %s"
        % (calls.count("keys"), len(sections), sorted(sections)))
    for s in sections:
        assert s in top, "load_%s reads a section that is not a top-level key" % s
    scalars = [k for k in top if k not in sections]
    paths = scalars + ["%s.%s" % (s, k) for s in sections for k in sections[s]]
    return top, paths, policy


def yaml_keys(text):
    """Key paths of a simple block-style YAML file: "listen", "timeouts.connect",
    and "policies[].name" for the keys of a list's mappings."""
    paths = set()
    stack = []  # (indent, path)
    for raw in text.splitlines():
        line = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        m = re.match(r"^( *)(- +)?([A-Za-z_][A-Za-z0-9_]*):(\s|$)", line)
        if not m:
            continue
        indent = len(m.group(1))
        if m.group(2):
            # "- key:" opens a mapping in a list: it stands at the dash's
            # column, its keys at the key's.
            while stack and stack[-1][0] >= indent:
                stack.pop()
            stack.append((indent, (stack[-1][1] if stack else "") + "[]"))
            indent += len(m.group(2))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1] if stack else ""
        path = (parent + "." if parent else "") + m.group(3)
        paths.add(path)
        stack.append((indent, path))
    return paths


def conf_policy_comment_keys(text):
    """The keys listed in conf/corsd.yaml's comment "Keys of a policy"."""
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("# Keys of a policy"))
    keys = []
    for l in lines[start + 1:]:
        if not l.startswith("#"):
            break
        m = re.match(r"^#   ([a-z_]+) {2,}\S", l)
        if m:
            keys.append(m.group(1))
    return keys


# ---------------------------------------------------------------------------
# Markdown and roff, just enough of them.

def md_headings(text):
    """[(level, text)] outside fenced code blocks."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        m = re.match(r"^(#{1,6}) +(.*?)\s*$", line)
        if m and not fenced:
            out.append((len(m.group(1)), m.group(2)))
    return out


def md_keys_under(text, h2_title):
    """The backticked names of the ### headings under the ## heading titled h2_title."""
    keys, inside = [], False
    for level, title in md_headings(text):
        if level == 2:
            inside = title.lower() == h2_title.lower()
        elif level == 3 and inside:
            m = re.fullmatch(r"`([^`]+)`", title)
            if m:
                keys.append(m.group(1))
    return keys


def slug(title):
    """GitHub's anchor for a heading."""
    s = title.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def md_anchors(text):
    seen, out = {}, set()
    for _, title in md_headings(text):
        base = slug(title)
        n = seen.get(base, 0)
        out.add(base if n == 0 else "%s-%d" % (base, n))
        seen[base] = n + 1
    return out


def md_blocks(text):
    """Fenced code blocks, in order, as lists of lines."""
    blocks, cur = [], None
    for line in text.splitlines():
        if line.startswith("```"):
            if cur is None:
                cur = []
            else:
                blocks.append(cur)
                cur = None
        elif cur is not None:
            cur.append(line)
    return blocks


def roff_text(s):
    """A roff line as plain text: the escapes these pages use, no macros."""
    s = re.sub(r"\\f[BIRP]|\\f\(..|\\f\[[^]]*\]", "", s)
    s = s.replace("\\-", "-").replace("\\(dq", '"').replace("\\(aq", "'")
    s = s.replace("\\(lq", '"').replace("\\(rq", '"').replace("\\e", "\\")
    s = s.replace("\\&", "").replace("\\(bu", "*")
    if s.startswith("."):
        parts = s.split(None, 1)
        s = parts[1] if len(parts) > 1 else ""
        s = s.replace('"', "") if parts[0] in (".B", ".BR", ".I", ".IR", ".RB", ".RI",
                                               ".BI", ".IB", ".TP", ".SH", ".SS") else s
    return s


def roff_sections(text):
    """{SECTION NAME: [raw lines]}"""
    out, cur = {}, None
    for line in text.splitlines():
        if line.startswith(".SH"):
            cur = roff_text(line).strip().upper()
            out[cur] = []
        elif cur is not None:
            out[cur].append(line)
    return out


def roff_tags(lines):
    """The tag lines of the .TP paragraphs, as plain text."""
    return [roff_text(lines[i + 1]).strip() for i, l in enumerate(lines[:-1])
            if l.strip() == ".TP"]


OPT_RE = re.compile(r"(?<![\w-])(--?[A-Za-z][A-Za-z-]*)")


def options(text):
    return set(OPT_RE.findall(text))


# ---------------------------------------------------------------------------

class KeysTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.top, cls.paths, cls.policy = loader_keys()
        cls.conf = read("conf/corsd.yaml")
        cls.policy_md = read("docs/policy.md")
        cls.man5 = read("man/corsd.yaml.5")

    def test_loader_tables_were_found(self):
        # A refactor of config.c that hides a table must fail here, not pass
        # with fewer keys to check.
        self.assertGreaterEqual(len(self.top), 9)
        self.assertGreaterEqual(len(self.policy), 15)
        for p in ("listen", "timeouts.connect", "limits.max_body_bytes", "log.access",
                  "admin.listen", "policies"):
            self.assertIn(p, self.paths)
        for k in ("origins", "credentials", "preflight", "report_only"):
            self.assertIn(k, self.policy)

    def test_conf_example_has_every_key(self):
        conf = yaml_keys(self.conf)
        top_and_sections = {p for p in conf if "[]" not in p}
        # "timeouts", "limits", ... are sections, not keys with a value.
        sections = {p.split(".")[0] for p in self.paths if "." in p}
        self.assertEqual(top_and_sections - sections, set(self.paths),
                         "conf/corsd.yaml's keys differ from src/config.c's")
        in_example = {p.split(".", 1)[1] for p in conf if p.startswith("policies[].")}
        self.assertLessEqual(in_example, set(self.policy),
                             "conf/corsd.yaml's policies use a key the loader refuses")

    def test_conf_comment_documents_every_policy_key(self):
        self.assertEqual(sorted(conf_policy_comment_keys(self.conf)), sorted(self.policy),
                         'conf/corsd.yaml\'s "Keys of a policy" comment differs from '
                         "src/config.c's policy_keys")

    def test_policy_md_has_an_entry_per_key(self):
        top = md_keys_under(self.policy_md, "Top-level keys")
        pol = md_keys_under(self.policy_md, "Policy keys")
        self.assertEqual(sorted(top), sorted(self.paths),
                         "docs/policy.md's '### `key`' entries under 'Top-level keys' "
                         "differ from src/config.c's keys")
        self.assertEqual(sorted(pol), sorted(self.policy),
                         "docs/policy.md's '### `key`' entries under 'Policy keys' differ "
                         "from src/config.c's policy_keys")

    def test_man5_has_an_entry_per_key(self):
        sections = roff_sections(self.man5)
        self.assertIn("KEYS", sections)
        self.assertIn("POLICY KEYS", sections)
        top = [t.split()[0] for t in roff_tags(sections["KEYS"])]
        pol = [t.split()[0] for t in roff_tags(sections["POLICY KEYS"])]
        self.assertEqual(sorted(top), sorted(self.paths),
                         "corsd.yaml.5's KEYS entries differ from src/config.c's keys")
        self.assertEqual(sorted(pol), sorted(self.policy),
                         "corsd.yaml.5's POLICY KEYS entries differ from src/config.c's")


class CommandLineTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        r = run(["-h"])
        assert r.returncode == 0, r.stderr
        cls.help = r.stdout
        cls.man8 = read("man/corsd.8")
        cls.sections = roff_sections(cls.man8)

    def test_synopsis_matches_usage_line(self):
        usage = next(l for l in self.help.splitlines() if l.startswith("usage:"))
        synopsis = " ".join(roff_text(l) for l in self.sections["SYNOPSIS"])
        self.assertEqual(options(synopsis), options(usage),
                         "corsd.8 SYNOPSIS: %r\ncorsd -h: %r" % (synopsis, usage))

    def test_options_section_matches_help(self):
        tags = " ".join(roff_tags(self.sections["OPTIONS"]))
        self.assertEqual(options(tags), options(self.help),
                         "corsd.8 OPTIONS tags differ from corsd -h")
        self.assertGreaterEqual(len(options(self.help)), 10, self.help)

    def test_readme_command_line_matches_help(self):
        readme = read("README.md")
        m = re.search(r"## Command line\n+```\n(.*?)```", readme, re.S)
        self.assertIsNotNone(m, "README.md has no ## Command line block")
        self.assertEqual(options(m.group(1)), options(self.help))

    def test_man_pages_carry_the_version(self):
        r = run(["-V"])
        version = r.stdout.strip().split()[-1]
        for page in ("man/corsd.8", "man/corsd.yaml.5"):
            th = next(l for l in read(page).splitlines() if l.startswith(".TH"))
            self.assertIn('"corsd %s"' % version, th, page)


class MetricsTest(unittest.TestCase):
    def test_metric_names_are_documented(self):
        names = set(re.findall(r"corsd_[a-z_]+", read("src/metrics.c")))
        # A histogram's series are documented by its name.
        names = {re.sub(r"_(bucket|sum|count)$", "", n)
                 if re.sub(r"_(bucket|sum|count)$", "", n) in names else n for n in names}
        self.assertGreaterEqual(len(names), 9, names)
        readme = read("README.md")
        man8 = read("man/corsd.8")
        for n in sorted(names):
            rx = re.compile(r"(?<![a-z_])%s(?![a-z_])" % n)
            self.assertRegex(readme, rx, "README.md does not mention %s" % n)
            self.assertRegex(man8, rx, "man/corsd.8 does not mention %s" % n)


class ManRenderTest(unittest.TestCase):
    PAGES = ("man/corsd.8", "man/corsd.yaml.5")

    def render(self, cmd):
        env = dict(os.environ, MANWIDTH="80", MAN_DISABLE_SECCOMP="1", LC_ALL="C.UTF-8")
        return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT,
                              env=env, cwd=SOURCE_DIR)

    def test_no_warnings(self):
        man, groff = shutil.which("man"), shutil.which("groff")
        if not man and not groff:
            self.skipTest("neither man (Debian package man-db) nor groff (groff-base)")
        for page in self.PAGES:
            with self.subTest(page=page):
                if man:
                    r = self.render([man, "--warnings", "-l", page])
                    self.assertEqual((r.returncode, r.stderr), (0, ""), page)
                    self.assertIn("NAME", r.stdout)
                if groff:
                    r = self.render([groff, "-man", "-ww", "-z", page])
                    self.assertEqual((r.returncode, r.stderr), (0, ""), page)


DOCS = ("README.md", "docs/policy.md", "docs/troubleshooting.md")


class ExamplesTest(unittest.TestCase):
    maxDiff = None

    def test_explain_examples_print_what_the_page_shows(self):
        """A code block running `corsd -c FILE --explain - <<'EOF'` is followed by
        a block with its output; every line shown (a `...` line stands for lines
        left out) must come out, in that order."""
        count = 0
        for doc in DOCS:
            blocks = md_blocks(read(doc))
            for i, block in enumerate(blocks):
                cmd = next((l for l in block if "--explain - <<'EOF'" in l), None)
                if cmd is None:
                    continue
                count += 1
                config = re.search(r"-c (\S+)", cmd).group(1)
                start = block.index(cmd) + 1
                head = block[start:block.index("EOF", start)]
                with self.subTest(doc=doc, request=head[0]):
                    r = run(["-c", config, "--explain", "-"], input="\n".join(head) + "\n")
                    self.assertEqual(r.returncode, 0, r.stderr)
                    shown = [l for l in blocks[i + 1] if l.strip() and l.strip() != "..."]
                    got = r.stdout.splitlines()
                    pos = 0
                    for line in shown:
                        try:
                            pos = got.index(line, pos) + 1
                        except ValueError:
                            self.fail("%s: the --explain example shows\n  %s\nwhich corsd "
                                      "does not print (in that order); it prints:\n%s\n"
                                      "(line numbers move when %s changes)"
                                      % (doc, line, r.stdout, config))
        self.assertGreaterEqual(count, 2)

    def test_relative_links_resolve(self):
        for doc in DOCS:
            text = read(doc)
            base = os.path.dirname(doc)
            for target in re.findall(r"\]\(([^)\s]+)\)", text):
                if re.match(r"^[a-z]+:", target):
                    continue
                with self.subTest(doc=doc, link=target):
                    path, _, anchor = target.partition("#")
                    rel = os.path.normpath(os.path.join(base, path)) if path else doc
                    self.assertTrue(os.path.exists(os.path.join(SOURCE_DIR, rel)),
                                    "%s links to %s, which does not exist" % (doc, rel))
                    if anchor and rel.endswith(".md"):
                        self.assertIn(anchor, md_anchors(read(rel)),
                                      "%s links to %s#%s: no such heading" % (doc, rel, anchor))


if __name__ == "__main__":
    unittest.main(verbosity=2)
