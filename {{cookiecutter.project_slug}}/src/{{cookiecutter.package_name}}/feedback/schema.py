"""The feedback database's tables, and the migrations that bring an older database up to date, so a new
release never breaks an existing one."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

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
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    func,
    select,
    text,
    true,
)

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
    # v8: how the answer was made: each stage's milliseconds and whether the tokens were reported by
    # the server or counted; the language model's tokens; their estimated cost in US dollars (NULL:
    # the model's price is unknown); the closest chunk's similarity to the question (low: the docs
    # do not seem to cover it); and who asked, as limits count them (a user, or a keyed hash of the
    # address), so that a topic counts its distinct askers.
    Column("trace", JSON),
    Column("prompt_tokens", Integer),
    Column("completion_tokens", Integer),
    Column("cost", Float),
    Column("similarity", Float),
    Column("asker", String(200), index=True),
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


def _v9_topic_tables(into: MetaData) -> tuple[Table, Table, Table]:
    vectors = Table(
        "question_vectors",
        into,
        # A question's vector by one model: another model embeds the questions again.
        Column("interaction_id", Integer, primary_key=True),
        Column("model", String(200), primary_key=True),
        Column("vector", LargeBinary, nullable=False),  # float32, the model's own dimensions
    )
    runs = Table(
        "topic_runs",
        into,
        Column("id", Integer, primary_key=True),
        Column("created_at", DateTime(timezone=True), nullable=False, default=_now, index=True),
        Column("since", DateTime(timezone=True), nullable=False),
        Column("questions", Integer, nullable=False),
        Column("figures", JSON, nullable=False),  # method, seconds, noise, topics hidden, labeller
    )
    topics = Table(
        "topics",
        into,
        Column("id", Integer, primary_key=True),
        Column(
            "run_id", ForeignKey("topic_runs.id", ondelete="CASCADE"), nullable=False, index=True
        ),
        Column("label", String(200), nullable=False),
        Column("keywords", JSON, nullable=False),
        Column("questions", Integer, nullable=False),
        Column("askers", Integer, nullable=False),  # distinct: a topic of fewer than 3 is not kept
        Column("helpful", Integer, nullable=False),  # questions whose answers were rated helpful
        Column("unhelpful", Integer, nullable=False),
        Column("weak", Integer, nullable=False),  # the docs did not seem to cover the question
        Column("examples", JSON, nullable=False),  # three questions, redacted
        Column("documents", JSON, nullable=False),  # the documents its answers showed most
    )
    return vectors, runs, topics


# v9: question vectors kept between runs, and each run of question topics with its topics.
question_vectors, topic_runs, topics = _v9_topic_tables(metadata)


def _v10_experiment_table(into: MetaData) -> Table:
    return Table(
        "experiments",
        into,
        Column("id", Integer, primary_key=True),
        Column("created_at", DateTime(timezone=True), nullable=False, default=_now, index=True),
        Column("kind", String(50), nullable=False),  # "finetune"
        Column("decision", String(20), nullable=False),  # "promoted" or "refused"
        Column("reason", Text, nullable=False),
        Column("baseline", String(200), nullable=False),  # the live index version, scored too
        Column("candidate", String(200), nullable=False),  # the index version it built
        Column("model", String(1000)),  # the trained model's folder, if promoted
        Column("baseline_run", Integer),  # the two versions' runs in eval_runs
        Column("candidate_run", Integer),
        Column("figures", JSON, nullable=False),  # both versions' hit@k, MRR@10 and latency
        Column("costs", JSON, nullable=False),  # training and re-embedding seconds, model size
        Column("lineage", JSON, nullable=False),  # base model, data cut-off, pairs, hyperparameters
    )


# v10: one row per experiment that built an index version to compare with the live one.
experiments = _v10_experiment_table(metadata)


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


def _v8_add_trace(connection: Connection) -> None:
    for column in (
        "trace JSON",
        "prompt_tokens INTEGER",
        "completion_tokens INTEGER",
        "cost FLOAT",
        "similarity FLOAT",
        "asker VARCHAR(200)",
    ):
        connection.execute(text(f"ALTER TABLE interactions ADD COLUMN {column}"))
    connection.execute(text("CREATE INDEX ix_interactions_asker ON interactions (asker)"))


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
    _v8_add_trace,
    _creating(_v9_topic_tables),
    _creating(_v10_experiment_table),
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


def inserted_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None, "INSERT returned no primary key"
    return int(key[0])
