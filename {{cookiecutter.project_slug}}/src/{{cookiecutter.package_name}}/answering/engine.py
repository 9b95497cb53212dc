"""The query engine: retrieve the best chunks, then answer from them with numbered citations.

Whenever no language model can answer ({% if cookiecutter.llm == "none" %}this project has none configured{% else %}no API key, or the server is down{% endif %}), the answer is the best
passages themselves, with a notice in plain words; what went wrong goes to the log, never to the user.

A follow-up question is read in its conversation: {% if cookiecutter.llm == "none" %}without a language model, it is searched together with
the question before it{% else %}the language model rewrites it as a question that stands on its own,
and that is what is searched and answered (without the model, it is searched together with the
question before it){% endif %}.
"""

import logging
{%- if cookiecutter.llm != "none" %}
import re
{%- endif %}
import time
{%- if cookiecutter.llm != "none" %}
from collections.abc import Iterator, Mapping, Sequence
{%- else %}
from collections.abc import Sequence
{%- endif %}
{%- if cookiecutter.llm != "none" %}
from typing import Any

from llama_index.core.llms import LLM
{%- else %}
{# a blank line between the standard library and third-party imports #}
{%- endif %}
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle
from llama_index.core.vector_stores import FilterCondition, MetadataFilter, MetadataFilters

from ..answers import Answer, AnswerStream, Source, Trace, validate_question
from ..config import Settings
{%- if cookiecutter.llm != "none" %}
from ..feedback.verified import VerifiedAnswers, VerifiedMatch
{%- endif %}
from ..index.passages import group_neighbours, group_text
{%- if cookiecutter.llm != "none" %}
from ..security.redaction import describe
from .deadlines import Deadlined
{%- endif %}
from .live_index import LiveIndex, Reading
{%- if cookiecutter.llm != "none" %}
from .prompts import answer_messages, condense_messages, rephrase_messages
{%- endif %}
from .retrieval.search import ChunkSearch, Found
from .telemetry import answer_tracer
{%- if cookiecutter.llm != "none" %}
from .tokens import STREAM_USAGE, record_call, reported
{%- endif %}

log = logging.getLogger(__name__)

SNIPPET_CHARS = 600
PASSAGES_NOTICE = "No language model is configured, so here are the most relevant passages."
EMPTY_NOTICE = (
    "Nothing in the documentation matches: the index may be empty. Run the ingestion first."
)
WEAK_NOTICE = (
    "The documentation does not seem to cover this question. These are the closest passages, "
    "in case one of them helps."
)
Turn = tuple[str, str]  # an earlier question and its answer
HISTORY_TURNS = 3  # earlier turns that a follow-up is read with
{%- if cookiecutter.llm != "none" %}
UNAVAILABLE_NOTICE = (
    "The language model could not answer just now, so here are the most relevant passages."
)
{%- endif %}


def access_filters(labels: Sequence[str]) -> MetadataFilters:
    """Chunks whose access label is one of ``labels``.

    An OR of equalities: the one form that LlamaIndex translates for every vector store this template
    offers (its stores disagree on ``in`` and ``any``). No labels would mean no filter at all, so they
    are refused rather than read as "everything".
    """
    if not labels:
        raise ValueError("at least one access label is needed")
    return MetadataFilters(
        filters=[MetadataFilter(key="access", value=label) for label in labels],
        condition=FilterCondition.OR,
    )


class QueryEngine:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # The live index version, followed through promotions, each searched with its own model.
        self._index = LiveIndex(
            settings, lambda store, embed: ChunkSearch(settings, store, embed, access_filters)
        )
        # Named after the package: its traces are this application's, whichever module asks.
        self._tracer = answer_tracer(__name__.partition(".")[0])
{%- if cookiecutter.llm != "none" %}
        self._verified = VerifiedAnswers(settings.verified_similarity)
        self._llm = language_model(settings)
{%- endif %}

    def check_index(self) -> None:
        """Raise if the index does not answer (readiness)."""
        self._index.current().store.ping()

    def retrieve(self, question: str) -> list[Source]:
        return self.search(question)[0]

    def search(
        self, question: str, access: Sequence[str] | None = None
    ) -> tuple[list[Source], float | None]:
        """The sources for ``question``, and the closest chunk's similarity to it by meaning."""
        labels = access or self.settings.query_access
        found = self._search(self._index.current(), question, labels, Trace())[1]
        return self._sources(found.hits), found.best_similarity

    def _sources(self, hits: list[NodeWithScore]) -> list[Source]:
        """Numbered sources, best first; neighbouring matches of one document make one source."""
        groups = group_neighbours(hits, self.settings.passage_window)
        return [_source(number, group) for number, group in enumerate(groups, start=1)]

    def stream(
        self, question: str, history: Sequence[Turn] = (), access: Sequence[str] | None = None
    ) -> AnswerStream:
        """Answer ``question``; ``history`` holds the conversation's earlier turns, oldest first, and
        ``access`` the labels of the chunks the asker may read (default: ``query_access``). The
        stream's trace says how long each stage took{% if cookiecutter.llm != "none" %}, and what the language model's tokens cost{% endif %}."""
        question = validate_question(question, self.settings.max_question_chars)
        started = time.perf_counter()
{%- if cookiecutter.llm != "none" %}
        trace = Trace(price=self.settings.llm_prices.get(self.settings.llm_model))
{%- else %}
        trace = Trace()
{%- endif %}
        labels = access or self.settings.query_access
        stream = self._stream(question, history, labels, started, trace)
        stream.trace = trace
        if self._tracer:
            stream.on_answer = self._tracer.record
        return stream

    def flush_traces(self) -> None:
        """Send the spans of the answers given so far (before the process stops)."""
        if self._tracer:
            self._tracer.flush()

    def _stream(
        self,
        question: str,
        history: Sequence[Turn],
        labels: Sequence[str],
        started: float,
        trace: Trace,
    ) -> AnswerStream:
        if history:
            with trace.stage("condense"):
                question = self._standalone(question, history[-HISTORY_TURNS:]{% if cookiecutter.llm != "none" %}, trace{% endif %})
        reading = self._index.current()  # one version for the whole answer
        {% if cookiecutter.llm != "none" %}query_vector{% else %}_{% endif %}, found = self._search(reading, question, labels, trace)
        trace.similarity = found.best_similarity
{%- if cookiecutter.llm != "none" %}
        with trace.stage("verified_match"):
            verified = self._verified.match(query_vector, found.hits, reading.embed)
        if verified:
            return _verified_stream(question, verified, started)
{%- endif %}
        sources = self._sources(found.hits)
        if not sources:
            return AnswerStream(
                question, [], "passages", None, EMPTY_NOTICE, iter([EMPTY_NOTICE]), started
            )
        if (
            found.best_similarity is not None
            and found.best_similarity < self.settings.min_similarity
        ):
            # Answering from passages that do not match would read as an answer: say so instead.
            return _passages_stream(question, sources, WEAK_NOTICE, started)
{%- if cookiecutter.llm == "none" %}
        return _passages_stream(question, sources, PASSAGES_NOTICE, started)
{%- else %}
        if self._llm is None:
            return _passages_stream(question, sources, PASSAGES_NOTICE, started)
        generating = time.perf_counter()
        try:
            # Generated in a worker: a model that does not start answering within
            # llm_first_token_s gets the person the passages instead, and one that stalls
            # mid-answer is cut off at llm_total_s.
            pieces = Deadlined(
                self._generate(question, sources, trace),
                self.settings.llm_first_token_s,
                self.settings.llm_total_s,
            )
            first = next(pieces, "")
        except Exception as error:  # an unreachable, refusing or silent LLM must not break it
            log.warning("the language model could not answer: %s", describe(error))
            return _passages_stream(question, sources, UNAVAILABLE_NOTICE, started)
        trace.since("llm_first_token", generating)
        model = self.settings.llm_model
        stream = AnswerStream(question, sources, "llm", model, None, iter(()), started)
        stream.pieces = _chain(first, pieces, stream, trace, generating)
        return stream
{%- endif %}

    def ask(
        self, question: str, history: Sequence[Turn] = (), access: Sequence[str] | None = None
    ) -> Answer:
        return self.stream(question, history, access).answer()

    def _standalone(self, question: str, history: Sequence[Turn]{% if cookiecutter.llm != "none" %}, trace: Trace{% endif %}) -> str:
        """The question as it is meant in its conversation."""
        if not history:
            return question
        together = f"{history[-1][0]} {question}"[-self.settings.max_question_chars :]
{%- if cookiecutter.llm != "none" %}
        if self._llm is None:
            return together
        messages = condense_messages(history, question)
        try:
            reply = self._llm.chat(messages)
            rewritten = str(reply.message.content or "").strip()
        except Exception as error:
            log.warning("could not rewrite a follow-up question: %s", describe(error))
            return together
        record_call(trace, messages, rewritten, reported(reply.additional_kwargs))
        return rewritten[: self.settings.max_question_chars] or together
{%- else %}
        return together
{%- endif %}

    def _search(
        self, reading: Reading[ChunkSearch], question: str, access: Sequence[str], trace: Trace
    ) -> tuple[list[float], Found]:
        with trace.stage("embed"):
            query_vector = reading.embed.get_query_embedding(question)
        if not reading.embedding_checked:
            reading.store.check_embedding(reading.embed.model_name, len(query_vector))
            # An empty store names no model yet: check again once something is stored.
            reading.embedding_checked = reading.store.count() > 0
{%- if cookiecutter.llm != "none" %}
        rephrasings = []
        for text in self._rephrase(question, trace):
            with trace.stage("embed"):
                vector = reading.embed.get_query_embedding(text)
            rephrasings.append(QueryBundle(text, embedding=vector))
        bundle = QueryBundle(question, embedding=query_vector)
        found = reading.search.retrieve(bundle, *rephrasings, access=access, trace=trace)
{%- else %}
        bundle = QueryBundle(question, embedding=query_vector)
        found = reading.search.retrieve(bundle, access=access, trace=trace)
{%- endif %}
        return query_vector, found
{%- if cookiecutter.llm != "none" %}

    def _rephrase(self, question: str, trace: Trace) -> list[str]:
        """Other ways to search for ``question`` (``RAG_MULTI_QUERY`` of them), as Ask Astro does:
        a manual's words often differ from the asker's. None without a model, or when it fails."""
        count = self.settings.multi_query
        if not count or self._llm is None:
            return []
        messages = rephrase_messages(question, count)
        try:
            with trace.stage("rephrase"):
                response = self._llm.chat(messages)
        except Exception as error:
            log.warning("could not rephrase a question: %s", describe(error))
            return []
        reply = str(response.message.content or "")
        record_call(trace, messages, reply, reported(response.additional_kwargs))
        return rephrasings(reply, question, count, self.settings.max_question_chars)

    def _generate(self, question: str, sources: list[Source], trace: Trace) -> Iterator[str]:
        """The answer's pieces; its tokens go to ``trace`` once the model has finished."""
        assert self._llm is not None
        messages = answer_messages(self.settings.project_name, question, sources)
        text, usage = "", None
        for response in self._llm.stream_chat(messages, **STREAM_USAGE):
            usage = reported(response.additional_kwargs) or usage
            if response.delta:
                text += response.delta
                yield response.delta
        record_call(trace, messages, text, usage)


def language_model(settings: Settings) -> LLM | None:
    """The configured chat model, or None when it cannot be reached (no key)."""
{%- if cookiecutter.llm == "openai" %}
    from llama_index.llms.openai import OpenAI

    if settings.openai_api_key is None:
        log.warning("OPENAI_API_KEY is not set: answers are the most relevant passages")
        return None
    return OpenAI(
        model=settings.llm_model,
        api_key=settings.openai_api_key.get_secret_value(),
        api_base=settings.llm_base_url,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout_s,
        max_retries=1,
    )
{%- else %}
    from llama_index.llms.openai_like import OpenAILike

    key = settings.openai_api_key
    api_key = key.get_secret_value() if key else "not-needed"  # most local servers want none
    return OpenAILike(
        model=settings.llm_model,
        api_base=settings.llm_base_url,
        api_key=api_key,
        is_chat_model=True,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout_s,
        max_retries=1,
    )
{%- endif %}


def rephrasings(reply: str, question: str, count: int, max_chars: int) -> list[str]:
    """The queries in a model's reply: one a line, list marks dropped, no repeats of the question."""
    seen = {question.strip().lower()}
    found = []
    for line in reply.splitlines():
        query = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", line).strip().strip('"')[:max_chars]
        if query and query.lower() not in seen:
            seen.add(query.lower())
            found.append(query)
    return found[:count]


def _chain(
    first: str, rest: Iterator[str], stream: AnswerStream, trace: Trace, generating: float
) -> Iterator[str]:
    """The pieces of an answer; one the model stops short marks its stream incomplete."""
    if first:
        yield first
    try:
        yield from rest
    except Exception as error:
        log.warning("the language model stopped mid-answer: %s", describe(error))
        stream.complete = False
        yield "\n\n_(The answer was cut off: the language model stopped responding.)_"
    finally:
        trace.since("llm_total", generating)


def _verified_stream(question: str, verified: VerifiedMatch, started: float) -> AnswerStream:
    notice = f"A verified answer: people found this answer to “{verified.question}” helpful."
    sources = [_stored_source(record) for record in verified.sources]
    text = f"_{notice}_\n\n{verified.answer}"
    return AnswerStream(
        question, sources, "verified", None, notice, iter([text]), started, verified.interaction_id
    )


def _stored_source(record: Mapping[str, Any]) -> Source:
    """A source as stored with a past answer (fields added in later releases may be missing)."""
    snippet = str(record.get("snippet") or record.get("text") or "")
    return Source(
        number=int(record.get("number") or 0),
        title=str(record.get("title") or ""),
        uri=str(record.get("uri") or ""),
        section=str(record.get("section") or ""),
        text=str(record.get("text") or snippet),
        snippet=snippet,
        score=None,
        document_id=str(record.get("document_id") or ""),
        access=str(record.get("access") or "internal"),
    )
{%- endif %}


def _passages_stream(
    question: str, sources: list[Source], notice: str, started: float
) -> AnswerStream:
    passages = "\n\n".join(f"**[{s.number}] {s.heading}** · {s.uri}\n\n{s.text}" for s in sources)
    text = f"_{notice}_\n\n{passages}"
    return AnswerStream(question, sources, "passages", None, notice, iter([text]), started)


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[:chars].rsplit(" ", 1)[0] + " …"


def _source(number: int, group: list[NodeWithScore]) -> Source:
    """Matches of one passage as a source: the passage is what is read; the matched chunks, best
    first, are what is shown before it is opened."""
    hit = group[0]
    meta = hit.node.metadata
    chunks = [match.node.get_content(metadata_mode=MetadataMode.NONE).strip() for match in group]
    share = max(SNIPPET_CHARS // len(chunks), 150)
    snippet = " … ".join(_clip(chunk, share) for chunk in chunks)
    return Source(
        number=number,
        title=str(meta.get("title", "")),
        uri=str(meta.get("uri", "")),
        section=str(meta.get("section", "")),
        text=group_text(group),
        snippet=snippet,
        score=hit.score,
        document_id=str(meta.get("document_id", "")),
        access=str(meta.get("access", "")),
    )
