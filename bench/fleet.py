#!/usr/bin/env python3
"""A fleet of hosts against one token service (docs/fleet.md), run by `make bench` after bench.py.

K simulated hosts, each with its own cache directory (XDG_CACHE_HOME) and C callers that run the
real `tok get` every CALL_EVERY seconds (a host is asked about every CALL_EVERY / C seconds, small
against the jitter band), through a bounded pool of worker threads (so processes never pile up),
against one loopback token server issuing tokens of LIFETIME seconds. Three acts: steady state (the
fleet starts together, as runners booted in the same minute), an outage (every token request
answered 503 for OUTAGE seconds), recovery (the server now answers 429 with `Retry-After: 1` above
K/10 requests per second). The fleet goes through them with refresh_jitter 0 and 0.1 (and the
--jitters extras), then with 0 and 0.1 again under the bench-only exact `Retry-After` policy
(TOK_BENCH_EXACT_RETRY_AFTER=1), the comparison for the 429 bar. Every token request's time, host
and answer is recorded; the bars are printed as pass or FAIL with their figures, and go into
bench/results.md (its "Fleet" section, replaced) and the picture into bench/fleet.png.

    bench/fleet.py [BUILD_DIR] [--hosts K] [--callers C] [--call-every S] [--steady S] [--outage S]
                   [--recovery S] [--jitters 0,0.1,...]
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

# The keys the acts are timed with. 120 s tokens: the dynamic stale window is half the token's life,
# 60 s, so each host refreshes about once a minute and refresh_jitter = 0.1 spreads a round over a
# 6 s band, against a host asked every 0.2 s. A 5 s buffer (the default 40 s would leave a 120 s
# token 80 s of use) makes a token usable for 115 s. A 10 s retry_backoff lets the outage show the
# cooldown six times.
LIFETIME = 120
WINDOW = LIFETIME / 2
KEYS = {"expiry_buffer": "5s", "retry_backoff": "10s", "failure_cache": "5s", "refresh_timeout": "20s"}
RETRY_BACKOFF = 10.0
USABLE = LIFETIME - 5.0


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("build", nargs="?", default=os.path.join(ROOT, "build"))
    p.add_argument("--hosts", type=int, default=50)
    p.add_argument("--callers", type=int, default=2, help="callers per host")
    p.add_argument("--call-every", type=float, default=0.4,
                   help="seconds between two calls of one caller (each caller starts at a random phase)")
    # The acts: the cold start at 0 and one refresh round at about 54 to 60 s fit in the steady act;
    # the outage covers the second round's stale points (about 114 to 120 s) and ends when the
    # tokens of the first round have 10 to 15 s of use left, as a fleet that fetched together has.
    p.add_argument("--steady", type=float, default=100.0, help="seconds of steady state (from the cold start)")
    p.add_argument("--outage", type=float, default=60.0)
    p.add_argument("--recovery", type=float, default=40.0)
    p.add_argument("--workers", type=int, default=24, help="the bounded pool of caller processes")
    p.add_argument("--jitters", default="0,0.1",
                   help="refresh_jitter of each run; the bars compare the first two (without and with jitter), "
                        "further runs are reported; the first two are run again with the exact "
                        "Retry-After policy")
    return p.parse_args()


class Fleet:
    def __init__(self, tok, args, jitter, exact, work):
        self.tok, self.hosts, self.callers, self.jitter, self.exact = tok, args.hosts, args.callers, jitter, exact
        self.call_every = args.call_every
        self.work = work
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.workers)
        self.stop = threading.Event()
        self.lag = 0.0  # the longest a call waited for a free worker
        self.calls = 0
        self.failed = []  # the times of the calls that failed (no valid token to hand out)
        self.lock = threading.Lock()
        self.t0 = 0.0

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
        if self.exact:
            env["TOK_BENCH_EXACT_RETRY_AFTER"] = "1"
        return env

    def call(self, argv, env, due):
        with self.lock:
            self.lag = max(self.lag, time.monotonic() - due)
        proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        with self.lock:
            self.calls += 1
            if proc.returncode != 0:
                self.failed.append(time.time() - self.t0)

    def run(self, url, seconds, t0):
        """Every caller of every host calls `tok get` every call_every seconds until `seconds`
        have passed; the first calls of all hosts start together (a cold start)."""
        self.t0 = t0
        start = time.monotonic()
        envs = [self.env(h) for h in range(self.hosts)]
        argvs = [self.argv(url, h) for h in range(self.hosts)]
        rng = random.Random(7)
        # (due, host): the first call of every caller within the first 100 ms, then every call_every.
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
            nxt = when + self.call_every
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


def one_run(tok, args, jitter, exact, work):
    """One fleet through the three acts; returns the requests as (t, host, status) and act times."""
    server = TokenServer(lifetime=LIFETIME).start()
    try:
        fleet = Fleet(tok, args, jitter, exact, os.path.join(work, f"j{jitter}{'-exact' if exact else ''}"))
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
        fleet.run(server.token_url, acts["end"], t0)
        time.sleep(1.0)  # background refreshers still running finish their one request
        stats = server.state.stats()
    finally:
        server.stop()
    requests = [(r["at"] - t0, r["client_id"], r.get("status", 200)) for r in stats["requests"]]
    return {"requests": requests, "acts": acts, "calls": fleet.calls, "failed": fleet.failed, "lag": fleet.lag,
            "jitter": jitter, "exact": exact}


def per_second(requests, start, end, status=None):
    bins = [0] * max(1, int(end - start))
    for t, _, s in requests:
        if start <= t < end and (status is None or s == status):
            i = int(t - start)
            if i < len(bins):
                bins[i] += 1
    return bins


def figures(run, hosts):
    reqs, acts, jitter = run["requests"], run["acts"], run["jitter"]
    steady = [r for r in reqs if r[0] < acts["outage"]]
    outage = [r for r in reqs if acts["outage"] <= r[0] < acts["recovery"]]
    recovery = [r for r in reqs if r[0] >= acts["recovery"]]
    # A host's second request before its token can have gone stale (the earliest point of the
    # jitter band of the stale window, less a second) is one more than needed.
    too_soon = (LIFETIME - WINDOW) - WINDOW * jitter - 1.0
    by_host = {}
    for t, h, s in steady:
        by_host.setdefault(h, []).append(t)
    extra = sum(1 for ts in by_host.values() for a, b in zip(ts, ts[1:]) if b - a < too_soon)
    outage_per_host = {}
    for t, h, s in outage:
        outage_per_host[h] = outage_per_host.get(h, 0) + 1
    # After the outage: when each host got its first new token; every host holds a valid token
    # again once the last of them has.
    renewed = {}
    for t, h, s in recovery:
        if s == 200 and h not in renewed:
            renewed[h] = t - acts["recovery"]
    rec_end = acts["end"] + 1
    return {
        "steady_total": len(steady),
        "steady_hosts": len(by_host),
        "extra": extra,
        # The peak of the refresh rounds: the cold start (all hosts at once, by construction) is left out.
        "peak": max(per_second(steady, 10.0, acts["outage"]) or [0]),
        "outage_max_per_host": max(outage_per_host.values() or [0]),
        "outage_total": len(outage),
        "recovery_429": sum(1 for r in recovery if r[2] == 429),
        "recovery_total": len(recovery),
        "recovery_peak": max(per_second(recovery, acts["recovery"] + 2.0, rec_end) or [0]),
        "renewed": len(renewed),
        "all_valid": max(renewed.values()) if len(renewed) == hosts else None,
        "calls": run["calls"],
        "failed_calls": len(run["failed"]),
        "failed_after_outage": sum(1 for t in run["failed"] if t >= acts["recovery"]),
        "lag": run["lag"],
    }


def label_of(run):
    if run["exact"]:
        return f"refresh_jitter = {run['jitter']:g}, exact Retry-After (bench-only)"
    return f"refresh_jitter = {run['jitter']:g}"


def plot(runs, path, args):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    limit = max(1, args.hosts // 10)
    fig, axes = plt.subplots(len(runs), 1, figsize=(11, 2.9 * len(runs)), sharex=True, sharey=True)
    for ax, run in zip(axes, runs):
        acts = run["acts"]
        end = int(acts["end"]) + 2
        xs = list(range(end))
        ax.bar(xs, per_second(run["requests"], 0, end), width=1.0, align="edge", color="#4477aa",
               label="token requests")
        ax.bar(xs, per_second(run["requests"], 0, end, status=429), width=1.0, align="edge", color="#cc3311",
               label="answered 429")
        ax.axvspan(acts["outage"], acts["recovery"], color="#bbbbbb", alpha=0.4, label="outage (503)")
        ax.axhline(limit, color="#cc3311", linestyle=":", linewidth=1, label=f"limit after the outage ({limit}/s)")
        ax.set_title(label_of(run), fontsize=10)
        ax.set_ylabel("requests / s")
        ax.legend(loc="upper left", fontsize=8)
    axes[-1].set_xlabel("seconds")
    fig.suptitle(f"{args.hosts} hosts x {args.callers} callers (`tok get` every {args.call_every:g} s), "
                 f"{LIFETIME} s tokens", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def main():
    args = parse_args()
    tok = os.path.join(os.path.abspath(args.build), "tok")
    jitters = [float(j) for j in args.jitters.split(",")]
    if len(jitters) < 2:
        sys.exit("fleet.py: --jitters needs at least two values (without and with jitter)")
    # The exact Retry-After policy last, without and with jitter: four runs with the defaults.
    plan = [(j, False) for j in jitters] + [(jitters[0], True), (jitters[1], True)]
    work = tempfile.mkdtemp(prefix="tok-fleet-")
    load = os.getloadavg()
    try:
        runs = []
        for jitter, exact in plan:
            print(f"fleet: {args.hosts} hosts x {args.callers} callers, refresh_jitter {jitter}"
                  f"{', exact Retry-After' if exact else ''} ...", flush=True)
            runs.append(one_run(tok, args, jitter, exact, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()
    every = [figures(run, args.hosts) for run in runs]
    a, b, x = every[0], every[1], every[-1]
    plot(runs, os.path.join(HERE, "fleet.png"), args)
    limit = max(1, args.hosts // 10)
    bound = int(args.outage / RETRY_BACKOFF) + 1
    renew_bound = args.hosts / limit * 2 + RETRY_BACKOFF
    verdict = lambda ok: "pass" if ok else "FAIL"  # noqa: E731
    secs = lambda v: "not all" if v is None else f"{v:.1f} s"  # noqa: E731
    jl = f"{jitters[1]:g}"
    rows = [
        ("steady state: requests beyond one per host per token (all requests)",
         [f"{f['extra']} ({f['steady_total']})" for f in every], "0",
         verdict(all(f["extra"] == 0 and f["steady_hosts"] == args.hosts for f in every))),
        ("steady state: peak requests/s of the refresh rounds (cold start left out)",
         [str(f["peak"]) for f in every], f"jitter {jl} <= half of jitter {jitters[0]:g}: {b['peak']} <= {a['peak'] / 2:g}",
         verdict(b["peak"] * 2 <= a["peak"])),
        (f"{args.outage:g} s outage: most requests from one host",
         [str(f["outage_max_per_host"]) for f in every], f"<= 1 per retry_backoff + 1 = {bound}",
         verdict(all(f["outage_max_per_host"] <= bound for f in every))),
        (f"after the outage (limit {limit}/s): 429 answers, of all requests",
         [f"{f['recovery_429']} of {f['recovery_total']}" for f in every],
         f"jitter {jl}: <= K/2 = {args.hosts // 2} and <= half of exact = {x['recovery_429'] / 2:g}",
         verdict(b["recovery_429"] <= args.hosts / 2 and b["recovery_429"] * 2 <= x["recovery_429"])),
        ("after the outage: highest second's requests after the first 2 s",
         [str(f["recovery_peak"]) for f in every], f"jitter {jl}: <= 2 x limit = {2 * limit}",
         verdict(b["recovery_peak"] <= 2 * limit)),
        ("after the outage: time until every host holds a new token (hosts renewed)",
         [f"{secs(f['all_valid'])} ({f['renewed']})" for f in every],
         f"jitter {jl}: <= (K / limit) x 2 + retry_backoff = {renew_bound:g} s",
         verdict(b["all_valid"] is not None and b["all_valid"] <= renew_bound)),
        ("`tok get` calls (failed; failed after the outage), longest wait for a pool worker",
         [f"{f['calls']} ({f['failed_calls']}; {f['failed_after_outage']}), {f['lag']:.2f} s" for f in every],
         "reported", "reported"),
    ]
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        "## Fleet (bench/fleet.py)",
        "",
        f"Last run: {stamp}, load average {load[0]:.2f} before and {load_after[0]:.2f} after (2 cores). "
        f"{args.hosts} hosts (each its own cache directory), {args.callers} callers each running "
        f"`tok get` every {args.call_every:g} s through a pool of {args.workers} workers; {LIFETIME} s tokens; keys "
        + ", ".join(f"`{k} = {v}`" for k, v in KEYS.items())
        + f". Acts: steady {args.steady:g} s from a cold start, outage {args.outage:g} s (503), recovery "
        f"{args.recovery:g} s with the server limited to {limit} requests/s (429 with `Retry-After: 1` above). "
        "The last two runs repeat the first two with the bench-only exact `Retry-After` policy. See docs/fleet.md.",
        "",
        "![requests per second over time, the four runs](fleet.png)",
        "",
        "| figure | " + " | ".join(label_of(run) for run in runs) + " | bar | verdict |",
        "|---" * (len(runs) + 3) + "|",
        *[f"| {figure} | {' | '.join(values)} | {bar} | {ok} |" for figure, values, bar, ok in rows],
        "",
    ]
    text = "\n".join(lines)
    replace_section("Fleet", text)
    print(text)


if __name__ == "__main__":
    main()
