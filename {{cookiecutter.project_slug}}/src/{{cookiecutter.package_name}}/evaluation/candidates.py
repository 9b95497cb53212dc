"""A candidate index version: built from every source beside the live version (which keeps
answering), scored against it on the same questions, and judged by one rule. The fine-tuning
experiment (``finetune/``) and the experiments with another embedding model or chunking
(``reembed``) share it.
"""

import time
from dataclasses import dataclass, field

from ..config import Settings
{%- if cookiecutter.llm != "none" %}
from ..feedback.verified import promote_answers
{%- endif %}
from ..index.embeddings import embedding_of_version
from ..index.store import open_store
from ..index.versions import current_version
from ..ingestion.pipeline import run_ingest
from .cases import QuestionSet
from .records import EvalRecords
from .retrieval import evaluate_retrieval
from .scoring import paired_changes, sign_test

GATE = "mrr@10"  # the figure a candidate must improve by the margin
# And the questions it ranks better must outnumber those it ranks worse beyond chance (a sign test):
# on a few dozen questions, one question moving up a rank can be worth the margin.
SIGNIFICANCE = 0.05


class ExperimentError(RuntimeError):
    """An experiment that cannot run (too little data) or whose candidate cannot be built."""


@dataclass
class Comparison:
    runs: dict[str, int] = field(default_factory=dict)  # "baseline"/"candidate" -> eval run id
    # The same keys -> each version's figures; "questions" -> better, worse and the sign test's p.
    figures: dict[str, dict[str, float]] = field(default_factory=dict)


def build_candidate(
    settings: Settings, *, tuned_model: str | None = None, run_id: str = "experiment"
) -> tuple[str, float]:
    """A new version of every source, built with ``settings`` (or with ``tuned_model``, a
    fine-tuning of the configured model) and not made live; its name and the seconds it took. One
    that lacks a document is dropped: it could not be compared fairly."""
    started = time.monotonic()
    summary = run_ingest(settings, trial=True, tuned_model=tuned_model, run_id=run_id)
    if not summary.complete:
        open_store(settings).drop_version(summary.version)  # a re-run builds it afresh
        raise ExperimentError(
            f"index version {summary.version} is incomplete, so it cannot be compared: "
            + summary.as_text()
        )
{%- if cookiecutter.llm != "none" %}
    promote_answers(settings.pinned(summary.version))  # scored as it would answer
{%- endif %}
    return summary.version, round(time.monotonic() - started, 1)


def compare_versions(
    settings: Settings, baseline: str, candidate: str, question_set: QuestionSet
) -> Comparison:
    """Both versions scored on ``question_set``, each with the model its vectors come from; the
    runs are saved."""
    records = EvalRecords(settings.feedback_url)
    comparison = Comparison()
    ranks = {}
    for role, name in (("baseline", baseline), ("candidate", candidate)):
        version = current_version(open_store(settings.pinned(name)))
        pinned = settings.pinned(name)
        reading = embedding_of_version(pinned, version.embedding_model, version.pipeline)
        run = evaluate_retrieval(reading, question_set)
        run.config.update(index_version=name, pipeline=version.pipeline or run.config["pipeline"])
        comparison.runs[role] = records.save(run)
        comparison.figures[role] = run.figures()
        ranks[role] = {result.case_id: result.rank for result in run.results}
    better, worse = paired_changes(ranks["baseline"], ranks["candidate"])
    comparison.figures["questions"] = {
        "better": better,
        "worse": worse,
        "sign_test_p": round(sign_test(better, worse), 4),
    }
    return comparison


def judge(
    figures: dict[str, dict[str, float]],
    margin: float,
    scored_on: str,
    live_now: str,
    baseline: str,
) -> tuple[bool, str]:
    """Whether the candidate wins and why: its MRR@10 higher by more than ``margin`` and more
    questions ranked better than worse beyond chance, against a live version that did not change
    meanwhile. ``scored_on`` names the questions (e.g. "27 held-out questions")."""
    if live_now != baseline:
        return False, f"the live version changed to {live_now} during the experiment"
    before, after, questions = figures["baseline"], figures["candidate"], figures["questions"]
    gain = after[GATE] - before[GATE]
    above = gain > margin
    beyond_chance = questions["sign_test_p"] <= SIGNIFICANCE
    return above and beyond_chance, (
        f"{GATE} {before[GATE]:.3f} -> {after[GATE]:.3f} ({gain:+.3f}), "
        f"{'above' if above else 'not above'} the margin {margin}; "
        f"of {scored_on} {questions['better']:.0f} ranked better, {questions['worse']:.0f} worse "
        f"(sign test p {questions['sign_test_p']:.3f}, "
        f"{'at most' if beyond_chance else 'above'} {SIGNIFICANCE})"
    )
