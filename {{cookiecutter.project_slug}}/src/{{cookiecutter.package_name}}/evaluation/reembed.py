"""Trying another embedding model or chunking on the project's own documents (``ask_docs
experiment``): a candidate index version built with them beside the live one, which keeps
answering; both scored on the project's question set (``eval_questions``); the candidate kept if it
wins by the rule of ``candidates.judge``, dropped if not. Either way the experiment is a row of the
``experiments`` table.

A kept candidate is complete but not live. The configuration decides how an ingestion run builds
the index, so adopting the candidate takes both steps: the configuration changed to its settings,
and ``promote``. Promoted alone, it would be rebuilt as configured by the next run.
"""

from collections.abc import Callable, Mapping
from typing import Any

from ..config import Settings
from ..index.store import open_store
from ..index.versions import READY, current_version, rebuild_reason
from ..ingestion.planning import pipeline_of
from .candidates import ExperimentError, build_candidate, compare_versions, judge
from .cases import load_cases
from .experiments import with_overrides
from .records import EvalRecords, ExperimentRecord

# What changes the vectors; settings that change only how an index is searched need no new
# version: `eval --compare` tries them.
CHANGEABLE = frozenset(
    {
        "embedding_model",
{%- if cookiecutter.embeddings == "local" %}
        "embedding_backend",
{%- endif %}
        "chunking",
        "chunk_size",
        "chunk_overlap",
        "passage_window",
    }
)


def run_reembed_experiment(
    settings: Settings,
    changes: Mapping[str, Any],
    *,
    margin: float,
    say: Callable[[str], None] = print,
) -> ExperimentRecord:
    """Build, score and judge a candidate with ``changes`` on top of ``settings``."""
    if not changes:
        raise ExperimentError(f"name at least one setting to change: {sorted(CHANGEABLE)}")
    question_set = load_cases(settings.eval_questions)
    trial = with_overrides(settings, changes, CHANGEABLE)
    store = open_store(settings)
    live = current_version(store)
    if not rebuild_reason(live, trial.embedding_model, pipeline_of(trial), full_refresh=False):
        raise ExperimentError(
            f"nothing to try: the live version {live.name} is empty or already built with "
            + describe(changes)
        )
    say(f"building a candidate beside {live.name} with {describe(changes)}")
    candidate, reembed_s = build_candidate(trial)
    say(f"built {candidate} in {reembed_s:.0f} s; scoring both on {question_set.name}")
    comparison = compare_versions(settings, live.name, candidate, question_set)
    kept, reason = judge(
        comparison.figures,
        margin,
        f"{len(question_set.cases)} questions",
        live_now=store.live_version(),
        baseline=live.name,
    )
    if kept:
        store.update_record(candidate, state=READY)
        reason += (
            f"; to adopt it, set {describe(changes, as_environment=True)} in the configuration "
            f"and run `promote {candidate}`"
        )
    else:
        store.drop_version(candidate)
    record = ExperimentRecord(
        kind="reembed",
        decision="kept" if kept else "refused",
        reason=reason,
        baseline=live.name,
        candidate=candidate,
        model=trial.embedding_model if "embedding_model" in changes else None,
        baseline_run=comparison.runs["baseline"],
        candidate_run=comparison.runs["candidate"],
        figures=comparison.figures,
        costs={"reembed_s": reembed_s},
        lineage={
            "changes": dict(changes),
            "questions": {"set": question_set.name, "digest": question_set.digest},
        },
    )
    saved = EvalRecords(settings.feedback_url).save_experiment(record)
    say(saved.as_text())
    return saved


def describe(changes: Mapping[str, Any], *, as_environment: bool = False) -> str:
    """``chunk_size 128`` or, as the configuration names it, ``RAG_CHUNK_SIZE=128``."""
    if as_environment:
        return " ".join(f"RAG_{name.upper()}={value}" for name, value in changes.items())
    return ", ".join(f"{name} {value}" for name, value in changes.items())
