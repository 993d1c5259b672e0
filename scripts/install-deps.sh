#!/usr/bin/env bash
# Installs every package tok needs to build, test, demo and benchmark, and only what is missing.
# Safe to run twice. Debian 12 (bookworm); run as root or with sudo available.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

debs=(
  # build
  build-essential cmake pkg-config lld
  libcli11-dev libcurl4-openssl-dev nlohmann-json3-dev libfmt-dev doctest-dev
  libmicrohttpd-dev libssl-dev
  # sanitizers and fuzzing (clang's runtimes)
  clang libclang-rt-14-dev
  # tests, demo and benchmarks (openssl makes the TLS tests' certificates; ca-certificates is
  # the system trust store that ca_bundle adds to; tzdata the zones of the expiresOn tests)
  python3 curl hyperfine git util-linux procps openssl ca-certificates tzdata
  # the fault tests stop a tok process inside its commit (strace's syscall delay) to kill it there
  strace
  # the real Azure CLI: a peer of the azure-cli provider (tests/peers) and a row of make bench
  azure-cli
  # integrations: shells the completions and `tok env` are run in, man pages, `make deb`
  # (dpkg-shlibdeps); tok serve's peers (azure-identity, google-auth) and its load generator
  zsh fish dash bash man-db dpkg-dev binutils python3-azure python3-google-auth python3-requests wrk
  # make bench: nginx serves the same JSON as tok serve, the anchor of its rows
  nginx-light
)

missing=()
for p in "${debs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm may come from another source than Debian (the machine image ships its own);
# only ask Debian for them when the commands are absent.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

# kubectl (the Kubernetes peer test) has no Debian 12 package; the machine image ships one.
if ! command -v kubectl >/dev/null 2>&1; then
  echo "install-deps: kubectl is required by tests/peers/test_kubectl.py and Debian 12 has no package for it:" >&2
  echo "install-deps: install it from https://kubernetes.io/docs/tasks/tools/ (a static binary on PATH is enough)" >&2
fi

if ((${#missing[@]})); then
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  echo "install-deps: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm peers (oidc-provider), pinned by tests/peers/package-lock.json.
if [ -f "$here/tests/peers/package-lock.json" ] && [ ! -d "$here/tests/peers/node_modules/oidc-provider" ]; then
  echo "install-deps: npm ci in tests/peers"
  (cd "$here/tests/peers" && npm ci --no-audit --no-fund --loglevel=error)
fi
