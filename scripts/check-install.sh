#!/usr/bin/env bash
# Runs the README's build commands exactly as printed (internal/readme's test
# checks that every command of the README's Quick start is run here, by the
# demo's browser test or by CI), then checks what they built: both binaries
# list http.handlers.session_gate and validate the example Caddyfile.
# Needs the Go module proxy; a few minutes with a cold build cache.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(go env GOPATH)/bin:$PATH"
cleanup() { rm -f sessiongate caddy; }
trap cleanup EXIT

check() { # binary
  echo "--- $1 list-modules"
  # Read the whole list before matching: `list-modules | grep -q` under pipefail
  # fails whenever grep exits at the match while the binary is still writing
  # (SIGPIPE), which is how CI failed on stop 23.
  local modules
  modules="$("$1" list-modules)"
  if ! grep -qx 'http.handlers.session_gate' <<<"$modules"; then
    echo "FAIL: $1 does not list http.handlers.session_gate" >&2
    exit 1
  fi
  echo "--- $1 validate --config Caddyfile"
  "$1" validate --config Caddyfile 2>&1 | tail -1
}

# The README's "Run it" step sets these before validating the Caddyfile.
export SESSIONGATE_CLIENT_SECRET=...                     # from the provider
export SESSIONGATE_COOKIE_SECRET="$(openssl rand -base64 48)"

echo "--- go build"
go build -o sessiongate ./cmd/sessiongate
check ./sessiongate

echo "--- xcaddy"
go install github.com/caddyserver/xcaddy/cmd/xcaddy@v0.4.5
xcaddy build --with github.com/sessiongate/sessiongate@v0.0.0-00010101000000-000000000000=.   # writes ./caddy
check ./caddy
echo "check-install: ok"
