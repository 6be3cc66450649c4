#!/usr/bin/env bash
# Makes sure PostgreSQL server binaries (initdb, pg_ctl, postgres) exist on this machine,
# installing the distribution's `postgresql` package when they do not: as root from
# Debian's packages (registry source), or through sudo on GitHub's Ubuntu runners, which
# usually ship it already (release source). Starts nothing: tests create throwaway
# clusters in temp dirs themselves. Prints the directory holding the binaries.
#
# Debian keeps them in /usr/lib/postgresql/<major>/bin, which is not on PATH; the tests
# look there too (tests/support/engines.py: postgres_bindir()). initdb refuses to run
# as root, so a test running as root must start its cluster as an unprivileged user.
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

find_bindir() {
    local on_path dir
    if on_path=$(command -v pg_ctl 2>/dev/null) && command -v initdb >/dev/null 2>&1; then
        dirname "$(readlink -f "$on_path")"
        return 0
    fi
    # Highest major version first.
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/postgres" ]]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

if bindir=$(find_bindir); then
    log "postgresql server binaries present in $bindir ($("$bindir/postgres" --version))"
    echo "$bindir"
    exit 0
fi

command -v apt-get >/dev/null || {
    log "no PostgreSQL server binaries and no apt-get: install PostgreSQL (initdb, pg_ctl) yourself"
    exit 1
}

# install_postgres [sudo]: the distribution's package, binaries only.
install_postgres() {
    local as=("$@")
    # Ask postgresql-common not to create and start the default "main" cluster on 5432.
    "${as[@]}" mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" |
        "${as[@]}" tee /etc/postgresql-common/createcluster.d/taskstream.conf >/dev/null
    "${as[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${as[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends postgresql
}

postgres_from_registry() {
    if [[ $(id -u) -ne 0 ]]; then
        log "no PostgreSQL server binaries; installing them needs root (apt-get install postgresql)"
        return 1
    fi
    install_postgres
}

postgres_from_release() {
    install_postgres sudo --non-interactive
}

log "installing PostgreSQL (the distribution's package, $TASKSTREAM_ENGINE_SOURCE source)"
timed "postgresql install" from_source postgres
bindir=$(find_bindir) || { log "postgresql installed but initdb/pg_ctl not found"; exit 1; }
log "postgresql server binaries in $bindir"
echo "$bindir"
