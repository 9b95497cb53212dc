"""The ingest DAG, run for real with ``dag.test()`` on a fresh Airflow metadata database."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.store import open_store

from .conftest import PROJECT
from .test_ingest import SAMPLE_COUNT


@pytest.fixture(scope="module")
def dag(airflow_home: Path) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT / "dags"))
    assert bag.import_errors == {}
    return bag.get_dag("ingest_docs")


def run(dag: Any, **conf: Any) -> dict[str, Any]:
    """Run the DAG; return the report task's summary. ``dag.test()`` returns failed runs, not raises."""
    from airflow.utils.state import DagRunState

    dag_run = dag.test(run_conf=conf)
    assert dag_run.state == DagRunState.SUCCESS
    summary = dag_run.get_task_instance("report").xcom_pull(task_ids="report")
    assert isinstance(summary, dict)
    return summary


def test_parsing_the_dag_imports_no_heavy_libraries() -> None:
    code = (
        "import runpy, sys; runpy.run_path(sys.argv[1]); "
        "heavy = {'torch', 'llama_index.core', 'chromadb', 'gradio'} & set(sys.modules); "
        "print(sorted(heavy)); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(PROJECT / "dags" / "ingest.py")],
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
    assert second["skipped"] == [{"path": "photo.png", "reason": "unsupported file type '.png'"}]
    assert set(open_store(settings).documents()) == {
        f"local:{p.name}" for p in docs.iterdir() if p.suffix != ".png"
    }

    third = run(dag, source_dir=str(docs))
    assert (third["chunks"], third["unchanged"]) == (0, SAMPLE_COUNT - 1)


def test_run_params_choose_the_chunking(dag: Any, settings: Settings, docs: Path) -> None:
    small = run(dag, source_dir=str(docs), chunking="tokens", chunk_size=64, chunk_overlap=0)
    large = run(
        dag,
        source_dir=str(docs),
        chunking="tokens",
        chunk_size=512,
        chunk_overlap=0,
        full_refresh=True,
    )
    assert small["chunks"] > large["chunks"] == open_store(settings).count()
