# The release source: where each engine's upstream archive lives, and how to fetch one.
# Source it (lib.sh first); every URL is derived from versions.env, so a version bump
# there is the whole change. Linux x86-64 only: GitHub's ubuntu runners.
# shellcheck shell=bash

# release_url NAME -> the archive's URL on stdout.
release_url() {
    case "$1" in
    pulumi) echo "https://get.pulumi.com/releases/sdk/pulumi-v${PULUMI_VERSION}-linux-x64.tar.gz" ;;
    daprd) echo "https://github.com/dapr/dapr/releases/download/v${DAPR_VERSION}/daprd_linux_amd64.tar.gz" ;;
    kafka) echo "https://archive.apache.org/dist/kafka/${KAFKA_VERSION}/kafka_${KAFKA_SCALA_VERSION}-${KAFKA_VERSION}.tgz" ;;
    actionlint) echo "https://github.com/rhysd/actionlint/releases/download/v${ACTIONLINT_VERSION}/actionlint_${ACTIONLINT_VERSION}_linux_amd64.tar.gz" ;;
    doctl) echo "https://github.com/digitalocean/doctl/releases/download/v${DOCTL_VERSION}/doctl-${DOCTL_VERSION}-linux-amd64.tar.gz" ;;
    *)
        log "no release archive known for $1"
        return 2
        ;;
    esac
}

# fetch_release NAME DEST_DIR: downloads NAME's archive and unpacks it into DEST_DIR
# (created empty). curl fails on HTTP errors and retries transient ones.
fetch_release() {
    local url archive
    url=$(release_url "$1") || return
    archive="$2.download"
    rm -rf "$2" "$archive"
    mkdir -p "$2"
    log "downloading $url"
    curl --fail --silent --show-error --location --retry 3 --output "$archive" "$url" || {
        rm -f "$archive"
        return 1
    }
    tar -xzf "$archive" -C "$2"
    rm -f "$archive"
}
