"""`make bench`, AWS rows (docs/aws.md): the AWS CLI asking for its credentials through
`credential_process = tok get ... --format credential-process` (cached) against the same CLI with
the helper itself as `credential_process`, side by side, as a ratio. The helper is a real one that
needs no network: `aws configure export-credentials` of a profile with static keys (what
aws-vault, granted or an SSO helper would be, minus their network round trip, so the ratio is a
floor). Writes the "AWS" section of bench/results.md (replaced; bench.py rewrites the rest)."""
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

from results_section import replace_section

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build"))
TOK = os.path.join(BUILD, "tok")
AWS = "/usr/bin/aws"  # Debian's AWS CLI v2; another `aws` may come first on PATH
ROUNDS = 5
RUNS = 6


def main():
    work = tempfile.mkdtemp(prefix="tok-bench-aws-")
    try:
        aws_config = os.path.join(work, "aws-config")
        helper = f"{AWS} configure export-credentials --profile static --format process"
        with open(aws_config, "w") as f:
            f.write(f"[profile static]\nregion = us-east-1\n"
                    f"[profile direct]\nregion = us-east-1\ncredential_process = {helper}\n"
                    f"[profile cached]\nregion = us-east-1\n"
                    f"credential_process = {shlex.quote(TOK)} get -p aws --format credential-process\n")
        with open(os.path.join(work, "aws-credentials"), "w") as f:
            f.write("[static]\naws_access_key_id = AKIABENCHEXAMPLE0001\n"
                    "aws_secret_access_key = benchSecretAccessKey0123456789abcdefghij\n")
        with open(os.path.join(work, "tok-config"), "w") as f:
            # Static keys carry no Expiration: tok keeps them for default_lifetime.
            f.write(f"[aws]\nprovider = command\ncommand = {helper}\ndefault_lifetime = 1h\n")
        env = {"HOME": work, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "AWS_CONFIG_FILE": aws_config,
               "AWS_SHARED_CREDENTIALS_FILE": os.path.join(work, "aws-credentials"), "AWS_REGION": "us-east-1",
               "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": "", "TOK_CONFIG": os.path.join(work, "tok-config"),
               "TOK_CACHE_DIR": os.path.join(work, "cache")}
        cmd = [AWS, "configure", "export-credentials", "--profile"]
        for profile in ("cached", "direct"):  # the first run fills tok's cache
            subprocess.run(cmd + [profile], env=env, check=True, capture_output=True)
        ratios, cached_ms, direct_ms = [], [], []
        for _ in range(ROUNDS):
            out = os.path.join(work, "hf.json")
            subprocess.run(["hyperfine", "-N", "--warmup", "1", "--runs", str(RUNS), "--export-json", out, "--style",
                            "none", shlex.join(cmd + ["cached"]), shlex.join(cmd + ["direct"])],
                           env=env, check=True, capture_output=True)
            with open(out) as f:
                results = json.load(f)["results"]
            cached, direct = (r["median"] * 1000 for r in results)
            cached_ms.append(cached)
            direct_ms.append(direct)
            ratios.append(direct / cached)
        mid = sorted(range(ROUNDS), key=lambda i: ratios[i])[ROUNDS // 2]
        result = (f"{cached_ms[mid]:.0f} ms vs {direct_ms[mid]:.0f} ms: the helper directly takes "
                  f"{ratios[mid]:.2f}x as long (median of {ROUNDS} rounds: "
                  f"{', '.join(f'{r:.2f}' for r in sorted(ratios))})")
        print(f"  aws configure export-credentials, tok cached vs the helper: {result}", flush=True)
        text = ("## AWS (bench/aws.py)\n\n"
                f"Last run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, AWS CLI "
                f"{subprocess.run([AWS, '--version'], env=env, capture_output=True, text=True).stdout.split()[0]}.\n\n"
                "| figure | result | bar | verdict |\n|---|---|---|---|\n"
                "| `aws configure export-credentials` with `credential_process = tok get --format credential-process` "
                "(cached) vs with the helper itself (`aws configure export-credentials` of static keys) as "
                f"`credential_process`, side by side | {result} | reported | reported |\n\n"
                "Each `aws` run pays the CLI's own start (Python, some 0.5 s) either way; the difference is the "
                "helper's run, which tok replaces by a cache hit. A real SSO or SAML helper adds its network round "
                "trip to every uncached run, so the ratio here is a floor.\n")
        replace_section("AWS", text)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
