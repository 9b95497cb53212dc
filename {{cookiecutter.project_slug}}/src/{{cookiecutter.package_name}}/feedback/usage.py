"""The usage report over a period: questions and how they were answered, ratings, latency as a whole and
by stage, the language model's tokens and their cost, and the documents answers cite most."""

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, select

from ..answers import citations_are_sound, cited_numbers
from .schema import interactions, ratings

PERIOD = re.compile(r"^(\d{1,5})([dhm])$")
UNITS = {"d": "days", "h": "hours", "m": "minutes"}
MOST_CITED = 10
# The helpers below take the rows of the query in ``usage_since`` (SQLAlchemy types a row by its
# columns, a type that differs between its releases: they are read by name, as Any).
PERCENTILES = (("p50", 0.50), ("p95", 0.95))
Number = TypeVar("Number", int, float)


def period_start(text: str, now: datetime | None = None) -> datetime:
    """The start of a period written as ``7d``, ``24h`` or ``30m`` back from ``now``, or as a date or
    a time (``2026-11-01``, ``2026-11-01T08:00``; UTC unless it names its zone)."""
    now = now or datetime.now(UTC)
    if match := PERIOD.match(text.strip()):
        return now - timedelta(**{UNITS[match[2]]: int(match[1])})
    try:
        start = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text[:40]!r} is neither a period (7d, 24h, 30m) nor a date (2026-11-01)"
        ) from None
    return start if start.tzinfo else start.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Usage:
    since: str
    questions: int
    answered_by: dict[str, int]  # "llm", "passages", "verified"
    helpful: int
    not_helpful: int
    latency_ms_p50: int | None
    latency_ms_p95: int | None
    not_helpful_questions: list[dict[str, str]]  # the newest first: where the docs fall short
    # Language-model answers that cite no source, or a source number they were not given.
    unsound_citations: int = 0
    helpful_rate: float | None = None  # helpful ratings among all ratings
    # From the answers' traces (answers recorded before traces were kept have none).
    stage_ms: dict[str, dict[str, float]] = field(default_factory=dict)  # p50 and p95 per stage
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0  # US dollars, of the answers whose model has a price
    unpriced_answers: int = 0  # answers whose model has no price: their cost is unknown
    days: list[dict[str, Any]] = field(default_factory=list)  # questions, tokens and cost per day
    most_cited: list[dict[str, Any]] = field(default_factory=list)  # documents, most cited first

    def as_text(self) -> str:
        if not self.questions:
            return f"since {self.since}: no questions yet"
        modes = ", ".join(f"{mode} {n}" for mode, n in sorted(self.answered_by.items()))
        lines = [
            f"since {self.since}: {self.questions} questions ({modes}), "
            f"{self.helpful} helpful and {self.not_helpful} not helpful ratings, "
            f"latency p50 {self.latency_ms_p50} ms, p95 {self.latency_ms_p95} ms, "
            f"{self.unsound_citations} generated answers citing no source or one not given",
            f"tokens: {self.prompt_tokens:,} prompt, {self.completion_tokens:,} completion; "
            f"cost ${self.cost:.4f}"
            + (
                f", and unknown for {self.unpriced_answers} answers"
                if self.unpriced_answers
                else ""
            ),
        ]
        if self.stage_ms:
            stages = ", ".join(
                f"{stage} {ms['p50']:.0f}/{ms['p95']:.0f}" for stage, ms in self.stage_ms.items()
            )
            lines.append(f"by stage, p50/p95 ms: {stages}")
        lines += [
            f"  {day['day']}: {day['questions']} questions, ${day['cost']:.4f}" for day in self.days
        ]
        lines += [f"  cited: {doc['document_id']} ({doc['answers']})" for doc in self.most_cited]
        lines += [
            f"  not helpful: {item['question']!r} {item['comment']}".rstrip()
            for item in self.not_helpful_questions
        ]
        return "\n".join(lines)


def usage_since(connection: Connection, since: datetime) -> Usage:
    """What happened since ``since``."""
    answers = connection.execute(
        select(
            interactions.c.created_at,
            interactions.c.mode,
            interactions.c.latency_ms,
            interactions.c.answer,
            interactions.c.sources,
            interactions.c.trace,
            interactions.c.prompt_tokens,
            interactions.c.completion_tokens,
            interactions.c.cost,
        )
        .where(interactions.c.created_at >= since)
        .order_by(interactions.c.created_at)
    ).all()
    votes = connection.execute(
        select(ratings.c.score, interactions.c.question, ratings.c.comment)
        .join(interactions, ratings.c.interaction_id == interactions.c.id)
        .where(ratings.c.created_at >= since)
        .order_by(ratings.c.created_at.desc())
    ).all()
    helpful = sum(1 for vote in votes if vote.score > 0)
    not_helpful = sum(1 for vote in votes if vote.score < 0)
    latencies = sorted(row.latency_ms for row in answers)
    return Usage(
        since=since.isoformat(timespec="seconds"),
        questions=len(answers),
        answered_by=dict(Counter(row.mode for row in answers)),
        helpful=helpful,
        not_helpful=not_helpful,
        latency_ms_p50=_percentile(latencies, 0.50),
        latency_ms_p95=_percentile(latencies, 0.95),
        not_helpful_questions=[
            {"question": vote.question, "comment": vote.comment or ""}
            for vote in votes
            if vote.score < 0
        ][:20],
        unsound_citations=sum(
            1
            for row in answers
            if row.mode == "llm" and not citations_are_sound(row.answer, len(row.sources))
        ),
        helpful_rate=helpful / (helpful + not_helpful) if votes else None,
        stage_ms=_stage_percentiles(answers),
        prompt_tokens=sum(row.prompt_tokens or 0 for row in answers),
        completion_tokens=sum(row.completion_tokens or 0 for row in answers),
        cost=round(sum(row.cost or 0.0 for row in answers), 6),
        unpriced_answers=sum(1 for row in answers if _unpriced(row)),
        days=_days(answers),
        most_cited=_most_cited(answers),
    )


def _unpriced(row: Any) -> bool:
    return row.cost is None and bool(row.prompt_tokens or row.completion_tokens)


def _stage_percentiles(answers: Sequence[Any]) -> dict[str, dict[str, float]]:
    timings: dict[str, list[float]] = {}
    for row in answers:
        for stage, ms in ((row.trace or {}).get("stages_ms") or {}).items():
            timings.setdefault(stage, []).append(float(ms))
    figures = {}
    for stage, values in timings.items():
        ordered = sorted(values)
        figures[stage] = {share: _percentile(ordered, at) or 0.0 for share, at in PERCENTILES}
    return figures


def _days(answers: Sequence[Any]) -> list[dict[str, Any]]:
    days: dict[str, dict[str, Any]] = {}
    for row in answers:
        created = row.created_at
        name = (created.astimezone(UTC) if created.tzinfo else created).date().isoformat()
        day = days.setdefault(
            name,
            {
                "questions": 0,
                "answered_by": Counter(),
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "cost": 0.0,
            },
        )
        day["questions"] += 1
        day["answered_by"][row.mode] += 1
        day["prompt_tokens"] += row.prompt_tokens or 0
        day["completion_tokens"] += row.completion_tokens or 0
        day["cost"] = round(day["cost"] + (row.cost or 0.0), 6)
    return [
        {"day": name, **figures, "answered_by": dict(figures["answered_by"])}
        for name, figures in days.items()
    ]


def _most_cited(answers: Sequence[Any]) -> list[dict[str, Any]]:
    """Documents by how many answers cite them: a generated answer cites the sources it names as
    [n]; passages and verified answers, all they show."""
    cited: Counter[str] = Counter()
    for row in answers:
        numbers = set(cited_numbers(row.answer)) if row.mode == "llm" else None
        cited.update(
            {
                str(source.get("document_id") or source.get("uri") or "")
                for source in row.sources
                if numbers is None or source.get("number") in numbers
            }
            - {""}
        )
    return [{"document_id": doc, "answers": n} for doc, n in cited.most_common(MOST_CITED)]


def _percentile(sorted_values: Sequence[Number], share: float) -> Number | None:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]
