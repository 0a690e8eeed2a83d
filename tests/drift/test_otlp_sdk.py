"""The OpenTelemetry Python SDK's own OTLP/HTTP exporter, against the running app: what a service
instrumented with the SDK sends is understood, stored, and judged against the feature's approved
version (drift evaluation runs in-process here, as Celery runs eagerly without a broker)."""

import pytest
from django.core.cache import cache
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from features.models import Finding, FindingSource, FindingStatus
from governance.drift.models import DriftPending, ObservedEdge
from governance.policy.severity import Severity

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def nothing_scheduled():
    """No drift evaluation left scheduled by an earlier test (the flag lives in the cache)."""
    cache.clear()


def finished_spans() -> list:
    """Spans as a service instrumented with the SDK produces them: reco-locale used locale and language
    to shape a response, through reco-reader."""
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
def test_the_sdk_exporter_delivers_spans_that_become_drift(live_server, shipper, approve_feature, compression):
    approve_feature("reco-locale", signals=("locale",))  # language was never declared
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
    findings = Finding.objects.filter(source=FindingSource.DRIFT, feature_key="reco-locale")
    assert [(f.rule_id, f.path, f.severity, f.status) for f in findings] == [
        ("undeclared-signal", "signal language", Severity.WARNING, FindingStatus.OPEN)
    ]
    assert not DriftPending.objects.exists()


def test_the_sdk_exporter_without_a_token_fails(live_server):
    exporter = OTLPSpanExporter(endpoint=live_server.url + "/v1/traces", timeout=10)

    result = exporter.export(finished_spans())
    exporter.shutdown()

    assert result == SpanExportResult.FAILURE
    assert ObservedEdge.objects.count() == 0
