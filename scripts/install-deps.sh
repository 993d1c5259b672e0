#!/usr/bin/env bash
# Installs the Debian packages tok needs, and only what is missing. Safe to run twice.
# Debian 12 (bookworm); run as root or with sudo available.
#
#   scripts/install-deps.sh            build and run tok (make demo, make install, make deb)
#   scripts/install-deps.sh --try      the same and Node.js with oidc-provider (npm), the login
#                                      server of make try; nothing else of the test peers
#   scripts/install-deps.sh --peers    the same and everything the tests, benchmarks and fuzzing
#                                      run against (make check, make bench, make fuzz)
#   scripts/install-deps.sh [--try|--peers] --list   print the package names, install nothing
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# What building tok and running `make demo` need: the compiler, the libraries, and python3 for
# the demo's loopback token server. Nothing here is only for the tests.
build_debs=(
  build-essential cmake pkg-config lld
  libcli11-dev libcurl4-openssl-dev nlohmann-json3-dev libfmt-dev doctest-dev
  libmicrohttpd-dev libssl-dev
  # token_storage = keyring (tok login's refresh tokens in the Secret Service), loaded as a module
  libsecret-1-dev
  # make demo: the loopback token server and its stats; make deb: dpkg-shlibdeps
  python3 curl ca-certificates dpkg-dev
)

# What the tests, benchmarks and fuzzing run against (make check, make bench, make fuzz). Add
# peers here, one group per line with why.
peer_debs=(
  # sanitizers and fuzzing (clang's runtimes)
  clang libclang-rt-14-dev
  # tests and benchmarks (openssl makes the TLS tests' certificates; tzdata the zones of the
  # expiresOn tests)
  hyperfine git util-linux procps openssl tzdata
  # the fault tests stop a tok process inside its commit (strace's syscall delay) to kill it there
  strace
  # the real Azure CLI: a peer of the azure-cli provider (tests/peers) and a row of make bench
  azure-cli
  # integrations: shells the completions and `tok env` are run in, man pages, the .deb's check
  # (binutils, lintian); tok serve's peers (azure-identity, google-auth) and its load generator
  zsh fish dash bash man-db binutils lintian python3-azure python3-google-auth python3-requests wrk
  # the GitHub CLI: a peer of provider = github-app (gh api with the token tok hands it)
  gh
  # make bench: nginx serves the same JSON as tok serve, the anchor of its rows
  nginx-light
  # bench/fleet.py's picture of requests per second over time
  python3-matplotlib
  # tok login's peers: a real browser (driven by playwright-core from npm) on oidc-provider's
  # pages, and a Secret Service (gnome-keyring in its own dbus-run-session; secret-tool reads it)
  chromium gnome-keyring libsecret-tools dbus
  # AWS: the real AWS CLI v2 (credential_process) and botocore (tok serve --aws-ecs)
  awscli python3-botocore
  # tok serve as a service: systemd-socket-activate passes it a socket, systemd-analyze verifies
  # the shipped units (tests/integration/test_serve_shared.py, test_install.py)
  systemd
)

peers=0
try=0
list=0
for arg in "$@"; do
  case "$arg" in
    --peers) peers=1 ;;
    --try) try=1 ;;
    --list) list=1 ;;
    *) echo "usage: scripts/install-deps.sh [--try|--peers] [--list]" >&2; exit 2 ;;
  esac
done
# Node.js and the npm packages: the test peers' and make try's (its OpenID provider).
node=$((peers || try))

debs=("${build_debs[@]}")
((peers)) && debs+=("${peer_debs[@]}")

if ((list)); then
  printf '%s\n' "${debs[@]}"
  ((node)) && printf '%s\n' nodejs npm
  exit 0
fi

missing=()
for p in "${debs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((node)); then
  # Node.js and npm (oidc-provider, a test peer and make try's login server) may come from another
  # source than Debian (the machine image ships its own); only ask Debian for them when the
  # commands are absent.
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
fi
if ((peers)); then
  # kubectl (the Kubernetes peer test) has no Debian 12 package; the machine image ships one.
  if ! command -v kubectl >/dev/null 2>&1; then
    echo "install-deps: kubectl is required by tests/peers/test_kubectl.py and Debian 12 has no package for it:" >&2
    echo "install-deps: install it from https://kubernetes.io/docs/tasks/tools/ (a static binary on PATH is enough)" >&2
  fi
fi

# The Docker CLI (tests/peers/test_docker.py: `docker manifest inspect` asks docker-credential-tok,
# no daemon needed): the machine image may ship one; else Debian's docker.io.
command -v docker >/dev/null 2>&1 || missing+=(docker.io)

if ((${#missing[@]})); then
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  echo "install-deps: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm peers (oidc-provider and the others: plain JavaScript, no browser download), pinned by
# tests/peers/package-lock.json; make try uses the same install.
# Again when a dependency was added since the last install (package.json names it, node_modules
# does not have it).
npm_missing() {
  (cd "$here/tests/peers" && node -e '
    const deps = Object.keys(require("./package.json").dependencies || {});
    process.exit(deps.some((d) => !require("fs").existsSync("node_modules/" + d + "/package.json")) ? 0 : 1);')
}
npm_needed=0
if ((node)) && [ -f "$here/tests/peers/package-lock.json" ] && npm_missing; then
  npm_needed=1
  echo "install-deps: npm ci in tests/peers"
  (cd "$here/tests/peers" && npm ci --no-audit --no-fund --loglevel=error)
fi

if ((${#missing[@]} == 0 && npm_needed == 0)); then
  what="every package"
  ((try)) && what+=" and make try's oidc-provider"
  ((peers)) && what+=" and test peer"
  echo "install-deps: nothing to do: $what is installed"
fi
