"""The project's question topics and documentation gaps, from its settings: what the
``question_topics`` DAG runs, and what ``topics`` and ``gaps`` print."""

from dataclasses import replace
from datetime import datetime
{# a blank line between the standard library and the project #}
{%- if cookiecutter.llm != "none" %}
from ..answering.engine import language_model
{%- endif %}
from ..config import Settings
from ..feedback.store import FeedbackStore
from ..index.embeddings import embedding_model
{%- if cookiecutter.llm != "none" %}
from .labels import labelled
{%- endif %}
from .runs import TopicRun, find_topics, latest_run, save_run
from .topics import Topic, gaps


def run_question_topics(
    settings: Settings, since: datetime, method: str = "agglomerative"
) -> TopicRun:
    """Group the questions asked since ``since`` into topics, and keep the run."""
    model = embedding_model(settings)
{%- if cookiecutter.llm != "none" %}
    llm = language_model(settings) if settings.topics_llm_labels else None
{%- endif %}
    feedback = FeedbackStore(settings.feedback_url)
    run = find_topics(
        feedback.engine,
        since,
        model=model.model_name,
        embed=model.get_text_embedding_batch,
        weak_below=settings.min_similarity,
        min_size=settings.topics_min_size,
        max_questions=settings.topics_max_questions,
        method=method,
{%- if cookiecutter.llm != "none" %}
        label=(lambda topics: labelled(topics, llm)) if llm else None,
{%- endif %}
    )
    with feedback.engine.begin() as connection:
        return replace(run, id=save_run(connection, run))


def current_gaps(settings: Settings) -> tuple[TopicRun | None, list[Topic]]:
    """The latest run, and its topics the documentation covers worst (``gap_rate`` or more)."""
    with FeedbackStore(settings.feedback_url).engine.connect() as connection:
        run = latest_run(connection)
    if run is None:
        return None, []
    return run, gaps(run.topics, settings.gap_rate, settings.gaps_shown)
