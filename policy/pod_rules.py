"""Rules about what runs in a pod: resources, images, privileges, Dapr identity, secret env."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from policy.kube import container_label, containers, pod_annotations, pod_spec
from policy.model import Context, dig, is_unknown, mapping, sequence

REQUIRED_RESOURCES: tuple[tuple[str, str], ...] = (
    ("requests", "cpu"),
    ("requests", "memory"),
    ("limits", "cpu"),
    ("limits", "memory"),
)
HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")
DAPR_ENABLED = "dapr.io/enabled"
DAPR_REQUIRED = ("dapr.io/app-id", "dapr.io/config")
DAPR_DISABLE_K8S_SECRET_STORE = "dapr.io/disable-builtin-k8s-secret-store"  # noqa: S105
_TRUTHY = frozenset({"y", "yes", "true", "t", "on", "1"})

# A variable is secret-like when one of its name's words is one of these (API_KEY, jwtSecret).
_SECRET_WORDS = frozenset(
    {"password", "passwd", "pwd", "secret", "token", "key", "apikey", "credential", "credentials"}
)
# ...unless its last word says the value is about the secret, not the secret itself.
_DESCRIPTIVE_LAST_WORDS = frozenset(
    {"id", "name", "file", "path", "ref", "ttl", "seconds", "minutes", "hours", "days", "expiry"}
)
_WORD_BOUNDARY = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


def container_resources(resource_type: str, inputs: Mapping[str, Any], ctx: Context) -> list[str]:
    """Every container declares CPU and memory requests and limits."""
    messages = []
    for container in containers(resource_type, inputs):
        resources = container.get("resources")
        if is_unknown(resources):
            continue
        missing = [
            f"{section}.{name}"
            for section, name in REQUIRED_RESOURCES
            if _absent(dig(resources, section, name))
        ]
        if missing:
            messages.append(
                f"{container_label(container)} does not set resources {', '.join(missing)}; "
                "every container needs CPU and memory requests and limits"
            )
    return messages


def pinned_images(resource_type: str, inputs: Mapping[str, Any], ctx: Context) -> list[str]:
    """Every image names an explicit tag other than ``latest``, or a digest."""
    messages = []
    for container in containers(resource_type, inputs):
        problem = image_problem(container.get("image"))
        if problem:
            messages.append(f"{container_label(container)} {problem}")
    return messages


def image_problem(image: Any) -> str | None:
    """Why an image reference is not pinned, or None when it is (or cannot be known yet)."""
    if is_unknown(image):
        return None
    if not isinstance(image, str) or not image.strip():
        return "has no image"
    if "@" in image:
        return (
            None
            if image.split("@", 1)[1].startswith("sha256:")
            else f"image {image!r} is malformed"
        )
    last_segment = image.rsplit("/", 1)[-1]
    tag = last_segment.rsplit(":", 1)[1] if ":" in last_segment else ""
    if not tag:
        return f"image {image!r} has no tag; pin a version or a digest"
    if tag.lower() == "latest":
        return f"image {image!r} uses the 'latest' tag; pin a version or a digest"
    return None


def no_privilege(resource_type: str, inputs: Mapping[str, Any], ctx: Context) -> list[str]:
    """No privileged container; the pod shares no host namespace."""
    spec = pod_spec(resource_type, inputs)
    if spec is None:
        return []
    messages = [
        f"pod spec sets {field}: true; pods must not share the host's namespaces"
        for field in HOST_NAMESPACES
        if spec.get(field) is True
    ]
    for container in containers(resource_type, inputs):
        if dig(container, "securityContext", "privileged") is True:
            messages.append(f"{container_label(container)} runs privileged")
    return messages


def dapr_identity(resource_type: str, inputs: Mapping[str, Any], ctx: Context) -> list[str]:
    """A Dapr-enabled pod template names its app id and its Dapr Configuration."""
    annotations = pod_annotations(resource_type, inputs)
    if not _is_true(annotations.get(DAPR_ENABLED)):
        return []
    missing = [key for key in DAPR_REQUIRED if _absent(annotations.get(key))]
    if not missing:
        return []
    return [
        f"pod template enables Dapr but lacks the annotation(s) {', '.join(missing)}; "
        "the sidecar needs a stable app id and the platform's Configuration (tracing, mTLS)"
    ]


def dapr_sidecar_without_token(
    resource_type: str, inputs: Mapping[str, Any], ctx: Context
) -> list[str]:
    """A Dapr-enabled pod without a service-account token disables daprd's built-in K8s store."""
    spec = pod_spec(resource_type, inputs)
    annotations = pod_annotations(resource_type, inputs)
    if spec is None or not _is_true(annotations.get(DAPR_ENABLED)):
        return []
    # Only an explicit false is judged: absent, the ServiceAccount's own setting decides.
    if spec.get("automountServiceAccountToken") is not False:
        return []
    disabled = annotations.get(DAPR_DISABLE_K8S_SECRET_STORE)
    if is_unknown(disabled) or _is_true(disabled):
        return []
    return [
        "pod template enables Dapr with automountServiceAccountToken: false but does not set "
        f'{DAPR_DISABLE_K8S_SECRET_STORE}: "true"; in Kubernetes mode daprd loads the built-in '
        "Kubernetes secret store, which cannot start without the token, and daprd exits"
    ]


def secret_env_from_secrets(
    resource_type: str, inputs: Mapping[str, Any], ctx: Context
) -> list[str]:
    """A secret-like environment variable takes its value from a Secret, never a literal."""
    messages = []
    for container in containers(resource_type, inputs):
        for variable in sequence(container.get("env")):
            variable = mapping(variable)
            name = variable.get("name")
            if not isinstance(name, str) or not is_secret_like(name):
                continue
            if "value" in variable and variable["value"] not in (None, ""):
                messages.append(
                    f"{container_label(container)} sets secret-like {name} as a literal value; "
                    "use valueFrom.secretKeyRef"
                )
            elif "valueFrom" in variable and _absent(dig(variable, "valueFrom", "secretKeyRef")):
                messages.append(
                    f"{container_label(container)} reads secret-like {name} from something "
                    "other than a Secret; use valueFrom.secretKeyRef"
                )
    return messages


def is_secret_like(name: str) -> bool:
    words = [word.lower() for word in _WORD_BOUNDARY.split(name) if word]
    if not words or words[-1] in _DESCRIPTIVE_LAST_WORDS:
        return False
    return any(word in _SECRET_WORDS or word.endswith(("password", "secret")) for word in words)


def _is_true(value: Any) -> bool:
    """An annotation's boolean as Dapr reads it (its utils.IsTruthy: trimmed, any case)."""
    return value is True or (isinstance(value, str) and value.strip().lower() in _TRUTHY)


def _absent(value: Any) -> bool:
    """Missing or empty; an unknown value counts as present (it will be set)."""
    if is_unknown(value):
        return False
    return value is None or value == "" or value == {}
