"""make install and make deb: a stripped tok, the docker-credential-tok link, the HTTP module, the
completions and the man page where each belongs; the installed and the packaged tok run (and find
their module) from a scratch tree; the man page renders and lists every command and flag of
--help. Builds nothing new: the targets reuse the build tree under test (TOK_BUILD_DIR)."""
import glob
import json
import os
import re
import subprocess
import tempfile
import unittest

from harness import ROOT, TOK, TokCase, require_program

BUILD = os.environ.get("TOK_BUILD_DIR") or os.path.dirname(os.path.abspath(TOK or "."))
COMPLETION_FILES = {"share/bash-completion/completions/tok": "tok.bash", "share/zsh/vendor-completions/_tok": "_tok",
                    "share/fish/vendor_completions.d/tok.fish": "tok.fish"}


def make(*args, env=None):
    # CMAKE_FLAGS= keeps the build tree's own configuration (a sanitizer tree stays one).
    return subprocess.run([require_program("make"), "--no-print-directory", "-C", ROOT, *args, f"BUILD={BUILD}",
                           "CMAKE_FLAGS=", "JOBS=2"], env=env, capture_output=True, text=True, timeout=900)


class Install(TokCase):
    def setUp(self):
        super().setUp()
        self.config = os.path.join(self.home, "config")
        with open(self.config, "w") as f:
            f.write(f"[work]\nprovider = oauth\ntoken_url = {self.server.token_url}\nclient_id = ci\n"
                    "docker_registries = registry.example.com\n")
        self.env.update({"TOK_CONFIG": self.config, "TOK_CACHE_DIR": self.cache})

    def assert_layout(self, prefix):
        """Everything in place under `prefix`, and the installed programs working."""
        tok = os.path.join(prefix, "bin", "tok")
        link = os.path.join(prefix, "bin", "docker-credential-tok")
        self.assertTrue(os.access(tok, os.X_OK), tok)
        self.assertEqual(os.readlink(link), "tok", "a relative link, so the tree can move")
        self.assertTrue(os.path.isfile(os.path.join(prefix, "lib", "tok", "tok-curl.so")))
        sections = subprocess.run([require_program("readelf"), "-S", "-W", tok], capture_output=True, text=True).stdout
        self.assertFalse(".symtab" in sections or ".debug_info" in sections, f"{tok} is not stripped")
        # The scripts the build wrote from completions/*.in (the global flags filled in).
        for installed, name in COMPLETION_FILES.items():
            with open(os.path.join(prefix, installed)) as a, open(os.path.join(BUILD, "completions", name)) as b:
                self.assertEqual(a.read(), b.read(), installed)
        man = os.path.join(prefix, "share", "man", "man1", "tok.1.gz")
        self.assertTrue(os.path.isfile(man))
        for unit in ("tok-serve.service", "tok-serve.socket"):
            self.assertTrue(os.path.isfile(os.path.join(prefix, "lib", "systemd", "user", unit)), unit)

        # The installed programs run, fetch (tok-curl.so found from bin/../lib/tok, also under
        # the link's name) and share the cache.
        version = subprocess.run([tok, "version", "--format", "json"], capture_output=True, text=True)
        built = json.loads(subprocess.run([TOK, "version", "--format", "json"], capture_output=True, text=True).stdout)
        installed = json.loads(version.stdout)
        self.assertEqual(installed["tok"], built["tok"])
        self.assertEqual(installed["license"], "Apache-2.0")
        text = subprocess.run([tok, "version"], capture_output=True, text=True).stdout
        self.assertIn("license: Apache-2.0", text.splitlines())
        with open(os.path.join(ROOT, "LICENSE")) as f:
            self.assertIn("Apache License", f.read(200))
        with open(os.path.join(ROOT, "README.md")) as f:
            self.assertIn("Apache-2.0", f.read().rstrip().splitlines()[-1])
        for module in installed["modules"]:
            self.assertEqual(module["path"], os.path.join(os.path.realpath(prefix), "lib", "tok", module["file"]),
                             "the installed tok uses its own modules")
            self.assertTrue(module["version"], module)
        proc = subprocess.run([link, "get"], input="registry.example.com", env=self.env, capture_output=True,
                              text=True)
        self.assertEqual(proc.returncode, 0, proc.stdout)
        secret = json.loads(proc.stdout)["Secret"]
        proc = subprocess.run([tok, "get", "-p", "work"], env=self.env, capture_output=True, text=True)
        self.assertEqual(proc.stdout.strip(), secret)
        return man

    def test_make_install_into_destdir_and_into_a_prefix(self):
        self.assertNotIn("install-deps", make("-n", "install").stdout, "installing needs no test peers")
        stage = os.path.join(self.home, "stage")
        proc = make("install", f"DESTDIR={stage}", "PREFIX=/usr/local")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(os.listdir(stage), ["usr"], "nothing outside DESTDIR")
        man = self.assert_layout(os.path.join(stage, "usr", "local"))
        self.check_man_page(man)

        self.assertNotIn("not on your PATH", proc.stdout, "a DESTDIR install is for packaging")
        prefix = os.path.join(self.home, ".local")
        proc = make("install", f"PREFIX={prefix}")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn(f"{prefix}/bin is not on your PATH", proc.stdout)
        self.assert_layout(prefix)
        path = f"/usr/bin:{prefix}/bin:/bin"
        proc = make("install", f"PREFIX={prefix}", env={**os.environ, "PATH": path})
        self.assertNotIn("not on your PATH", proc.stdout)
        self.server.control(reset=True)

    def test_a_plain_cmake_install_strips_too(self):
        prefix = os.path.join(self.home, "plain")
        proc = subprocess.run([require_program("cmake"), "--install", BUILD, "--prefix", prefix], capture_output=True,
                              text=True, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assert_layout(prefix)
        # The user unit names the tok installed with it, and systemd accepts both units.
        units = os.path.join(prefix, "lib", "systemd", "user")
        with open(os.path.join(units, "tok-serve.service")) as f:
            self.assertIn(f"\nExecStart={prefix}/bin/tok serve $TOK_SERVE_ARGS\n", f.read())
        runtime = os.path.join(self.home, "run")
        os.mkdir(runtime, 0o700)
        proc = subprocess.run([require_program("systemd-analyze"), "verify", "--user", "tok-serve.socket",
                               "tok-serve.service"], cwd=units, capture_output=True, text=True, timeout=60,
                              env={**self.env, "XDG_RUNTIME_DIR": runtime,
                                   "MANPATH": os.path.join(prefix, "share", "man")})
        self.assertEqual((proc.returncode, proc.stderr), (0, ""))

    def check_man_page(self, man):
        proc = subprocess.run([require_program("man"), "--warnings", "-l", man], capture_output=True, text=True,
                              env={**self.env, "MANWIDTH": "200", "MAN_KEEP_FORMATTING": "0"})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr, "", "groff warnings")
        text = " ".join(re.sub(r".\x08", "", proc.stdout).split())  # without bold and underline
        self.assertEqual(REPOSITORY_PATH.findall(text), [], "the man page sends its reader to the repository")
        for section in ("NAME", "SYNOPSIS", "COMMANDS", "GLOBAL OPTIONS", "EXIT STATUS", "ENVIRONMENT", "FILES"):
            self.assertTrue(section in text, f"the man page lacks {section}")
        # In step with --help: every command and every flag it lists.
        top = subprocess.run([TOK, "--help"], capture_output=True, text=True).stdout
        commands = [l.split()[0] for l in top.split("Subcommands:\n", 1)[1].split("\n\n", 1)[0].splitlines()]
        for command in commands:
            self.assertTrue(re.search(rf"(?<![\w-]){re.escape(command)}(?![\w-])", text), f"the man page lacks {command}")
            helptext = subprocess.run([TOK, command, "--help"], capture_output=True, text=True).stdout
            for flag in set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", helptext)):
                spelled = flag if flag in text else f"{flag[2:].replace('-', '_')}"  # profile keys by name
                self.assertTrue(spelled in text, f"the man page lacks {flag} ({command})")

    def test_make_deb(self):
        self.assertNotIn("install-deps", make("-n", "deb").stdout)
        for old in glob.glob(os.path.join(BUILD, "tok_*.deb")):
            os.remove(old)
        proc = make("deb")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        debs = glob.glob(os.path.join(BUILD, "tok_*.deb"))
        self.assertEqual(len(debs), 1, debs)
        dpkg_deb = require_program("dpkg-deb")
        listing = subprocess.run([dpkg_deb, "-c", debs[0]], capture_output=True, text=True, check=True).stdout
        for path in ("./usr/bin/tok", "./usr/bin/docker-credential-tok -> tok", "./usr/lib/tok/tok-curl.so",
                     "./usr/share/man/man1/tok.1.gz", "./usr/share/man/man1/docker-credential-tok.1.gz -> tok.1.gz",
                     "./usr/share/doc/tok/copyright",
                     "./usr/share/doc/tok/changelog.gz", *(f"./usr/{p}" for p in COMPLETION_FILES),
                     "./usr/lib/systemd/user/tok-serve.service", "./usr/lib/systemd/user/tok-serve.socket"):
            self.assertIn(path, listing)
        depends = subprocess.run([dpkg_deb, "-f", debs[0], "Depends"], capture_output=True, text=True).stdout
        self.assertRegex(depends, r"\blibc6\b")
        self.assertRegex(depends, r"\blibcurl4\b")
        root = os.path.join(self.home, "extracted")
        subprocess.run([dpkg_deb, "-x", debs[0], root], check=True)
        self.assert_layout(os.path.join(root, "usr"))
        with open(os.path.join(root, "usr", "share", "doc", "tok", "copyright")) as f:
            self.assertIn("License: Apache-2.0", f.read())
        with open(os.path.join(root, "usr", "lib", "systemd", "user", "tok-serve.service")) as f:
            self.assertIn("\nExecStart=/usr/bin/tok serve $TOK_SERVE_ARGS\n", f.read())
        # Debian's own check of the package: no error (the warnings left are listed in
        # docs/install.md).
        lint = subprocess.run([require_program("lintian"), "--tag-display-limit", "0", debs[0]], capture_output=True,
                              text=True, timeout=600)
        errors = [line for line in lint.stdout.splitlines() if line.startswith("E:")]
        self.assertEqual(errors, [], lint.stdout + lint.stderr)


def deps(*args):
    proc = subprocess.run([os.path.join(ROOT, "scripts", "install-deps.sh"), *args, "--list"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def cmake_sources():
    """{path: text} of every CMakeLists.txt of the source tree (build trees aside)."""
    found = {}
    for directory, subdirs, files in os.walk(ROOT):
        subdirs[:] = [d for d in subdirs if not d.startswith(("build", ".")) and d != "node_modules"]
        if "CMakeLists.txt" in files:
            with open(os.path.join(directory, "CMakeLists.txt")) as f:
                found[os.path.relpath(os.path.join(directory, "CMakeLists.txt"), ROOT)] = f.read()
    return found


def target_closure(build, target):
    """{target directory (e.g. cli/CMakeFiles/tok.dir): its build.make} of `target` and everything
    it depends on, from the Unix Makefiles generator's CMakeFiles/Makefile2."""
    makefile2 = os.path.join(build, "CMakeFiles", "Makefile2")
    if not os.path.exists(makefile2):
        raise AssertionError(f"{makefile2} is missing: this check reads a Unix Makefiles build tree")
    edges = {}
    with open(makefile2) as f:
        for a, b in re.findall(r"^(\S+\.dir)/all: (\S+\.dir)/all$", f.read(), re.M):
            edges.setdefault(a, []).append(b)
    start = [d for d in edges if os.path.basename(d) == f"{target}.dir"]
    assert len(start) == 1, f"{target} is not a target of {build} (or has no dependency)"
    seen, todo = set(), start
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(edges.get(node, []))
    closure = {}
    for node in seen:
        with open(os.path.join(build, node, "build.make")) as f:
            closure[node] = f.read()
    return closure


# What a user of an installed tok cannot open: a path of this repository (its folders, a Markdown
# file, the source tree itself). Hints name `man tok` sections or `tok help TOPIC` instead.
REPOSITORY_PATH = re.compile(r"(?<![\w/.-])(?:docs|tests|scripts|bench|packaging|cli|core|providers|completions)/"
                             r"[\w./-]*|[\w-]+\.md\b|README|" + re.escape(ROOT))


def sanitizer_source_location(data, match):
    """A sanitizer build (TOK_TEST_SANITIZE) embeds the source file of every check it reports
    (ROOT/cli/commands/get.cpp, the unity file in the build tree), each a whole string of .rodata.
    No installed binary is built so; in a plain build this is never asked."""
    if not os.environ.get("TOK_TEST_SANITIZE"):
        return False
    start = data.rfind("\0", 0, match.start()) + 1
    end = data.find("\0", match.end())
    whole = data[start:end if end >= 0 else len(data)]
    return re.fullmatch(re.escape(ROOT) + r"/[\w./-]+\.(?:cpp|hpp|h|c|cxx)", whole) is not None


class NoRepositoryPaths(unittest.TestCase):
    """Installed users have no checkout: nothing installed sends them to one."""

    def test_no_string_of_tok_or_its_modules_names_a_repository_path(self):
        objcopy = require_program("objcopy")
        programs = [TOK] + sorted(glob.glob(os.path.join(BUILD, "tok-*.so")))
        self.assertGreaterEqual(len(programs), 4, programs)
        with tempfile.TemporaryDirectory() as tmp:
            for program in programs:
                rodata = os.path.join(tmp, "rodata")
                subprocess.run([objcopy, "-O", "binary", "--only-section=.rodata", program, rodata], check=True)
                with open(rodata, "rb") as f:
                    data = f.read().decode("latin-1")
                self.assertGreater(len(data), 200, program)
                found = [data[max(0, m.start() - 60):m.end()].split("\0")[-1] for m in REPOSITORY_PATH.finditer(data)
                         if not sanitizer_source_location(data, m)]
                self.assertEqual(found, [], f"{program} names a repository path in what it prints")

    def test_installed_text_files_name_no_repository_path(self):
        for name in ("packaging/tok-serve.socket", "packaging/tok-serve.service.in",
                     *(os.path.join(BUILD, "completions", n) for n in COMPLETION_FILES.values())):
            with open(os.path.join(ROOT, name)) as f:
                self.assertEqual(REPOSITORY_PATH.findall(f.read()), [], name)


class InstallBuildsOnlyWhatItInstalls(unittest.TestCase):
    """make install and make deb build the tok_installed target: every installed file, no test."""

    def test_make_install_and_deb_build_only_tok_installed(self):
        for target in ("install", "deb"):
            out = make("-n", target).stdout
            builds = [l for l in out.splitlines() if "cmake --build" in l]
            self.assertTrue(builds, out)
            for line in builds:
                self.assertRegex(line, r"--target tok_installed$", f"make {target} builds more than it installs")
            self.assertNotIn("ctest", out)
        # cpack (make deb) builds the generated `preinstall` target, which must not build `all`.
        with open(os.path.join(BUILD, "Makefile")) as f:
            self.assertNotRegex(f.read(), r"(?m)^preinstall: all$", "make deb would build the tests")

    def test_tok_installed_holds_every_installed_target_and_no_test(self):
        closure = target_closure(BUILD, "tok_installed")
        names = {os.path.basename(d)[:-len(".dir")] for d in closure}
        self.assertEqual([d for d in closure if d.startswith(("tests/", "bench/"))], [],
                         "make install would build a test, fuzz or benchmark program")
        sources = cmake_sources()
        text = "\n".join(sources.values())
        installed_targets = set(re.findall(r"install\(TARGETS\s+(\w+)", text))
        self.assertIn("tok", installed_targets)
        self.assertLessEqual(installed_targets, names, "an install(TARGETS) target is missing from tok_installed")
        # Built files installed by path: each is made by a target of tok_installed (the unit
        # written by install(CODE) aside: it is made when installing).
        made_when_installing = set(re.findall(r"configure_file\([^\n]*?\$\{PROJECT_BINARY_DIR\}/([\w.-]+)", text))
        rules = "\n".join(closure.values())
        for name in set(re.findall(r"install\(FILES\s+\$\{PROJECT_BINARY_DIR\}/([\w.-]+)", text)) - made_when_installing:
            self.assertIn(f"/{name}", rules, f"{name} is installed but no target of tok_installed makes it")


class Setup(unittest.TestCase):
    """`make demo` and `make install` need the compiler and libraries, not the test peers."""

    # Programs only the tests, benchmarks or fuzzing run; none may come with `make demo`.
    PEERS = {"azure-cli", "clang", "libclang-rt-14-dev", "hyperfine", "strace", "zsh", "fish", "dash", "wrk",
             "lintian", "man-db", "python3-azure", "python3-google-auth", "python3-requests", "nodejs", "npm",
             "nginx", "chromium", "awscli", "python3-matplotlib"}

    def test_the_build_list_holds_no_peer(self):
        build, everything = deps(), deps("--peers")
        self.assertIn("cmake", build)
        self.assertEqual(set(build) & self.PEERS, set(), "make demo must not install test peers")
        self.assertLessEqual(set(build), set(everything), "--peers adds to the build list")
        self.assertIn("lintian", everything)
        self.assertIn("azure-cli", everything)

    def test_try_adds_node_and_its_npm_packages_only(self):
        self.assertEqual(set(deps("--try")) - set(deps()), {"nodejs", "npm"})
        out = make("-n", "try").stdout
        self.assertIn("scripts/install-deps.sh --try", out)
        self.assertNotIn("--peers", out)
        self.assertRegex(out, r"cmake --build \S+ -j \d+ --target tok_installed")
        self.assertIn(f"scripts/try.py {BUILD}", out)

    def test_install_deps_says_when_it_has_nothing_to_do(self):
        missing = subprocess.run(["dpkg-query", "-W", "-f=${Status}\n", *deps()], capture_output=True, text=True)
        self.assertEqual(missing.stdout.count("install ok installed"), len(deps()),
                         "this machine lacks a build dependency: scripts/install-deps.sh would install it")
        require_program("docker")  # else install-deps.sh would install Debian's docker.io
        proc = subprocess.run([os.path.join(ROOT, "scripts", "install-deps.sh")], capture_output=True, text=True,
                              timeout=60)
        self.assertEqual((proc.returncode, proc.stdout.strip()),
                         (0, "install-deps: nothing to do: every package is installed"), proc.stderr)

    def test_demo_installs_the_build_list_and_check_the_peers(self):
        def install_lines(target):
            return [l for l in make("-n", target).stdout.splitlines() if "install-deps" in l]
        self.assertTrue(install_lines("demo"))
        self.assertTrue(all("--peers" not in l for l in install_lines("demo")), install_lines("demo"))
        self.assertTrue(any("--peers" in l for l in install_lines("check")), install_lines("check"))

    def test_demo_prints_no_escape_codes_into_a_file(self):
        proc = subprocess.run([os.path.join(ROOT, "scripts", "demo.sh"), BUILD], capture_output=True, text=True,
                              timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("$ tok get", proc.stdout)
        self.assertNotIn("\x1b", proc.stdout + proc.stderr)


if __name__ == "__main__":
    unittest.main()
