#!/usr/bin/env bash
# Puts the Pulumi CLI, the Python language host and the resource plugins the infra program
# uses, at the versions in versions.env, into a cache outside the repository: built from
# their Go modules (registry source) or taken from Pulumi's release archive and
# `pulumi plugin install` (release source). Idempotent: every artifact is keyed by
# version and skipped when present, so a warm run takes seconds.
#
# Layout (under $TASKSTREAM_CACHE/pulumi):
#   v$PULUMI_VERSION/bin/   pulumi, pulumi-language-python, pulumi-language-python-exec
#   home/                   PULUMI_HOME with the resource plugins installed offline
#   providers/<name>-v<ver>/pulumi-resource-<name>   built provider binaries
#   work/                   writable module copies and build scratch (safe to delete)
#
# Usage: bash tools/engines/pulumi.sh [cli|python|kubernetes|digitalocean|random|docker-build ...]
# (no argument = everything). Source tools/engines/pulumi-env.sh to use the result.
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
# shellcheck source=release.sh
source "$ENGINES_DIR/release.sh"

PULUMI_CACHE="$TASKSTREAM_CACHE/pulumi"
PULUMI_BIN="$PULUMI_CACHE/v$PULUMI_VERSION/bin"
PROVIDERS_DIR="$PULUMI_CACHE/providers"
WORK="$PULUMI_CACHE/work"
export PULUMI_HOME="$PULUMI_CACHE/home"
mkdir -p "$PULUMI_BIN" "$PROVIDERS_DIR" "$WORK" "$PULUMI_HOME"

# One build at a time per cache: two runs would share work/src and clobber each other.
exec 9>"$PULUMI_CACHE/.build.lock"
if ! flock -n 9; then
    log "another pulumi.sh run holds $PULUMI_CACHE/.build.lock; waiting for it"
    flock 9
fi

# Static binaries; -mod=mod lets go fill go.sum for the requirements we rewrite.
export CGO_ENABLED=0
export GOFLAGS="-mod=mod -buildvcs=false"
# The checksum database has no record of pulumi-kubernetes/sdk/v4 v4.32.0 (the proxy serves
# it); skip the lookup for that one module path rather than for everything.
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/pulumi/pulumi-kubernetes/sdk"
# `pulumi plugin install --file` below must stay offline: no update check, no downloads.
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

PULUMI_REPO_MOD=github.com/pulumi/pulumi
# The pkg/v3.259.0 tag sits on a later commit than v3.259.0/sdk/v3.259.0; the language
# host lives in the same tree, so its pseudo-version uses the pkg tag's commit.
PULUMI_PKG_MOD=$PULUMI_REPO_MOD/pkg/v3
PULUMI_SDK_MOD=$PULUMI_REPO_MOD/sdk/v3
PULUMI_PY_HOST_MOD=$PULUMI_REPO_MOD/sdk/python/cmd/pulumi-language-python/v3

# Where the source of modules the proxy does not serve can come from: a directory of bare
# git mirrors named owner+name/repo (what the session tooling leaves under /work/.mirror).
GIT_MIRRORS="${TASKSTREAM_GIT_MIRRORS:-/work/.mirror}"

# go_mod_dir MODULE@VERSION -> prints the read-only module directory in the module cache,
# or fails quietly (exit 1) when the proxy does not serve that version.
go_mod_dir() {
    local json dir
    json=$(cd "$WORK" && GOFLAGS='' go mod download -json "$1" 2>/dev/null) || true
    dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [[ -n "$dir" && -d "$dir" ]] || return 1
    printf '%s\n' "$dir"
}

# fresh_dir PATH: an empty writable directory (module copies are read-only, so chmod first).
fresh_dir() {
    if [[ -e "$1" ]]; then
        chmod -R u+w "$1"
        rm -rf "$1"
    fi
    mkdir -p "$1"
}

# export_git_tree OWNER/NAME COMMIT SUBDIR DEST: writes the files of COMMIT:SUBDIR from the
# local git mirror into DEST. Mirrors may be partial (their largest blobs absent): those
# files are skipped and listed in DEST/.missing-files, so the caller can stand in for them.
export_git_tree() {
    local repo=$1 commit=$2 subdir=$3 dest=$4
    local gitdir="$GIT_MIRRORS/${repo/\//+}/repo"
    if ! git --git-dir="$gitdir" cat-file -e "$commit^{commit}" 2>/dev/null; then
        log "no git mirror of $repo holding $commit under $GIT_MIRRORS (set TASKSTREAM_GIT_MIRRORS)"
        return 1
    fi
    local tree="$commit^{tree}"
    [[ -z "$subdir" ]] || tree="$commit:$subdir"
    fresh_dir "$dest"
    local index="$WORK/.index-$$"
    rm -f "$index"
    GIT_INDEX_FILE="$index" git --git-dir="$gitdir" read-tree "$tree"
    # Blobs the mirror lacks: drop them from the temporary index before checking out.
    git --git-dir="$gitdir" ls-tree -r "$tree" |
        awk '$2 == "blob" { print $3 }' |
        git --git-dir="$gitdir" cat-file --batch-check='%(objectname) %(objecttype)' |
        awk '$2 == "missing" { print $1 }' >"$WORK/.missing-$$" || true
    : >"$dest/.missing-files"
    if [[ -s "$WORK/.missing-$$" ]]; then
        git --git-dir="$gitdir" ls-tree -r "$tree" | grep -F -f "$WORK/.missing-$$" |
            cut -f2 >"$dest/.missing-files"
        local path
        while IFS= read -r path; do
            GIT_INDEX_FILE="$index" git --git-dir="$gitdir" update-index --force-remove -- "$path"
        done <"$dest/.missing-files"
        log "mirror of $repo lacks: $(tr '\n' ' ' <"$dest/.missing-files")"
    fi
    GIT_INDEX_FILE="$index" git --git-dir="$gitdir" --work-tree="$dest" checkout-index -a -f
    rm -f "$index" "$WORK/.missing-$$"
}

# module_source MODULE PSEUDO_VERSION OWNER/NAME COMMIT SUBDIR NAME: puts a writable copy
# of the module's source under $WORK/src/NAME: the published module when the proxy serves
# that version, else the same commit exported from a local git mirror. Sets SRC_DIR to the
# copy and SRC_FROM to "proxy" or "git". Call it directly (not in $(...)).
module_source() {
    local mod=$1 version=$2 repo=$3 commit=$4 subdir=$5 name=$6
    local dest="$WORK/src/$name" dir
    SRC_DIR=$dest
    if dir=$(go_mod_dir "$mod@$version"); then
        fresh_dir "$dest"
        cp -R "$dir/." "$dest/"
        chmod -R u+w "$dest"
        SRC_FROM=proxy
        return 0
    fi
    log "$mod@$version is not on the module proxy; using the git mirror of $repo at ${commit:0:12}"
    export_git_tree "$repo" "$commit" "$subdir" "$dest"
    SRC_FROM=git
}

# replace_from_mirror SRC MODULE PSEUDO_VERSION OWNER/NAME SUBDIR: for a dependency the
# module's go.mod requires at a pseudo-version the proxy does not serve, export that commit
# (the pseudo-version's hash) from the git mirror once and point a replace at it.
replace_from_mirror() {
    local src=$1 mod=$2 version=$3 repo=$4 subdir=$5
    if go_mod_dir "$mod@$version" >/dev/null; then
        return 0
    fi
    local commit=${version##*-}
    local dest="$WORK/src/deps/${repo/\//+}-${subdir//\//+}-$commit"
    if [[ ! -f "$dest/.exported" ]]; then
        log "$mod@$version is not on the module proxy; exporting ${repo}@$commit from the git mirror"
        export_git_tree "$repo" "$commit" "$subdir" "$dest"
        touch "$dest/.exported"
    fi
    (cd "$src" && go mod edit -replace="$mod@$version=$dest")
}

# Converter modules that pulumi-terraform-bridge v3.135.0 (used by digitalocean and random)
# requires at untagged commits.
bridge_replaces() {
    replace_from_mirror "$1" github.com/pulumi/pulumi-yaml \
        v1.37.1-0.20260717123218-294c561f47f4 pulumi/pulumi-yaml ""
    replace_from_mirror "$1" github.com/pulumi/pulumi-dotnet/pulumi-language-dotnet/v3 \
        v3.107.4-0.20260720135410-6a2eb2585b50 pulumi/pulumi-dotnet pulumi-language-dotnet
}

# Release commits. The providers have no provider/vX.Y.Z tags, so their Go modules are
# addressed by pseudo-versions of the commits their vX.Y.Z release tags point at; the
# language host is untagged and lives in the commit the pkg/v3.259.0 tag points at.
# Change these together with versions.env.
PY_HOST_COMMIT=a05d88f24d05726fa3beae771bfdedb0c0c6a94a
PY_HOST_PSEUDO=v3.0.0-20260820084410-a05d88f24d05
K8S_COMMIT=a03ff6ba58d2f1ea68319dda4b2c982119489c71
K8S_PSEUDO=v4.0.0-20260608201737-a03ff6ba58d2
DO_COMMIT=0825b75e5e5e319d7e8a72c2fe3741304e7a5e11
DO_PSEUDO=v4.0.0-20260724042230-0825b75e5e5e
# pulumi-digitalocean's upstream/ submodule (terraform-provider-digitalocean v2.96.0, whose
# go.mod has no /v2 suffix, hence a v1 pseudo-version).
DO_UPSTREAM_MOD=github.com/digitalocean/terraform-provider-digitalocean
DO_UPSTREAM_COMMIT=5ef5c0805c6c90c7c3a60303f6c6d6515bd852ed
DO_UPSTREAM_PSEUDO=v1.23.1-0.20260723111151-5ef5c0805c6c
RANDOM_COMMIT=f2d8b029d0f708bd14bad9479e016560de9c0b6d
RANDOM_PSEUDO=v4.0.0-20260722185042-f2d8b029d0f7
# pulumi-docker-build is one module at the repository root, tagged vX.Y.Z (not provider/v4).
DOCKER_BUILD_MOD=github.com/pulumi/pulumi-docker-build
DOCKER_BUILD_COMMIT=eb787fad3785f384b7f4eae39e577ec90721772a
# Two of its requirements the proxy refuses: the .NET language host's codegen at its
# pulumi-language-dotnet/v3.107.0 tag (from the pulumi-dotnet mirror), and pulumi-java
# v1.29.0 (no mirror: its snapshot is too large to fetch; see prepare_docker_build).
DOTNET_MOD=github.com/pulumi/pulumi-dotnet/pulumi-language-dotnet/v3
DOTNET_V3_107_0_COMMIT=2c084749f5ecd2a3859388d1a50f25f9c7da6672
JAVA_MOD=github.com/pulumi/pulumi-java

pulumi_ldflags() { printf '%s' "-s -w -X $PULUMI_SDK_MOD/go/common/version.Version=v$PULUMI_VERSION"; }

# ---------------------------------------------------------------- Pulumi CLI
build_cli() {
    local out="$PULUMI_BIN/pulumi"
    if [[ -x "$out" ]] && [[ "$("$out" version 2>/dev/null)" == "v$PULUMI_VERSION" ]]; then
        log "pulumi CLI v$PULUMI_VERSION already built"
        return 0
    fi
    local src dir="$WORK/src/pkg-v$PULUMI_VERSION"
    src=$(go_mod_dir "$PULUMI_PKG_MOD@v$PULUMI_VERSION") || {
        log "cannot download $PULUMI_PKG_MOD@v$PULUMI_VERSION"
        return 1
    }
    fresh_dir "$dir"
    cp -R "$src/." "$dir/"
    chmod -R u+w "$dir"
    # Upstream points sdk/v3 at the sibling directory; the published sdk/v3 of the same
    # version is what the release requires anyway.
    (cd "$dir" && go mod edit -dropreplace="$PULUMI_SDK_MOD" \
        -require="$PULUMI_SDK_MOD@v$PULUMI_VERSION")
    log "building pulumi CLI v$PULUMI_VERSION (several minutes)"
    (cd "$dir" && go build -trimpath -tags osusergo,grpcnotrace -ldflags "$(pulumi_ldflags)" \
        -o "$out.tmp" ./cmd/pulumi)
    mv -f "$out.tmp" "$out"
}

# ------------------------------------------------------- Python language host
build_python_host() {
    local out="$PULUMI_BIN/pulumi-language-python"
    local exec_script="$PULUMI_BIN/pulumi-language-python-exec"
    local stamp="$PULUMI_BIN/.pulumi-language-python.version"
    if [[ -x "$out" && -x "$exec_script" && "$(cat "$stamp" 2>/dev/null)" == "v$PULUMI_VERSION" ]]; then
        log "python language host v$PULUMI_VERSION already built"
        return 0
    fi
    local sdk_dir dir
    sdk_dir=$(go_mod_dir "$PULUMI_SDK_MOD@v$PULUMI_VERSION") || {
        log "cannot download $PULUMI_SDK_MOD@v$PULUMI_VERSION"
        return 1
    }
    module_source "$PULUMI_PY_HOST_MOD" "$PY_HOST_PSEUDO" pulumi/pulumi "$PY_HOST_COMMIT" \
        sdk/python/cmd/pulumi-language-python "pulumi-language-python-v$PULUMI_VERSION"
    dir=$SRC_DIR
    # Its go.mod points pkg and sdk at the surrounding tree; use the published modules of
    # the CLI's version instead.
    (cd "$dir" && go mod edit \
        -dropreplace="$PULUMI_SDK_MOD" -dropreplace="$PULUMI_PKG_MOD" \
        -require="$PULUMI_SDK_MOD@v$PULUMI_VERSION" -require="$PULUMI_PKG_MOD@v$PULUMI_VERSION")
    log "building pulumi-language-python v$PULUMI_VERSION"
    (cd "$dir" && go build -trimpath -tags osusergo,grpcnotrace -ldflags "$(pulumi_ldflags)" \
        -o "$out.tmp" .)
    mv -f "$out.tmp" "$out"
    # The host runs this script with the project's Python; the CLI looks for both beside itself.
    install -m 0755 "$sdk_dir/python/cmd/pulumi-language-python-exec" "$exec_script"
    printf 'v%s\n' "$PULUMI_VERSION" >"$stamp"
}

# ------------------------------------------------------------ resource plugins

# provider_binary NAME VERSION -> path of the built plugin binary.
provider_binary() { printf '%s/%s-v%s/pulumi-resource-%s' "$PROVIDERS_DIR" "$1" "$2" "$1"; }

# plugin_installed NAME VERSION: true when PULUMI_HOME already has the plugin.
plugin_installed() {
    local pdir="$PULUMI_HOME/plugins/resource-$1-v$2"
    [[ -x "$pdir/pulumi-resource-$1" ]]
}

# install_plugin NAME VERSION: registers the built binary in PULUMI_HOME without network.
install_plugin() {
    local name=$1 version=$2
    if plugin_installed "$name" "$version"; then
        return 0
    fi
    "$PULUMI_BIN/pulumi" plugin install resource "$name" "$version" \
        --file "$(provider_binary "$name" "$version")" --non-interactive
}

# stamp_schema DIR VERSION: runs the provider's committed generate.go, which writes the
# git-ignored schema-embed.json (and friends) with VERSION recorded in it.
stamp_schema() {
    (cd "$1" && VERSION="$2" go run generate.go)
}

# go_build_provider SRC NAME VERSION: builds ./cmd/pulumi-resource-NAME with the version stamped.
go_build_provider() {
    local src=$1 name=$2 version=$3 out
    out=$(provider_binary "$name" "$version")
    mkdir -p "$(dirname "$out")"
    log "building pulumi-resource-$name v$version"
    (cd "$src" && go build -trimpath \
        -ldflags "-s -w -X github.com/pulumi/pulumi-$name/provider/v4/pkg/version.Version=$version" \
        -o "$out.tmp" "./cmd/pulumi-resource-$name")
    mv -f "$out.tmp" "$out"
}

prepare_random() {
    local src=$1 version=$2
    # ./shim is a nested module (so absent from a module zip) holding one function that
    # returns the upstream framework provider; stand in for it when missing.
    if [[ ! -f "$src/shim/go.mod" ]]; then
        mkdir -p "$src/shim"
        local upstream
        # (the replace to ./shim keeps `go list` from working yet, so read go.mod directly)
        upstream=$(awk '$1 == "github.com/terraform-providers/terraform-provider-random" { print $2; exit }' \
            "$src/go.mod")
        cat >"$src/shim/go.mod" <<EOF_MOD
module github.com/terraform-providers/terraform-provider-random/shim

go 1.25

require github.com/terraform-providers/terraform-provider-random $upstream
EOF_MOD
        cat >"$src/shim/shim.go" <<'EOF_GO'
// Package shim exposes the upstream provider constructor, which lives in an internal package.
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"
	upstream "github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// NewProvider returns the upstream random provider.
func NewProvider() provider.Provider { return upstream.New() }
EOF_GO
        (cd "$src/shim" && go mod tidy)
    fi
    bridge_replaces "$src"
    stamp_schema "$src/cmd/pulumi-resource-random" "$version"
}

prepare_digitalocean() {
    local src=$1 version=$2
    # upstream/ is a git submodule: use the upstream module at the submodule's commit.
    # Its vendored godo (a local replace upstream) matches the published godo the provider
    # already requires, so that replace is simply dropped.
    module_source "$DO_UPSTREAM_MOD" "$DO_UPSTREAM_PSEUDO" \
        digitalocean/terraform-provider-digitalocean "$DO_UPSTREAM_COMMIT" "" \
        "terraform-provider-digitalocean-${DO_UPSTREAM_COMMIT:0:12}"
    (cd "$src" && go mod edit -dropreplace=github.com/digitalocean/godo)
    if [[ "$SRC_FROM" == proxy ]]; then
        (cd "$src" && go mod edit -dropreplace="$DO_UPSTREAM_MOD" \
            -require="$DO_UPSTREAM_MOD@$DO_UPSTREAM_PSEUDO")
    else
        (cd "$src" && go mod edit -replace="$DO_UPSTREAM_MOD=$SRC_DIR")
    fi
    bridge_replaces "$src"
    stamp_schema "$src/cmd/pulumi-resource-digitalocean" "$version"
}

prepare_kubernetes() {
    local src=$1 version=$2
    # The provider's Go SDK is a local replace; the published sdk/v4 of the release is equal.
    # The proxy does not serve the pulumi pkg/v3 v3.243.0 the release requires. v3.246.0 is
    # the newest it serves before pkg/v3.247.0 made PackageSpec.Provider a pointer, which
    # this release's schema generator does not compile against.
    (cd "$src" && go mod edit -dropreplace=github.com/pulumi/pulumi-kubernetes/sdk/v4 \
        -require="github.com/pulumi/pulumi-kubernetes/sdk/v4@v$version" \
        -require="$PULUMI_PKG_MOD@v3.246.0")
    # Server-side apply helpers at an untagged commit.
    replace_from_mirror "$src" github.com/fluxcd/pkg/ssa \
        v0.71.1-0.20260424094917-4f94dc680419 fluxcd/pkg ssa
    local cmd="$src/cmd/pulumi-resource-kubernetes"
    if [[ -f "$cmd/schema.json" ]]; then
        stamp_schema "$cmd" "$version"
        return 0
    fi
    # A partial git mirror lacks the multi-megabyte schema.json. The provider only serves it
    # back through GetSchema and reads it when importing a resource without inputs; create,
    # update, delete, preview and renderYamlToDirectory do not use it. Embed a stub that says
    # so, plus the terraform mapping generate.go would have compacted.
    log "kubernetes schema.json unavailable: embedding a stub schema (GetSchema/import degraded)"
    printf '{"name":"kubernetes","version":"%s","description":"%s"}\n' "$version" \
        "stub schema: built without the upstream schema.json" >"$cmd/schema-embed.json"
    python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1])), open(sys.argv[2], "w"), separators=(",", ":"))' \
        "$cmd/terraform-mapping.json" "$cmd/terraform-mapping-embed.json"
}

build_provider() {
    local name=$1 version commit pseudo
    case "$name" in
    kubernetes) version=$PULUMI_KUBERNETES_VERSION commit=$K8S_COMMIT pseudo=$K8S_PSEUDO ;;
    digitalocean) version=$PULUMI_DIGITALOCEAN_VERSION commit=$DO_COMMIT pseudo=$DO_PSEUDO ;;
    random) version=$PULUMI_RANDOM_VERSION commit=$RANDOM_COMMIT pseudo=$RANDOM_PSEUDO ;;
    esac
    local bin
    bin=$(provider_binary "$name" "$version")
    if [[ -x "$bin" ]]; then
        log "pulumi-resource-$name v$version already built"
    else
        module_source "github.com/pulumi/pulumi-$name/provider/v4" "$pseudo" \
            "pulumi/pulumi-$name" "$commit" provider "pulumi-$name-v$version"
        local src=$SRC_DIR
        "prepare_$name" "$src" "$version"
        go_build_provider "$src" "$name" "$version"
    fi
    install_plugin "$name" "$version"
}

# ------------------------------------------------ docker-build (not Terraform-bridged)
# A pulumi-go-provider plugin: no schema generation step (its schema is built in code),
# no local replaces; the version lives in the provider package, not pkg/version.

# replace_tagged_from_mirror SRC MODULE VERSION OWNER/NAME COMMIT SUBDIR: like
# replace_from_mirror, for a tagged version (whose commit cannot be read off the version).
replace_tagged_from_mirror() {
    local src=$1 mod=$2 version=$3 repo=$4 commit=$5 subdir=$6
    if go_mod_dir "$mod@$version" >/dev/null; then
        return 0
    fi
    local dest="$WORK/src/deps/${repo/\//+}-${subdir//\//+}-$version"
    if [[ ! -f "$dest/.exported" ]]; then
        log "$mod@$version is not on the module proxy; exporting ${repo}@${commit:0:12} from the git mirror"
        export_git_tree "$repo" "$commit" "$subdir" "$dest"
        touch "$dest/.exported"
    fi
    (cd "$src" && go mod edit -replace="$mod@$version=$dest")
}

prepare_docker_build() {
    local src=$1
    replace_tagged_from_mirror "$src" "$DOTNET_MOD" v3.107.0 pulumi/pulumi-dotnet \
        "$DOTNET_V3_107_0_COMMIT" pulumi-language-dotnet
    # The provider uses exactly one thing from pulumi-java: the PackageInfo struct it puts in
    # its schema's language.java section (SDK generation metadata; GetSchema only, never
    # preview or update). Unless the proxy serves the module, stand in for that one package
    # with a struct of the same JSON shape (field names and tags as in pulumi-java v1.29.0
    # pkg/codegen/java/package_info.go).
    local required
    required=$(awk -v m="$JAVA_MOD" '$1 == m { print $2; exit }' "$src/go.mod")
    if go_mod_dir "$JAVA_MOD@$required" >/dev/null; then
        return 0
    fi
    local stand_in="$WORK/src/deps/pulumi-java-package-info-$required"
    fresh_dir "$stand_in/pkg/codegen/java"
    printf 'module %s\n\ngo 1.25\n' "$JAVA_MOD" >"$stand_in/go.mod"
    cat >"$stand_in/pkg/codegen/java/package_info.go" <<'EOF_GO'
// Package java stands in for pulumi-java's codegen package: only the schema extension type.
package java

// PackageInfo is the .language.java section of a Pulumi package schema.
type PackageInfo struct {
	Packages                        map[string]string `json:"packages,omitempty"`
	BasePackage                     string            `json:"basePackage"`
	BuildFiles                      string            `json:"buildFiles"`
	Dependencies                    map[string]string `json:"dependencies,omitempty"`
	GradleNexusPublishPluginVersion string            `json:"gradleNexusPublishPluginVersion"`
	GradleTest                      string            `json:"gradleTest"`
}
EOF_GO
    log "$JAVA_MOD@$required is not on the module proxy: using a stand-in for its PackageInfo"
    (cd "$src" && go mod edit -replace="$JAVA_MOD@$required=$stand_in")
}

build_docker_build() {
    local name=docker-build version=$PULUMI_DOCKER_BUILD_VERSION bin
    bin=$(provider_binary "$name" "$version")
    if [[ -x "$bin" ]]; then
        log "pulumi-resource-$name v$version already built"
    else
        module_source "$DOCKER_BUILD_MOD" "v$version" pulumi/pulumi-docker-build \
            "$DOCKER_BUILD_COMMIT" "" "pulumi-docker-build-v$version"
        local src=$SRC_DIR
        prepare_docker_build "$src"
        mkdir -p "$(dirname "$bin")"
        log "building pulumi-resource-$name v$version"
        (cd "$src" && go build -trimpath \
            -ldflags "-s -w -X $DOCKER_BUILD_MOD/provider.Version=$version" \
            -o "$bin.tmp" "./provider/cmd/pulumi-resource-$name")
        mv -f "$bin.tmp" "$bin"
    fi
    install_plugin "$name" "$version"
}

# ------------------------------------------------------------- release source

# The CLI archive holds the CLI and the Python language host side by side.
cli_from_release() {
    local stamp="$PULUMI_BIN/.pulumi-language-python.version"
    if [[ -x "$PULUMI_BIN/pulumi" && "$(cat "$stamp" 2>/dev/null)" == "v$PULUMI_VERSION" ]]; then
        log "pulumi CLI v$PULUMI_VERSION already installed"
        return 0
    fi
    local unpacked="$WORK/release-v$PULUMI_VERSION" name
    fetch_release pulumi "$unpacked" || return
    for name in pulumi pulumi-language-python pulumi-language-python-exec; do
        install -m 0755 "$unpacked/pulumi/$name" "$PULUMI_BIN/$name"
    done
    rm -rf "$unpacked"
    printf 'v%s\n' "$PULUMI_VERSION" >"$stamp"
}

# plugin_from_release NAME: Pulumi's own plugin download (GitHub releases) into PULUMI_HOME.
plugin_from_release() {
    local version
    version=$(provider_version "$1")
    plugin_installed "$1" "$version" && return 0
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=false \
        "$PULUMI_BIN/pulumi" plugin install resource "$1" "$version" --non-interactive
}

provider_version() {
    case "$1" in
    kubernetes) echo "$PULUMI_KUBERNETES_VERSION" ;;
    digitalocean) echo "$PULUMI_DIGITALOCEAN_VERSION" ;;
    random) echo "$PULUMI_RANDOM_VERSION" ;;
    docker-build) echo "$PULUMI_DOCKER_BUILD_VERSION" ;;
    esac
}

# The registry source's functions under the names from_source looks for.
cli_from_registry() { build_cli; }
python_from_registry() { build_python_host; }
python_from_release() { cli_from_release; }
plugin_from_registry() {
    if [[ $1 == docker-build ]]; then
        build_docker_build # not Terraform-bridged: its own build
    else
        build_provider "$1"
    fi
}

main() {
    local pieces=("$@")
    if [[ ${#pieces[@]} -eq 0 ]]; then
        pieces=(cli python random digitalocean kubernetes docker-build)
    fi
    local piece
    for piece in "${pieces[@]}"; do
        case "$piece" in
        cli | python) timed "pulumi $piece" from_source "$piece" ;;
        kubernetes | digitalocean | random | docker-build)
            # Installing plugins needs the CLI.
            [[ -x "$PULUMI_BIN/pulumi" ]] || timed "pulumi CLI" from_source cli
            timed "provider $piece" from_source plugin "$piece"
            ;;
        *)
            log "unknown piece: $piece (expected cli, python, kubernetes, digitalocean, random, docker-build)"
            return 2
            ;;
        esac
    done
    log "done: binaries in $PULUMI_BIN, plugins in $PULUMI_HOME/plugins"
}

main "$@"
