"""
### Evaluate retrieval

Scores retrieval on a question set (`RAG_EVAL_QUESTIONS`, default `eval/questions.jsonl`): hit@1/3/5/10,
MRR@10 and latency, saved in the tables `eval_runs` and `eval_results`. It runs whenever an ingestion
changed the index, and on demand.

**configurations** compares several retrieval configurations in one run, each a JSON object of
settings on top of the project's (`{}` is the project's own), for example
`[{}, {"top_k": 8}, {"max_chunks_per_document": 1}, {"chunk_size": 128}]`. A configuration that chunks
differently is evaluated on an index of its own beside the project's, which it never touches.

**check** fails the run, which alerts through the failure callback, when the project's own
configuration scored worse than its previous run by more than `max_drop` on hit@5 or MRR@10.
"""

from pathlib import Path
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from {{ cookiecutter.package_name }}.dag_defaults import DAG_DEFAULTS, EMBEDDINGS_POOL, INDEX_ASSET


@dag(
    dag_id="evaluate_retrieval",
    schedule=[INDEX_ASSET],
    **DAG_DEFAULTS,
    params={
        "questions": Param(
            "", type="string", description="A question set (JSON lines); empty: RAG_EVAL_QUESTIONS."
        ),
        "configurations": Param(
            [{}],
            type="array",
            items={"type": "object"},
            minItems=1,
            maxItems=10,
            description="Settings to compare, each on top of the project's; {} is the project's own.",
        ),
        "max_drop": Param(0.02, type="number", minimum=0, maximum=1),
    },
    tags=["rag", "evaluation"],
    doc_md=__doc__,
)
def evaluate_retrieval() -> None:
    @task
    def configurations() -> list[dict[str, Any]]:
        return list(get_current_context()["params"]["configurations"])

    # Each configuration loads the embedding model and may build an index: the embedding pool caps them.
    @task(pool=EMBEDDINGS_POOL, multiple_outputs=False)
    def evaluate(configuration: dict[str, Any]) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from {{ cookiecutter.package_name }}.connections import task_settings
        from {{ cookiecutter.package_name }}.evaluation.cases import CaseError, load_cases
        from {{ cookiecutter.package_name }}.evaluation.experiments import (
            ConfigurationError,
            run_experiment,
        )
        from {{ cookiecutter.package_name }}.evaluation.runner import report

        settings = task_settings()
        path = get_current_context()["params"]["questions"] or settings.eval_questions
        try:
            question_set = load_cases(Path(path))
            run, run_id = run_experiment(settings, configuration, question_set)
        except (CaseError, ConfigurationError) as error:  # retrying cannot fix the input
            raise AirflowFailException(str(error)) from error
        print(f"configuration {configuration}:")
        print(report(run, {case.id: case.question for case in question_set.cases}))
        return {"configuration": configuration, "run_id": run_id, "figures": run.figures()}

    @task(retries=0, multiple_outputs=False)  # a regression is a finding, not a fault to retry
    def check(mapped: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        from airflow.sdk.exceptions import AirflowFailException

        from {{ cookiecutter.package_name }}.connections import task_settings
        from {{ cookiecutter.package_name }}.evaluation.experiments import regression

        results = mapped[:] if mapped else []  # the mapped results in one request, as a list
        for result in results:
            print(result["configuration"], result["figures"])
        max_drop = get_current_context()["params"]["max_drop"]
        own = [r for r in results if r["configuration"] == {}]
        if own and (finding := regression(task_settings(), own[0]["run_id"], max_drop)):
            raise AirflowFailException(finding)
        return results

    # Airflow types what a mapped task returns as an XComArg; the task receives the list.
    check(evaluate.expand(configuration=configurations()))  # type: ignore[arg-type]


evaluate_retrieval()
