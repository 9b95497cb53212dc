"""Ranking rules: fused lists, demoted pages, and a cap on each document's places."""

from pathlib import Path

from llama_index.core.schema import NodeWithScore, TextNode

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.engine import QueryEngine
from {{ cookiecutter.package_name }}.ingest import run_ingest
from {{ cookiecutter.package_name }}.retrieval.ranking import is_demoted, rank, reciprocal_rank_fusion


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


def test_a_changelog_does_not_crowd_out_the_page_that_explains(
    settings: Settings, docs: Path
) -> None:
    """Release notes mention every feature: with the defaults they rank after the docs."""
    (docs / "CHANGELOG.md").write_text(
        "# Changelog\n\n"
        + "\n\n".join(
            f"## 1.{n}\n\nChanged how the chunking strategy is chosen for each Airflow run and "
            "which chunking strategy is the default."
            for n in range(12)
        )
    )
    run_ingest(settings)
    sources = QueryEngine(settings.model_copy(update={"top_k": 4})).retrieve(
        "How do I choose a chunking strategy for a run?"
    )
    documents = [s.document_id for s in sources]
    assert documents[0] == "local:chunking.rst"
    changelog = [i for i, d in enumerate(documents) if d == "local:CHANGELOG.md"]
    others = [i for i, d in enumerate(documents) if d != "local:CHANGELOG.md"]
    assert others and all(i > max(others) for i in changelog)
    undemoted = QueryEngine(
        settings.model_copy(
            update={"top_k": 4, "demote_documents": [], "max_chunks_per_document": 10}
        )
    ).retrieve("How do I choose a chunking strategy for a run?")
    assert [s.document_id for s in undemoted].count("local:CHANGELOG.md") >= 2  # the defect
