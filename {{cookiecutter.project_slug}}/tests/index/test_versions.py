"""The rules of index versions, over a store double that keeps versions in memory; each backend's
own pointer is tested against the real thing in test_store.py."""

import pytest

from {{ cookiecutter.package_name }}.index.versions import (
    BUILDING,
    READY,
    IndexVersion,
    VersionError,
    checked_version,
    finish_build,
    promote,
    prune_versions,
    rebuild_reason,
    rollback,
    start_build,
    version_name,
    version_number,
    version_of,
    writing_model,
)


class Versions:
    """What a backend records of its versions, and its pointer."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, str]] = {"docs__v1": {"state": READY}}
        self.live = "docs__v1"
        self.version = self.live

    def live_version(self) -> str:
        return self.live

    def versions(self) -> list[IndexVersion]:
        found = [
            version_of(name, version_number("docs", name) or 0, dict(record), 0)
            for name, record in self.records.items()
        ]
        return sorted(found, key=lambda version: version.number)

    def create_version(self, name: str, record: dict[str, str]) -> None:
        assert name not in self.records
        self.records[name] = record

    def update_record(self, version: str, **values: str) -> None:
        self.records[version] |= values

    def switch_live(self, name: str) -> None:
        self.live = name

    def drop_version(self, name: str) -> None:
        assert name != self.live
        del self.records[name]


def test_names_and_numbers() -> None:
    assert version_name("docs", 3) == "docs__v3"
    assert version_name("docs", 0) == "docs"  # an index from before versions
    assert version_number("docs", "docs__v12") == 12
    assert version_number("docs", "docs") == 0
    for other in ("docs__live", "docs__v0", "docs_eval_abc", "docs__v3x", "other__v1"):
        assert version_number("docs", other) is None
        with pytest.raises(ValueError, match="is not a version of collection 'docs'"):
            checked_version("docs", other)


def test_a_rebuild_is_needed_for_a_full_refresh_another_model_or_other_chunking() -> None:
    live = version_of("docs__v1", 1, {"embedding_model": "a", "pipeline": "p"}, chunks=10)
    assert rebuild_reason(live, "a", "p", full_refresh=False) is None
    assert rebuild_reason(live, "a", "p", full_refresh=True) == "full refresh"
    assert rebuild_reason(live, "b", "p", full_refresh=False) == "embedding model a -> b"
    assert rebuild_reason(live, "a", "q", full_refresh=False) == "pipeline p -> q"
    # An empty version takes whatever the first run writes.
    empty = version_of("docs__v1", 1, {"embedding_model": "a", "pipeline": "p"}, chunks=0)
    assert rebuild_reason(empty, "b", "q", full_refresh=True) is None


def test_a_fine_tuned_version_answers_for_the_model_it_was_tuned_from() -> None:
    tuned: dict[str, object] = {
        "embedding_model": "/models/a-tuned-1",
        "base_model": "a",
        "pipeline": "p",
    }
    live = version_of("docs__v2", 2, tuned, chunks=10)
    # Incremental runs keep the tuned model: it is not a change of the configured one.
    assert rebuild_reason(live, "a", "p", full_refresh=False) is None
    assert writing_model(live, "a") == "/models/a-tuned-1"
    # Another configured model replaces it, with a rebuild.
    assert rebuild_reason(live, "b", "p", full_refresh=False) == "embedding model a -> b"
    assert writing_model(live, "b") == "b"
    plain = version_of("docs__v1", 1, {"embedding_model": "a"}, chunks=10)
    assert writing_model(plain, "a") == "a"


def test_a_build_records_its_model_and_resumes_only_for_the_same_one() -> None:
    store = Versions()
    tuned = start_build(store, "docs", "p", model="/models/a-tuned-1", base_model="a")
    assert store.records[tuned]["embedding_model"] == "/models/a-tuned-1"
    assert store.records[tuned]["base_model"] == "a"
    assert start_build(store, "docs", "p", model="/models/a-tuned-1", base_model="a") == tuned
    plain = start_build(store, "docs", "p", model="a")  # a scheduled rebuild: not the experiment's
    assert plain != tuned and tuned not in store.records
    assert "base_model" not in store.records[plain]


def test_a_build_goes_live_only_when_finished_and_old_versions_go() -> None:
    store = Versions()
    first = start_build(store, "docs", "p")
    assert (first, store.live) == ("docs__v2", "docs__v1")
    assert store.records[first]["state"] == BUILDING
    assert finish_build(store, first, keep=2) == []
    second = start_build(store, "docs", "p")
    assert store.live == "docs__v2"
    assert finish_build(store, second, keep=2) == ["docs__v1"]
    assert (store.live, sorted(store.records)) == ("docs__v3", ["docs__v2", "docs__v3"])


def test_an_unfinished_build_is_resumed_unless_its_pipeline_changed() -> None:
    store = Versions()
    building = start_build(store, "docs", "p")
    assert start_build(store, "docs", "p") == building  # a failed run, run again
    other = start_build(store, "docs", "q")  # other chunking: the old build is of no use
    assert other == "docs__v3" and building not in store.records


def test_promote_and_rollback_switch_between_finished_versions() -> None:
    store = Versions()
    for _ in range(2):
        finish_build(store, start_build(store, "docs", "p"), keep=3)
    assert rollback(store) == "docs__v2"
    assert rollback(store) == "docs__v1"
    with pytest.raises(VersionError, match="no complete version older"):
        rollback(store)
    assert promote(store) == "docs__v3"  # the newest complete one
    assert promote(store, "docs__v2") == "docs__v2"
    building = start_build(store, "docs", "p")
    with pytest.raises(VersionError, match="not complete"):
        promote(store, building)
    with pytest.raises(VersionError, match="no index version 'docs__v9'"):
        promote(store, "docs__v9")


def test_pruning_never_drops_the_live_version_or_an_unfinished_build() -> None:
    store = Versions()
    for _ in range(3):
        finish_build(store, start_build(store, "docs", "p"), keep=4)
    rollback(store)  # live: v3; v4 is newer and complete
    building = start_build(store, "docs", "p")
    assert prune_versions(store, keep=2) == ["docs__v1", "docs__v2"]
    assert sorted(store.records) == ["docs__v3", "docs__v4", building]
    assert store.live == "docs__v3"
