# TaskFlow passes XComArgs where the task functions declare the values they will receive.
# mypy: disable-error-code="arg-type"
"""
### Fine-tune the embedding model

An experiment, run on demand (Trigger DAG): does training the embedding model on what people asked
make retrieval better here, and what does it cost?

**prepare** makes training pairs from the feedback (the questions of helpful, complete answers that
passed the sharing bar, with the passages they cited) and from the accepted evaluation cases, with
a hard negative each, and keeps the questions about a share of the documents out of training
(`RAG_FINETUNE_HELD_OUT`) to score on. **train** trains the configured model on the pairs
(MultipleNegativesRankingLoss, at most `RAG_FINETUNE_TIME_BUDGET_S`) and saves it with its lineage.
**build** embeds every source with it into a new index version beside the live one, which keeps
answering. **score** scores both versions on the held-out questions. **decide** makes the new version
live only if its MRR@10 is higher by more than `RAG_FINETUNE_MARGIN` and it ranks more questions
better than worse beyond chance (a sign test), else drops it and its model; either way the experiment
is kept (`{{ cookiecutter.package_name }} experiments`).

**negative_control** trains on shuffled pairs, a check of the experiment itself: its model must be
refused.
"""

from dataclasses import asdict
from typing import Any, Literal

from airflow.sdk import Param, dag, get_current_context, task

from {{ cookiecutter.package_name }}.dag_defaults import (
    DAG_DEFAULTS,
    embedding_task,
)

# Training, embedding every source and scoring load models: they run where embedding tasks run.
HEAVY = embedding_task()


@dag(
    dag_id="finetune_embeddings",
    schedule=None,
    **DAG_DEFAULTS,
    params={
        "negative_control": Param(
            False, type="boolean", description="Train on shuffled pairs: the model must be refused."
        ),
    },
    tags=["rag", "evaluation"],
    doc_md=__doc__,
)
def finetune_embeddings() -> None:
    @task(retries=0, multiple_outputs=False)  # too little data is a finding: retrying cannot help
    def prepare() -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from {{ cookiecutter.package_name }}.connections import task_settings
        from {{ cookiecutter.package_name }}.evaluation.cases import CaseError
        from {{ cookiecutter.package_name }}.evaluation.finetune import experiment as steps

        negative_control = get_current_context()["params"]["negative_control"]
        try:
            experiment = steps.prepare(task_settings(), negative_control=negative_control)
        except (steps.ExperimentError, CaseError) as error:
            raise AirflowFailException(str(error)) from error
        print(f"{experiment.pairs} training pairs, {experiment.held_out} held-out questions")
        return asdict(experiment)

    @task(multiple_outputs=False, **HEAVY)
    def train(experiment: dict[str, Any]) -> dict[str, Any]:
        return _advance("train_model", experiment)

    @task(multiple_outputs=False, **HEAVY)
    def build(experiment: dict[str, Any]) -> dict[str, Any]:
        return _advance("build_candidate", experiment)

    @task(multiple_outputs=False, **HEAVY)
    def score(experiment: dict[str, Any]) -> dict[str, Any]:
        return _advance("compare", experiment)

    @task(retries=0, multiple_outputs=False)
    def decide(experiment: dict[str, Any]) -> dict[str, Any]:
        from {{ cookiecutter.package_name }}.connections import task_settings
        from {{ cookiecutter.package_name }}.evaluation.finetune import experiment as steps

        record = steps.decide(task_settings(), steps.Experiment(**experiment))
        print(record.as_text())
        return asdict(record)

    decide(score(build(train(prepare()))))


# Named, not passed: the steps' module loads the ingestion and evaluation code, which parsing the DAG
# file must not wait for.
Step = Literal["train_model", "build_candidate", "compare"]


def _advance(step: Step, experiment: dict[str, Any]) -> dict[str, Any]:
    """Run one step of the experiment (a function of ``evaluation.finetune.experiment``) on what the
    task before handed on."""
    from {{ cookiecutter.package_name }}.connections import task_settings
    from {{ cookiecutter.package_name }}.evaluation.finetune import experiment as steps

    return asdict(getattr(steps, step)(task_settings(), steps.Experiment(**experiment)))


finetune_embeddings()
