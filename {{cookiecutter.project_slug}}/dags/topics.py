"""
### Question topics
Groups the questions people asked over the last `days` into topics by meaning (agglomerative clustering
of their vectors), names each by its key words (and, with a language model, a short label), and counts its
questions, distinct askers, helpful and unhelpful ratings and the questions the docs did not seem to
cover. The run is kept in the feedback database: `{{ cookiecutter.package_name }} topics` and `{{ cookiecutter.package_name }} gaps` and the maintainers'
page read it. Weekly, and on demand (Trigger DAG w/ config). A topic fewer than three people asked
about is never kept.
"""

from datetime import timedelta
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from {{ cookiecutter.package_name }}.dag_defaults import DAG_DEFAULTS


@dag(
    dag_id="question_topics",
    schedule="@weekly",
    **DAG_DEFAULTS,
    params={
        "days": Param(28, type="integer", minimum=1, maximum=3660, description="Days grouped."),
        "method": Param(
            "agglomerative", enum=["agglomerative", "hdbscan"], description="Clustering."
        ),
    },
    tags=["rag", "feedback"],
    doc_md=__doc__,
)
def question_topics() -> None:
    @task(multiple_outputs=False)  # one XCom: the run's figures
    def group_questions() -> dict[str, Any]:
        from datetime import UTC, datetime

        from {{ cookiecutter.package_name }}.connections import task_settings
        from {{ cookiecutter.package_name }}.insights.question_topics import run_question_topics

        params = get_current_context()["params"]
        since = datetime.now(UTC) - timedelta(days=params["days"])
        run = run_question_topics(task_settings(), since, params["method"])
        print(run.as_text())
        return {
            "run_id": run.id,
            "questions": run.questions,
            "topics": len(run.topics),
            **run.figures,
        }

    group_questions()


question_topics()
