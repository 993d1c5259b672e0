"""One world (docs/design.md, "The world"): the real world, core/world.cpp, is the only source in
cli/, core/ and providers/ that reads a clock, sleeps, draws the engine's random numbers or reads
the process environment. Everything else gets them from an injected World, so that tests can
run on a fake one. This test reads the sources; it fails naming each file and line that reaches
past the world."""
import os
import re
import unittest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SCANNED = ("cli", "core", "providers")
REAL_WORLD = {os.path.join("core", "world.cpp")}

# What only the real world may do.
FORBIDDEN = {
    "a clock": re.compile(r"\b(?:steady_clock|system_clock|high_resolution_clock|utc_clock|file_clock)::now\b"
                          r"|\bclock_gettime\s*\(|\bgettimeofday\s*\(|\btime\s*\(\s*(?:nullptr|NULL|0)\s*\)"),
    "sleeping": re.compile(r"\bsleep_for\b|\bsleep_until\b|\busleep\s*\(|\bnanosleep\s*\(|::sleep\s*\("),
    "the engine's random numbers": re.compile(r"\brandom_device\b|\bmt19937(?:_64)?\b|\bminstd_rand0?\b"
                                              r"|\bdefault_random_engine\b|\bs?rand\s*\(|\bdrand48\s*\("),
    "the environment": re.compile(r"\b(?:secure_)?getenv\s*\(|\benviron\b"),
}


def code_of(text):
    """The text without comments and string literals, line breaks kept (so lines still count)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif c == '"' and i > 0 and text[i - 1] == "R":  # a raw string: R"delim( ... )delim"
            m = re.match(r'"([^(\s]*)\(', text[i:])
            end = text.find(")" + (m.group(1) if m else "") + '"', i)
            end = n if end < 0 else end + len(m.group(1) if m else "") + 2
            out.append("\n" * text.count("\n", i, end))
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def violations(root=ROOT):
    found = []
    for top in SCANNED:
        for directory, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if not name.endswith((".cpp", ".hpp", ".h", ".cc")):
                    continue
                path = os.path.join(directory, name)
                rel = os.path.relpath(path, root)
                if rel in REAL_WORLD:
                    continue
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                shown = text.split("\n")
                for number, line in enumerate(code_of(text).split("\n"), 1):
                    for what, pattern in FORBIDDEN.items():
                        if pattern.search(line):
                            found.append(f"{rel}:{number}: {what} outside the world: {shown[number - 1].strip()}")
    return found


# The unit tests run on a fake world: none sleeps, none changes the process environment. The one
# exception is TzGuard (tests/unit/fakes.hpp): TZ is read by the C library's local-time functions,
# which no World carries.
UNIT_TESTS = os.path.join("tests", "unit")
TZ_GUARD = os.path.join("tests", "unit", "fakes.hpp")
UNIT_FORBIDDEN = {
    "sleeping": FORBIDDEN["sleeping"],
    "a change of the process environment": re.compile(r"\b(?:setenv|unsetenv|putenv|clearenv)\s*\("),
}


def unit_test_violations(root=ROOT):
    found = []
    for name in sorted(os.listdir(os.path.join(root, UNIT_TESTS))):
        rel = os.path.join(UNIT_TESTS, name)
        if not name.endswith((".cpp", ".hpp")) or rel == TZ_GUARD:
            continue
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            text = f.read()
        for number, line in enumerate(code_of(text).split("\n"), 1):
            for what, pattern in UNIT_FORBIDDEN.items():
                if pattern.search(line):
                    found.append(f"{rel}:{number}: {what} in a unit test: {text.split(chr(10))[number - 1].strip()}")
    with open(os.path.join(root, TZ_GUARD), encoding="utf-8") as f:
        guard = code_of(f.read())
    for call in re.findall(r"\b(?:setenv|unsetenv|putenv|clearenv)\s*\(\s*([^,)]*)", guard):
        if call.strip() != '""':  # the literal "TZ", emptied by code_of
            found.append(f"{TZ_GUARD}: a change of the process environment other than TZ: {call}")
    return found


class OneWorld(unittest.TestCase):
    def test_unit_tests_neither_sleep_nor_change_the_process_environment(self):
        found = unit_test_violations()
        self.assertEqual(found, [], "use tok_test::FakeWorld (tests/unit/fake_world.hpp):\n" + "\n".join(found))

    def test_only_the_real_world_reads_clocks_sleeps_draws_or_reads_the_environment(self):
        found = violations()
        self.assertEqual(found, [], "use the injected World (core/world.hpp) instead:\n" + "\n".join(found))

    def test_the_real_world_does_each_of_them(self):
        # Not vacuous: the patterns find what the real world does.
        with open(os.path.join(ROOT, "core", "world.cpp"), encoding="utf-8") as f:
            code = code_of(f.read())
        for what, pattern in FORBIDDEN.items():
            self.assertRegex(code, pattern, f"core/world.cpp no longer does {what}: is the pattern stale?")

    def test_the_scan_sees_a_use_and_ignores_comments_and_strings(self):
        sample = ('auto t = std::chrono::steady_clock::now();\n'
                  '// std::getenv("HOME") in a comment\n'
                  'const char* s = "sleep_for(1s)";\n'
                  'const char* v = std::getenv("HOME");\n'
                  '/* random_device\n mt19937 */ int x = 0;\n')
        code = code_of(sample)
        hits = [n for n, line in enumerate(code.split("\n"), 1)
                if any(p.search(line) for p in FORBIDDEN.values())]
        self.assertEqual(hits, [1, 4])


if __name__ == "__main__":
    unittest.main()
