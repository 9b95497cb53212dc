"""Fine-tuning experiments on a real index, with real training of the packaged MiniLM.

The documents name operations by invented words ("to frobnicate a sprocket" is to delete it) that
no question uses, so the base model cannot tell a sprocket's three pages apart; the feedback pairs
plain questions with those pages. A model trained on the pages of some objects learns the words and
finds the pages of the held-out objects: it must be promoted. A model trained on the same pairs
shuffled learns nothing of use: it must be refused, and the live version left as it was.
"""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.answering import live_index
from {{ cookiecutter.package_name }}.answering.engine import QueryEngine
from {{ cookiecutter.package_name }}.answers import Answer, Source
from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.evaluation.finetune.experiment import run_experiment
from {{ cookiecutter.package_name }}.evaluation.finetune.pairs import Pair, Passage
from {{ cookiecutter.package_name }}.evaluation.finetune.training import (
    Hyperparameters,
    read_lineage,
    train,
)
from {{ cookiecutter.package_name }}.evaluation.records import EvalRecords
from {{ cookiecutter.package_name }}.feedback.store import FeedbackStore
from {{ cookiecutter.package_name }}.index.store import open_store
from {{ cookiecutter.package_name }}.ingestion.pipeline import run_ingest

from ...conftest import PROJECT

OBJECTS = ("sprocket", "gasket", "flange", "bracket", "valve", "spindle", "ratchet", "hinge")
# Invented verbs, and the plain questions people ask about what they do.
VERBS = {
    "frobnicate": ("How do I delete a {0}?", "How can I get rid of an old {0}?"),
    "glorp": ("How do I create a new {0}?", "How can I add another {0}?"),
    "quux": ("How do I list every {0} I have?", "Where can I see all my {0}s?"),
}
# Training as the issue asks: a few dozen pairs, one epoch; a rate that moves MiniLM in so few steps.
TRAINING = {
    "RAG_FINETUNE_EPOCHS": "1",
    "RAG_FINETUNE_BATCH_SIZE": "8",
    "RAG_FINETUNE_LEARNING_RATE": "0.0002",
    "RAG_FINETUNE_MIN_PAIRS": "10",
}


def page(verb: str, thing: str) -> str:
    return (
        f"# To {verb} a {thing}\n\nOpen the {thing} console and run `{thing} {verb}`. The console "
        f"shows the {thing} once the {verb} step is done.\n"
    )


def write_corpus(docs: Path) -> None:
    shutil.rmtree(docs)
    docs.mkdir()
    for thing in OBJECTS:
        for verb in VERBS:
            (docs / f"{verb}-{thing}.md").write_text(page(verb, thing), encoding="utf-8")


def record_feedback(feedback: FeedbackStore) -> None:
    """Each plain question, answered with the passage of the page it is about, and rated helpful
    by three people."""
    for thing in OBJECTS:
        for verb, questions in VERBS.items():
            name = f"{verb}-{thing}.md"
            text = page(verb, thing)
            title = f"To {verb} a {thing}"
            source = Source(1, title, name, "", text, text, 0.5, f"local:{name}", "public")
            for question in questions:
                answer = f"Run `{thing} {verb}` in the {thing} console [1]."
                interaction = feedback.record_interaction(
                    Answer(question.format(thing), answer, [source], "passages", None, None, 100)
                )
                for rater in range(3):
                    feedback.record_rating(interaction, 1, rater=f"visitor-{rater}")


@pytest.fixture
def project(settings: Settings, docs: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in TRAINING.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    write_corpus(docs)
    run_ingest(settings)
    record_feedback(FeedbackStore(settings.feedback_url))
    return settings


def version_record(settings: Settings, name: str) -> Any:
    return next(v for v in open_store(settings).versions() if v.name == name)


def test_a_model_trained_on_shuffled_pairs_is_refused_by_the_dag(
    project: Settings, airflow_home: Path
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(PROJECT / "dags" / "finetune.py")).dags["finetune_embeddings"]
    store = open_store(project)
    live, chunks = store.live_version(), store.count()

    dag_run = dag.test(run_conf={"negative_control": True})

    assert dag_run.state == "success"
    result = dag_run.get_task_instance("decide").xcom_pull(task_ids="decide")
    assert result["decision"] == "refused", result
    assert result["figures"]["questions"]["sign_test_p"] > 0.05  # at the default margin too
    assert result["lineage"]["data"]["negative_control"] is True
    assert store.live_version() == live and store.count() == chunks  # untouched
    assert result["candidate"] not in [v.name for v in store.versions()]  # dropped
    assert not any((project.finetune_dir / "models").iterdir())  # its model too
    saved = EvalRecords(project.feedback_url).experiments()
    assert [(e.decision, e.candidate) for e in saved] == [("refused", result["candidate"])]
    assert saved[0].baseline_run and saved[0].candidate_run  # both versions' scores are kept


def first_right(engine: QueryEngine) -> int:
    """How many of the plain questions find their page first."""
    right = 0
    for thing in OBJECTS:
        for verb, questions in VERBS.items():
            for question in questions:
                sources = engine.search(question.format(thing))[0]
                right += bool(sources) and sources[0].document_id == f"local:{verb}-{thing}.md"
    return right


def test_a_better_model_is_promoted_and_later_runs_keep_it(
    project: Settings, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(project)
    blue = store.live_version()
    ui = QueryEngine(project)  # a UI process, answering before, during and after the experiment
    monkeypatch.setattr(live_index, "VERSION_CHECK_S", 0.0)
    before = first_right(ui)

    record = run_experiment(project, say=print)  # shown when the test fails

    baseline, candidate = (record.figures[role]["mrr@10"] for role in ("baseline", "candidate"))
    assert record.decision == "promoted", record.as_text()
    assert candidate > baseline + project.finetune_margin
    assert record.figures["questions"]["sign_test_p"] <= 0.05
    assert store.live_version() == record.candidate != blue
    assert blue in [v.name for v in store.versions()]  # kept to roll back to
    green = version_record(project, record.candidate)
    assert (green.embedding_model, green.base_model) == (record.model, project.embedding_model)
    lineage = read_lineage(Path(str(record.model)))
    assert lineage["base_model"] == project.embedding_model
    assert lineage["data"]["pairs"] == record.costs["pairs"] >= 10
    assert lineage["hyperparameters"]["learning_rate"] == 0.0002
    assert {"train_s", "reembed_s", "model_mb"} <= set(record.costs)
    # The running UI follows the promotion, embedding questions with the tuned model.
    assert first_right(ui) > before

    # The next scheduled run writes to the tuned version with the tuned model: no rebuild.
    (docs / "glorp-pulley.md").write_text(page("glorp", "pulley"), encoding="utf-8")
    summary = run_ingest(project)
    assert (summary.added, summary.rebuild, summary.version) == (1, None, record.candidate)

    listed = CliRunner().invoke(app, ["experiments"])
    assert listed.exit_code == 0, listed.output
    assert f"{record.candidate} promoted against {blue}" in listed.output
    assert "training s" in listed.output


def test_another_model_that_retrieves_better_is_kept_until_the_configuration_adopts_it(
    project: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``experiment --embedding-model``: the same path for a model from elsewhere (here one trained
    on every plain question, so it is better on them)."""
    plain = [
        (question.format(thing), verb, thing)
        for thing in OBJECTS
        for verb, questions in VERBS.items()
        for question in questions
    ]
    pairs = [
        Pair(question, Passage(f"local:{verb}-{thing}.md", page(verb, thing)), "case:x")
        for question, verb, thing in plain
    ]
    steps = Hyperparameters(epochs=1, batch_size=8, learning_rate=2e-4, time_budget_s=600)
    other = train(
        project.embedding_model, pairs, steps, device="cpu", models_dir=tmp_path, data={}
    ).path
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"q{number}",
                    "question": question,
                    "expected_files": [f"{verb}-{thing}.md"],
                    "keywords": [f"{thing} {verb}"],
                }
            )
            + "\n"
            for number, (question, verb, thing) in enumerate(plain)
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("RAG_EVAL_QUESTIONS", str(questions))
    store = open_store(project)
    blue = store.live_version()

    result = CliRunner().invoke(app, ["experiment", "--embedding-model", str(other)])

    assert result.exit_code == 0, result.output
    [record] = EvalRecords(project.feedback_url).experiments()
    assert (record.kind, record.decision, record.model) == ("reembed", "kept", str(other))
    assert store.live_version() == blue  # kept beside it, not live
    green = version_record(project, record.candidate)
    assert green.ready and green.embedding_model == str(other)
    assert f"set RAG_EMBEDDING_MODEL={other}" in record.reason
    # Promoted while the configuration names the old model, the next run would rebuild: said.
    promoted = CliRunner().invoke(app, ["promote", record.candidate])
    assert promoted.exit_code == 0 and "the next ingestion run will rebuild" in promoted.output
    monkeypatch.setenv("RAG_EMBEDDING_MODEL", str(other))
    summary = run_ingest(Settings())
    assert (summary.rebuild, summary.version) == (None, record.candidate)
    again = CliRunner().invoke(app, ["promote", record.candidate])
    assert again.exit_code == 0 and "rebuild" not in again.output


def test_too_few_pairs_is_refused_before_anything_is_trained(settings: Settings) -> None:
    run_ingest(settings)
    result = CliRunner().invoke(app, ["finetune"])
    assert result.exit_code == 1
    assert "0 training pairs, fewer than RAG_FINETUNE_MIN_PAIRS (20)" in result.output
    assert not (settings.finetune_dir / "models").exists()


def test_training_stops_at_its_time_budget_and_saves_a_loadable_model(
    tmp_path: Path, embedding_model_name: str
) -> None:
    from sentence_transformers import SentenceTransformer

    pairs = [Pair(f"question {n}", Passage(f"local:{n}", f"text {n}"), "case:x") for n in range(8)]
    budget = Hyperparameters(epochs=3, batch_size=4, learning_rate=1e-5, time_budget_s=0)
    tuned = train(embedding_model_name, pairs, budget, device="cpu", models_dir=tmp_path, data={})

    assert tuned.lineage["steps"] == 0 and tuned.lineage["stopped_by_time_budget"] is True
    assert read_lineage(tuned.path) == tuned.lineage
    assert SentenceTransformer(str(tuned.path)).encode(["a question"]).shape == (1, 384)
