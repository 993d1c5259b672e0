#!/usr/bin/env bash
# make demo: a loopback token server, then tok fetching, answering from its cache, and reporting.
# Everything lives in a temporary home that is removed at the end.
set -euo pipefail
build=${1:-build}
tok="$(cd "$build" && pwd)/tok"
here="$(cd "$(dirname "$0")/.." && pwd)"
demo=$(mktemp -d /tmp/tok-demo.XXXXXX)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$demo"
}
trap cleanup EXIT

python3 "$here/tests/support/token_server.py" --port 0 --lifetime 900 --client 'demo-client:demo secret' \
  >"$demo/server.out" &
server_pid=$!
for _ in $(seq 100); do grep -q LISTENING "$demo/server.out" 2>/dev/null && break; sleep 0.05; done
port=$(awk '/LISTENING/ {print $2}' "$demo/server.out")
requests() { curl -s "http://127.0.0.1:$port/_stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token_requests"])'; }

export HOME="$demo" TOK_CONFIG="$demo/config" TOK_CACHE_DIR="$demo/cache" DEMO_SECRET='demo secret'
cat >"$TOK_CONFIG" <<INI
[default]
provider = oauth
token_url = http://127.0.0.1:$port/token   ; the bundled loopback token server
client_id = demo-client
client_secret_env = DEMO_SECRET
scopes = api:read
INI

# Bold commands on a terminal only: a file or a pipe gets no escape codes.
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold= plain=; fi
say() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; }
echo "== tok demo: a loopback token server on 127.0.0.1:$port (tokens live 15 minutes) =="
echo "   config: $TOK_CONFIG"; sed 's/^/   | /' "$TOK_CONFIG"

say "tok get            # no cached token yet: fetched from the server"
start=$(date +%s%N); "$tok" get; end=$(date +%s%N)
echo "   ($(( (end - start) / 1000 )) us; token requests so far: $(requests))"

say "tok get            # fresh in the cache: no request"
start=$(date +%s%N); "$tok" get; end=$(date +%s%N)
echo "   ($(( (end - start) / 1000 )) us; token requests so far: $(requests))"

say "tok get --format json"
"$tok" get --format json

say "tok status         # never shows the token"
"$tok" status

say "tok refresh        # a blocking refresh now"
"$tok" refresh
echo "   (token requests so far: $(requests))"

say "tok get -p nope    # errors name the file and profile; exit code 2"
"$tok" get -p nope || echo "   (exit $?)"

echo
echo "== demo done: server stopped, $demo removed =="
