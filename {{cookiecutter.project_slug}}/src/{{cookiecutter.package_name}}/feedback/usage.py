"""The usage report over a period: questions and how they were answered, ratings, latency as a whole and
by stage, the language model's tokens and their cost, and the documents answers cite most."""

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, and_, case, func, or_, select

from ..answers import citations_are_sound, cited_numbers
from .schema import interactions, ratings

PERIOD = re.compile(r"^(\d{1,5})([dhm])$")
UNITS = {"d": "days", "h": "hours", "m": "minutes"}
MOST_CITED = 10
DETAILED = 10_000  # the newest answers whose traces and sources are read
NOT_HELPFUL_SHOWN = 20
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
    # The newest answers the stages' latency, the citations and the documents cited were read from.
    detailed_answers: int = 0

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
    """What happened since ``since``. Counts, latency, tokens and cost cover every answer, summed per
    day by the database; the stages' latency, the citations and the documents cited cover the newest
    ``DETAILED`` (their traces and sources are the costly part to read)."""
    period = interactions.c.created_at >= since
    asked_on, rated_on = _day(connection, interactions.c), _day(connection, ratings.c)
    unpriced = and_(
        interactions.c.cost.is_(None),
        or_(interactions.c.prompt_tokens > 0, interactions.c.completion_tokens > 0),
    )
    per_day = connection.execute(
        select(
            asked_on.label("day"),
            interactions.c.mode,
            func.count().label("questions"),
            func.coalesce(func.sum(interactions.c.prompt_tokens), 0).label("prompt_tokens"),
            func.coalesce(func.sum(interactions.c.completion_tokens), 0).label("completion_tokens"),
            func.coalesce(func.sum(interactions.c.cost), 0.0).label("cost"),
            func.count(case((unpriced, 1))).label("unpriced"),
        )
        .where(period)
        .group_by(asked_on, interactions.c.mode)
    ).all()
    latencies = list(
        connection.execute(
            select(interactions.c.latency_ms).where(period).order_by(interactions.c.latency_ms)
        ).scalars()
    )
    detailed = connection.execute(
        select(
            interactions.c.mode,
            interactions.c.answer,
            interactions.c.sources,
            interactions.c.trace,
        )
        .where(period)
        .order_by(interactions.c.created_at.desc())
        .limit(DETAILED)
    ).all()
    votes_per_day = connection.execute(
        select(
            rated_on.label("day"),
            func.count(case((ratings.c.score > 0, 1))).label("helpful"),
            func.count(case((ratings.c.score < 0, 1))).label("not_helpful"),
        )
        .where(ratings.c.created_at >= since)
        .group_by(rated_on)
    ).all()
    unhelpful = connection.execute(
        select(interactions.c.question, ratings.c.comment)
        .join(interactions, ratings.c.interaction_id == interactions.c.id)
        .where(ratings.c.created_at >= since, ratings.c.score < 0)
        .order_by(ratings.c.created_at.desc())
        .limit(NOT_HELPFUL_SHOWN)
    ).all()
    helpful = sum(day.helpful for day in votes_per_day)
    not_helpful = sum(day.not_helpful for day in votes_per_day)
    answered_by: Counter[str] = Counter()
    for row in per_day:
        answered_by[row.mode] += row.questions
    return Usage(
        since=since.isoformat(timespec="seconds"),
        questions=len(latencies),
        answered_by=dict(answered_by),
        helpful=helpful,
        not_helpful=not_helpful,
        latency_ms_p50=_percentile(latencies, 0.50),
        latency_ms_p95=_percentile(latencies, 0.95),
        not_helpful_questions=[
            {"question": row.question, "comment": row.comment or ""} for row in unhelpful
        ],
        unsound_citations=sum(
            1
            for row in detailed
            if row.mode == "llm" and not citations_are_sound(row.answer, len(row.sources))
        ),
        helpful_rate=helpful / (helpful + not_helpful) if helpful + not_helpful else None,
        stage_ms=_stage_percentiles(detailed),
        prompt_tokens=sum(int(row.prompt_tokens) for row in per_day),
        completion_tokens=sum(int(row.completion_tokens) for row in per_day),
        cost=round(sum(float(row.cost) for row in per_day), 6),
        unpriced_answers=sum(row.unpriced for row in per_day),
        days=_days(per_day, votes_per_day),
        most_cited=_most_cited(detailed),
        detailed_answers=len(detailed),
    )


def _day(connection: Connection, columns: Any) -> Any:
    """The UTC day of a row's ``created_at`` as ``YYYY-MM-DD``, in the database's own terms (SQLite
    keeps times as UTC text; PostgreSQL would use its session's zone unless told)."""
    if connection.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", columns.created_at), "YYYY-MM-DD")
    return func.substr(columns.created_at, 1, 10)


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


def _days(per_day: Sequence[Any], votes_per_day: Sequence[Any]) -> list[dict[str, Any]]:
    """Per day (UTC): the questions and how they were answered, tokens, cost and ratings."""
    days: dict[str, dict[str, Any]] = {}

    def day_of(name: str) -> dict[str, Any]:
        if (day := days.get(name)) is None:
            day = days[name] = {
                "questions": 0,
                "answered_by": {},
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "cost": 0.0,
                "helpful": 0,
                "not_helpful": 0,
            }
        return day

    for row in per_day:
        day = day_of(str(row.day))
        day["questions"] += row.questions
        day["answered_by"][row.mode] = row.questions
        day["prompt_tokens"] += int(row.prompt_tokens)
        day["completion_tokens"] += int(row.completion_tokens)
        day["cost"] += float(row.cost)
    for row in votes_per_day:
        day = day_of(str(row.day))
        day["helpful"] += row.helpful
        day["not_helpful"] += row.not_helpful
    return [
        {"day": name, **figures, "cost": round(figures["cost"], 6)}
        for name, figures in sorted(days.items())
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
