"""What an answer is, shared by the engine, the feedback store, the UI and the CLI. It imports nothing
heavy, so a front end can check a question before it loads a model."""

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["llm", "passages", "verified"]
# "[3]", but not a Markdown link's "[text](url)" nor the inside of "[[3]]".
CITATION = re.compile(r"(?<!\[)\[(\d{1,3})\](?![(\]])")


def cited_numbers(text: str) -> list[int]:
    return [int(number) for number in CITATION.findall(text)]


def citations_are_sound(text: str, source_count: int) -> bool:
    """Whether an answer cites at least one source and only sources it was given (1..count)."""
    numbers = cited_numbers(text)
    return bool(numbers) and all(1 <= number <= source_count for number in numbers)


class QuestionError(ValueError):
    """The question cannot be asked (empty or too long); the message is meant for the user."""


@dataclass(frozen=True)
class Source:
    number: int
    title: str
    uri: str
    section: str
    text: str  # the passage (the chunk with its neighbours), as the LLM reads it
    snippet: str  # a shorter part for display
    score: float | None
    document_id: str
    access: str

    @property
    def heading(self) -> str:
        return f"{self.title} › {self.section}" if self.section else self.title


@dataclass
class Trace:
    """How an answer was made: how long each stage took, and the language model's tokens and what
    they cost. A stage that did not run is absent; one that ran twice is added up."""

    stages_ms: dict[str, float] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens_reported: bool = True  # False once any call's tokens were counted here, not reported
    # US dollars per million prompt and completion tokens of the model; None: not in the price table.
    price: tuple[float, float] | None = (0.0, 0.0)
    similarity: float | None = None  # the closest chunk's to the question, by meaning
    # When the answer began (Unix nanoseconds), and each stage as it ran: (name, start, end), in
    # order. The trace's spans are made from these (``answering.telemetry``).
    started_ns: int = field(default_factory=time.time_ns)
    timeline: list[tuple[str, int, int]] = field(default_factory=list)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.since(name, started)

    def since(self, name: str, started: float) -> None:
        """Stage ``name`` ran from ``started`` (``time.perf_counter()``) until now."""
        elapsed_s = time.perf_counter() - started
        self.stages_ms[name] = round(self.stages_ms.get(name, 0.0) + elapsed_s * 1000, 3)
        end_ns = time.time_ns()
        self.timeline.append((name, end_ns - int(elapsed_s * 1e9), end_ns))

    def add_tokens(self, prompt: int, completion: int, reported: bool) -> None:
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        self.tokens_reported = self.tokens_reported and reported

    @property
    def cost(self) -> float | None:
        """The estimated cost in US dollars: zero without tokens, None when the price is unknown."""
        if not (self.prompt_tokens or self.completion_tokens):
            return 0.0
        if self.price is None:
            return None
        per_prompt, per_completion = self.price
        return (self.prompt_tokens * per_prompt + self.completion_tokens * per_completion) / 1e6


@dataclass
class Answer:
    question: str
    text: str
    sources: list[Source]
    mode: Mode
    model: str | None
    notice: str | None
    latency_ms: int
    verified_from: int | None = None  # the interaction whose verified answer was reused
    complete: bool = True  # False when the language model stopped mid-answer: never promoted
    trace: Trace = field(default_factory=Trace)


@dataclass
class AnswerStream:
    """Sources are known at once; the text arrives in pieces. Iterate it, then call ``answer()``."""

    question: str
    sources: list[Source]
    mode: Mode
    model: str | None
    notice: str | None
    pieces: Iterator[str]
    started: float = field(default_factory=time.perf_counter)
    verified_from: int | None = None
    text: str = ""
    complete: bool = True  # set False by whoever produces the pieces, if they stop short
    trace: Trace = field(default_factory=Trace)
    # Called once with the finished answer (the engine's tracer, when traces are exported).
    on_answer: Callable[[Answer], None] | None = None

    def __iter__(self) -> Iterator[str]:
        for piece in self.pieces:
            self.text += piece
            yield piece

    def answer(self) -> Answer:
        for _ in self:  # drain whatever was not read yet
            pass
        latency_ms = int((time.perf_counter() - self.started) * 1000)
        answer = Answer(
            self.question,
            self.text,
            self.sources,
            self.mode,
            self.model,
            self.notice,
            latency_ms,
            self.verified_from,
            self.complete,
            self.trace,
        )
        if self.on_answer:
            finished, self.on_answer = self.on_answer, None
            finished(answer)
        return answer


# Control characters but newline and tab: no question needs them, and some stores refuse NUL.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def validate_question(question: str, max_chars: int) -> str:
    question = CONTROL_CHARACTERS.sub(" ", question).strip()
    if not question:
        raise QuestionError("Please type a question.")
    if len(question) > max_chars:
        raise QuestionError(
            f"That question is {len(question):,} characters long; the limit is {max_chars:,}. "
            "Please shorten it."
        )
    return question
