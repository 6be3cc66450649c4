"""OpenTelemetry tracing: set up once per process from settings, off unless an OTLP endpoint is set.

Off (the default), nothing of OpenTelemetry is imported: every helper below returns at its
first line, so a process that does not trace pays neither the import (~90 ms for the
propagators alone) nor a span per call. On, the process gets a tracer provider named after
it, the FastAPI, SQLAlchemy and httpx instrumentations, and an OTLP/HTTP (protobuf)
exporter behind a batching processor.

The W3C trace context crosses the event path in the data, not in transport headers: the
outbox row keeps the `traceparent`/`tracestate` of the span that wrote it, the relay's
publish span (a child of that context) goes into the CloudEvent's extension attributes of
the same names, and the consumer's span continues from the CloudEvent. daprd copies those
attributes from the publish metadata `cloudevent.traceparent` / `cloudevent.tracestate`
(dapr/dapr pkg/runtime/pubsub/cloudevents.go, v1.18), per entry of a bulk publish too, and
delivers the CloudEvent unchanged; so the chain holds whether or not daprd traces itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from app.contract import HEALTH_PATH, METRICS_PATH, READY_PATH

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

    from app.settings import Settings

log = logging.getLogger(__name__)

TRACER_NAME = "taskstream"
SERVICE_PREFIX = "taskstream"
# Probes and scrapes every few seconds would be most of the traces and say nothing. The
# instrumentation searches these in the full URL (scheme://host/path?query).
UNTRACED_PATHS = ",".join(
    rf"^[a-z]+://[^/]+{path}(\?|$)" for path in (HEALTH_PATH, READY_PATH, METRICS_PATH)
)

MAX_TRACESTATE = 512

_provider: TracerProvider | None = None


def enabled() -> bool:
    return _provider is not None


def configure(
    settings: Settings, process: str, *, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """Start tracing for this process when an OTLP endpoint is set (or an exporter is
    handed in by a test); returns the provider, or None when tracing stays off.

    Call once, before any engine or app is built: the SQLAlchemy and httpx
    instrumentations patch the constructors."""
    global _provider
    endpoint = settings.otlp_endpoint
    if exporter is None and not endpoint:
        return None
    from opentelemetry import trace
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    from app import logs

    # Resource.create also merges OTEL_RESOURCE_ATTRIBUTES (pod, node, namespace in a cluster).
    resource = Resource.create(
        {
            SERVICE_NAME: f"{SERVICE_PREFIX}-{process}",
            SERVICE_VERSION: _version(),
            "deployment.environment.name": settings.environment,
        }
    )
    provider = TracerProvider(resource=resource, sampler=_sampler(settings.trace_sample_ratio))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        assert endpoint is not None
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url(endpoint)))
        )
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    if exporter is None:
        # Once per process (OpenTelemetry refuses a second); tests hand in an exporter and
        # leave the global alone: every helper here uses this provider, not the global one.
        trace.set_tracer_provider(provider)
    # The instrumentation's declared range stops below SQLAlchemy 2.1 (0.66b2: "< 2.1.0") and
    # it would then do nothing; its engine events work on 2.1, which tests/app/test_tracing.py
    # checks (the consumers' INSERT spans), so the range check is skipped.
    SQLAlchemyInstrumentor().instrument(tracer_provider=provider, skip_dep_check=True)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    _provider = provider
    logs.use_trace_ids(current_trace_id)
    log.info(
        "tracing on: OTLP/HTTP to %s as %s",
        endpoint or "a test exporter",
        resource.attributes[SERVICE_NAME],
    )
    return provider


def shutdown() -> None:
    """Flush what is buffered and stop (the end of a process, or of a test)."""
    global _provider
    if _provider is None:
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    from app import logs

    SQLAlchemyInstrumentor().uninstrument()
    HTTPXClientInstrumentor().uninstrument()
    logs.use_trace_ids(None)
    _provider.shutdown()
    _provider = None


def traces_url(endpoint: str) -> str:
    """OTEL_EXPORTER_OTLP_ENDPOINT's rule: a base URL to which the signal's path is added."""
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1/traces") else f"{base}/v1/traces"


def instrument_app(app: FastAPI) -> None:
    """Server spans for every request but the probes and the metrics scrape."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=_provider,
        excluded_urls=UNTRACED_PATHS,
        exclude_spans=["receive", "send"],
    )


def current_trace_id() -> str | None:
    """The current span's trace id (32 hex digits), when there is a valid one."""
    if _provider is None:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def current_context() -> tuple[str | None, str | None]:
    """The W3C `traceparent` and `tracestate` of the current span, for an outbox row."""
    if _provider is None:
        return None, None
    from opentelemetry import propagate

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    state = carrier.get("tracestate") or None
    # The outbox column's bound; W3C lets a hop drop tracestate entries it cannot carry.
    return carrier.get("traceparent"), state if state and len(state) <= MAX_TRACESTATE else None


@contextmanager
def _publish_span(
    topic: str, event_id: str, parent: tuple[str | None, str | None]
) -> Iterator[tuple[str | None, str | None]]:
    from opentelemetry import propagate, trace

    carrier = {
        key: value
        for key, value in zip(("traceparent", "tracestate"), parent, strict=True)
        if value
    }
    assert _provider is not None
    with _provider.get_tracer(TRACER_NAME).start_as_current_span(
        f"publish {topic}",
        context=propagate.extract(carrier),
        kind=trace.SpanKind.PRODUCER,
        attributes={
            "messaging.system": "dapr",
            "messaging.operation.type": "send",
            "messaging.destination.name": topic,
            "messaging.message.id": event_id,
        },
    ):
        yield current_context()


@contextmanager
def publish_spans(rows: Sequence[Any]) -> Iterator[None]:
    """One PRODUCER span per outbox row, each a child of the context the row was written
    in; while they are open each row carries its span's context (not stored: the relay
    never writes these fields back), which is what goes into its CloudEvent.

    The publish call itself is not traced again by the httpx instrumentation: one bulk
    call holds events of many traces, and its timing is these spans'."""
    if _provider is None or not rows:
        yield
        return
    from contextlib import ExitStack

    from opentelemetry import context as otel_context
    from opentelemetry.instrumentation.utils import suppress_http_instrumentation

    with ExitStack() as stack:
        for row in rows:
            parent = (row.traceparent, row.tracestate)
            row.traceparent, row.tracestate = stack.enter_context(
                _publish_span(row.topic, str(row.event_id), parent)
            )
        # The publish call runs outside every row's span (each row names its own parent).
        token = otel_context.attach(otel_context.Context())
        stack.callback(otel_context.detach, token)
        stack.enter_context(suppress_http_instrumentation())
        yield


def continued_span(name: str, parent: tuple[str | None, str | None]) -> Any:
    """An INTERNAL span continuing a stored W3C context (a reminder firing in the trace of
    the change that scheduled it); a context manager that does nothing when tracing is off."""
    if _provider is None:
        return nullcontext()
    from opentelemetry import propagate

    carrier = {k: v for k, v in zip(("traceparent", "tracestate"), parent, strict=True) if v}
    # No stored context: a new trace, not a child of whatever happens to be current.
    context = propagate.extract(carrier) if carrier else _empty_context()
    return _provider.get_tracer(TRACER_NAME).start_as_current_span(name, context=context)


def _empty_context() -> Any:
    from opentelemetry.context import Context

    return Context()


def consume_span(topic: str, envelope: Any) -> Any:
    """A CONSUMER span continuing the trace the CloudEvent carries, linked to the delivery
    request's span; a context manager that does nothing when tracing is off."""
    if _provider is None:
        return nullcontext()
    from opentelemetry import propagate, trace

    carrier = {
        key: value
        for key in ("traceparent", "tracestate")
        if isinstance(value := getattr(envelope, key, None), str) and value
    }
    delivery = trace.get_current_span().get_span_context()
    parent = propagate.extract(carrier) if carrier else None
    links = [trace.Link(delivery)] if delivery.is_valid and parent is not None else None
    return _provider.get_tracer(TRACER_NAME).start_as_current_span(
        f"consume {topic}",
        context=parent,
        kind=trace.SpanKind.CONSUMER,
        links=links,
        attributes={
            "messaging.system": "dapr",
            "messaging.operation.type": "process",
            "messaging.destination.name": topic,
            "messaging.message.id": str(getattr(envelope, "id", "")),
        },
    )


def _sampler(ratio: float) -> Any:
    """Follow the caller's decision; sample new traces at `ratio`, except root spans of
    client calls (the relay's and the workers' polling queries, each its own trace)."""
    from opentelemetry.sdk.trace.sampling import (
        Decision,
        ParentBased,
        Sampler,
        SamplingResult,
        TraceIdRatioBased,
    )
    from opentelemetry.trace import SpanKind

    if TYPE_CHECKING:
        from opentelemetry.context import Context
        from opentelemetry.trace import Link, TraceState
        from opentelemetry.util.types import Attributes

    ratio_sampler = TraceIdRatioBased(ratio)

    class NoRootClientSpans(Sampler):
        def should_sample(
            self,
            parent_context: Context | None,
            trace_id: int,
            name: str,
            kind: SpanKind | None = None,
            attributes: Attributes = None,
            links: Sequence[Link] | None = None,
            trace_state: TraceState | None = None,
        ) -> SamplingResult:
            if kind == SpanKind.CLIENT:
                return SamplingResult(Decision.DROP)
            return ratio_sampler.should_sample(
                parent_context, trace_id, name, kind, attributes, links, trace_state
            )

        def get_description(self) -> str:
            return f"NoRootClientSpans{{{ratio_sampler.get_description()}}}"

    return ParentBased(root=NoRootClientSpans())


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("taskstream")
    except PackageNotFoundError:
        return "unknown"
