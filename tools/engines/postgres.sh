#!/usr/bin/env bash
# Makes sure PostgreSQL server binaries (initdb, pg_ctl, postgres) exist on this machine,
# installing Debian's `postgresql` package when they do not. Starts nothing: tests create
# throwaway clusters in temp dirs themselves. Prints the directory holding the binaries.
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
if [[ $(id -u) -ne 0 ]]; then
    log "no PostgreSQL server binaries; installing them needs root (apt-get install postgresql)"
    exit 1
fi

install_postgres() {
    # Only the binaries are wanted: ask postgresql-common not to create and start the
    # default "main" cluster on port 5432 during installation.
    mkdir -p /etc/postgresql-common/createcluster.d
    if [[ ! -e /etc/postgresql-common/createcluster.d/taskstream.conf ]]; then
        echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/taskstream.conf
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql
}

log "installing PostgreSQL from Debian's packages"
timed "postgresql install" install_postgres
bindir=$(find_bindir) || { log "postgresql installed but initdb/pg_ctl not found"; exit 1; }
log "postgresql server binaries in $bindir"
echo "$bindir"
