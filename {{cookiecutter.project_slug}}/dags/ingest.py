# TaskFlow passes XComArgs where the task functions declare the values they will receive.
# mypy: disable-error-code="arg-type"
"""
### Ingest documents

Keeps the vector index in step with the documents: **plan** compares each document's content hash with
the stored one; **ingest_batch** (mapped over batches of documents) chunks, embeds and writes only the
new and changed ones; **prune** deletes documents that left the source; **report** logs and returns the
summary (added, changed, deleted, unchanged, skipped and failed, with reasons).

Runs daily; trigger it by hand to ingest another folder, change the chunking, or rebuild everything
(`full_refresh`). Empty parameters take the project's settings (`RAG_*` environment variables or `.env`).
"""

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from airflow.sdk import Param, dag, get_current_context, task

from {{ cookiecutter.package_name }}.dag_defaults import DAG_DEFAULTS

if TYPE_CHECKING:
    from {{ cookiecutter.package_name }}.config import Settings

STRATEGIES = ["markdown", "sentence", "tokens"]


@dag(
    dag_id="ingest_docs",
    schedule="@daily",
    **DAG_DEFAULTS,
    params={
        "source_dir": Param(None, type=["null", "string"], description="Folder to ingest."),
        "chunking": Param(
            None,
            type=["null", "string"],
            enum=[None, *STRATEGIES],
            description="Chunking strategy.",
        ),
        "chunk_size": Param(
            None, type=["null", "integer"], minimum=32, description="Tokens per chunk."
        ),
        "chunk_overlap": Param(
            None, type=["null", "integer"], minimum=0, description="Tokens shared by neighbours."
        ),
        "full_refresh": Param(False, type="boolean", description="Drop the index and rebuild it."),
    },
    tags=["rag", "ingest"],
    doc_md=__doc__,
)
def ingest_docs() -> None:
    @task
    def plan() -> dict[str, Any]:
        from {{ cookiecutter.package_name }}.ingest import folder_source, plan_ingest

        params = get_current_context()["params"]
        settings = _settings(params)
        planned = plan_ingest(
            settings,
            folder_source(settings, params["source_dir"]),
            full_refresh=params["full_refresh"],
        )
        return {**asdict(planned), "batches": planned.batches(settings.ingest_batch_size)}

    @task
    def batches(plan: dict[str, Any]) -> list[list[str]]:
        return plan["batches"]  # Airflow maps over a task's whole return value only
{% if cookiecutter.vector_store == "chroma" %}
    # Embedded Chroma takes one writing process at a time; with a Chroma server this limit can go.
    @task(max_active_tis_per_dag=1)
{%- else %}
    @task
{%- endif %}
    def ingest_batch(batch: list[str]) -> dict[str, Any]:
        from {{ cookiecutter.package_name }}.ingest import folder_source
        from {{ cookiecutter.package_name }}.ingest import ingest_batch as ingest_documents

        context = get_current_context()
        params = context["params"]
        settings = _settings(params)
        result = ingest_documents(
            settings, folder_source(settings, params["source_dir"]), batch, run_id=context["run_id"]
        )
        return asdict(result)

    @task
    def prune(plan: dict[str, Any]) -> int:
        from {{ cookiecutter.package_name }}.ingest import prune as prune_documents

        return prune_documents(_settings({}), plan["deleted"])

    @task(trigger_rule="none_failed")
    def report(
        plan: dict[str, Any], results: list[dict[str, Any]] | None, deleted: int
    ) -> dict[str, Any]:
        from {{ cookiecutter.package_name }}.ingest import BatchResult, IngestPlan, summarise

        planned = IngestPlan(**{k: v for k, v in plan.items() if k != "batches"})
        summary = summarise(planned, [BatchResult(**r) for r in results or []], deleted)
        print(summary.as_text())
        return asdict(summary)

    planned = plan()
    results = ingest_batch.expand(batch=batches(planned))
    report(planned, results, prune(planned))


def _settings(params: dict[str, Any]) -> "Settings":
    """The project's settings, with this run's non-empty parameters on top."""
    from {{ cookiecutter.package_name }}.config import Settings

    tuning = ("chunking", "chunk_size", "chunk_overlap")
    return Settings(**{key: params[key] for key in tuning if params.get(key) is not None})


ingest_docs()
