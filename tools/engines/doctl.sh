#!/usr/bin/env bash
# Puts doctl $DOCTL_VERSION into the per-machine cache and prints its directory:
#   $TASKSTREAM_CACHE/doctl/v$DOCTL_VERSION/doctl
# The cluster's kubeconfig runs `doctl kubernetes cluster kubeconfig exec-credential`, so
# whatever runs `pulumi` against dev or prod needs it (the tests do not). Release source
# only: the module proxy this machine uses does not serve doctl.
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
# shellcheck source=release.sh
source "$ENGINES_DIR/release.sh"

DOCTL_DIR="$TASKSTREAM_CACHE/doctl/v$DOCTL_VERSION"

doctl_from_release() {
    local unpacked="$DOCTL_DIR/.release.$$"
    fetch_release doctl "$unpacked" || return
    mv -f "$unpacked/doctl" "$DOCTL_DIR/doctl"
    rm -rf "$unpacked"
}

doctl_from_registry() {
    log "doctl has no registry source here; install doctl $DOCTL_VERSION yourself or use TASKSTREAM_ENGINE_SOURCE=release"
    return 1
}

if [[ ! -x "$DOCTL_DIR/doctl" ]]; then
    mkdir -p "$DOCTL_DIR"
    timed "doctl v$DOCTL_VERSION from $TASKSTREAM_ENGINE_SOURCE" from_source doctl
fi
printf '%s\n' "$DOCTL_DIR"
