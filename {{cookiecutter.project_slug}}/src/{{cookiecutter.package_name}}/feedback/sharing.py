"""What a rated answer must pass before anyone else sees it, and the query that finds the answers that
passed."""

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, case, func, literal, or_, select, union_all

from .schema import interactions, ratings, reviews

if TYPE_CHECKING:
    from ..config import Settings


@dataclass(frozen=True)
class Bar:
    """What a rated answer must pass before anyone else sees it: on the landing view, or reused as a
    verified answer. One anonymous vote must never be enough to change what others are shown."""

    min_net_score: int = 1  # helpful minus unhelpful ratings
    min_raters: int = (
        1  # distinct people (signed-in users, or client addresses) who found it helpful
    )
    needs_approval: bool = False  # only answers a maintainer approved

    @classmethod
    def of(cls, settings: "Settings") -> "Bar":
        return cls(
            min_net_score=getattr(settings, "verified_min_net_score", 1),
            min_raters=settings.sharing_min_raters,
            needs_approval=settings.sharing_needs_approval,
        )


@dataclass(frozen=True)
class RatedAnswer:
    interaction_id: int
    question: str
    answer: str
    sources: list[dict[str, Any]]
    model: str | None
    net_score: int
    raters: int = 0
    review: str | None = None  # "approve", "reject", or None: not reviewed

    def visible_to(self, access: Collection[str]) -> bool:
        """Whether someone who may read ``access`` may see this answer: all its sources are theirs."""
        return all(str(source.get("access", "internal")) in access for source in self.sources)


def passing_answers(
    connection: Connection,
    bar: Bar,
    *,
    modes: tuple[str, ...] | None = None,
    complete_only: bool = False,
    reviewed: bool | None = None,
) -> list[RatedAnswer]:
    """The answers that passed ``bar``, one per question (the latest rated), newest first; ``modes``,
    ``complete_only`` and ``reviewed`` narrow them."""
    # A rating of a verified answer is credited to the interaction that answer came from.
    credited = func.coalesce(interactions.c.verified_from, interactions.c.id)
    helpful_rater = case((ratings.c.score > 0, func.coalesce(ratings.c.rater, "")))
    votes = (
        select(
            credited.label("interaction_id"),
            func.sum(ratings.c.score).label("net_score"),
            func.count(func.distinct(helpful_rater)).label("raters"),
            func.max(ratings.c.created_at).label("last_rated"),
        )
        .join(ratings, ratings.c.interaction_id == interactions.c.id)
        .group_by(credited)
        .cte("votes")  # named once, read by both branches below
    )
    # Rated answers are read from the votes outwards (a join from every interaction to the grouped
    # votes made SQLite compare each with each: a minute over 100,000 answers); answers approved
    # before anyone rated them are added apart.
    by_votes = and_(
        reviews.c.decision.is_(None),
        votes.c.net_score >= bar.min_net_score,
        votes.c.raters >= bar.min_raters,
    )
    # An approved answer stays until people rate it unhelpful on balance; a rejected one never shows.
    approved = and_(reviews.c.decision == "approve", votes.c.net_score >= 0)
    rated = (
        select(
            interactions,
            votes.c.net_score.label("net"),
            votes.c.raters,
            reviews.c.decision,
            votes.c.last_rated.label("shown_since"),
        )
        .select_from(votes)
        .join(interactions, interactions.c.id == votes.c.interaction_id)
        .outerjoin(reviews, reviews.c.interaction_id == interactions.c.id)
        .where(approved if bar.needs_approval else or_(approved, by_votes))
    )
    approved_unrated = (
        select(
            interactions,
            literal(0).label("net"),
            literal(0).label("raters"),
            reviews.c.decision,
            reviews.c.created_at.label("shown_since"),
        )
        .select_from(reviews)
        .join(interactions, interactions.c.id == reviews.c.interaction_id)
        .where(reviews.c.decision == "approve")
        .where(interactions.c.id.not_in(select(votes.c.interaction_id)))
    )
    narrowed = []
    for query in (rated, approved_unrated):
        if modes:
            query = query.where(interactions.c.mode.in_(modes))
        if complete_only:
            query = query.where(interactions.c.complete.is_(True))
        if reviewed is not None:
            decided = reviews.c.decision.isnot(None)
            query = query.where(decided if reviewed else reviews.c.decision.is_(None))
        narrowed.append(query)
    both = union_all(*narrowed).subquery()
    newest_first = select(both).order_by(both.c.shown_since.desc(), both.c.id.desc())
    found: dict[str, RatedAnswer] = {}
    for row in connection.execute(newest_first):
        key = " ".join(row.question.lower().split())
        if key not in found:
            found[key] = RatedAnswer(
                row.id,
                row.question,
                row.answer,
                row.sources,
                row.model,
                int(row.net),
                int(row.raters or 0),
                row.decision,
            )
    return list(found.values())
