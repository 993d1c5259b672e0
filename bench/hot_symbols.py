#!/usr/bin/env python3
"""Writes cli/hot_symbols.txt: the functions of `tok` a cache hit runs, for the linker to lay out
side by side (lld --symbol-ordering-file). A hit then touches a few pages of tok's code instead of
faulting in windows all over it: fewer page faults, a smaller peak RSS (bench/results.md).

    bench/hot_symbols.py [BUILD_DIR]     (valgrind's callgrind counts what runs)

A stale list costs speed, never correctness: symbols it names that no longer exist are ignored,
and functions it misses are laid out as usual. Rerun it after changing the cache-hit path."""
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from token_server import TokenServer  # noqa: E402


def executed_functions(callgrind_out, binary):
    """Mangled names of the functions of `binary` that ran, in the order callgrind lists them."""
    objects, names, order = {}, {}, []
    current_ob = None
    pattern = re.compile(r"^(c?ob|c?fn)=\((\d+)\)(?: (.*))?$")
    with open(callgrind_out) as f:
        for line in f:
            m = pattern.match(line.rstrip("\n"))
            if not m:
                continue
            kind, ident, name = m.groups()
            table = objects if kind.endswith("ob") else names
            if name is not None:
                table[ident] = name
            if kind == "ob":
                current_ob = objects.get(ident)
            elif kind == "fn" and current_ob and os.path.realpath(current_ob) == os.path.realpath(binary):
                fn = names.get(ident)
                # callgrind marks a recursion level with 'N and names pseudo-functions in
                # parentheses, "(below main)": neither is a symbol the linker could find.
                fn = re.sub(r"'\d+$", "", fn) if fn else fn
                if fn and fn not in order and not fn.startswith(("0x", "(")):
                    order.append(fn)
    return order


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
    tok = os.path.join(build, "tok")
    with tempfile.TemporaryDirectory(prefix="tok-hot-") as home, TokenServer() as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TOK_", "XDG_"))}
        env.update({"HOME": home, "TOK_CLIENT_SECRET": "x", "TOK_CONFIG": os.path.join(home, "config"),
                    "TOK_CACHE_DIR": os.path.join(home, "cache")})
        with open(env["TOK_CONFIG"], "w") as f:
            f.write(f"[default]\nprovider = oauth\ntoken_url = {server.token_url}\nclient_id = hot\nscopes = a b\n")
        subprocess.run([tok, "get"], env=env, check=True, capture_output=True)
        symbols = []
        for i, args in enumerate((["get"], ["get", "--format", "json"], ["-p", "default", "get", "--format", "header"])):
            out = os.path.join(home, f"callgrind.{i}")
            subprocess.run(["valgrind", "--tool=callgrind", "--demangle=no", f"--callgrind-out-file={out}", tok, *args],
                           env=env, check=True, capture_output=True)
            for fn in executed_functions(out, tok):
                if fn not in symbols:
                    symbols.append(fn)
    target = os.path.join(ROOT, "cli", "hot_symbols.txt")
    with open(target, "w") as f:
        f.write("\n".join(symbols) + "\n")
    print(f"{target}: {len(symbols)} functions")


if __name__ == "__main__":
    main()
