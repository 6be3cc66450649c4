#!/usr/bin/env bash
# Puts daprd $DAPR_VERSION into the per-machine cache:
#   $TASKSTREAM_CACHE/dapr/v$DAPR_VERSION/daprd
# registry source: built from the Go module proxy through our tools module
# (tools/engines/daprd), which repeats the replace directives dapr's own go.mod needs.
# release source: dapr's release archive. Skips everything when the binary is present.
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
# shellcheck source=release.sh
source "$ENGINES_DIR/release.sh"

DAPRD_MODULE_DIR="$ENGINES_DIR/daprd"
DAPRD_OUT_DIR="$TASKSTREAM_CACHE/dapr/v$DAPR_VERSION"
DAPRD_BIN="$DAPRD_OUT_DIR/daprd"

if [[ -x "$DAPRD_BIN" ]]; then
    log "daprd v$DAPR_VERSION cached at $DAPRD_BIN"
    exit 0
fi

daprd_from_release() {
    local unpacked="$DAPRD_OUT_DIR/release.$$"
    fetch_release daprd "$unpacked" || return
    install -m 0755 "$unpacked/daprd" "$DAPRD_BIN.partial.$$"
    rm -rf "$unpacked"
    mv -f "$DAPRD_BIN.partial.$$" "$DAPRD_BIN"
}

daprd_from_registry() {
    command -v go >/dev/null || { log "go is required to build daprd"; return 1; }
    # The tools module must pin the same dapr version as versions.env.
    if ! grep -Eq "^[[:space:]]*(require[[:space:]]+)?github.com/dapr/dapr v${DAPR_VERSION}([[:space:]]|\$)" "$DAPRD_MODULE_DIR/go.mod"; then
        log "tools/engines/daprd/go.mod does not require github.com/dapr/dapr v$DAPR_VERSION;"
        log "update it (require + replaces from 'go mod download -json github.com/dapr/dapr@v$DAPR_VERSION') and run 'go mod tidy'"
        return 1
    fi
    log "building daprd v$DAPR_VERSION (stablecomponents; ~1 GB of modules and minutes of compile when cold)"
    build_daprd
}

build_daprd() {
    local tmp="$DAPRD_OUT_DIR/daprd.partial.$$" info dapr_dir commit work
    # Where the proxy put dapr's module, and the tag's commit (stamped for --build-info).
    info=$(cd "$DAPRD_MODULE_DIR" && go mod download -json "github.com/dapr/dapr@v$DAPR_VERSION")
    dapr_dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$info" | head -n1)
    commit=$(sed -n 's/^[[:space:]]*"Hash": "\([0-9a-f]*\)".*/\1/p' <<<"$info" | head -n1)
    [[ -d "$dapr_dir" ]] || { log "could not locate github.com/dapr/dapr@v$DAPR_VERSION: $info"; return 1; }

    # This machine's module proxy refuses the modules behind the Pulsar pub/sub component
    # (the twmb/pulsar-client-go fork and iskorotkov/avro/v2 answer 403), so the build
    # leaves out the one file that registers that component. Go forbids overlays inside
    # the module cache, so build from a scratch copy: our tools module, plus dapr's module
    # (minus its tests and that file) wired in with a directory replace. Everything else
    # tagged stablecomponents (pubsub.kafka, state.postgresql, bindings.cron, ...) stays.
    work="$DAPRD_OUT_DIR/build.$$"
    # Leftovers of an interrupted earlier build (the binary itself is published atomically).
    rm -rf "$DAPRD_OUT_DIR"/build.* "$DAPRD_OUT_DIR"/daprd.partial.*
    mkdir -p "$work/tools"
    cp "$DAPRD_MODULE_DIR/go.mod" "$DAPRD_MODULE_DIR/go.sum" "$work/tools/"
    (cd "$dapr_dir" && tar --exclude=./tests -cf - .) | (mkdir -p "$work/dapr" && cd "$work/dapr" && tar -xf -)
    chmod -R u+w "$work/dapr"
    rm -f "$work/dapr/cmd/daprd/components/pubsub_pulsar.go" "$work/dapr/cmd/daprd/components/pubsub_pulsar_test.go"
    (cd "$work/tools" && go mod edit -replace "github.com/dapr/dapr=../dapr")

    # Every component registration file is tagged allcomponents||stablecomponents;
    # without a tag the components package panics at start-up by design.
    (
        cd "$work/tools"
        CGO_ENABLED=0 GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly" \
            go build \
            -tags stablecomponents \
            -trimpath \
            -ldflags "-s -w
                -X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION
                -X github.com/dapr/dapr/pkg/buildinfo.gitversion=v$DAPR_VERSION
                -X github.com/dapr/dapr/pkg/buildinfo.gitcommit=${commit:-unknown}
                -X github.com/dapr/kit/logger.DaprVersion=$DAPR_VERSION" \
            -o "$tmp" \
            github.com/dapr/dapr/cmd/daprd
    ) || { rm -rf "$tmp" "$work"; return 1; }
    rm -rf "$work"
    # Publish atomically so a concurrent or interrupted run never sees a half binary.
    mv -f "$tmp" "$DAPRD_BIN"
}

mkdir -p "$DAPRD_OUT_DIR"
timed "daprd v$DAPR_VERSION from $TASKSTREAM_ENGINE_SOURCE" from_source daprd
"$DAPRD_BIN" --version >&2 || true
log "daprd ready at $DAPRD_BIN"
