"""Minimal JSON Schemas of the custom resources we declare, written from the CRDs of the pinned
charts (Dapr 1.18.3 charts/dapr/crds, prometheus-operator in kube-prometheus-stack 88.5.3,
cert-manager v1.21.1). They reject unknown top-level and spec fields, catching typos the
API server would otherwise prune silently."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

_STRING = {"type": "string"}
_STRINGS = {"type": "array", "items": _STRING}
_METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": _STRING, "namespace": _STRING, "labels": {"type": "object"}},
}


def _object(properties: Schema, required: list[str]) -> Schema:
    return {
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": properties,
    }


def _kind(spec: Schema, *, scopes: bool = False) -> Schema:
    properties: Schema = {
        "apiVersion": _STRING,
        "kind": _STRING,
        "metadata": _METADATA,
        "spec": spec,
    }
    if scopes:
        properties["scopes"] = _STRINGS
    return _object(properties, ["apiVersion", "kind", "metadata", "spec"])


_NAME_VALUE = _object(
    {"name": _STRING, "value": _STRING, "secretKeyRef": {"type": "object"}, "envRef": _STRING},
    ["name"],
)
_ISSUER_REF = _object({"name": _STRING, "kind": _STRING, "group": _STRING}, ["name"])
_TARGET = _object({"timeout": _STRING, "retry": _STRING, "circuitBreaker": _STRING}, [])
_RETRY = _object(
    {
        "policy": {"enum": ["constant", "exponential"]},
        "duration": _STRING,
        "maxInterval": _STRING,
        "maxRetries": {"type": "integer"},
    },
    ["policy"],
)
_BREAKER = _object(
    {"maxRequests": {"type": "integer"}, "interval": _STRING, "timeout": _STRING, "trip": _STRING},
    ["trip"],
)
_RULE = _object(
    {
        "alert": _STRING,
        "expr": _STRING,
        "for": _STRING,
        "labels": {"type": "object"},
        "annotations": {"type": "object"},
    },
    ["alert", "expr"],
)
_ENDPOINT = _object({"port": _STRING, "path": _STRING, "interval": _STRING}, ["port"])
_NAMESPACES = _object({"matchNames": _STRINGS, "any": {"type": "boolean"}}, [])

SHAPES: dict[str, Schema] = {
    "dapr.io/v1alpha1/Component": _kind(
        _object(
            {
                "type": _STRING,
                "version": _STRING,
                "metadata": {"type": "array", "items": _NAME_VALUE},
            },
            ["type", "version", "metadata"],
        ),
        scopes=True,
    ),
    "dapr.io/v2alpha1/Subscription": _kind(
        _object(
            {
                "pubsubname": _STRING,
                "topic": _STRING,
                "deadLetterTopic": _STRING,
                "routes": _object({"default": _STRING, "rules": {"type": "array"}}, []),
                # Free-form string options such as rawPayload.
                "metadata": {"type": "object", "additionalProperties": _STRING},
            },
            ["pubsubname", "topic", "routes"],
        ),
        scopes=True,
    ),
    "dapr.io/v1alpha1/Resiliency": _kind(
        _object(
            {
                "policies": _object(
                    {
                        "timeouts": {"type": "object", "additionalProperties": _STRING},
                        "retries": {"type": "object", "additionalProperties": _RETRY},
                        "circuitBreakers": {"type": "object", "additionalProperties": _BREAKER},
                    },
                    [],
                ),
                "targets": _object(
                    {
                        "components": {
                            "type": "object",
                            "additionalProperties": _object(
                                {"inbound": _TARGET, "outbound": _TARGET}, []
                            ),
                        }
                    },
                    [],
                ),
            },
            ["policies", "targets"],
        ),
        scopes=True,
    ),
    "dapr.io/v1alpha1/Configuration": _kind(
        _object(
            {
                "metrics": _object({"enabled": {"type": "boolean"}}, []),
                "tracing": _object({"samplingRate": _STRING, "zipkin": {"type": "object"}}, []),
            },
            [],
        )
    ),
    "monitoring.coreos.com/v1/PrometheusRule": _kind(
        _object(
            {
                "groups": {
                    "type": "array",
                    "items": _object(
                        {"name": _STRING, "rules": {"type": "array", "items": _RULE}},
                        ["name", "rules"],
                    ),
                }
            },
            ["groups"],
        )
    ),
    "monitoring.coreos.com/v1/ServiceMonitor": _kind(
        _object(
            {
                "namespaceSelector": _NAMESPACES,
                "selector": {"type": "object"},
                "endpoints": {"type": "array", "items": _ENDPOINT},
            },
            ["selector", "endpoints"],
        )
    ),
    "monitoring.coreos.com/v1/PodMonitor": _kind(
        _object(
            {
                "namespaceSelector": _NAMESPACES,
                "selector": {"type": "object"},
                "podMetricsEndpoints": {"type": "array", "items": _ENDPOINT},
            },
            ["selector", "podMetricsEndpoints"],
        )
    ),
    "cert-manager.io/v1/ClusterIssuer": _kind(
        _object(
            {
                "acme": _object(
                    {
                        "server": _STRING,
                        "email": _STRING,
                        "privateKeySecretRef": {"type": "object"},
                        "solvers": {"type": "array"},
                    },
                    ["server", "privateKeySecretRef", "solvers"],
                ),
                "selfSigned": _object({}, []),
                "ca": _object({"secretName": _STRING}, ["secretName"]),
            },
            [],
        )
    ),
    "cert-manager.io/v1/Certificate": _kind(
        _object(
            {
                "secretName": _STRING,
                "issuerRef": _ISSUER_REF,
                "isCA": {"type": "boolean"},
                "commonName": _STRING,
                "dnsNames": _STRINGS,
                "duration": _STRING,
                "privateKey": _object(
                    {
                        "algorithm": {"enum": ["RSA", "ECDSA", "Ed25519"]},
                        "size": {"type": "integer"},
                    },
                    [],
                ),
            },
            ["secretName", "issuerRef"],
        )
    ),
}
