"""Minimal JSON Schemas of the custom resources we declare, written from the CRDs of the pinned
charts (Dapr 1.18.3 charts/dapr/crds, KEDA 2.20.2 keda/templates/crds, prometheus-operator in
kube-prometheus-stack 88.5.3, cert-manager v1.21.1, and from Envoy Gateway v1.9.0
charts/gateway-helm/charts/crds: its own CRDs and the Gateway API v1.6.1 CRDs it ships). They
reject unknown top-level and spec fields, catching typos the API server would otherwise prune
silently. The Gateway API shapes admit only standard-channel fields, though the chart installs
the experimental channel."""

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

_INT = {"type": "integer"}
_POLICY_TARGETS = {
    "type": "array",
    "items": _object(
        {"group": _STRING, "kind": _STRING, "name": _STRING}, ["group", "kind", "name"]
    ),
}
_PARENT_REFS = {
    "type": "array",
    "items": _object(
        {
            "group": _STRING,
            "kind": _STRING,
            "namespace": _STRING,
            "name": _STRING,
            "sectionName": _STRING,
            "port": _INT,
        },
        ["name"],
    ),
}
_ALLOWED_ROUTES = _object(
    {
        "namespaces": _object(
            {"from": {"enum": ["All", "Same", "Selector", "None"]}, "selector": {"type": "object"}},
            [],
        ),
        "kinds": {"type": "array"},
    },
    [],
)
_LISTENER = _object(
    {
        "name": _STRING,
        "hostname": _STRING,
        "port": _INT,
        "protocol": _STRING,
        "tls": _object(
            {
                "mode": {"enum": ["Terminate", "Passthrough"]},
                "certificateRefs": {
                    "type": "array",
                    "items": _object(
                        {"group": _STRING, "kind": _STRING, "name": _STRING, "namespace": _STRING},
                        ["name"],
                    ),
                },
                "options": {"type": "object"},
            },
            [],
        ),
        "allowedRoutes": _ALLOWED_ROUTES,
    },
    ["name", "port", "protocol"],
)
_PATH_MATCH = _object(
    {"type": {"enum": ["Exact", "PathPrefix", "RegularExpression"]}, "value": _STRING}, []
)
_ROUTE_RULE = _object(
    {
        "name": _STRING,
        "matches": {
            "type": "array",
            "items": _object(
                {
                    "path": _PATH_MATCH,
                    "headers": {"type": "array"},
                    "queryParams": {"type": "array"},
                    "method": _STRING,
                },
                [],
            ),
        },
        "filters": {
            "type": "array",
            "items": _object(
                {
                    "type": _STRING,
                    "requestRedirect": _object(
                        {
                            "scheme": {"enum": ["http", "https"]},
                            "hostname": _STRING,
                            "path": {"type": "object"},
                            "port": _INT,
                            "statusCode": {"enum": [301, 302, 303, 307, 308]},
                        },
                        [],
                    ),
                    "requestHeaderModifier": {"type": "object"},
                    "responseHeaderModifier": {"type": "object"},
                    "urlRewrite": {"type": "object"},
                },
                ["type"],
            ),
        },
        "backendRefs": {
            "type": "array",
            "items": _object(
                {
                    "group": _STRING,
                    "kind": _STRING,
                    "name": _STRING,
                    "namespace": _STRING,
                    "port": _INT,
                    "weight": _INT,
                },
                ["name"],
            ),
        },
        "timeouts": {"type": "object"},
    },
    [],
)
_RESOURCES = _object(
    {
        "requests": {"type": "object", "additionalProperties": _STRING},
        "limits": {"type": "object", "additionalProperties": _STRING},
    },
    [],
)
_ENVOY_SERVICE = _object(
    {
        "name": _STRING,
        "type": {"enum": ["ClusterIP", "LoadBalancer", "NodePort"]},
        "annotations": {"type": "object", "additionalProperties": _STRING},
        "labels": {"type": "object", "additionalProperties": _STRING},
        "externalTrafficPolicy": {"enum": ["Local", "Cluster"]},
        "loadBalancerClass": _STRING,
        "loadBalancerSourceRanges": _STRINGS,
    },
    [],
)
_ENVOY_KUBERNETES = _object(
    {
        "envoyDeployment": _object(
            {
                "replicas": _INT,
                "container": _object({"resources": _RESOURCES, "env": {"type": "array"}}, []),
                "pod": {"type": "object"},
                "strategy": {"type": "object"},
            },
            [],
        ),
        "envoyService": _ENVOY_SERVICE,
        "envoyPDB": _object({"minAvailable": _INT, "maxUnavailable": _INT}, []),
        "envoyHpa": {"type": "object"},
    },
    [],
)
_RATE_LIMIT_RULE = _object(
    {
        "clientSelectors": {
            "type": "array",
            "items": _object(
                {
                    "sourceCIDR": _object(
                        {
                            "type": {"enum": ["Exact", "Distinct"]},
                            "value": _STRING,
                            "invert": {"type": "boolean"},
                        },
                        ["value"],
                    ),
                    "headers": {"type": "array"},
                    "methods": {"type": "array"},
                    "path": {"type": "object"},
                    "queryParams": {"type": "array"},
                },
                [],
            ),
        },
        "limit": _object(
            {
                "requests": _INT,
                "unit": {"enum": ["Second", "Minute", "Hour", "Day", "Week", "Month", "Year"]},
            },
            ["requests", "unit"],
        ),
        "shared": {"type": "boolean"},
    },
    ["limit"],
)

# KEDA 2.20.2 (kedacore/charts keda/templates/crds, crd-scaledobjects.yaml and
# crd-triggerauthentications.yaml at the "prepare v2.20.2 release" commit).
_KEDA_TRIGGER = _object(
    {
        "type": _STRING,
        "name": _STRING,
        "metricType": {"enum": ["Value", "AverageValue", "Utilization"]},
        "useCachedMetrics": {"type": "boolean"},
        "metadata": {"type": "object", "additionalProperties": _STRING},
        "authenticationRef": _object(
            {
                "name": _STRING,
                "kind": {"enum": ["TriggerAuthentication", "ClusterTriggerAuthentication"]},
            },
            ["name"],
        ),
    },
    ["metadata", "type"],
)
_SCALED_OBJECT = _object(
    {
        "scaleTargetRef": _object(
            {
                "apiVersion": _STRING,
                "kind": _STRING,
                "name": {"type": "string", "minLength": 1},
                "envSourceContainerName": _STRING,
            },
            ["name"],
        ),
        "minReplicaCount": _INT,
        "maxReplicaCount": _INT,
        "idleReplicaCount": _INT,
        "pollingInterval": _INT,
        "cooldownPeriod": _INT,
        "initialCooldownPeriod": _INT,
        "fallback": {"type": "object"},
        "advanced": _object(
            {
                "horizontalPodAutoscalerConfig": _object(
                    {"name": _STRING, "behavior": {"type": "object"}}, []
                ),
                "restoreToOriginalReplicaCount": {"type": "boolean"},
                "scalingModifiers": {"type": "object"},
            },
            [],
        ),
        "triggers": {"type": "array", "items": _KEDA_TRIGGER},
    },
    ["scaleTargetRef", "triggers"],
)
_TRIGGER_AUTHENTICATION = _object(
    {
        "secretTargetRef": {
            "type": "array",
            "items": _object(
                {"parameter": _STRING, "name": _STRING, "key": _STRING},
                ["key", "name", "parameter"],
            ),
        },
    },
    [],
)

SHAPES: dict[str, Schema] = {
    "keda.sh/v1alpha1/ScaledObject": _kind(_SCALED_OBJECT),
    "keda.sh/v1alpha1/TriggerAuthentication": _kind(_TRIGGER_AUTHENTICATION),
    "gateway.networking.k8s.io/v1/GatewayClass": _kind(
        _object(
            {
                "controllerName": _STRING,
                "parametersRef": _object(
                    {"group": _STRING, "kind": _STRING, "name": _STRING, "namespace": _STRING},
                    ["group", "kind", "name"],
                ),
                "description": _STRING,
            },
            ["controllerName"],
        )
    ),
    "gateway.networking.k8s.io/v1/Gateway": _kind(
        _object(
            {
                "gatewayClassName": _STRING,
                "listeners": {"type": "array", "items": _LISTENER, "minItems": 1},
                "addresses": {"type": "array"},
                "infrastructure": {"type": "object"},
            },
            ["gatewayClassName", "listeners"],
        )
    ),
    "gateway.networking.k8s.io/v1/HTTPRoute": _kind(
        _object(
            {
                "parentRefs": _PARENT_REFS,
                "hostnames": _STRINGS,
                "rules": {"type": "array", "items": _ROUTE_RULE},
            },
            [],
        )
    ),
    "gateway.envoyproxy.io/v1alpha1/EnvoyProxy": _kind(
        _object(
            {
                "provider": _object(
                    {"type": {"enum": ["Kubernetes", "Custom"]}, "kubernetes": _ENVOY_KUBERNETES},
                    ["type"],
                ),
                "logging": {"type": "object"},
                "telemetry": {"type": "object"},
                "shutdown": {"type": "object"},
            },
            [],
        )
    ),
    "gateway.envoyproxy.io/v1alpha1/ClientTrafficPolicy": _kind(
        _object(
            {
                "targetRefs": _POLICY_TARGETS,
                "proxyProtocol": _object({"optional": {"type": "boolean"}}, []),
                "clientIPDetection": _object(
                    {
                        "xForwardedFor": _object(
                            {
                                "numTrustedHops": {"type": "integer", "minimum": 0},
                                "trustedCIDRs": _STRINGS,
                            },
                            [],
                        ),
                        "customHeader": {"type": "object"},
                        "directSourceIP": {"type": "object"},
                    },
                    [],
                ),
                "headers": {"type": "object"},
                "timeout": {"type": "object"},
                "connection": {"type": "object"},
                "tls": {"type": "object"},
            },
            ["targetRefs"],
        )
    ),
    "gateway.envoyproxy.io/v1alpha1/BackendTrafficPolicy": _kind(
        _object(
            {
                "targetRefs": _POLICY_TARGETS,
                "rateLimit": _object(
                    {
                        "local": _object(
                            {"rules": {"type": "array", "items": _RATE_LIMIT_RULE, "maxItems": 16}},
                            ["rules"],
                        ),
                        "global": {"type": "object"},
                    },
                    [],
                ),
                "requestBuffer": _object({"limit": _STRING}, ["limit"]),
                "timeout": {"type": "object"},
                "retry": {"type": "object"},
            },
            ["targetRefs"],
        )
    ),
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
                "bulkSubscribe": _object(
                    {
                        "enabled": {"type": "boolean"},
                        "maxMessagesCount": {"type": "integer"},
                        "maxAwaitDurationMs": {"type": "integer"},
                    },
                    ["enabled"],
                ),
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
                # tracing.otel requires all three (dapr charts/dapr/crds/configuration.yaml).
                "tracing": _object(
                    {
                        "samplingRate": _STRING,
                        "zipkin": {"type": "object"},
                        "otel": _object(
                            {
                                "endpointAddress": _STRING,
                                "isSecure": {"type": "boolean"},
                                "protocol": {"enum": ["grpc", "http"]},
                            },
                            ["endpointAddress", "isSecure", "protocol"],
                        ),
                    },
                    ["samplingRate"],
                ),
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
