"""The platform program. Importing it loads the Pulumi SDKs lean (infra/lean_sdk.py)."""

from infra import lean_sdk

lean_sdk.install()
