"""Each answer as OpenTelemetry spans in the OpenInference conventions, which Phoenix, Langfuse and Jaeger
show: one ``answer`` span, and under it one span per stage of the answer's trace (embedding, each
search, fusing and ranking, reranking, the language model) with the model's tokens.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (OTLP over HTTP; ``OTEL_SERVICE_NAME`` and the other
standard variables apply). The spans are made from the timeline the engine keeps for every answer
anyway, in a thread of their own, so an answer only pays for handing itself over: LlamaIndex's own
instrumentation costs several milliseconds per answer, in the answer's thread. Questions and answers
are redacted first. An endpoint that is down costs the answers nothing and is logged once a minute.
"""

import atexit
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Sequence
from functools import cache
from typing import Any

from openinference.semconv.resource import ResourceAttributes
from openinference.semconv.trace import OpenInferenceSpanKindValues as Kind
from openinference.semconv.trace import SpanAttributes
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
    SpanProcessor,
)
from opentelemetry.trace import set_span_in_context

from ..answers import Answer
from ..security.redaction import describe, redact

log = logging.getLogger(__name__)

# The OpenInference kind of each stage a trace times; a stage missing here is a CHAIN.
STAGE_KINDS = {
    "condense": Kind.LLM,
    "rephrase": Kind.LLM,
    "embed": Kind.EMBEDDING,
    "dense_search": Kind.RETRIEVER,
    "keyword_search": Kind.RETRIEVER,
    "hybrid_search": Kind.RETRIEVER,
    "verified_match": Kind.RETRIEVER,
    "fuse_and_rank": Kind.CHAIN,
    "rerank": Kind.RERANKER,
    "llm_total": Kind.LLM,
}
SPAN_NAMES = {"llm_total": "llm"}  # the answer's language-model call, from its start to its end
FIRST_TOKEN = "llm_first_token"  # an event on that span, not a span of its own
QUEUE_SIZE = 10_000  # answers waiting for their spans; beyond it, answers go untraced (counted)
REPORT_EVERY_S = 60.0
MAX_TEXT_CHARS = 4_000  # of a question or an answer, in a span


class Reported:
    """Logs a recurring failure once per ``every_s`` at most, with how often it happened meanwhile."""

    def __init__(self, what: str, every_s: float = REPORT_EVERY_S) -> None:
        self.what = what
        self.every_s = every_s
        self.count = 0
        self._last = -every_s
        self._unreported = 0

    def failed(self, reason: str) -> None:
        self.count += 1
        self._unreported += 1
        now = time.monotonic()
        if now - self._last < self.every_s:
            return
        times = f" ({self._unreported} times since the last report)" if self._unreported > 1 else ""
        log.warning("%s%s: %s; answers are unaffected", self.what, times, redact(reason)[0])
        self._last, self._unreported = now, 0


class ExporterMessages(logging.Handler):
    """The OTLP exporter's own messages about the batch being sent, the first of which says why it
    failed: it logs them for every batch, which the report below says once a minute instead."""

    def __init__(self) -> None:
        super().__init__()
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.first = self.first or record.getMessage()


class ReportingExporter(SpanExporter):
    """Sends through ``exporter``; a batch that fails is dropped and reported once a minute at most."""

    def __init__(self, exporter: SpanExporter, where: str) -> None:
        self._exporter = exporter
        self.failures = Reported(f"traces could not be sent to {where}")
        self.messages = ExporterMessages()
        exporter_log = logging.getLogger(type(exporter).__module__)
        exporter_log.addHandler(self.messages)
        exporter_log.propagate = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.messages.first = None
        try:
            result = self._exporter.export(spans)
        except Exception as error:  # whatever the exporter does, the answers go on
            self.messages.first = describe(error)
            result = SpanExportResult.FAILURE
        if result is SpanExportResult.FAILURE:
            self.failures.failed(self.messages.first or "the exporter gave no reason")
        return result

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._exporter.force_flush(timeout_millis)


class AnswerTracer:
    """Turns finished answers into spans, in a background thread, through ``processor``."""

    def __init__(self, processor: SpanProcessor, service_name: str) -> None:
        resource = Resource.create(
            {SERVICE_NAME: service_name, ResourceAttributes.PROJECT_NAME: service_name}
        )
        self._provider = TracerProvider(resource=resource)
        self._provider.add_span_processor(processor)
        self._tracer = self._provider.get_tracer(__name__)
        self._answers: queue.Queue[Answer] = queue.Queue(QUEUE_SIZE)
        self.dropped = Reported("answers were not traced: too many waiting for their spans")
        self.failed = Reported("an answer's spans could not be made")
        threading.Thread(target=self._make_spans, name="answer-spans", daemon=True).start()

    def record(self, answer: Answer) -> None:
        """Trace ``answer`` (called by its stream once it is finished)."""
        try:
            self._answers.put_nowait(answer)
        except queue.Full:
            self.dropped.failed(f"{QUEUE_SIZE} answers are waiting")

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Send what is waiting; False if that took longer than ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while self._answers.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        left_ms = max(0, int((deadline - time.monotonic()) * 1000))
        return self._provider.force_flush(left_ms) and not self._answers.unfinished_tasks

    def close(self) -> None:
        self.flush()
        self._provider.shutdown()

    def _make_spans(self) -> None:
        while True:
            answer = self._answers.get()
            try:
                self.spans(answer)
            except Exception as error:  # a bad answer must not stop the others' traces
                self.failed.failed(describe(error))
            finally:
                self._answers.task_done()

    def spans(self, answer: Answer) -> None:
        """The answer's span, and one child per stage it went through."""
        trace = answer.trace
        ends = [end for _, _, end in trace.timeline]
        end_ns = max([trace.started_ns + answer.latency_ms * 1_000_000, *ends])
        root = self._tracer.start_span(
            "answer", start_time=trace.started_ns, attributes=_answer_attributes(answer)
        )
        within = set_span_in_context(root)
        first_token = next((end for name, _, end in trace.timeline if name == FIRST_TOKEN), None)
        for name, start, end in trace.timeline:
            if name == FIRST_TOKEN:
                continue
            span = self._tracer.start_span(
                SPAN_NAMES.get(name, name),
                context=within,
                start_time=start,
                attributes=_stage_attributes(name, answer),
            )
            if name == "llm_total" and first_token is not None:
                span.add_event("first_token", timestamp=first_token)
            span.end(end_time=end)
        root.end(end_time=end_ns)


def _answer_attributes(answer: Answer) -> dict[str, Any]:
    trace = answer.trace
    cost = trace.cost
    return {
        SpanAttributes.OPENINFERENCE_SPAN_KIND: Kind.CHAIN.value,
        SpanAttributes.INPUT_VALUE: _redacted(answer.question),
        SpanAttributes.OUTPUT_VALUE: _redacted(answer.text),
        SpanAttributes.METADATA: json.dumps(
            {
                "mode": answer.mode,
                "complete": answer.complete,
                "notice": answer.notice,
                "verified_from": answer.verified_from,
                "sources": [source.document_id for source in answer.sources],
                "tokens_reported": trace.tokens_reported,
                "cost_usd": "unknown" if cost is None else round(cost, 8),
                "stages_ms": trace.stages_ms,
            }
        ),
        **{
            f"{SpanAttributes.RETRIEVAL_DOCUMENTS}.{i}.document.id": source.document_id
            for i, source in enumerate(answer.sources)
        },
    }


def _stage_attributes(stage: str, answer: Answer) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        SpanAttributes.OPENINFERENCE_SPAN_KIND: STAGE_KINDS.get(stage, Kind.CHAIN).value
    }
    if stage == "llm_total" and answer.model:
        trace = answer.trace
        attributes |= {
            SpanAttributes.LLM_MODEL_NAME: answer.model,
            # The tokens of every call the answer made (a follow-up's rewording, rephrasings).
            SpanAttributes.LLM_TOKEN_COUNT_PROMPT: trace.prompt_tokens,
            SpanAttributes.LLM_TOKEN_COUNT_COMPLETION: trace.completion_tokens,
            SpanAttributes.LLM_TOKEN_COUNT_TOTAL: trace.prompt_tokens + trace.completion_tokens,
        }
    return attributes


def _redacted(text: str) -> str:
    return redact(text[:MAX_TEXT_CHARS])[0]


def answer_tracer(default_service_name: str) -> AnswerTracer | None:
    """The process's tracer, exporting to ``OTEL_EXPORTER_OTLP_ENDPOINT``; None when it is unset."""
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if not endpoint:
        return None
    return _otlp_tracer(endpoint, os.environ.get("OTEL_SERVICE_NAME") or default_service_name)


@cache  # one exporter and one thread per process, however many engines it opens
def _otlp_tracer(endpoint: str, service_name: str) -> AnswerTracer:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    exporter = ReportingExporter(OTLPSpanExporter(), redact(endpoint)[0])
    log.info("answers are traced to %s as %s", redact(endpoint)[0], service_name)
    tracer = AnswerTracer(BatchSpanProcessor(exporter), service_name)
    atexit.register(tracer.close)  # a command's last answers are sent before it exits
    return tracer
