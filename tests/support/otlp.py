"""A loopback OTLP/HTTP trace receiver: what the processes under test export, decoded.

    with receiving_traces() as traces:
        env = {ENV_OTLP_ENDPOINT: traces.endpoint}
        ...
        spans = traces.spans()

It accepts `POST /v1/traces` with a protobuf ExportTraceServiceRequest (gzip or not), as
the OTLP/HTTP exporter sends it (https://opentelemetry.io/docs/specs/otlp/#otlphttp), and
answers with an empty ExportTraceServiceResponse.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as SpanMessage

from tests.support.http_server import QuietHandler, serving
from tests.support.ports import LOOPBACK

TRACES_PATH = "/v1/traces"


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    kind: str  # SERVER, CLIENT, PRODUCER, CONSUMER, INTERNAL
    trace_id: str
    span_id: str
    parent_span_id: str | None
    attributes: dict[str, object]
    links: tuple[tuple[str, str], ...]  # (trace id, span id)


@dataclass
class TraceReceiver:
    port: int = 0
    received: list[ReceivedSpan] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def endpoint(self) -> str:
        """The base URL, as OTEL_EXPORTER_OTLP_ENDPOINT takes it."""
        return f"http://{LOOPBACK}:{self.port}"

    def spans(self) -> list[ReceivedSpan]:
        with self.lock:
            return list(self.received)

    def add(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        spans = [
            _span(service, span)
            for resource_spans in request.resource_spans
            for service in [_service_of(resource_spans.resource.attributes)]
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]
        with self.lock:
            self.requests += 1
            self.received.extend(spans)


def _value(value: AnyValue) -> object:
    kind = value.WhichOneof("value")
    return (
        getattr(value, kind)
        if kind in {"string_value", "bool_value", "int_value", "double_value"}
        else str(value)
    )


def _service_of(attributes: object) -> str:
    for attribute in attributes:  # type: ignore[attr-defined]
        if attribute.key == "service.name":
            return str(_value(attribute.value))
    return "unknown"


def _span(service: str, span: SpanMessage) -> ReceivedSpan:
    return ReceivedSpan(
        service=service,
        name=span.name,
        kind=SpanMessage.SpanKind.Name(span.kind).removeprefix("SPAN_KIND_"),
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=span.parent_span_id.hex() or None,
        attributes={a.key: _value(a.value) for a in span.attributes},
        links=tuple((link.trace_id.hex(), link.span_id.hex()) for link in span.links),
    )


@contextmanager
def receiving_traces() -> Iterator[TraceReceiver]:
    """Serve a TraceReceiver on 127.0.0.1 until the block ends."""
    receiver = TraceReceiver()

    class Handler(QuietHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path != TRACES_PATH:
                self._answer(404, b"")
                return
            try:
                receiver.add(body)
            except Exception:  # a body that is no ExportTraceServiceRequest
                self._answer(400, b"")
                return
            self._answer(200, ExportTraceServiceResponse().SerializeToString())

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with serving(Handler, "otlp-receiver") as port:
        receiver.port = port
        yield receiver
