"""Feedback tables: every question asked, its answer and sources, and the ratings people give.

Any SQLAlchemy URL works (SQLite by default). Tables are created on first use, and ``MIGRATIONS``
brings an older database up to date, so a new release never breaks an existing one.
"""

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    CursorResult,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    create_engine,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from .engine import Answer

metadata = MetaData()


def _now() -> datetime:
    return datetime.now(UTC)


schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))
interactions = Table(
    "interactions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, default=_now, index=True),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("sources", JSON, nullable=False),
    Column("mode", String(16), nullable=False),  # "llm" or "passages"
    Column("model", String(200)),
    Column("notice", Text),
    Column("latency_ms", Integer, nullable=False),
)
ratings = Table(
    "ratings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "interaction_id",
        ForeignKey("interactions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("created_at", DateTime(timezone=True), nullable=False, default=_now),
    Column("score", SmallInteger, nullable=False),  # +1 helpful, -1 not helpful
    Column("comment", Text),
)


def _create_first_tables(connection: Connection) -> None:
    metadata.create_all(connection, tables=[interactions, ratings])


# Append a function for each schema change; never edit or reorder the ones already released.
MIGRATIONS: list[Callable[[Connection], None]] = [_create_first_tables]


def migrate(engine: Engine) -> int:
    """Bring the database to the latest schema version and return that version."""
    with engine.begin() as connection:
        schema_version.create(connection, checkfirst=True)
        current = connection.execute(select(func.max(schema_version.c.version))).scalar() or 0
        for version, migration in enumerate(MIGRATIONS[current:], start=current + 1):
            migration(connection)
            connection.execute(schema_version.insert().values(version=version))
    return len(MIGRATIONS)


class FeedbackStore:
    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(url)
        migrate(self.engine)

    def record_interaction(self, answer: "Answer") -> int:
        with self.engine.begin() as connection:
            result = connection.execute(
                interactions.insert().values(
                    question=answer.question,
                    answer=answer.text,
                    sources=[asdict(source) for source in answer.sources],
                    mode=answer.mode,
                    model=answer.model,
                    notice=answer.notice,
                    latency_ms=answer.latency_ms,
                )
            )
            return _new_id(result)

    def record_rating(self, interaction_id: int, score: int, comment: str | None = None) -> int:
        if score not in (1, -1):
            raise ValueError("score must be +1 (helpful) or -1 (not helpful)")
        with self.engine.begin() as connection:
            exists = connection.execute(
                select(interactions.c.id).where(interactions.c.id == interaction_id)
            )
            if exists.first() is None:
                raise LookupError(f"no interaction with id {interaction_id}")
            result = connection.execute(
                ratings.insert().values(
                    interaction_id=interaction_id,
                    score=score,
                    comment=(comment or "").strip() or None,
                )
            )
            return _new_id(result)

    def recent_good_questions(self, limit: int = 8) -> list[str]:
        """Questions whose answers were rated helpful on balance, most recently rated first."""
        rated = (
            select(
                interactions.c.question,
                func.max(ratings.c.created_at).label("last_rated"),
            )
            .join(ratings, ratings.c.interaction_id == interactions.c.id)
            .group_by(interactions.c.id, interactions.c.question)
            .having(func.sum(ratings.c.score) > 0)
            .order_by(func.max(ratings.c.created_at).desc())
        )
        questions: list[str] = []
        seen: set[str] = set()
        with self.engine.connect() as connection:
            for question, _ in connection.execute(rated):
                key = " ".join(question.lower().split())
                if key not in seen:
                    seen.add(key)
                    questions.append(question)
                if len(questions) == limit:
                    break
        return questions

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as connection:
            return {
                table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (interactions, ratings)
            }

    def table_names(self) -> set[str]:
        return set(inspect(self.engine).get_table_names())


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None, "INSERT returned no primary key"
    return int(key[0])
