"""The mock engine's provider answers: enough computed outputs for the program to finish."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pulumi
from pulumi.runtime import mocks

# Every secret output the mock engine fabricates contains this marker, so a test can find
# any place where a secret reached a resource input without being marked secret.
SECRET_MARKER = "mock-secret-value"  # noqa: S105 - a marker, not a credential
# What every pulumi-random RandomString "generates" under the mock engine.
RANDOM_STRING = "r4nd0m"

_DOCKER_CREDENTIALS = (
    "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials"
)


class Mocks(pulumi.runtime.Mocks):
    """Fabricated provider answers: enough computed outputs for the program to finish."""

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        return f"{args.name}-id", {**args.inputs, **computed(args.typ, args.name, args.inputs)}

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return invoke_result(args.token, args.args), []


def computed(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    secret = f"{SECRET_MARKER}-{name}"
    uri = f"postgresql://taskstream:{secret}@private-db.internal:25061/taskstream-pool"
    if type_ == "kubernetes:core/v1:Service" and "metadata" not in inputs:
        # A read of the ingress controller's Service: answer with a load balancer address.
        return {"status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}}}
    if type_.startswith("kubernetes:") and "metadata" in inputs:
        meta = dict(inputs.get("metadata") or {})
        meta.setdefault("name", f"{name}-generated")
        return {"metadata": meta}
    table: dict[str, dict[str, Any]] = {
        "random:index/randomPassword:RandomPassword": {"result": secret, "bcryptHash": secret},
        "random:index/randomString:RandomString": {"result": RANDOM_STRING},
        # Another stack's outputs: the registry name the owning stack (dev) generated.
        "pulumi:pulumi:StackReference": {
            "outputs": {"registry_name": f"taskstream-{RANDOM_STRING}"},
            "secretOutputNames": [],
        },
        "digitalocean:index/kubernetesCluster:KubernetesCluster": {
            "kubeConfigs": [
                {"rawConfig": f"kubeconfig {secret}", "clusterCaCertificate": "LS0tLS1DQS0tLS0t"}
            ],
            "endpoint": "https://cluster.k8s.ondigitalocean.com",
        },
        "digitalocean:index/databaseCluster:DatabaseCluster": {
            "privateHost": "private-db.internal",
            "port": 25060,
            "user": "doadmin",
            "password": secret,
            "uri": uri,
            "privateUri": uri,
        },
        "digitalocean:index/databaseUser:DatabaseUser": {"password": secret},
        "digitalocean:index/databaseConnectionPool:DatabaseConnectionPool": {
            "password": secret,
            "uri": uri,
            "privateUri": uri,
        },
        "digitalocean:index/containerRegistry:ContainerRegistry": {
            "endpoint": f"registry.digitalocean.com/{inputs.get('name')}",
            "serverUrl": "registry.digitalocean.com",
        },
        _DOCKER_CREDENTIALS: {"dockerCredentials": _docker_config_json(secret)},
        "docker-build:index:Image": _pushed_image(name, inputs),
    }
    return table.get(type_, {})


def _docker_config_json(secret: str) -> str:
    # `auth` is base64("user:password") as DigitalOcean issues it; the (legacy) email field
    # carries the marker in clear so a leak of the whole body is still found.
    auth = base64.b64encode(f"{secret}:{secret}".encode()).decode()
    entry = {"auth": auth, "email": secret}
    return json.dumps({"auths": {"registry.digitalocean.com": entry}}, separators=(",", ":"))


def _pushed_image(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    # What the provider reports after a push: the manifest digest, and the first tag with it.
    digest = "sha256:" + hashlib.sha256(name.encode()).hexdigest()
    tags = inputs.get("tags") or []
    return {"digest": digest, "ref": f"{tags[0]}@{digest}" if tags else ""}


def invoke_result(function: str, args: dict[str, Any]) -> dict[str, Any]:
    if function == "digitalocean:index/getKubernetesVersions:getKubernetesVersions":
        prefix = args.get("versionPrefix", "1.34.")
        return {"latestVersion": f"{prefix}1-do.0", "validVersions": [f"{prefix}1-do.0"]}
    if function == "digitalocean:index/getKubernetesCluster:getKubernetesCluster":
        raw = f"kubeconfig {SECRET_MARKER}-fresh-token"
        return {"name": args.get("name"), "kubeConfigs": [{"rawConfig": raw}]}
    if function == "digitalocean:index/getContainerRegistry:getContainerRegistry":
        return {
            "name": args.get("name"),
            "endpoint": f"registry.digitalocean.com/{args.get('name')}",
        }
    return {}
