# TaskFlow passes XComArgs where the task functions declare the values they will receive.
# mypy: disable-error-code="arg-type"
"""
### Ingest documents

Keeps the vector index in step with the sources (folders, git repositories, websites; see
`sources.toml`): **plan** brings each source's local copy up to date (pull, crawl) and compares each
document's content hash with the stored one; **ingest_batch** (mapped over batches of documents, in the
`rag_embeddings` pool) chunks, embeds and writes only the new and changed ones; **prune** deletes
documents that left their source; **report** logs and returns the summary (added, changed, deleted,
unchanged, skipped and failed, with reasons); **release** makes a rebuilt index version live;
**announce** updates the index Asset, only when the index changed, so that what is scheduled on it
runs for a reason; **check_complete** fails the run if a source could not be read or a document could
not be ingested, after everything else was ingested (a file that cannot be read is skipped, and does
not fail it).

A full refresh, or another embedding model or chunking, builds a new index version beside the live
one: the UI keeps answering from the live one until **release** switches it, once every document is
written (`ask_docs versions`, `promote`, `rollback`).

Runs daily; trigger it by hand to read some sources only, ingest another folder (`source_dir`: it gets a
source of its own and deletes nothing else; `remove_sources` deletes it again), change the chunking, or
rebuild everything (`full_refresh`). Empty parameters take the project's settings (`RAG_*`
environment variables or `.env`).
"""

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from airflow.sdk import Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from {{ cookiecutter.package_name }}.dag_defaults import (
    DAG_DEFAULTS,
    INDEX_ASSET,
    embedding_task,
)

if TYPE_CHECKING:
    from {{ cookiecutter.package_name }}.config import Settings
    from {{ cookiecutter.package_name }}.ingestion.planning import IngestPlan
    from {{ cookiecutter.package_name }}.ingestion.sources import Source

STRATEGIES = ["markdown", "sentence", "tokens", "code"]
COUNTS = ("added", "changed", "deleted", "unchanged", "chunks")  # what an index Asset event carries


@dag(
    dag_id="ingest_docs",
    schedule="@daily",
    **DAG_DEFAULTS,
    params={
        "sources": Param(
            None,
            type=["null", "array"],
            items={"type": "string"},
            description="Sources to read, by name; empty: every enabled source.",
        ),
        "source_dir": Param(
            None,
            type=["null", "string"],
            description="Ingest only this folder: the configured source that reads it, else a "
            "source of its own beside the others (named folder-<name>-<hash>).",
        ),
        "remove_sources": Param(
            [],
            type="array",
            items={"type": "string"},
            description="First delete every document of these sources, e.g. an ad-hoc folder.",
        ),
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
        "full_refresh": Param(
            False, type="boolean", description="Rebuild the index, beside the live one."
        ),
    },
    tags=["rag", "ingest"],
    doc_md=__doc__,
)
def ingest_docs() -> None:
    # Results are dicts; multiple_outputs=False keeps each one XCom instead of one per key too.
    @task(multiple_outputs=False)
    def plan() -> dict[str, Any]:
        from {{ cookiecutter.package_name }}.ingestion.planning import plan_ingest, remove_sources

        params = get_current_context()["params"]
        settings = _settings(params)
        if removed := remove_sources(settings, params["remove_sources"]):
            print(f"removed {removed} documents of sources {params['remove_sources']}")
        planned = plan_ingest(
            settings, _sources(settings, params), full_refresh=params["full_refresh"]
        )
        return {**asdict(planned), "batches": planned.batches(settings.ingest_batch_size)}

    @task
    def batches(plan: dict[str, Any]) -> list[list[str]]:
        return plan["batches"]  # Airflow maps over a task's whole return value only

    @task(**embedding_task(), multiple_outputs=False)
    def ingest_batch(plan: dict[str, Any], batch: list[str]) -> dict[str, Any]:
        from {{ cookiecutter.package_name }}.ingestion.pipeline import ingest_batch as ingest_documents

        context = get_current_context()
        params = context["params"]
        settings = _settings(params)
        sources = _sources(settings, params)
        target = _planned(plan).target(settings)
        return asdict(ingest_documents(target, sources, batch, run_id=context["run_id"]))

    @task
    def prune(plan: dict[str, Any]) -> int:
        from {{ cookiecutter.package_name }}.ingestion.planning import prune as prune_documents

        return prune_documents(_settings({}).pinned(plan["version"]), plan["deleted"])

    @task(trigger_rule="none_failed", multiple_outputs=False)
    def report(
        plan: dict[str, Any], results: list[dict[str, Any]] | None, deleted: int
    ) -> dict[str, Any]:
        from {{ cookiecutter.package_name }}.ingestion.planning import BatchResult, summarise

        # One request for all mapped results: iterating them would probe one index past the end.
        batch_results = [BatchResult(**r) for r in (results[:] if results else [])]
        return asdict(summarise(_planned(plan), batch_results, deleted))

    @task(multiple_outputs=False)
    def release(summary: dict[str, Any]) -> dict[str, Any]:
        """Make the index version the run built live, when the run wrote every document{% if cookiecutter.llm != "none" %}, with
        the verified answers{% endif %}."""
{%- if cookiecutter.llm != "none" %}
        from {{ cookiecutter.package_name }}.feedback.verified import promote_answers
{%- endif %}
        from {{ cookiecutter.package_name }}.ingestion.planning import IngestSummary
        from {{ cookiecutter.package_name }}.ingestion.release import release as release_version

        released = release_version(
            _settings({}),
            IngestSummary(**summary),
{%- if cookiecutter.llm != "none" %}
            before_release=promote_answers,
{%- endif %}
        )
        print(released.as_text())
        return asdict(released)

    @task(outlets=[INDEX_ASSET])
    def announce(summary: dict[str, Any]) -> None:
        """Record an index change as an Asset event; a run that changed nothing records none."""
        counts = {key: summary[key] for key in COUNTS}
        if not (counts["added"] or counts["changed"] or counts["deleted"]):
            raise AirflowSkipException("the index did not change")
        get_current_context()["outlet_events"][INDEX_ASSET].extra = counts

    @task(retries=0)
    def check_complete(summary: dict[str, Any]) -> None:
        """Fail the run (and alert) when a source could not be read or documents failed (a model
        that cannot load fails them all: the run must not pass with an empty index); the rest was
        ingested."""
        from {{ cookiecutter.package_name }}.ingestion.planning import IngestSummary

        if problems := IngestSummary(**summary).problems():
            raise RuntimeError(problems)

    planned = plan()
    results = ingest_batch.partial(plan=planned).expand(batch=batches(planned))
    summary = release(report(planned, results, prune(planned)))
    announce(summary)
    check_complete(summary)


def _settings(params: dict[str, Any]) -> "Settings":
    """The project's settings, with this run's non-empty parameters on top."""
    from {{ cookiecutter.package_name }}.connections import task_settings

    return task_settings().with_chunking(
        params.get("chunking"), params.get("chunk_size"), params.get("chunk_overlap")
    )


def _planned(plan: dict[str, Any]) -> "IngestPlan":
    """The plan task's plan, from what it returned."""
    from {{ cookiecutter.package_name }}.ingestion.planning import IngestPlan

    return IngestPlan(**{key: value for key, value in plan.items() if key != "batches"})


def _sources(settings: "Settings", params: dict[str, Any]) -> "list[Source]":
    from {{ cookiecutter.package_name }}.ingestion.sources import select_sources

    return select_sources(settings, params["sources"], params["source_dir"])


ingest_docs()
