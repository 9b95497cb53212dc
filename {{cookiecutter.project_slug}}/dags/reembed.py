"""
### Try another embedding model or chunking

An experiment, run on demand (Trigger DAG): would the index retrieve better built another way?
**experiment** builds a candidate index version from every source with `changes` (any of
`embedding_model`,{% if cookiecutter.embeddings == "local" %} `embedding_backend`,{% endif %} `chunking`, `chunk_size`, `chunk_overlap`,
`passage_window`) beside the live one,
which keeps answering; scores both on the question set (`RAG_EVAL_QUESTIONS`); and keeps the
candidate, complete but not live, only if its MRR@10 is higher by more than `margin` and it ranks
more questions better than worse beyond chance. The log and `{{ cookiecutter.package_name }} experiments` say how to
adopt it: the same settings in the configuration, then `promote`. Settings that change only how the
index is searched need no new version: the `evaluate_retrieval` DAG compares them.
"""

from dataclasses import asdict
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from {{ cookiecutter.package_name }}.dag_defaults import (
    DAG_DEFAULTS,
    embedding_task,
)


@dag(
    dag_id="reembed_experiment",
    schedule=None,
    **DAG_DEFAULTS,
    params={
        "changes": Param(
            {"chunk_size": 128},
            type="object",
            minProperties=1,
            description='Settings to try, on top of the project\'s, e.g. {"chunk_size": 128}.',
        ),
        "margin": Param(0.02, type="number", minimum=0, maximum=1),
    },
    tags=["rag", "evaluation"],
    doc_md=__doc__,
)
def reembed_experiment() -> None:
    # Embeds every source: where embedding tasks run. Bad input or a lost comparison is a finding.
    @task(retries=0, multiple_outputs=False, **embedding_task())
    def experiment() -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from {{ cookiecutter.package_name }}.connections import task_settings
        from {{ cookiecutter.package_name }}.evaluation.candidates import ExperimentError
        from {{ cookiecutter.package_name }}.evaluation.cases import CaseError
        from {{ cookiecutter.package_name }}.evaluation.experiments import ConfigurationError
        from {{ cookiecutter.package_name }}.evaluation.reembed import run_reembed_experiment

        params = get_current_context()["params"]
        try:
            record = run_reembed_experiment(
                task_settings(), params["changes"], margin=float(params["margin"])
            )
        except (ExperimentError, CaseError, ConfigurationError) as error:
            raise AirflowFailException(str(error)) from error
        return asdict(record)

    experiment()


reembed_experiment()
