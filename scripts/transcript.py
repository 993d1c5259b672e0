#!/usr/bin/env python3
"""The transcript in the README's "When the token server fails" section, made by running tok
(so it cannot drift).

    scripts/transcript.py [--tok build/tok]            print it
    scripts/transcript.py --update README.md           replace the block between the markers
    scripts/transcript.py --check README.md            exit 1 if the README's block differs

A loopback token server (tests/support/token_server.py) issues 10-minute tokens; the profile goes
stale 5 s after each fetch and backs off 10 s after a failure, so the whole story takes seconds:
set up, get, status while fresh, the server failing (the warning, the truth), recovery.
--check compares after blanking what changes from run to run: times, durations, ports, tokens,
the temporary home and the cache file's hash.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from token_server import TokenServer  # noqa: E402

BEGIN = "<!-- transcript: begin (scripts/transcript.py --update README.md) -->"
END = "<!-- transcript: end -->"


def run(tok, home):
    server = TokenServer(lifetime=600, clients={"demo-client": "demo secret"}).start()
    lines = []
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOK_", "XDG_"))}
    env.update({"HOME": home, "LC_ALL": "C", "DEMO_SECRET": "demo secret", "TOK_CONFIG": f"{home}/.config/tok/config"})
    os.makedirs(f"{home}/.config/tok")
    config = (f"[default]\nprovider = oauth\ntoken_url = {server.token_url}\nclient_id = demo-client\n"
              "client_secret_env = DEMO_SECRET\nscopes = api:read\n"
              "stale_window = 9m55s     ; 10-minute tokens go stale 5 s after each fetch\n"
              "retry_backoff = 10s      ; a failed refresh is retried 10 s later\n"
              "refresh_jitter = 0       ; exactly then (many hosts want the default 0.1)\n")
    with open(env["TOK_CONFIG"], "w") as f:
        f.write(config)

    def say(text):
        lines.append(text)

    def shell(command):
        say(f"$ {command}")
        proc = subprocess.run(["sh", "-c", command.replace("tok ", f"{tok} ", 1).replace("; tok ", f"; {tok} ")],
                              env=env, capture_output=True, text=True, timeout=60)
        out = (proc.stdout + proc.stderr).replace(home, "~").rstrip("\n")
        if out:
            lines.extend(out.split("\n"))
        return proc

    def status():
        return json.loads(subprocess.run([tok, "status", "--format", "json"], env=env, capture_output=True,
                                         text=True).stdout)

    def wait(predicate):
        deadline = time.monotonic() + 30
        while not predicate():
            if time.monotonic() > deadline:
                raise SystemExit("transcript: timed out")
            time.sleep(0.05)

    try:
        say("$ cat ~/.config/tok/config")
        lines.extend(config.rstrip("\n").split("\n"))
        shell("tok get")
        shell("tok status")
        say("")
        say("# The token server goes down (every answer 503), and the token goes stale:")
        server.control(faults=[{"status": 503, "body": "down for maintenance", "times": 1000}])
        wait(lambda: status()["state"] == "stale")
        shell("tok get            # served at once; a background refresh starts, and fails")
        wait(lambda: status()["refresh"] == "failing")
        shell("tok get            # still served, with a warning on stderr (-q silences it)")
        shell("tok status")
        shell("tok status --check >/dev/null; echo \"usable: exit $?\"")
        say("")
        say("# The server is back. After the backoff, the next get refreshes in the background:")
        server.control(reset=True)
        wait(lambda: status()["next_attempt"] is None)
        shell("tok get")
        wait(lambda: status()["generation"] == 2)
        shell("tok status")
    finally:
        server.stop()
    return "\n".join(lines) + "\n"


VOLATILE = [
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"), "<time>"),
    (re.compile(r"\b\d\d:\d\d:\d\d UTC\b"), "<time> UTC"),
    (re.compile(r"\b(\d+(ms|h|m|s))+\b"), "<duration>"),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:<port>"),
    (re.compile(r"tok\d{4}\.[0-9a-f]{24}"), "<token>"),
    (re.compile(r"default-[0-9a-f]{16}\.json"), "default-<hash>.json"),
]


def normalized(text):
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def block_of(readme):
    with open(readme) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{readme}: no transcript markers")
    head, rest = text.split(BEGIN, 1)
    body, tail = rest.split(END, 1)
    return text, head, body, tail


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tok", default=os.environ.get("TOK_BIN") or os.path.join(ROOT, "build", "tok"))
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--update", metavar="README")
    group.add_argument("--check", metavar="README")
    args = ap.parse_args()
    tok = os.path.abspath(args.tok)
    if not os.access(tok, os.X_OK):
        raise SystemExit(f"transcript: no tok binary at {tok} (build first, or pass --tok)")
    with tempfile.TemporaryDirectory(prefix="tok-transcript-") as home:
        transcript = run(tok, home)
    fenced = "\n```console\n" + transcript + "```\n"
    if args.update:
        _, head, _, tail = block_of(args.update)
        with open(args.update, "w") as f:
            f.write(head + BEGIN + fenced + END + tail)
    elif args.check:
        _, _, body, _ = block_of(args.check)
        if normalized(body) != normalized(fenced):
            import difflib
            sys.stdout.writelines(difflib.unified_diff(normalized(body).splitlines(True), normalized(fenced).splitlines(True),
                                                       "README.md", "scripts/transcript.py"))
            print("the README's transcript is out of date: run scripts/transcript.py --update README.md")
            return 1
    else:
        sys.stdout.write(transcript)
    return 0


if __name__ == "__main__":
    sys.exit(main())
