#!/usr/bin/env bash
# Puts actionlint $ACTIONLINT_VERSION into the per-machine cache:
#   $TASKSTREAM_CACHE/actionlint/v$ACTIONLINT_VERSION/actionlint
# registry source: `go install` through the module proxy; release source: rhysd's release
# archive. Skips both when the binary is present; prints the binary's path on stdout.
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
# shellcheck source=release.sh
source "$ENGINES_DIR/release.sh"

ACTIONLINT_OUT_DIR="$TASKSTREAM_CACHE/actionlint/v$ACTIONLINT_VERSION"
ACTIONLINT_BIN="$ACTIONLINT_OUT_DIR/actionlint"

if [[ -x "$ACTIONLINT_BIN" ]]; then
    log "actionlint v$ACTIONLINT_VERSION cached at $ACTIONLINT_BIN"
    printf '%s\n' "$ACTIONLINT_BIN"
    exit 0
fi

actionlint_from_registry() {
    command -v go >/dev/null || { log "go is required to build actionlint"; return 1; }
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

actionlint_from_release() {
    local unpacked="$ACTIONLINT_OUT_DIR/.release.$$"
    fetch_release actionlint "$unpacked" || return
    mv -f "$unpacked/actionlint" "$ACTIONLINT_BIN"
    rm -rf "$unpacked"
}

mkdir -p "$ACTIONLINT_OUT_DIR"
timed "actionlint v$ACTIONLINT_VERSION from $TASKSTREAM_ENGINE_SOURCE" from_source actionlint
"$ACTIONLINT_BIN" -version >&2 || true
log "actionlint ready at $ACTIONLINT_BIN"
printf '%s\n' "$ACTIONLINT_BIN"
