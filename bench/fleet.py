#!/usr/bin/env python3
"""A fleet of hosts against one token service (docs/fleet.md), run by `make bench` after bench.py.

K simulated hosts, each with its own cache directory (XDG_CACHE_HOME) and C callers that run the
real `tok get` every few seconds, through a bounded pool of worker threads (so processes never
pile up), against one loopback token server issuing tokens of LIFETIME seconds. Three acts:
steady state (the fleet starts together, as runners booted in the same minute), an outage
(every token request answered 503 for OUTAGE seconds), recovery (the server now answers 429 above
K/10 requests per second). Run twice, with refresh_jitter 0 and with the default 0.1. Every
token request's time, host and answer is recorded; the figures go into bench/results.md (its
"Fleet" section, replaced) and the picture into bench/fleet.png.

    bench/fleet.py [BUILD_DIR] [--hosts K] [--callers C] [--steady S] [--outage S] [--recovery S]
"""
import argparse
import concurrent.futures
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from results_section import replace_section

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from token_server import TokenServer  # noqa: E402

# The keys the acts are timed with. 60 s tokens: with a 5 s buffer (40 s would leave a 60 s token
# 20 s of use) the dynamic stale window is 30 s, so each host refreshes about every 30 s; a 10 s
# retry_backoff lets a 30 s outage show the cooldown three times.
LIFETIME = 60
KEYS = {"expiry_buffer": "5s", "retry_backoff": "10s", "failure_cache": "5s", "refresh_timeout": "20s"}
RETRY_BACKOFF = 10.0
CALL_EVERY = 2.0  # seconds between two calls of one caller (each caller starts at a random phase)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("build", nargs="?", default=os.path.join(ROOT, "build"))
    p.add_argument("--hosts", type=int, default=50)
    p.add_argument("--callers", type=int, default=4)
    p.add_argument("--steady", type=float, default=75.0, help="seconds of steady state (from the cold start)")
    p.add_argument("--outage", type=float, default=30.0)
    p.add_argument("--recovery", type=float, default=40.0)
    p.add_argument("--workers", type=int, default=24, help="the bounded pool of caller processes")
    p.add_argument("--jitters", default="0,0.1",
                   help="refresh_jitter of each run; the bars compare the first two (without and with jitter), "
                        "further runs are reported")
    return p.parse_args()


class Fleet:
    def __init__(self, tok, hosts, callers, workers, jitter, work):
        self.tok, self.hosts, self.callers, self.jitter = tok, hosts, callers, jitter
        self.work = work
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
        self.stop = threading.Event()
        self.lag = 0.0  # the longest a call waited for a free worker
        self.calls = 0
        self.failed_calls = 0
        self.lock = threading.Lock()

    def argv(self, url, host):
        keys = dict(KEYS, refresh_jitter=str(self.jitter))
        flags = [f"--{k.replace('_', '-')}={v}" for k, v in keys.items()]
        return [self.tok, "get", "-q", "--provider", "oauth", "--token-url", url, "--client-id", f"host-{host:03d}",
                *flags]

    def env(self, host):
        home = os.path.join(self.work, f"host-{host:03d}")
        os.makedirs(home, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TOK_", "XDG_"))}
        env.update({"HOME": home, "XDG_CACHE_HOME": os.path.join(home, "cache"), "TOK_CLIENT_SECRET": "fleet"})
        return env

    def call(self, argv, env, due):
        with self.lock:
            self.lag = max(self.lag, time.monotonic() - due)
        proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        with self.lock:
            self.calls += 1
            self.failed_calls += proc.returncode != 0

    def run(self, url, seconds):
        """Every caller of every host calls `tok get` every CALL_EVERY seconds until `seconds`
        have passed; the first calls of all hosts start together (a cold start)."""
        start = time.monotonic()
        envs = [self.env(h) for h in range(self.hosts)]
        argvs = [self.argv(url, h) for h in range(self.hosts)]
        rng = random.Random(7)
        # (due, host): the first call of every caller within the first 100 ms, then every CALL_EVERY.
        due = sorted((start + rng.uniform(0, 0.1), h) for h in range(self.hosts) for _ in range(self.callers))
        pending = set()
        while due and not self.stop.is_set():
            when, host = due.pop(0)
            if when - start >= seconds:
                break
            delay = when - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pending = {f for f in pending if not f.done()}
            pending.add(self.pool.submit(self.call, argvs[host], envs[host], when))
            nxt = when + CALL_EVERY
            # keep `due` sorted: insert by bisection
            lo, hi = 0, len(due)
            while lo < hi:
                mid = (lo + hi) // 2
                if due[mid][0] < nxt:
                    lo = mid + 1
                else:
                    hi = mid
            due.insert(lo, (nxt, host))
        concurrent.futures.wait(pending)
        self.pool.shutdown(wait=True)


def one_run(tok, args, jitter, work):
    """One fleet through the three acts; returns the requests as (t, host, status) and act times."""
    server = TokenServer(lifetime=LIFETIME).start()
    try:
        fleet = Fleet(tok, args.hosts, args.callers, args.workers, jitter, os.path.join(work, f"j{jitter}"))
        t0 = time.time()
        acts = {"outage": args.steady, "recovery": args.steady + args.outage,
                "end": args.steady + args.outage + args.recovery}

        def director():
            # The acts, on the server's side.
            time.sleep(max(0.0, t0 + acts["outage"] - time.time()))
            server.control(faults=[{"status": 503, "body": "maintenance", "times": 100_000}])
            time.sleep(max(0.0, t0 + acts["recovery"] - time.time()))
            with server.state.lock:  # the faults go, the requests recorded stay
                server.state.faults.clear()
                server.state.rate_limit = max(1, args.hosts // 10)

        threading.Thread(target=director, daemon=True).start()
        fleet.run(server.token_url, acts["end"])
        time.sleep(1.0)  # background refreshers still running finish their one request
        stats = server.state.stats()
    finally:
        server.stop()
    requests = [(r["at"] - t0, r["client_id"], r.get("status", 200)) for r in stats["requests"]]
    return {"requests": requests, "acts": acts, "calls": fleet.calls, "failed_calls": fleet.failed_calls,
            "lag": fleet.lag}


def per_second(requests, start, end, status=None):
    bins = [0] * max(1, int(end - start))
    for t, _, s in requests:
        if start <= t < end and (status is None or s == status):
            i = int(t - start)
            if i < len(bins):
                bins[i] += 1
    return bins


def figures(run, jitter):
    reqs, acts = run["requests"], run["acts"]
    steady = [r for r in reqs if r[0] < acts["outage"]]
    outage = [r for r in reqs if acts["outage"] <= r[0] < acts["recovery"]]
    recovery = [r for r in reqs if r[0] >= acts["recovery"]]
    # A host's second request before its token can have gone stale (the earliest point of the
    # jitter band of a 30 s window, less a second) is one more than needed.
    too_soon = 30.0 * (1.0 - jitter) - 1.0
    by_host = {}
    for t, h, s in steady:
        by_host.setdefault(h, []).append(t)
    extra = sum(1 for ts in by_host.values() for a, b in zip(ts, ts[1:]) if b - a < too_soon)
    # Rounds: the cold start, then one refresh round per ~30 s; each round should be K requests.
    cold = [r for r in steady if r[0] < 10.0]
    refresh_rounds = len(steady) - len(cold)
    outage_per_host = {}
    for t, h, s in outage:
        outage_per_host[h] = outage_per_host.get(h, 0) + 1
    return {
        "cold": len(cold),
        "steady_total": len(steady),
        "steady_hosts": len(by_host),
        "extra": extra,
        "refresh_requests": refresh_rounds,
        # The peak of the refresh rounds: the cold start (all hosts at once, by construction) is left out.
        "peak": max(per_second(steady, 10.0, acts["outage"]) or [0]),
        "outage_max_per_host": max(outage_per_host.values() or [0]),
        "outage_total": len(outage),
        "recovery_429": sum(1 for r in recovery if r[2] == 429),
        "recovery_total": len(recovery),
        "recovery_peak": max(per_second(recovery, acts["recovery"], acts["end"] + 1) or [0]),
        "calls": run["calls"],
        "failed_calls": run["failed_calls"],
        "lag": run["lag"],
    }


def plot(runs, path, args):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(runs), 1, figsize=(11, 3.25 * len(runs)), sharex=True, sharey=True)
    for ax, (label, run) in zip(axes, runs):
        acts = run["acts"]
        end = int(acts["end"]) + 2
        xs = list(range(end))
        ax.bar(xs, per_second(run["requests"], 0, end), width=1.0, align="edge", color="#4477aa",
               label="token requests")
        ax.bar(xs, per_second(run["requests"], 0, end, status=429), width=1.0, align="edge", color="#cc3311",
               label="answered 429")
        ax.axvspan(acts["outage"], acts["recovery"], color="#bbbbbb", alpha=0.4, label="outage (503)")
        ax.axhline(max(1, args.hosts // 10), color="#cc3311", linestyle=":", linewidth=1,
                   label=f"limit after the outage ({max(1, args.hosts // 10)}/s)")
        ax.set_title(label, fontsize=10)
        ax.set_ylabel("requests / s")
        ax.legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("seconds")
    fig.suptitle(f"{args.hosts} hosts x {args.callers} callers (`tok get` every {CALL_EVERY:g} s), "
                 f"{LIFETIME} s tokens", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def main():
    args = parse_args()
    tok = os.path.join(os.path.abspath(args.build), "tok")
    work = tempfile.mkdtemp(prefix="tok-fleet-")
    try:
        runs = []
        for jitter in [float(j) for j in args.jitters.split(",")]:
            print(f"fleet: {args.hosts} hosts x {args.callers} callers, refresh_jitter {jitter} ...", flush=True)
            runs.append((f"refresh_jitter = {jitter:g}", one_run(tok, args, jitter, work)))
            runs[-1][1]["jitter"] = jitter
    finally:
        shutil.rmtree(work, ignore_errors=True)
    every = [figures(run, run["jitter"]) for _, run in runs]
    a, b = every[0], every[1]
    plot(runs, os.path.join(HERE, "fleet.png"), args)
    limit = max(1, args.hosts // 10)
    bound = int(args.outage / RETRY_BACKOFF) + 1
    verdict = lambda ok: "pass" if ok else "FAIL"  # noqa: E731
    rows = [
        ("steady state: requests beyond one per host per token (cold start + refresh rounds)",
         [f"{f['extra']} ({f['steady_total']} requests)" for f in every], "0",
         verdict(all(f["extra"] == 0 and f["steady_hosts"] == args.hosts for f in (a, b)))),
        ("steady state: peak requests/s of the refresh rounds (cold start left out)",
         [str(f["peak"]) for f in every], "with jitter <= half of without", verdict(b["peak"] * 2 <= a["peak"])),
        (f"{args.outage:g} s outage: most requests from one host",
         [str(f["outage_max_per_host"]) for f in every], f"<= 1 per retry_backoff + 1 = {bound}",
         verdict(all(f["outage_max_per_host"] <= bound for f in (a, b)))),
        (f"recovery: 429 answers (limit {limit} req/s), of all requests",
         [f"{f['recovery_429']} of {f['recovery_total']}" for f in every], "0 with jitter",
         verdict(b["recovery_429"] == 0)),
        ("recovery: peak requests/s", [str(f["recovery_peak"]) for f in every], "reported", "reported"),
        ("`tok get` calls (failed), longest wait for a pool worker",
         [f"{f['calls']} ({f['failed_calls']}), {f['lag']:.2f} s" for f in every], "reported", "reported"),
    ]
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        "## Fleet (bench/fleet.py)",
        "",
        f"Last run: {stamp}. {args.hosts} hosts (each its own cache directory), {args.callers} callers each running "
        f"`tok get` every {CALL_EVERY:g} s through a pool of {args.workers} workers; {LIFETIME} s tokens; keys "
        + ", ".join(f"`{k} = {v}`" for k, v in KEYS.items())
        + f". Acts: steady {args.steady:g} s from a cold start, outage {args.outage:g} s (503), recovery "
        f"{args.recovery:g} s with the server limited to {limit} requests/s (429 above). "
        "See docs/fleet.md.",
        "",
        "![requests per second over time, without and with jitter](fleet.png)",
        "",
        "| figure | " + " | ".join(label for label, _ in runs) + " | bar | verdict |",
        "|---" * (len(runs) + 3) + "|",
        *[f"| {figure} | {' | '.join(values)} | {bar} | {ok} |" for figure, values, bar, ok in rows],
        "",
    ]
    text = "\n".join(lines)
    replace_section("Fleet", text)
    print(text)


if __name__ == "__main__":
    main()
