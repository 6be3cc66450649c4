#!/usr/bin/env bash
# Puts Apache Kafka's broker jars into the per-machine cache (registry source: resolved
# from Maven Central; release source: the libs/ of Apache's binary archive):
#   $TASKSTREAM_CACHE/kafka/$KAFKA_VERSION/libs/*.jar   (the broker's classpath)
#   $TASKSTREAM_CACHE/m2/                               (Maven's own repository cache)
# The test suite runs `java -cp 'libs/*' kafka.Kafka` in KRaft mode on loopback
# (tests/support/kafka.py). Skips when the classpath is already complete.
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
# shellcheck source=release.sh
source "$ENGINES_DIR/release.sh"

KAFKA_POM="$ENGINES_DIR/kafka/pom.xml"
KAFKA_HOME="$TASKSTREAM_CACHE/kafka/$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_STAMP="$KAFKA_HOME/.complete"
M2_REPO="$TASKSTREAM_CACHE/m2"

if [[ -f "$KAFKA_STAMP" && -f "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" ]]; then
    log "kafka $KAFKA_VERSION cached at $KAFKA_LIBS"
    exit 0
fi

command -v java >/dev/null || { log "java (17+) is required to run the Kafka broker"; exit 1; }

kafka_from_release() {
    local unpacked="$KAFKA_HOME/release.$$"
    fetch_release kafka "$unpacked" || return
    rm -rf "$KAFKA_LIBS"
    mv "$unpacked/kafka_${KAFKA_SCALA_VERSION}-$KAFKA_VERSION/libs" "$KAFKA_LIBS"
    rm -rf "$unpacked"
    touch "$KAFKA_STAMP"
}

kafka_from_registry() {
    command -v mvn >/dev/null || { log "mvn is required to resolve the Kafka jars"; return 1; }
    local tmp="$KAFKA_HOME/libs.partial.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp" "$M2_REPO"
    # -q still emits bare colour resets with Maven 3.8; keep its output for failures only.
    if ! mvn -q -B -Dstyle.color=never -f "$KAFKA_POM" \
        -Dmaven.repo.local="$M2_REPO" \
        -Dkafka.version="$KAFKA_VERSION" \
        -DincludeScope=runtime \
        -DoutputDirectory="$tmp" \
        dependency:copy-dependencies >"$KAFKA_HOME/mvn.log" 2>&1; then
        cat "$KAFKA_HOME/mvn.log" >&2
        rm -rf "$tmp"
        return 1
    fi
    # A broker without an slf4j binding logs nothing, and a missing log4j class can
    # abort start-up on 3.9: refuse a classpath without one.
    if ! compgen -G "$tmp/slf4j-reload4j-*.jar" >/dev/null && ! compgen -G "$tmp/log4j-slf4j*-impl-*.jar" >/dev/null; then
        log "no slf4j binding among the resolved jars:"
        ls "$tmp" >&2
        rm -rf "$tmp"
        return 1
    fi
    rm -rf "$KAFKA_LIBS"
    mv "$tmp" "$KAFKA_LIBS"
    touch "$KAFKA_STAMP"
}

mkdir -p "$KAFKA_HOME"
timed "kafka $KAFKA_VERSION from $TASKSTREAM_ENGINE_SOURCE" from_source kafka
log "kafka ready: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars in $KAFKA_LIBS"
