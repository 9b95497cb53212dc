"""The project's database: every question asked, its answer and sources, the ratings people give and
who gave them, a maintainer's reviews, and the runs of the retrieval evaluation.

Any SQLAlchemy URL works (SQLite by default). Tables are created on first use, and ``MIGRATIONS``
brings an older database up to date, so a new release never breaks an existing one.
"""

import hashlib
import hmac
import secrets
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    CursorResult,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    and_,
    case,
    create_engine,
    func,
    inspect,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.engine import make_url

from .answers import citations_are_sound, cited_numbers
from .injection import looks_like_instructions
from .private_files import private_file

if TYPE_CHECKING:
    from .answers import Answer
    from .config import Settings

metadata = MetaData()


def _now() -> datetime:
    return datetime.now(UTC)


schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))


def _v1_interaction_columns() -> list[Column[Any]]:
    return [
        Column("id", Integer, primary_key=True),
        Column("created_at", DateTime(timezone=True), nullable=False, default=_now, index=True),
        Column("question", Text, nullable=False),
        Column("answer", Text, nullable=False),
        Column("sources", JSON, nullable=False),
        Column("mode", String(16), nullable=False),  # "llm", "passages" or "verified"
        Column("model", String(200)),
        Column("notice", Text),
        Column("latency_ms", Integer, nullable=False),
    ]


def _v1_rating_columns() -> list[Column[Any]]:
    return [
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
    ]


interactions = Table(
    "interactions",
    metadata,
    *_v1_interaction_columns(),
    # v2: a verified answer points at the interaction whose well-rated answer it reused.
    Column("verified_from", Integer, index=True),
    # v3: False when the language model stopped mid-answer; such an answer is never promoted.
    Column("complete", Boolean, nullable=False, server_default=true()),
)
ratings = Table(
    "ratings",
    metadata,
    *_v1_rating_columns(),
    # v6: who rated ("user:<name>", or "client:<keyed hash of the address>"); helpful ratings count
    # once per rater towards the bar an answer must pass before others see it.
    Column("rater", String(200), index=True),
)


def _v4_eval_tables(into: MetaData) -> tuple[Table, Table]:
    runs = Table(
        "eval_runs",
        into,
        Column("id", Integer, primary_key=True),
        Column("created_at", DateTime(timezone=True), nullable=False, default=_now, index=True),
        Column("question_set", String(200), nullable=False),
        Column("digest", String(64), nullable=False, index=True),  # of the question file
        Column("config", JSON, nullable=False),  # model, pipeline, top_k, hybrid, ...
        Column("figures", JSON, nullable=False),  # hit@k, MRR@10, latency percentiles
    )
    results = Table(
        "eval_results",
        into,
        Column("id", Integer, primary_key=True),
        Column(
            "run_id", ForeignKey("eval_runs.id", ondelete="CASCADE"), nullable=False, index=True
        ),
        Column("case_id", String(200), nullable=False),
        Column("kind", String(100), nullable=False),
        Column("rank", Integer),  # of the first relevant chunk; NULL: not in the top 10
        Column("latency_ms", Integer, nullable=False),
        Column("retrieved", JSON, nullable=False),
        Column("similarity", Float),  # of the closest chunk to the question, by meaning
    )
    return runs, results


# v4: one row per evaluation run, one per question of it.
eval_runs, eval_results = _v4_eval_tables(metadata)


def _v5_source_tables(into: MetaData) -> tuple[Table, Table]:
    standings = Table(
        "source_standings",
        into,
        Column("document_id", String(1000), primary_key=True),
        Column("helpful", Integer, nullable=False),  # rated answers that cited the document
        Column("unhelpful", Integer, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False, default=_now),
    )
    overrides = Table(
        "source_overrides",
        into,
        Column("document_id", String(1000), primary_key=True),
        Column("action", String(8), nullable=False),  # "pin" or "hide", set by a maintainer
        Column("created_at", DateTime(timezone=True), nullable=False, default=_now),
    )
    return standings, overrides


# v5: how the answers that cited each document were rated, and a maintainer's pins and hides.
source_standings, source_overrides = _v5_source_tables(metadata)


def _v7_review_tables(into: MetaData) -> tuple[Table, Table]:
    reviews = Table(
        "reviews",
        into,
        Column("interaction_id", Integer, primary_key=True),
        Column("decision", String(8), nullable=False),  # "approve" or "reject"
        Column("reviewer", String(200), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, default=_now),
    )
    keys = Table(
        "instance_keys",
        into,
        Column("name", String(50), primary_key=True),
        Column("value", String(200), nullable=False),
    )
    return reviews, keys


# v7: a maintainer's approvals and rejections of answers; the key that rater addresses are hashed with.
reviews, instance_keys = _v7_review_tables(metadata)


# The _v1_* column lists are the first released schema: never edit them. A schema change is a new
# column above plus a new migration below.
def _v1_create_tables(connection: Connection) -> None:
    v1 = MetaData()
    Table("interactions", v1, *_v1_interaction_columns())
    Table("ratings", v1, *_v1_rating_columns())
    v1.create_all(connection)


def _v2_add_verified_from(connection: Connection) -> None:
    connection.execute(text("ALTER TABLE interactions ADD COLUMN verified_from INTEGER"))
    connection.execute(
        text("CREATE INDEX ix_interactions_verified_from ON interactions (verified_from)")
    )


def _v3_add_complete(connection: Connection) -> None:
    connection.execute(
        text("ALTER TABLE interactions ADD COLUMN complete BOOLEAN NOT NULL DEFAULT TRUE")
    )


def _v6_add_rater(connection: Connection) -> None:
    connection.execute(text("ALTER TABLE ratings ADD COLUMN rater VARCHAR(200)"))
    connection.execute(text("CREATE INDEX ix_ratings_rater ON ratings (rater)"))


def _creating(tables: Callable[[MetaData], object]) -> Callable[[Connection], None]:
    """A migration that creates the tables ``tables`` defines, as that release defined them."""

    def create(connection: Connection) -> None:
        released = MetaData()
        tables(released)
        released.create_all(connection)

    return create


# Append a function for each schema change; never edit or reorder the ones already released.
MIGRATIONS: list[Callable[[Connection], None]] = [
    _v1_create_tables,
    _v2_add_verified_from,
    _v3_add_complete,
    _creating(_v4_eval_tables),
    _creating(_v5_source_tables),
    _v6_add_rater,
    _creating(_v7_review_tables),
]


def migrate(engine: Engine) -> int:
    """Bring the database to the latest schema version and return that version."""
    with engine.begin() as connection:
        schema_version.create(connection, checkfirst=True)
        current = connection.execute(select(func.max(schema_version.c.version))).scalar() or 0
        for version, migration in enumerate(MIGRATIONS[current:], start=current + 1):
            migration(connection)
            connection.execute(schema_version.insert().values(version=version))
    return len(MIGRATIONS)


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


class FeedbackStore:
    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            private_file(Path(parsed.database))  # before SQLite creates it world-readable
        self.engine = create_engine(url)
        migrate(self.engine)
        self._key: bytes | None = None

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
                    verified_from=answer.verified_from,
                    complete=answer.complete,
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

    def _passing(
        self,
        bar: Bar,
        *,
        modes: tuple[str, ...] | None = None,
        complete_only: bool = False,
        reviewed: bool | None = None,
    ) -> list[RatedAnswer]:
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
            .subquery()
        )
        net = func.coalesce(votes.c.net_score, 0)
        by_votes = and_(
            reviews.c.decision.is_(None),
            net >= bar.min_net_score,
            votes.c.raters >= bar.min_raters,
        )
        # An approved answer stays until people rate it unhelpful on balance; a rejected one never shows.
        approved = and_(reviews.c.decision == "approve", net >= 0)
        when = func.coalesce(votes.c.last_rated, reviews.c.created_at)
        query = (
            select(interactions, net.label("net"), votes.c.raters, reviews.c.decision)
            .outerjoin(votes, votes.c.interaction_id == interactions.c.id)
            .outerjoin(reviews, reviews.c.interaction_id == interactions.c.id)
            .where(approved if bar.needs_approval else or_(approved, by_votes))
            .order_by(when.desc(), interactions.c.id.desc())
        )
        if modes:
            query = query.where(interactions.c.mode.in_(modes))
        if complete_only:
            query = query.where(interactions.c.complete.is_(True))
        if reviewed is not None:
            decided = reviews.c.decision.isnot(None)
            query = query.where(decided if reviewed else reviews.c.decision.is_(None))
        found: dict[str, RatedAnswer] = {}
        with self.engine.connect() as connection:
            for row in connection.execute(query):
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


def _percentile(sorted_values: list[int], share: float) -> int | None:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]


def inserted_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None, "INSERT returned no primary key"
    return int(key[0])
