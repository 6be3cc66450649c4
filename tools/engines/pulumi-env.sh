# Source this file (do not run it) to use the Pulumi CLI and plugins that
# tools/engines/pulumi.sh built: `source tools/engines/pulumi-env.sh`.
# It only sets variables; it builds nothing. Tests still choose their own backend
# (PULUMI_BACKEND_URL=file://<tmp>) and PULUMI_CONFIG_PASSPHRASE: tests/support/pulumi.py sets
# the same variables and builds their throwaway projects.
# shellcheck shell=bash

__pulumi_env_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$__pulumi_env_dir/versions.env"
unset __pulumi_env_dir

TASKSTREAM_CACHE="${TASKSTREAM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/taskstream}"
export TASKSTREAM_CACHE

# The CLI and the Python language host (which must sit beside the CLI) come first on PATH.
case ":$PATH:" in
*":$TASKSTREAM_CACHE/pulumi/v$PULUMI_VERSION/bin:"*) ;;
*) export PATH="$TASKSTREAM_CACHE/pulumi/v$PULUMI_VERSION/bin:$PATH" ;;
esac
# Resource plugins are installed under $PULUMI_HOME/plugins, keyed by name and version.
export PULUMI_HOME="$TASKSTREAM_CACHE/pulumi/home"
# Nothing here may reach the network: no update check, no plugin downloads.
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
