"""What a cache hit pays before main. cli/hot_symbols.txt, the order lld lays out the functions a
cache hit runs (docs/engine.md, "Cache hits are cheap"), names only functions this tok has. The
linker ignores names it does not find (--no-warn-symbol-ordering: sanitizer and debug builds name
them differently), so a list gone stale would cost a hit its layout without a word. And tok names
no shared library but libc. Registered for the build the list is made from: RelWithDebInfo, linked
by lld, no sanitizer. When the list fails: bench/hot_symbols.py build."""
import os
import subprocess
import unittest

from harness import ROOT, TOK, require_program


class HotSymbols(unittest.TestCase):
    def test_every_listed_function_is_in_tok(self):
        nm = require_program("nm")
        out = subprocess.run([nm, "--defined-only", "--format=just-symbols", TOK], capture_output=True, text=True,
                             check=True).stdout
        defined = set(out.split())
        with open(os.path.join(ROOT, "cli", "hot_symbols.txt")) as f:
            listed = [line.strip() for line in f if line.strip()]
        self.assertGreater(len(listed), 50, "the list is the cache hit's functions: dozens of them")
        missing = [name for name in listed if name not in defined]
        self.assertEqual(missing, [], f"{len(missing)} of {len(listed)} names in cli/hot_symbols.txt are not in "
                                      f"{TOK}: regenerate it with bench/hot_symbols.py")

    def test_tok_loads_no_library_but_libc(self):
        # Every library a program names is mapped and relocated at each start, before main: libm,
        # named for one llround, cost a cache hit some 24,000 instructions (callgrind) and a few
        # percent of its time. libstdc++ is linked in (tok_static_runtime); the loader itself is
        # named for _dl_find_object (the unwinder's).
        readelf = require_program("readelf")
        out = subprocess.run([readelf, "-d", TOK], capture_output=True, text=True, check=True).stdout
        needed = sorted(line.split("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line)
        self.assertEqual([n for n in needed if not n.startswith(("libc.so", "ld-linux"))], [],
                         f"{TOK} names {needed}: a cache hit would load each; link it in or drop the call")

if __name__ == "__main__":
    unittest.main()
