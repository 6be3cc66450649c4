#!/usr/bin/env bash
# Builds actionlint from its Go module at $ACTIONLINT_VERSION into the per-machine cache:
#   $TASKSTREAM_CACHE/actionlint/v$ACTIONLINT_VERSION/actionlint
# Release downloads are unreachable here, so `go install` fetches it through the module
# proxy. Skips the build when the binary is present; prints the binary's path on stdout.
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

ACTIONLINT_OUT_DIR="$TASKSTREAM_CACHE/actionlint/v$ACTIONLINT_VERSION"
ACTIONLINT_BIN="$ACTIONLINT_OUT_DIR/actionlint"

if [[ -x "$ACTIONLINT_BIN" ]]; then
    log "actionlint v$ACTIONLINT_VERSION cached at $ACTIONLINT_BIN"
    printf '%s\n' "$ACTIONLINT_BIN"
    exit 0
fi

command -v go >/dev/null || { log "go is required to build actionlint"; exit 1; }

build_actionlint() {
    # Install into a private directory first and publish atomically, so a concurrent or
    # interrupted run never leaves a half-written binary at the cached path.
    local tmp="$ACTIONLINT_OUT_DIR/.partial.$$"
    mkdir -p "$tmp"
    CGO_ENABLED=0 GOBIN="$tmp" \
        go install -trimpath -ldflags "-s -w" \
        "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION" \
        || { rm -rf "$tmp"; return 1; }
    mv -f "$tmp/actionlint" "$ACTIONLINT_BIN"
    rm -rf "$tmp"
}

log "building actionlint v$ACTIONLINT_VERSION from the Go module proxy"
timed "actionlint v$ACTIONLINT_VERSION build" build_actionlint
"$ACTIONLINT_BIN" -version >&2 || true
log "actionlint ready at $ACTIONLINT_BIN"
printf '%s\n' "$ACTIONLINT_BIN"
