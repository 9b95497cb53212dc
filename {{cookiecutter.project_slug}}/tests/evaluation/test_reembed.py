"""Experiments with other chunking (``ask_docs experiment``) on a real index: the candidate is built
beside the live version and scored against it; the live version answers throughout and is left as
it was."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.evaluation.records import EvalRecords
from {{ cookiecutter.package_name }}.index.store import open_store
from {{ cookiecutter.package_name }}.ingestion.pipeline import run_ingest

from ..conftest import PROJECT

QUESTIONS = PROJECT / "tests" / "fixtures" / "questions.jsonl"


@pytest.fixture
def indexed(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("RAG_EVAL_QUESTIONS", str(QUESTIONS))
    run_ingest(settings)
    return Settings()


def test_the_dag_records_a_chunking_experiment_below_its_margin_and_drops_its_candidate(
    indexed: Settings, airflow_home: Path
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(PROJECT / "dags" / "reembed.py")).dags["reembed_experiment"]
    store = open_store(indexed)
    live, chunks, versions = store.live_version(), store.count(), store.versions()

    # A margin no candidate can pass: refused whatever the figures.
    dag_run = dag.test(run_conf={"changes": {"chunk_size": 128}, "margin": 1})

    assert dag_run.state == "success"
    result = dag_run.get_task_instance("experiment").xcom_pull(task_ids="experiment")
    records = EvalRecords(indexed.feedback_url)
    [record] = records.experiments()
    assert record.candidate == result["candidate"]
    assert (record.kind, record.decision, record.baseline) == ("reembed", "refused", live)
    assert "not above the margin 1.0" in record.reason
    assert record.lineage["changes"] == {"chunk_size": 128}
    assert record.costs["reembed_s"] > 0
    assert store.live_version() == live and store.count() == chunks
    assert store.versions() == versions  # the candidate is gone
    # Each version scored as built: the candidate's run names its own chunking.
    assert record.baseline_run and record.candidate_run
    baseline, candidate = records.get(record.baseline_run), records.get(record.candidate_run)
    assert baseline.config["index_version"] == live
    assert f"/{indexed.chunk_size}/" in baseline.config["pipeline"]
    assert "/128/" in candidate.config["pipeline"]
    assert {"better", "worse", "sign_test_p"} <= set(record.figures["questions"])

    # A setting that does not change the vectors is refused, and fails the run without a retry.
    refused = dag.test(run_conf={"changes": {"top_k": 8}})
    assert refused.state == "failed"
    assert len(records.experiments()) == 1 and store.versions() == versions


def test_an_experiment_that_changes_nothing_or_is_invalid_is_refused_before_building(
    indexed: Settings, tmp_path: Path
) -> None:
    store = open_store(indexed)
    versions = store.versions()
    cases = {
        (): "name at least one setting to change",
        ("--chunk-size", "8"): "invalid configuration",
        ("--chunk-size", str(indexed.chunk_size)): "nothing to try",
{%- if cookiecutter.embeddings == "local" %}
        ("--embedding-backend", indexed.embedding_backend): "nothing to try",
{%- endif %}
    }
    for arguments, message in cases.items():
        result = CliRunner().invoke(app, ["experiment", *arguments])
        assert result.exit_code == 1, result.output
        assert message in result.output
    # A question set that cannot be read is said before anything is built, too.
    missing = CliRunner().invoke(
        app,
        ["experiment", "--chunk-size", "128"],
        env={"RAG_EVAL_QUESTIONS": str(tmp_path / "none.jsonl")},
    )
    assert missing.exit_code == 1 and "cannot read" in missing.output
    assert store.versions() == versions
    assert EvalRecords(indexed.feedback_url).experiments() == []
