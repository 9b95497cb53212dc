"""The project's feedback database: every question asked, its answer and sources, the ratings people
give and who gave them, a maintainer's reviews, and the documents' standings.

Any SQLAlchemy URL works (SQLite by default). Tables are created on first use, and ``schema.migrate``
brings an older database up to date.
"""

import hashlib
import hmac
import secrets
from collections.abc import Collection
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, create_engine, func, inspect, select
from sqlalchemy.engine import make_url

from ..answers import cited_numbers
from ..security.injection import looks_like_instructions
from ..security.private_files import private_file
from ..security.redaction import redact
from .schema import (
    inserted_id,
    instance_keys,
    interactions,
    migrate,
    ratings,
    reviews,
    source_overrides,
    source_standings,
)
from .sharing import Bar, RatedAnswer, passing_answers
from .usage import Usage, usage_since

if TYPE_CHECKING:
    from ..answers import Answer


class FeedbackStore:
    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            private_file(Path(parsed.database))  # before SQLite creates it world-readable
        self.engine = create_engine(url)
        migrate(self.engine)
        self._key: bytes | None = None

    def record_interaction(self, answer: "Answer", asker: str | None = None) -> int:
        """Store ``answer``, asked by ``asker`` (``web.visitors.Visitor.client``); the question is
        stored redacted of e-mail addresses and keys."""
        with self.engine.begin() as connection:
            result = connection.execute(
                interactions.insert().values(
                    question=redact(answer.question)[0],
                    answer=answer.text,
                    sources=[asdict(source) for source in answer.sources],
                    mode=answer.mode,
                    model=answer.model,
                    notice=answer.notice,
                    latency_ms=answer.latency_ms,
                    verified_from=answer.verified_from,
                    complete=answer.complete,
                    trace={
                        "stages_ms": answer.trace.stages_ms,
                        "tokens_reported": answer.trace.tokens_reported,
                    },
                    prompt_tokens=answer.trace.prompt_tokens,
                    completion_tokens=answer.trace.completion_tokens,
                    cost=answer.trace.cost,
                    similarity=answer.trace.similarity,
                    asker=asker,
                )
            )
            return inserted_id(result)

    def record_rating(
        self,
        interaction_id: int,
        score: int,
        comment: str | None = None,
        *,
        rater: str | None = None,
    ) -> int:
        if score not in (1, -1):
            raise ValueError("score must be +1 (helpful) or -1 (not helpful)")
        with self.engine.begin() as connection:
            _check_exists(connection, interaction_id)
            result = connection.execute(
                ratings.insert().values(
                    interaction_id=interaction_id,
                    score=score,
                    comment=(comment or "").strip() or None,
                    rater=rater,
                )
            )
            return inserted_id(result)

    def update_rating(
        self, rating_id: int, score: int | None = None, comment: str | None = None
    ) -> None:
        """Change a rating (someone changed their mind) or add its comment."""
        changes: dict[str, Any] = {}
        if score is not None:
            if score not in (1, -1):
                raise ValueError("score must be +1 (helpful) or -1 (not helpful)")
            changes["score"] = score
        if comment is not None:
            changes["comment"] = comment.strip() or None
        if changes:
            with self.engine.begin() as connection:
                connection.execute(
                    ratings.update().where(ratings.c.id == rating_id).values(**changes)
                )

    def recent_good_questions(
        self, limit: int = 8, bar: Bar = Bar(), access: Collection[str] = ("public",)
    ) -> list[str]:
        """Questions whose answers passed ``bar``, most recently rated first, that someone who may
        read ``access`` may see; none that tries to instruct the language model."""
        shown = [
            rated.question
            for rated in self._passing(bar)
            if rated.visible_to(access) and not looks_like_instructions(rated.question)
        ]
        return shown[:limit]

    def well_rated_answers(self, bar: Bar = Bar()) -> list[RatedAnswer]:
        """Complete language-model answers that passed ``bar``: one per question, the latest rated.

        Ratings of a verified answer count for the answer it reused, so a thumbs-down on a verified
        answer can withdraw it.
        """
        return self._passing(bar, modes=("llm",), complete_only=True)

    def helpful_answers(self, bar: Bar = Bar()) -> list[RatedAnswer]:
        """Whole answers, generated or passages, that passed ``bar``: one per question."""
        return self._passing(bar, modes=("llm", "passages"), complete_only=True)

    def awaiting_review(self, limit: int = 50) -> list[RatedAnswer]:
        """Complete answers rated helpful on balance that no maintainer has reviewed, newest first."""
        pending = self._passing(Bar(min_net_score=1), complete_only=True, reviewed=False)
        return pending[:limit]

    def review(self, interaction_id: int, decision: str, reviewer: str) -> None:
        """A maintainer approves an answer (others may see and reuse it) or rejects it (never)."""
        if decision not in ("approve", "reject"):
            raise ValueError("decision must be 'approve' or 'reject'")
        with self.engine.begin() as connection:
            _check_exists(connection, interaction_id)
            connection.execute(reviews.delete().where(reviews.c.interaction_id == interaction_id))
            connection.execute(
                reviews.insert().values(
                    interaction_id=interaction_id, decision=decision, reviewer=reviewer
                )
            )

    def rater_of(self, address: str) -> str:
        """How a client address is recorded as a rater: hashed with this database's own key, so that
        distinct addresses count apart without any address being stored."""
        digest = hmac.new(self._instance_key(), address.encode(), hashlib.sha256).hexdigest()
        return f"client:{digest[:24]}"

    def _instance_key(self) -> bytes:
        if self._key is None:
            with self.engine.begin() as connection:
                found = connection.execute(
                    select(instance_keys.c.value).where(instance_keys.c.name == "rater")
                ).scalar()
                if found is None:
                    found = secrets.token_hex(32)
                    connection.execute(instance_keys.insert().values(name="rater", value=found))
            self._key = bytes.fromhex(found)
        return self._key

    def source_votes(self) -> list[tuple[list[str], int]]:
        """Every rated answer as (the documents it cited, its net rating). A generated answer cites
        the sources its ``[n]`` name; passages cite all they showed. Ratings of a verified answer
        count for the answer it reused."""
        credited = func.coalesce(interactions.c.verified_from, interactions.c.id)
        votes = (
            select(credited.label("interaction_id"), func.sum(ratings.c.score).label("net"))
            .join(ratings, ratings.c.interaction_id == interactions.c.id)
            .group_by(credited)
            .subquery()
        )
        query = select(
            interactions.c.answer, interactions.c.sources, interactions.c.mode, votes.c.net
        ).join(votes, votes.c.interaction_id == interactions.c.id)
        found = []
        with self.engine.connect() as connection:
            for row in connection.execute(query):
                numbers = set(cited_numbers(row.answer)) if row.mode == "llm" else None
                documents = {
                    str(source.get("document_id"))
                    for source in row.sources
                    if source.get("document_id")
                    and (numbers is None or source.get("number") in numbers)
                }
                found.append((sorted(documents), int(row.net)))
        return found

    def save_standings(self, standings: dict[str, tuple[int, int]]) -> None:
        """Replace every document's (helpful, unhelpful) count at once."""
        with self.engine.begin() as connection:
            connection.execute(source_standings.delete())
            if standings:
                connection.execute(
                    source_standings.insert(),
                    [
                        {"document_id": doc, "helpful": helpful, "unhelpful": unhelpful}
                        for doc, (helpful, unhelpful) in standings.items()
                    ],
                )

    def standings(self) -> dict[str, tuple[int, int]]:
        query = select(
            source_standings.c.document_id, source_standings.c.helpful, source_standings.c.unhelpful
        )
        with self.engine.connect() as connection:
            return {
                row.document_id: (row.helpful, row.unhelpful) for row in connection.execute(query)
            }

    def set_override(self, document_id: str, action: str | None) -> None:
        """Pin or hide a document (``action`` "pin" or "hide"), or take that back (``None``)."""
        if action not in ("pin", "hide", None):
            raise ValueError("action must be 'pin', 'hide' or None")
        with self.engine.begin() as connection:
            connection.execute(
                source_overrides.delete().where(source_overrides.c.document_id == document_id)
            )
            if action:
                connection.execute(
                    source_overrides.insert().values(document_id=document_id, action=action)
                )

    def overrides(self) -> dict[str, str]:
        query = select(source_overrides.c.document_id, source_overrides.c.action)
        with self.engine.connect() as connection:
            return {row.document_id: row.action for row in connection.execute(query)}

    def usage(self, since: datetime) -> Usage:
        """What happened since ``since``: questions, how they were answered, ratings, latency."""
        with self.engine.connect() as connection:
            return usage_since(connection, since)

    def _passing(
        self,
        bar: Bar,
        *,
        modes: tuple[str, ...] | None = None,
        complete_only: bool = False,
        reviewed: bool | None = None,
    ) -> list[RatedAnswer]:
        with self.engine.connect() as connection:
            return passing_answers(
                connection, bar, modes=modes, complete_only=complete_only, reviewed=reviewed
            )

    def ping(self) -> None:
        """Returns when the database answers; raises otherwise."""
        with self.engine.connect() as connection:
            connection.execute(select(1))

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as connection:
            return {
                table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (interactions, ratings)
            }

    def table_names(self) -> set[str]:
        return set(inspect(self.engine).get_table_names())


def _check_exists(connection: Connection, interaction_id: int) -> None:
    found = connection.execute(select(interactions.c.id).where(interactions.c.id == interaction_id))
    if found.first() is None:
        raise LookupError(f"no interaction with id {interaction_id}")
