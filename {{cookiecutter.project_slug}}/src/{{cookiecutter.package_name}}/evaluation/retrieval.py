"""Evaluate this project's own retrieval, as the app runs it, on a question set."""

from collections.abc import Callable
from typing import Any

from ..config import Settings
from ..ingestion.planning import pipeline_of
from .cases import QuestionSet
from .runner import EvalRun, run_eval
from .scoring import DEPTH


def retrieval_config(settings: Settings) -> dict[str, Any]:
    """What a run's figures depend on, saved with them so that two runs can be told apart."""
    return {
        "embedding_model": settings.embedding_model,
        "pipeline": pipeline_of(settings),
        "top_k": max(DEPTH, settings.top_k),
        # The model and its depth, or False (as runs have been saved since reranking exists).
        "rerank": (
            f"{settings.rerank_model}@{settings.rerank_candidates}" if settings.rerank else False
        ),
{%- if cookiecutter.vector_store != "chroma" %}
        "hybrid_search": settings.hybrid_search,
{%- endif %}
    }


def evaluate_retrieval(
    settings: Settings, question_set: QuestionSet, progress: Callable[[int], None] | None = None
) -> EvalRun:
    from ..answering.engine import QueryEngine  # loads the embedding model

    engine = QueryEngine(settings.model_copy(update={"top_k": max(DEPTH, settings.top_k)}))
    engine.retrieve("warm-up")  # the first query pays for connections and checks: not measured
    return run_eval(engine.search, question_set, retrieval_config(settings), progress)
