# Shared helpers for the engine provisioning scripts; source it, do not run it.
# shellcheck shell=bash

ENGINES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$ENGINES_DIR/versions.env"

# Build outputs live outside the repository so a fresh clone on the same machine reuses them.
TASKSTREAM_CACHE="${TASKSTREAM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/taskstream}"
export TASKSTREAM_CACHE
mkdir -p "$TASKSTREAM_CACHE"

log() { printf '[engines] %s\n' "$*" >&2; }

# Runs "$@" and reports how long it took, so cold and cached costs are visible in CI logs.
timed() {
    local label=$1 start end
    shift
    start=$(date +%s)
    "$@"
    local rc=$?
    end=$(date +%s)
    log "$label took $((end - start))s (exit $rc)"
    return $rc
}
