"""
### Feedback loop

{%- if cookiecutter.llm != "none" %}
Closes the loop from ratings back to answers: **promote_answers** puts answers that people rated helpful
into the index as verified answers (retrieval finds them for related questions; a near-identical
question gets one back at once) and withdraws those whose ratings turned negative. **usage_report**
{%- else %}
**usage_report**
{%- endif %}
logs and returns what happened over the last `report_days` days: questions, how they were answered,
ratings, latency by stage, tokens and cost, the documents cited most, and the questions whose answers
were rated not helpful (where the docs fall short).
**rank_sources** counts, per document, the helpful and unhelpful answers that cited it: retrieval
raises the first a little and lowers the second a little (bounded), beside a maintainer's pins and hides.
"""

from datetime import timedelta
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from {{ cookiecutter.package_name }}.dag_defaults import DAG_DEFAULTS


@dag(
    dag_id="feedback_loop",
    schedule="@hourly",
    **DAG_DEFAULTS,
    params={
        "report_days": Param(7, type="integer", minimum=1, description="Days the report covers."),
    },
    tags=["rag", "feedback"],
    doc_md=__doc__,
)
def feedback_loop() -> None:
{%- if cookiecutter.llm != "none" %}
    @task(multiple_outputs=False)  # one XCom: the summary
    def promote_answers() -> dict[str, Any]:
        from dataclasses import asdict

        from {{ cookiecutter.package_name }}.connections import task_settings
        from {{ cookiecutter.package_name }}.feedback.verified import promote_answers as promote

        summary = promote(task_settings(), run_id=get_current_context()["run_id"])
        print(summary.as_text())
        return asdict(summary)

{%- endif %}

    @task(multiple_outputs=False)  # one XCom: the report
    def usage_report() -> dict[str, Any]:
        from dataclasses import asdict
        from datetime import UTC, datetime

        from {{ cookiecutter.package_name }}.connections import task_settings
        from {{ cookiecutter.package_name }}.feedback.store import FeedbackStore

        days = get_current_context()["params"]["report_days"]
        usage = FeedbackStore(task_settings().feedback_url).usage(
            since=datetime.now(UTC) - timedelta(days=days)
        )
        print(usage.as_text())
        return asdict(usage)

    @task(multiple_outputs=False)  # one XCom: the counts
    def rank_sources() -> dict[str, int]:
        from {{ cookiecutter.package_name }}.answering.retrieval.standing import refresh_standings
        from {{ cookiecutter.package_name }}.connections import task_settings
        from {{ cookiecutter.package_name }}.feedback.store import FeedbackStore

        summary = refresh_standings(FeedbackStore(task_settings().feedback_url))
        print(f"documents rated through answers: {summary}")
        return summary
{% if cookiecutter.llm != "none" %}
    promote_answers() >> usage_report()
{%- else %}
    usage_report()
{%- endif %}
    rank_sources()


feedback_loop()
