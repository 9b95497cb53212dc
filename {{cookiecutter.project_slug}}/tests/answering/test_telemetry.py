"""Answers as OpenTelemetry spans: one per stage under the answer's own, in the OpenInference
conventions, redacted, read back from a real Phoenix server; a collector that is down costs the
answers nothing and is reported once a minute."""

import json
import logging
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client
from openinference.semconv.trace import SpanAttributes
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from {{ cookiecutter.package_name }}.answering.engine import QueryEngine
from {{ cookiecutter.package_name }}.answering.telemetry import (
    MAX_TEXT_CHARS,
    AnswerTracer,
    ReportingExporter,
)
from {{ cookiecutter.package_name }}.answers import Answer, Trace
from {{ cookiecutter.package_name }}.config import Settings

from ..conftest import free_port, {% if cookiecutter.llm != "none" %}llm_unreachable, {% endif %}wait_for_http
from ..processes import start_group, stop_groups

# Phoenix from PyPI, run by uv in an environment of its own (its dependencies are not the project's).
PHOENIX = "arize-phoenix>=12,<21"
QUESTION = "How do I add my own documents? Reply to ann.lee@example.com"
KIND = SpanAttributes.OPENINFERENCE_SPAN_KIND


@pytest.fixture
def memory() -> Iterator[tuple[AnswerTracer, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    tracer = AnswerTracer(SimpleSpanProcessor(exporter), "ask-docs-test")
    yield tracer, exporter
    tracer.close()


def children_of(root: ReadableSpan, spans: list[ReadableSpan]) -> list[ReadableSpan]:
    assert root.context is not None
    return [s for s in spans if s.parent is not None and s.parent.span_id == root.context.span_id]


@pytest.mark.slow
def test_an_answer_is_a_span_per_stage_under_its_own(
    sample_index: Settings, memory: tuple[AnswerTracer, InMemorySpanExporter]
) -> None:
    tracer, exporter = memory
{%- if cookiecutter.llm != "none" %}
    stream = QueryEngine(llm_unreachable(sample_index)).stream(QUESTION)
{%- else %}
    stream = QueryEngine(sample_index).stream(QUESTION)
{%- endif %}
    stream.on_answer = tracer.record
    answer = stream.answer()
    assert tracer.flush()

    spans = list(exporter.get_finished_spans())
    (root,) = [span for span in spans if span.parent is None]
    stages = children_of(root, spans)
    assert root.name == "answer" and len(stages) == len(spans) - 1  # every stage under the answer
    assert {"embed", "fuse_and_rank"} <= {span.name for span in stages}
    kinds = {span.name: span.attributes[KIND] for span in stages if span.attributes}
    assert kinds["embed"] == "EMBEDDING" and kinds["fuse_and_rank"] == "CHAIN"
    assert any(name.endswith("_search") and kind == "RETRIEVER" for name, kind in kinds.items())
    assert root.start_time is not None and root.end_time is not None
    assert all(root.start_time <= s.start_time <= s.end_time <= root.end_time for s in stages)  # type: ignore[operator]

    attributes = dict(root.attributes or {})
    assert attributes[KIND] == "CHAIN"
    assert "ann.lee@example.com" not in json.dumps(attributes)  # redacted, like the logs
    assert "[REDACTED EMAIL]" in str(attributes[SpanAttributes.INPUT_VALUE])
    shown = str(attributes[SpanAttributes.OUTPUT_VALUE])  # the answer, up to a bound
    assert answer.text.startswith(shown) and len(shown) == min(len(answer.text), MAX_TEXT_CHARS)
    metadata = json.loads(str(attributes[SpanAttributes.METADATA]))
    assert metadata["mode"] == answer.mode and metadata["stages_ms"] == answer.trace.stages_ms
    assert metadata["sources"] == [source.document_id for source in answer.sources]
    assert root.resource.attributes["service.name"] == "ask-docs-test"


def traced_answer(price: tuple[float, float] | None) -> Answer:
    """An answer whose language model took from 5 to 200 ms and gave its first token at 50 ms."""
    trace = Trace(prompt_tokens=900, completion_tokens=100, price=price)
    ms = 1_000_000
    start = trace.started_ns
    trace.timeline = [
        ("embed", start + 1 * ms, start + 3 * ms),
        ("llm_first_token", start + 5 * ms, start + 50 * ms),
        ("llm_total", start + 5 * ms, start + 200 * ms),
    ]
    return Answer("How?", "Like this [1].", [], "llm", "my-model", None, 201, trace=trace)


@pytest.mark.unit
def test_the_language_model_span_holds_its_model_tokens_and_first_token(
    memory: tuple[AnswerTracer, InMemorySpanExporter],
) -> None:
    tracer, exporter = memory
    answer = traced_answer(price=None)
    tracer.record(answer)
    assert tracer.flush()
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert set(spans) == {"answer", "embed", "llm"}  # the first token is an event, not a span
    llm = spans["llm"]
    assert dict(llm.attributes or {}) == {
        KIND: "LLM",
        SpanAttributes.LLM_MODEL_NAME: "my-model",
        SpanAttributes.LLM_TOKEN_COUNT_PROMPT: 900,
        SpanAttributes.LLM_TOKEN_COUNT_COMPLETION: 100,
        SpanAttributes.LLM_TOKEN_COUNT_TOTAL: 1000,
    }
    (event,) = llm.events
    assert event.name == "first_token"
    assert event.timestamp - answer.trace.started_ns == 50_000_000
    assert (llm.start_time, llm.end_time) == answer.trace.timeline[2][1:]
    metadata = json.loads(str((spans["answer"].attributes or {})[SpanAttributes.METADATA]))
    assert metadata["cost_usd"] == "unknown"  # no price for the model: not zero


@pytest.mark.unit
def test_a_collector_that_is_down_costs_nothing_and_is_reported_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    closed = free_port()  # nothing listens there
    otlp = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{closed}/v1/traces", timeout=1)
    exporter = ReportingExporter(otlp, "the collector")
    tracer = AnswerTracer(SimpleSpanProcessor(exporter), "ask-docs-test")  # a batch per span
    started = time.perf_counter()
    with caplog.at_level(logging.DEBUG):
        for _ in range(2):
            tracer.record(traced_answer(price=(1.0, 2.0)))
        recorded_s = time.perf_counter() - started
        tracer.flush(timeout_s=30)
    assert recorded_s < 0.5  # handed over: the answers did not wait for the collector
    assert exporter.failures.count == 6  # three spans per answer, each sent alone, each failed
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings  # the exporter's own messages are kept out of the log
    assert "traces could not be sent to the collector" in warnings[0]
    assert "answers are unaffected" in warnings[0]
    tracer.close()


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Phoenix server: PHOENIX_URL, or one started from PyPI with uv on free loopback ports."""
    if url := os.environ.get("PHOENIX_URL"):
        yield url.rstrip("/")
        return
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("no Phoenix server: set PHOENIX_URL, or install uv to start one from PyPI")
    home = tmp_path_factory.mktemp("phoenix")
    port = free_port()
    env = {
        **os.environ,
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(free_port()),
        "PHOENIX_WORKING_DIR": str(home),
    }
    command = [uv, "tool", "run", "--from", PHOENIX, "phoenix", "serve"]
    process = start_group(command, home / "phoenix.log", env)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout_s=600)  # a first install
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_groups([process], grace_s=10)


def phoenix_spans(phoenix: str, project: str, at_least: int) -> list[dict[str, Any]]:
    """The project's spans as Phoenix shows them, once it has stored ``at_least`` of them. Phoenix
    stores what it receives in the background, and the project exists (no 404) only from then on."""
    from phoenix.client import Client as PhoenixClient

    client = PhoenixClient(base_url=phoenix)
    deadline = time.monotonic() + 30
    while True:
        try:
            spans = [dict(span) for span in client.spans.get_spans(project_identifier=project)]
        except httpx.HTTPStatusError as error:
            if error.response.status_code != 404 or time.monotonic() > deadline:
                raise
            spans = []
        if len(spans) >= at_least or time.monotonic() > deadline:
            return spans
        time.sleep(0.5)


@pytest.mark.slow
def test_serve_sends_each_answers_spans_to_phoenix_before_it_stops(
    settings: Settings, phoenix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = f"ask-docs-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", phoenix)
    monkeypatch.setenv("OTEL_SERVICE_NAME", project)
    # Spans wait for a full batch or ten minutes: only the flush on the way out sends these.
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "600000")
{%- if cookiecutter.llm == "openai" %}
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # passages: no model to reach
{%- elif cookiecutter.llm == "openai_compatible" %}
    monkeypatch.setenv("RAG_LLM_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens: passages
{%- endif %}
    command = [sys.executable, "-m", "{{ cookiecutter.package_name }}"]
    ingested = subprocess.run([*command, "ingest"], capture_output=True, text=True, timeout=600)
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr
    port = free_port()
    serve = [*command, "serve", "--port", str(port)]
    ui = start_group(serve, tmp_path / "ui.log", dict(os.environ))
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout_s=180)
        client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
        chat, _ = client.predict(QUESTION, [], api_name="/ask")
        assert "Sources" in str(chat[-1]["content"])
    finally:
        stop_groups([ui], grace_s=30)  # SIGTERM, as a platform stops it
    assert ui.returncode is not None, "serve did not stop on SIGTERM"

    spans = phoenix_spans(phoenix, project, at_least=4)
    by_name = {span["name"]: span for span in spans}
    assert {"answer", "embed", "fuse_and_rank"} <= set(by_name), (tmp_path / "ui.log").read_text()
    root = by_name["answer"]
    assert root["span_kind"] == "CHAIN" and not root.get("parent_id")
    stages = [span for span in spans if span is not root]
    assert {span["parent_id"] for span in stages} == {root["context"]["span_id"]}
    assert {span["context"]["trace_id"] for span in spans} == {root["context"]["trace_id"]}
    assert by_name["embed"]["span_kind"] == "EMBEDDING"
    shown = json.dumps(spans, default=str)
    assert "ann.lee@example.com" not in shown and "[REDACTED EMAIL]" in shown
