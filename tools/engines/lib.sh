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

# Where engines come from, one switch for every script:
#   registry  built or resolved from package registries (Go module proxy, Maven Central,
#             Debian): the only sources this development machine reaches. The default.
#   release   the upstream release archives (get.pulumi.com, GitHub releases, Apache's
#             archive, the distribution's PostgreSQL): what GitHub's runners use.
# Both fill the same cache layout, so the tests never know which one ran.
TASKSTREAM_ENGINE_SOURCE="${TASKSTREAM_ENGINE_SOURCE:-registry}"
case "$TASKSTREAM_ENGINE_SOURCE" in
registry | release) ;;
*)
    log "TASKSTREAM_ENGINE_SOURCE must be 'registry' or 'release', not '$TASKSTREAM_ENGINE_SOURCE'"
    exit 2
    ;;
esac
export TASKSTREAM_ENGINE_SOURCE

# from_source ENGINE [ARGS...]: runs ENGINE_from_registry or ENGINE_from_release, whichever
# the switch names, with ARGS; the calling script defines both.
from_source() {
    local engine=$1
    shift
    "${engine}_from_${TASKSTREAM_ENGINE_SOURCE}" "$@"
}

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
