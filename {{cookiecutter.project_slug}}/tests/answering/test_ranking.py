"""Ranking rules: fused lists, demoted pages, and a cap on each document's places."""

from dataclasses import replace
from pathlib import Path

from llama_index.core.schema import NodeWithScore, TextNode
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.answering.engine import QueryEngine
from {{ cookiecutter.package_name }}.answering.retrieval.ranking import (
    by_standing,
    is_demoted,
    rank,
    reciprocal_rank_fusion,
)
from {{ cookiecutter.package_name }}.answering.retrieval.standing import (
    MAX_BOOST,
    boost,
    refresh_standings,
    tally,
)
from {{ cookiecutter.package_name }}.answers import Answer
from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.feedback.store import FeedbackStore
from {{ cookiecutter.package_name }}.ingestion.pipeline import run_ingest


def hit(chunk: str, document: str, score: float = 0.5) -> NodeWithScore:
    return NodeWithScore(
        node=TextNode(id_=chunk, text=chunk, metadata={"document_id": document}), score=score
    )


def ids(hits: list[NodeWithScore]) -> list[str]:
    return [h.node.node_id for h in hits]


def test_fusion_adds_ranks_not_scores() -> None:
    dense = [hit("a", "d1", 0.9), hit("b", "d2", 0.8), hit("c", "d3", 0.7)]
    keyword = [hit("c", "d3", 12.0), hit("d", "d4", 11.0), hit("b", "d2", 1.0)]
    fused = reciprocal_rank_fusion([dense, keyword])
    # b (2nd and 3rd) and c (3rd and 1st) are in both lists and beat a and d, in one list each.
    assert ids(fused) == ["c", "b", "a", "d"]
    assert fused[0].score == 1 / 63 + 1 / 61


def test_a_document_takes_at_most_its_share_of_places() -> None:
    hits = [hit(f"long{i}", "local:long.md") for i in range(5)] + [hit("other", "local:other.md")]
    assert ids(rank(hits, demote=[], per_document=2, limit=3)) == ["long0", "long1", "other"]


def test_demoted_pages_come_after_every_other_match() -> None:
    hits = [hit("news", "local:CHANGELOG.md"), hit("guide", "local:guide.md")]
    assert ids(rank(hits, demote=["*changelog*"], per_document=3, limit=2)) == ["guide", "news"]
    assert is_demoted("web:https://x.dev/docs/release-notes/3.0", ["*release-notes*"])
    assert not is_demoted("local:guide.md", ["*changelog*", "*release-notes*"])


def ranked_documents(settings: Settings, question: str) -> list[str]:
    """The document of each chunk that retrieval ranks for ``question``, best first."""
    from llama_index.core.schema import QueryBundle

    from {{ cookiecutter.package_name }}.answering.engine import access_filters
    from {{ cookiecutter.package_name }}.answering.retrieval.search import ChunkSearch
    from {{ cookiecutter.package_name }}.index.embeddings import embedding_model
    from {{ cookiecutter.package_name }}.index.store import open_store

    embed = embedding_model(settings)
    search = ChunkSearch(settings, open_store(settings), embed, access_filters)
    bundle = QueryBundle(question, embedding=embed.get_query_embedding(question))
    found = search.retrieve(bundle, access=["public"])
    return [str(hit.node.metadata["document_id"]) for hit in found.hits]


def test_a_changelog_does_not_crowd_out_the_page_that_explains(
    settings: Settings, docs: Path
) -> None:
    """Release notes mention every feature: with the defaults they rank after the docs."""
    entry = (
        "Changed how the chunking strategy is chosen for each Airflow run, and which chunking "
        "strategy is the default when a run does not choose one. "
    )
    (docs / "CHANGELOG.md").write_text(
        "# Changelog\n\n" + "\n\n".join(f"## 1.{n}\n\n{entry * 4}" for n in range(12))
    )
    run_ingest(settings)
    question = "How do I choose a chunking strategy for a run?"
    undemoted = settings.model_copy(
        update={"top_k": 4, "demote_documents": [], "max_chunks_per_document": 10}
    )
    assert ranked_documents(undemoted, question).count("local:CHANGELOG.md") >= 2  # the defect
    documents = ranked_documents(settings.model_copy(update={"top_k": 4}), question)
    assert documents[0] == "local:chunking.rst"
    changelog = [i for i, d in enumerate(documents) if d == "local:CHANGELOG.md"]
    others = [i for i, d in enumerate(documents) if d != "local:CHANGELOG.md"]
    assert others and all(i > max(others) for i in changelog)


def test_a_boost_is_bounded_and_small_while_votes_are_few() -> None:
    assert boost(0, 0) == 0
    assert 0 < boost(1, 0) < MAX_BOOST / 4  # one vote moves little
    assert boost(1000, 0) < MAX_BOOST and boost(0, 1000) > -MAX_BOOST
    assert tally([(["local:a", "local:b"], 2), (["local:a"], -1), (["local:c"], 0)]) == {
        "local:a": (1, 1),
        "local:b": (1, 0),
    }


def test_standing_reorders_close_matches_only() -> None:
    hits = [hit("a", "local:a", 0.60), hit("b", "local:b", 0.58), hit("c", "local:c", 0.40)]
    up = {"local:b": 1 + MAX_BOOST, "local:c": 1 + MAX_BOOST, "local:a": 1 - MAX_BOOST}
    assert ids(by_standing(hits, up)) == ["b", "a", "c"]
    assert ids(by_standing(hits, hidden={"local:a"})) == ["b", "c"]


def test_standing_applies_to_each_list_before_fusion_so_a_poor_match_stays_poor() -> None:
    """Fused ranks make every match look close to the best: a boost on them could lift a poor one."""
    vectors = [hit("a", "local:a", 0.60), hit("b", "local:b", 0.59), hit("c", "local:c", 0.40)]
    keywords = [hit("a", "local:a", 9.0), hit("b", "local:b", 8.9), hit("c", "local:c", 2.0)]
    votes = {"local:c": 1 + MAX_BOOST, "local:a": 1 - MAX_BOOST}
    fused = reciprocal_rank_fusion([by_standing(hits, votes) for hits in (vectors, keywords)])
    assert ids(fused) == ["b", "a", "c"]
    after_fusion = by_standing(reciprocal_rank_fusion([vectors, keywords]), votes)
    assert ids(after_fusion)[0] == "c"  # what this order of steps prevents


BACKUP_DOCS = {
    "alpha.md": "# Backups\n\nTake a nightly backup of the database with the backup tool, keep seven.",
    "beta.md": "# Backups\n\nTake a nightly backup of the database with the dump tool, keep seven.",
    "gamma.md": "# Monitoring\n\nWatch the disk usage of the server and alert when it runs high.",
}
BACKUP_QUESTION = "How do I take a nightly backup of the database?"


def test_ratings_of_the_answers_that_cite_a_document_move_it_within_a_bound(
    settings: Settings, docs: Path
) -> None:
    for sample in docs.iterdir():  # only these three documents, so every one is ranked
        sample.unlink()
    for name, text in BACKUP_DOCS.items():
        (docs / name).write_text(text)
    run_ingest(settings)
    before = QueryEngine(settings).retrieve(BACKUP_QUESTION)
    first, second = before[0].document_id, before[1].document_id
    assert {first, second} == {"local:alpha.md", "local:beta.md"}
    by_meaning = QueryEngine(settings.model_copy(update={"hybrid_search": False}))
    scores = {s.document_id: s.score or 0.0 for s in by_meaning.retrieve(BACKUP_QUESTION)}
    assert scores["local:gamma.md"] < 0.8 * max(scores.values())  # far below: no rating may lift it

    store = FeedbackStore(settings.feedback_url)
    source = {s.document_id: s for s in before}

    def rate(document: str, score: int, times: int) -> None:
        for _ in range(times):
            cited = replace(source[document], number=1)
            answer = Answer(BACKUP_QUESTION, "Like this [1].", [cited], "llm", "m", None, 50)
            store.record_rating(store.record_interaction(answer), score)

    rate(second, 1, 3)
    rate(first, -1, 3)
    rate("local:gamma.md", 1, 50)
    refresh_standings(store)
    after = [s.document_id for s in QueryEngine(settings).retrieve(BACKUP_QUESTION)]
    assert after[:2] == [second, first]  # close matches swap places
    assert after.index("local:gamma.md") > 1  # a weak match stays below them

    assert CliRunner().invoke(app, ["hide", second]).exit_code == 0
    hidden = [s.document_id for s in QueryEngine(settings).retrieve(BACKUP_QUESTION)]
    assert second not in hidden and hidden[0] == first
