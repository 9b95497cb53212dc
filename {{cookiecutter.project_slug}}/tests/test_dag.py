"""The DAGs, run for real with ``dag.test()`` on a fresh Airflow metadata database."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
{%- if cookiecutter.vector_store == "pgvector" %}
from pydantic import SecretStr
{%- endif %}

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.feedback.store import FeedbackStore
from {{ cookiecutter.package_name }}.index.store import open_store

from .conftest import PROJECT
from .documents import write_bad_input_corpus
from .ingestion.test_pipeline import SAMPLE_COUNT
from .site import Site, serve


@pytest.fixture(scope="module")
def dags(airflow_home: Path) -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT / "dags"))
    assert bag.import_errors == {}
    return bag.dags


@pytest.fixture(scope="module")
def dag(dags: dict[str, Any]) -> Any:
    return dags["ingest_docs"]


def run(
    dag: Any, result_of: str = "report", expect: str = "success", **conf: Any
) -> dict[str, Any]:
    """Run the DAG; return one task's result. ``dag.test()`` returns failed runs, not raises.

    Every param is passed: in one process, ``dag.test()`` lets a run's params leak into the next.
    """
    dag_run = dag.test(run_conf={**dag.params.dump(), **conf})
    assert dag_run.state == expect
    result = dag_run.get_task_instance(result_of).xcom_pull(task_ids=result_of)
    assert isinstance(result, dict)
    return result


@pytest.mark.parametrize("dag_file", [path.name for path in (PROJECT / "dags").glob("*.py")])
def test_parsing_a_dag_imports_no_heavy_libraries(dag_file: str) -> None:
    code = (
        "import runpy, sys; runpy.run_path(sys.argv[1]); "
        "heavy = {'torch', 'llama_index.core', {% if cookiecutter.vector_store == 'chroma' %}'chromadb'{% elif cookiecutter.vector_store == 'pgvector' %}'psycopg'{% else %}'weaviate'{% endif %}, 'gradio'} & set(sys.modules); "
        "print(sorted(heavy)); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(PROJECT / "dags" / dag_file)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dag_ingests_then_refreshes_incrementally(
    dag: Any, settings: Settings, docs: Path
) -> None:
    first = run(dag, source_dir=str(docs))
    assert (first["added"], first["deleted"], first["failed"]) == (SAMPLE_COUNT, 0, [])
    assert open_store(settings).count() == first["chunks"] > 0

    (docs / "faq.txt").write_text("Frequently asked questions\n\nIs there a dark mode? Not yet.\n")
    (docs / "models.md").unlink()
    (docs / "photo.png").write_bytes(b"\x89PNG\x00\x00")
    second = run(dag, source_dir=str(docs))
    assert (second["added"], second["changed"], second["deleted"]) == (0, 1, 1)
    assert second["unchanged"] == SAMPLE_COUNT - 2
    assert second["skipped"] == [
        {"source": "local", "path": "photo.png", "reason": "unsupported file type '.png'"}
    ]
    assert set(open_store(settings).documents()) == {
        f"local:{p.name}" for p in docs.iterdir() if p.suffix != ".png"
    }

    third = run(dag, source_dir=str(docs))
    assert (third["chunks"], third["unchanged"]) == (0, SAMPLE_COUNT - 1)

    # Another chunking: a new index version, built beside the live one, which release makes live.
    rebuilt = run(dag, result_of="release", source_dir=str(docs), chunking="sentence")
    assert (rebuilt["changed"], rebuilt["released"]) == (SAMPLE_COUNT - 1, "live")
    assert open_store(settings).version == rebuilt["version"] == f"{settings.collection}__v2"


{%- if cookiecutter.vector_store == "chroma" %}


def test_the_store_can_come_from_an_airflow_connection(
    dag: Any, settings: Settings, docs: Path, chroma_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a deployment configures it: the Chroma server named by an Airflow connection (an
    ``AIRFLOW_CONN_*`` variable here), not by the RAG_* settings, which point elsewhere."""
    collection = f"conn{os.getpid()}"
    monkeypatch.setenv("AIRFLOW_CONN_RAG_STORE", chroma_server)
    monkeypatch.setenv("RAG_STORE_CONN_ID", "rag_store")
    monkeypatch.setenv("RAG_COLLECTION", collection)
    summary = run(dag, source_dir=str(docs), full_refresh=True)
    assert summary["added"] == SAMPLE_COUNT
    remote = settings.model_copy(update={"chroma_url": chroma_server, "collection": collection})
    assert len(open_store(remote).documents()) == SAMPLE_COUNT
    local = settings.model_copy(update={"collection": collection})
    assert open_store(local).count() == 0  # the configured (embedded) store was not touched
{%- elif cookiecutter.vector_store == "pgvector" %}


def test_the_store_can_come_from_an_airflow_connection(
    dag: Any,
    settings: Settings,
    docs: Path,
    new_store: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As a deployment configures it: the database named by an Airflow connection (an
    ``AIRFLOW_CONN_*`` variable here, in the Postgres provider's fields), while RAG_DATABASE_URL
    points at a server that does not exist."""
    from sqlalchemy.engine import make_url

    target = make_url(new_store(tmp_path / "conn")["database_url"])
    connection = {
        "conn_type": "postgres",
        "host": target.host or target.query["host"],  # a socket folder for the local server
        "port": target.port,
        "login": target.username,
        "password": target.password,
        "schema": target.database,
    }
    monkeypatch.setenv("AIRFLOW_CONN_RAG_STORE", json.dumps(connection))
    monkeypatch.setenv("RAG_STORE_CONN_ID", "rag_store")
    monkeypatch.setenv("RAG_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nowhere")
    summary = run(dag, source_dir=str(docs), full_refresh=True)
    assert summary["added"] == SAMPLE_COUNT
    there = settings.model_copy(
        update={"database_url": SecretStr(target.render_as_string(hide_password=False))}
    )
    assert len(open_store(there).documents()) == SAMPLE_COUNT
{%- endif %}


def test_bad_input_is_reported_and_everything_else_ingested(
    dag: Any, settings: Settings, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_MAX_FILE_BYTES", "100000")
    expected = write_bad_input_corpus(docs, max_bytes=100_000)
    summary = run(dag, source_dir=str(docs))
    assert (summary["added"], summary["failed"]) == (SAMPLE_COUNT, [])
    reasons = {item["path"]: item["reason"] for item in summary["skipped"]}
    assert set(reasons) == set(expected)
    for path, reason in reasons.items():
        assert reason.startswith(expected[path]), path


def test_embedding_tasks_run_in_the_pool_the_project_defines(dag: Any) -> None:
    from {{ cookiecutter.package_name }}.dag_defaults import EMBEDDINGS_POOL

    pools = json.loads((PROJECT / "airflow" / "pools.json").read_text())
    assert dag.get_task("ingest_batch").pool == EMBEDDINGS_POOL
    assert pools[EMBEDDINGS_POOL]["slots"] >= 1


def parsed_as_deployed(code: str, variable: str, value: str | None) -> Any:
    """Parse ingest.py in a fresh process, as a DAG processor with ``variable`` set to ``value`` (or
    unset) would, and return what ``code`` prints as JSON of the parsed DAG ``dag``."""
    env = {k: v for k, v in os.environ.items() if k != variable}
    if value is not None:
        env[variable] = value
    script = (
        "import json, sys; from airflow.dag_processing.dagbag import DagBag; "
        "dag = DagBag(dag_folder=sys.argv[1]).dags['ingest_docs']; " + code
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(PROJECT / "dags" / "ingest.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_embedding_tasks_go_to_the_queue_the_deployment_names(airflow_home: Path) -> None:
    """As the dag-processor of deploy/docker-compose.yaml parses the DAG: RAG_EMBEDDINGS_QUEUE set."""
    code = "print(json.dumps({t.task_id: t.queue for t in dag.tasks}))"
    for queue, expected in (("embeddings", "embeddings"), (None, "default")):
        queues = parsed_as_deployed(code, "RAG_EMBEDDINGS_QUEUE", queue)
        assert queues["ingest_batch"] == expected
        assert queues["plan"] == "default"  # the light tasks stay where they were


def test_embedding_pods_get_the_memory_the_deployment_names(airflow_home: Path) -> None:
    """As the DAG processor of deploy/helm/values.yaml parses the DAG for the KubernetesExecutor:
    the embedding tasks' pod override survives serialization; the other tasks keep the default pod."""
    code = (
        "from airflow.serialization.serialized_objects import DagSerialization; "
        "stored = DagSerialization.from_dict(DagSerialization.to_dict(dag)); "
        "pods = {t.task_id: t.executor_config.get('pod_override') for t in stored.tasks}; "
        "print(json.dumps({k: p and p.spec.containers[0].resources.limits for k, p in pods.items()}))"
    )
    for memory, expected in (("4Gi", {"memory": "4Gi"}), (None, None)):
        limits = parsed_as_deployed(code, "RAG_EMBEDDINGS_POD_MEMORY", memory)
        assert limits["ingest_batch"] == expected
        assert limits["plan"] is None


def index_events() -> list[Any]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    from {{ cookiecutter.package_name }}.dag_defaults import INDEX_ASSET

    with create_session() as session:
        return (
            session.query(AssetEvent)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .filter(AssetModel.uri == INDEX_ASSET.uri)
            .order_by(AssetEvent.id)
            .all()
        )


def test_the_index_asset_changes_only_when_the_index_does(
    dag: Any, settings: Settings, docs: Path
) -> None:
    before = len(index_events())
    summary = run(dag)
    events = index_events()
    assert len(events) == before + 1 and events[-1].source_task_id == "announce"
    assert events[-1].extra["chunks"] == summary["chunks"] > 0

    unchanged = dag.test(run_conf=dag.params.dump())  # nothing new: no event, and still a success
    assert unchanged.state == "success"
    assert unchanged.get_task_instance("announce").state == "skipped"
    assert len(index_events()) == before + 1


def test_another_folder_joins_the_index_and_is_removed_on_purpose(
    dag: Any, settings: Settings, docs: Path, tmp_path: Path
) -> None:
    from {{ cookiecutter.package_name }}.ingestion.planning import indexed_sources
    from {{ cookiecutter.package_name }}.ingestion.sources.config import folder_source_name

    run(dag)
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    (runbooks / "oncall.md").write_text("# On call\n\nPage the database team first.\n")
    added = run(dag, source_dir=str(runbooks))
    assert (added["added"], added["deleted"]) == (1, 0)
    name = folder_source_name(runbooks)
    assert indexed_sources(settings) == {"local": SAMPLE_COUNT, name: 1}

    scheduled = run(dag)  # a normal run leaves the other folder alone
    assert scheduled["deleted"] == 0 and indexed_sources(settings)[name] == 1

    run(dag, remove_sources=[name])
    assert indexed_sources(settings) == {"local": SAMPLE_COUNT}


def test_a_failing_source_fails_the_run_after_the_others_and_alerts(
    dag: Any, settings: Settings, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = {"/robots.txt": "", "/kb/": "<h1>KB</h1><p>Start.</p>"}
    with serve(Site(pages, status={"/robots.txt": 503})) as site:
        monkeypatch.setenv("RAG_ALERT_WEBHOOK_URL", site.url + "/hook")
        sources_file = docs.parent / "sources.toml"
        monkeypatch.setenv("RAG_SOURCES_FILE", str(sources_file))
        sources_file.write_text(
            f'[[sources]]\nname = "local"\ntype = "folder"\npath = "{docs}"\n\n'
            f'[[sources]]\nname = "kb"\ntype = "website"\nurl = "{site.url}/kb/"\n'
        )
        summary = run(dag, expect="failed")
        assert summary["added"] == SAMPLE_COUNT
        assert [failure["source"] for failure in summary["failed_sources"]] == ["kb"]
        (alert,) = [json.loads(body)["text"] for body in site.posts]
    assert "ingest_docs.check_complete failed" in alert and "kb: CrawlError" in alert

    only_local = run(dag, sources=["local"])  # the params choose the sources
    assert only_local["unchanged"] == SAMPLE_COUNT and only_local["failed_sources"] == []

{%- if cookiecutter.embeddings == "local" %}


def test_documents_that_fail_fail_the_run_and_alert(
    dag: Any, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model that cannot load fails every document: the run fails and says why, instead of
    passing with an empty index (as on a machine that cannot reach the model hub)."""
    half_copied = tmp_path / "half-copied-model"
    half_copied.mkdir()
    monkeypatch.setenv("RAG_EMBEDDING_MODEL", str(half_copied))
    with serve(Site({})) as site:
        monkeypatch.setenv("RAG_ALERT_WEBHOOK_URL", site.url + "/hook")
        summary = run(dag, expect="failed")
        (alert,) = [json.loads(body)["text"] for body in site.posts]
    assert (summary["added"], summary["chunks"], len(summary["failed"])) == (0, 0, SAMPLE_COUNT)
    assert open_store(settings).count() == 0
    assert "ingest_docs.check_complete failed" in alert
    assert f"{SAMPLE_COUNT} document(s) not ingested" in alert and "chunking failed" in alert
{%- endif %}


def test_run_params_choose_the_chunking(dag: Any, settings: Settings, docs: Path) -> None:
    small = run(dag, source_dir=str(docs), chunking="tokens", chunk_size=64, chunk_overlap=0)
    large = run(dag, source_dir=str(docs), chunking="tokens", chunk_size=512, chunk_overlap=0)
    assert large["changed"] == SAMPLE_COUNT  # chunked another way: re-chunked without full_refresh
    assert small["chunks"] > large["chunks"] == open_store(settings).count()


def test_the_feedback_loop_dag(dags: dict[str, Any], settings: Settings) -> None:
    """It reports usage{% if cookiecutter.llm != "none" %} and promotes helpful answers to verified answers{% endif %}."""
    from {{ cookiecutter.package_name }}.answering.engine import QueryEngine

    feedback = FeedbackStore(settings.feedback_url)
    run(dags["ingest_docs"])
{%- if cookiecutter.llm != "none" %}
    answer = QueryEngine(settings).ask("Where are the ratings stored?")
    answer.mode = "llm"  # as if a language model had written it, citing its first source
    answer.text = "In the feedback database [1]."
{%- else %}
    answer = QueryEngine(settings).ask("Where are the ratings stored?")
{%- endif %}
    feedback.record_rating(feedback.record_interaction(answer), -1, "too vague")
{%- if cookiecutter.llm != "none" %}
    liked = feedback.record_interaction(answer)
    for rater in ("user:ann", "user:bob", "client:9f2c"):  # the default bar: three people
        feedback.record_rating(liked, 1, rater=rater)

    promoted = run(dags["feedback_loop"], result_of="promote_answers")
    assert promoted == {"promoted": 1, "unchanged": 0, "withdrawn": 0}
    assert f"verified:{liked}" in open_store(settings).documents()
{%- endif %}
    usage = run(dags["feedback_loop"], result_of="usage_report", report_days=1)
    assert usage["questions"] == {% if cookiecutter.llm != "none" %}2{% else %}1{% endif %}
    assert usage["not_helpful_questions"] == [
        {"question": "Where are the ratings stored?", "comment": "too vague"}
    ]
    assert usage["since"] < datetime.now(UTC).isoformat()
    cited = answer.sources[0].document_id
    ranked = run(dags["feedback_loop"], result_of="rank_sources")
{%- if cookiecutter.llm != "none" %}
    assert ranked == {"documents": 1, "raised": 0, "lowered": 0}  # one vote each way
    assert feedback.standings() == {cited: (1, 1)}
{%- else %}
    assert ranked["documents"] == ranked["lowered"] > 0  # every passage shown was not helpful
    assert feedback.standings()[cited] == (0, 1)
{%- endif %}


def test_the_evaluate_dag_compares_configurations_and_fails_on_a_regression(
    dags: dict[str, Any], settings: Settings, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from {{ cookiecutter.package_name }}.evaluation.records import EvalRecords
    from {{ cookiecutter.package_name }}.evaluation.runner import CaseResult, EvalRun
    from {{ cookiecutter.package_name }}.ingestion.pipeline import run_ingest

    run_ingest(settings)
    monkeypatch.setenv(
        "RAG_EVAL_QUESTIONS", str(PROJECT / "tests" / "fixtures" / "questions.jsonl")
    )
    dag = dags["evaluate_retrieval"]
    chunks = open_store(settings).count()
    configurations = [{}, {"top_k": 2}, {"chunk_size": 128}]
    dag_run = dag.test(run_conf={**dag.params.dump(), "configurations": configurations})
    assert dag_run.state == "success"
    results = dag_run.get_task_instance("check").xcom_pull(task_ids="check")
    assert [r["configuration"] for r in results] == configurations
    own, _, small = (r["figures"] for r in results)
    assert own["hit@10"] >= 0.9 and own["mrr@10"] > 0
    assert small != own  # evaluated on an index chunked its own way...
    assert open_store(settings).count() == chunks  # ...beside the project's, untouched

    # The project's own configuration did better before: the next run fails, and so alerts.
    records = EvalRecords(settings.feedback_url)
    earlier = records.get(results[0]["run_id"])
    perfect = [CaseResult(f"s{n:02}", "fact", 1, 1.0, []) for n in range(1, 17)]
    records.save(EvalRun("questions", earlier.digest, earlier.config, perfect))
    failed = dag.test(run_conf={**dag.params.dump(), "configurations": [{}]})
    assert failed.state == "failed"
    assert failed.get_task_instance("check").state == "failed"


def test_the_question_topics_dag_groups_the_periods_questions(
    dags: dict[str, Any], settings: Settings
) -> None:
    from {{ cookiecutter.package_name }}.answers import Answer, Source

    dag = dags["question_topics"]
    assert dag.schedule == "@weekly" and dag.params["days"] == 28
    empty = run(dag, result_of="group_questions")
    assert (empty["questions"], empty["topics"]) == (0, 0)  # no questions yet, and no failure
    feedback = FeedbackStore(settings.feedback_url)
    source = Source(1, "Guide", "guide.md", "", "Text.", "Text.", 0.9, "local:guide.md", "public")
    subjects = ("How do I reset my password", "How do I restore a database backup")
    for n in range(12):  # six people ask about each of two things
        question = f"{subjects[n % 2]}, take {n}?"
        asked = Answer(question, "See [1].", [source], "passages", None, None, 10)
        feedback.record_interaction(asked, asker=f"user:{n}")
    found = run(dag, result_of="group_questions", days=1)
    assert (found["questions"], found["topics"], found["method"]) == (12, 2, "agglomerative")
    assert found["run_id"] > empty["run_id"]
