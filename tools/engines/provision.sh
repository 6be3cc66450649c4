#!/usr/bin/env bash
# Provisions every real engine the suite uses, each from its registry and cached outside
# the repository (see lib.sh): PostgreSQL, a Kafka broker, daprd, the Pulumi CLI and its
# plugins, actionlint, and the PromQL check for the alert rules. Each script is idempotent;
# a warm cache makes this take seconds.
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

engines=("$@")
[[ ${#engines[@]} -gt 0 ]] || engines=(postgres kafka daprd pulumi actionlint promqlcheck)

failed=()
for engine in "${engines[@]}"; do
    script="$ENGINES_DIR/$engine.sh"
    if [[ ! -f "$script" ]]; then
        log "no provisioning script for $engine"
        failed+=("$engine")
        continue
    fi
    log "provisioning $engine"
    if ! timed "$engine" bash "$script" >&2; then
        failed+=("$engine")
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    log "FAILED to provision: ${failed[*]}"
    exit 1
fi
log "all engines ready in $TASKSTREAM_CACHE"
