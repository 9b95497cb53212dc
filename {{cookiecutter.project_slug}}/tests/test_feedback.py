from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select

from {{ cookiecutter.package_name }}.engine import Answer, Source
from {{ cookiecutter.package_name }}.feedback import (
    MIGRATIONS,
    FeedbackStore,
    metadata,
    migrate,
    schema_version,
)


def answer(question: str) -> Answer:
    source = Source(
        1, "Guide", "guide.md", "Install", "full text", "snippet", 0.8, "local:guide.md"
    )
    return Answer(question, "Use pip [1].", [source], "llm", "model-x", None, 120)


@pytest.fixture
def store(tmp_path: Path) -> FeedbackStore:
    return FeedbackStore(f"sqlite:///{tmp_path / 'sub' / 'feedback.db'}")


def test_first_use_creates_the_schema_at_the_latest_version(store: FeedbackStore) -> None:
    assert store.table_names() == set(metadata.tables)
    with store.engine.connect() as connection:
        versions = connection.execute(select(schema_version.c.version)).scalars().all()
    assert versions == list(range(1, len(MIGRATIONS) + 1))


def test_migrations_match_the_table_definitions(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    migrate(engine)
    inspector = inspect(engine)
    for table in metadata.tables.values():
        assert {c["name"] for c in inspector.get_columns(table.name)} == set(table.columns.keys())


def test_migrating_again_changes_nothing(store: FeedbackStore) -> None:
    store.record_interaction(answer("q"))
    assert migrate(store.engine) == len(MIGRATIONS)
    assert store.counts() == {"interactions": 1, "ratings": 0}


def test_interactions_and_ratings_are_stored(store: FeedbackStore) -> None:
    interaction = store.record_interaction(answer("How to install?"))
    store.record_rating(interaction, 1, "  clear  ")
    with store.engine.connect() as connection:
        row = connection.execute(metadata.tables["interactions"].select()).one()
        rating = connection.execute(metadata.tables["ratings"].select()).one()
    assert row.question == "How to install?" and row.model == "model-x" and row.latency_ms == 120
    assert row.sources[0]["uri"] == "guide.md"
    assert rating.score == 1 and rating.comment == "clear"


def test_ratings_are_checked(store: FeedbackStore) -> None:
    with pytest.raises(LookupError):
        store.record_rating(999, 1)
    interaction = store.record_interaction(answer("q"))
    with pytest.raises(ValueError, match="score"):
        store.record_rating(interaction, 5)


def test_recent_good_questions_are_net_positive_newest_first_and_distinct(
    store: FeedbackStore,
) -> None:
    liked_old = store.record_interaction(answer("Old liked"))
    disliked = store.record_interaction(answer("Disliked"))
    mixed = store.record_interaction(answer("Mixed"))
    liked_new = store.record_interaction(answer("new  LIKED"))
    duplicate = store.record_interaction(answer("New liked"))
    store.record_rating(liked_old, 1)
    store.record_rating(disliked, -1)
    store.record_rating(mixed, 1)
    store.record_rating(mixed, -1)
    store.record_rating(liked_new, 1)
    store.record_rating(duplicate, 1)
    assert store.recent_good_questions() == ["New liked", "Old liked"]
    assert store.recent_good_questions(limit=1) == ["New liked"]
