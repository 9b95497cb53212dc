"""The usage report: questions, how they were answered, ratings and latency over a period."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from ..answers import citations_are_sound
from .schema import interactions, ratings


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

    def as_text(self) -> str:
        lines = [
            f"since {self.since}: {self.questions} questions "
            f"({', '.join(f'{mode} {n}' for mode, n in sorted(self.answered_by.items())) or 'none'}), "
            f"{self.helpful} helpful and {self.not_helpful} not helpful ratings, "
            f"latency p50 {self.latency_ms_p50} ms, p95 {self.latency_ms_p95} ms, "
            f"{self.unsound_citations} generated answers citing no source or one not given"
        ]
        lines += [
            f"  not helpful: {item['question']!r} {item['comment']}".rstrip()
            for item in self.not_helpful_questions
        ]
        return "\n".join(lines)


def usage_since(connection: Connection, since: datetime) -> Usage:
    """What happened since ``since``: questions, how they were answered, ratings, latency."""
    asked = connection.execute(
        select(interactions.c.mode, interactions.c.latency_ms).where(
            interactions.c.created_at >= since
        )
    ).all()
    generated = connection.execute(
        select(interactions.c.answer, interactions.c.sources).where(
            interactions.c.created_at >= since, interactions.c.mode == "llm"
        )
    ).all()
    votes = connection.execute(
        select(ratings.c.score, interactions.c.question, ratings.c.comment)
        .join(interactions, ratings.c.interaction_id == interactions.c.id)
        .where(ratings.c.created_at >= since)
        .order_by(ratings.c.created_at.desc())
    ).all()
    latencies = sorted(latency for _, latency in asked)
    modes: dict[str, int] = {}
    for mode, _ in asked:
        modes[mode] = modes.get(mode, 0) + 1
    return Usage(
        since=since.isoformat(timespec="seconds"),
        questions=len(asked),
        answered_by=modes,
        helpful=sum(1 for vote in votes if vote.score > 0),
        not_helpful=sum(1 for vote in votes if vote.score < 0),
        latency_ms_p50=_percentile(latencies, 0.50),
        latency_ms_p95=_percentile(latencies, 0.95),
        not_helpful_questions=[
            {"question": vote.question, "comment": vote.comment or ""}
            for vote in votes
            if vote.score < 0
        ][:20],
        unsound_citations=sum(
            1 for answer, cited in generated if not citations_are_sound(answer, len(cited))
        ),
    )


def _percentile(sorted_values: list[int], share: float) -> int | None:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]
