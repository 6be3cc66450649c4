#!/usr/bin/env bash
# Builds the PromQL check (tools/engines/promqlcheck: Prometheus's promqltest around one
# script) at Prometheus v$PROMQLCHECK_PROMETHEUS into the per-machine cache:
#   $TASKSTREAM_CACHE/promqlcheck/v$PROMQLCHECK_PROMETHEUS/promqlcheck.test
# tests/infra/test_alert_rules_promql.py runs it. Through the Go module proxy; heavy the
# first time (the prometheus module's dependencies), a no-op when the binary is present.
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

PROMQLCHECK_PROMETHEUS="0.316.0"
OUT_DIR="$TASKSTREAM_CACHE/promqlcheck/v$PROMQLCHECK_PROMETHEUS"
BIN="$OUT_DIR/promqlcheck.test"

if [[ -x "$BIN" ]]; then
    log "promqlcheck cached at $BIN"
    printf '%s\n' "$BIN"
    exit 0
fi
command -v go >/dev/null || { log "go is required to build promqlcheck"; exit 1; }
mkdir -p "$OUT_DIR"
tmp="$OUT_DIR/.partial.$$"
(cd "$ENGINES_DIR/promqlcheck" && go test -c -trimpath -o "$tmp" .) || { rm -f "$tmp"; exit 1; }
mv -f "$tmp" "$BIN"
printf '%s\n' "$BIN"
