"""Compare retrieval configurations on one question set (the ``evaluate_retrieval`` DAG).

A configuration is a few settings on top of the project's own, such as ``{"top_k": 8}`` or
``{"chunk_size": 128}``. One that chunks differently is evaluated on an index of its own, built from
the same sources beside the project's (and refreshed incrementally by the next such run), so an
experiment never touches what the app serves.
"""

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..config import Settings
from ..ingestion.planning import pipeline_of
from .cases import QuestionSet
from .records import EvalRecords
from .retrieval import evaluate_retrieval
from .runner import EvalRun, regressed

# The settings an experiment may change: how chunks are made, found and ranked.
TUNABLE = frozenset(
    {
        "chunking",
        "chunk_size",
        "chunk_overlap",
        "passage_window",
        "top_k",
        "max_chunks_per_document",
        "demote_documents",
        "hybrid_search",
        "rerank",
        "rerank_candidates",
    }
)


class ConfigurationError(ValueError):
    """A configuration that names a setting no experiment may change, or a value it cannot take."""


def configured(settings: Settings, overrides: Mapping[str, Any]) -> Settings:
    """``settings`` with ``overrides`` validated and applied; a new chunking gets its own index."""
    tuned = with_overrides(settings, overrides, TUNABLE)
    if index_of(tuned) == index_of(settings):
        return tuned
    digest = hashlib.sha256(index_of(tuned).encode()).hexdigest()[:6]
    return tuned.model_copy(update={"collection": f"{settings.collection}_eval_{digest}"})


def with_overrides(
    settings: Settings, overrides: Mapping[str, Any], allowed: frozenset[str]
) -> Settings:
    """``settings`` with ``overrides`` (only of ``allowed`` settings) validated and applied."""
    unknown = sorted(set(overrides) - allowed)
    if unknown:
        raise ConfigurationError(
            f"cannot change {', '.join(unknown)} in an experiment; choose from {sorted(allowed)}"
        )
    try:
        return Settings.model_validate({**settings.model_dump(), **overrides})
    except ValidationError as error:
        raise ConfigurationError(f"invalid configuration {dict(overrides)}: {error}") from error


def index_of(settings: Settings) -> str:
    """What an index built with these settings holds: settings that differ here need another."""
{%- if cookiecutter.vector_store == "pgvector" %}
    # Hybrid search needs a full-text column that a table has only if it was built with it.
    return f"{pipeline_of(settings)}/hybrid-{settings.hybrid_search}"
{%- else %}
    return pipeline_of(settings)
{%- endif %}


def run_experiment(
    settings: Settings, overrides: Mapping[str, Any], question_set: QuestionSet
) -> tuple[EvalRun, int]:
    """Evaluate one configuration, building its index first if it needs one; save the run."""
    from ..ingestion.pipeline import run_ingest

    tuned = configured(settings, overrides)
    if tuned.collection != settings.collection:
        run_ingest(tuned, run_id="evaluate")
    run = evaluate_retrieval(tuned, question_set)
    run.config["overrides"] = dict(overrides)
    return run, EvalRecords(settings.feedback_url).save(run)


def regression(settings: Settings, run_id: int, max_drop: float) -> str | None:
    """Why saved run ``run_id`` is worse than the previous run of its configuration, or ``None``."""
    records = EvalRecords(settings.feedback_url)
    run = records.get(run_id)
    previous = records.last(run.digest, config=run.config, before=run_id)
    if previous is None or not regressed(run.figures, previous.figures, max_drop):
        return None
    return (
        f"retrieval regressed since run {previous.id} ({previous.created_at}): "
        f"{json.dumps(previous.figures)} -> {json.dumps(run.figures)}"
    )
