"""The OpenTelemetry Python SDK's own OTLP/HTTP exporter, against the running app: what a service
instrumented with the SDK sends is understood, stored and queued for drift evaluation."""

import pytest
from django.core.cache import cache
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from governance.drift import tasks
from governance.drift.models import DriftPending, ObservedEdge

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def evaluations(monkeypatch):
    """Feature keys handed to drift evaluation (eager Celery runs it in the request's thread)."""
    cache.clear()
    seen: list[str] = []

    def evaluate(keys, **_options):
        seen.extend(keys)

    monkeypatch.setattr(tasks, "evaluate_drift", evaluate)
    return seen


def finished_spans() -> list:
    """Spans as a service instrumented with the SDK produces them."""
    recorder = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "reco-api", "deployment.environment.name": "staging"})
    )
    provider.add_span_processor(SimpleSpanProcessor(recorder))
    tracer = provider.get_tracer("reco")
    with tracer.start_as_current_span("rank products") as span:
        span.set_attribute("personalisation.feature", "reco-locale")
        span.set_attribute("personalisation.signals", ["locale", "language"])
        span.set_attribute("personalisation.destination", "response")
        span.set_attribute("personalisation.service_identity", "reco-reader")
        span.set_attribute("personalisation.credential_ttl_seconds", 3600)
    with tracer.start_as_current_span("GET /products") as span:
        span.set_attribute("http.route", "/products")
    provider.shutdown()
    return recorder.get_finished_spans()


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_the_sdk_exporter_delivers_personalisation_spans(live_server, shipper, evaluations, compression):
    exporter = OTLPSpanExporter(
        endpoint=live_server.url + "/v1/traces",
        headers={"Authorization": f"Bearer {shipper.plaintext}"},
        compression=compression,
        timeout=10,
    )

    result = exporter.export(finished_spans())
    exporter.shutdown()

    assert result == SpanExportResult.SUCCESS
    edges = ObservedEdge.objects.order_by("signal")
    assert [(edge.signal, edge.destination, edge.environment, edge.count) for edge in edges] == [
        ("language", "response", "staging", 1),
        ("locale", "response", "staging", 1),
    ]
    assert edges[0].max_credential_ttl_seconds == 3600
    assert "reco-locale" in evaluations or DriftPending.objects.filter(feature_key="reco-locale").exists()


def test_the_sdk_exporter_without_a_token_fails(live_server, evaluations):
    exporter = OTLPSpanExporter(endpoint=live_server.url + "/v1/traces", timeout=10)

    result = exporter.export(finished_spans())
    exporter.shutdown()

    assert result == SpanExportResult.FAILURE
    assert ObservedEdge.objects.count() == 0
