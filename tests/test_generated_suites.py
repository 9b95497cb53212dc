"""Generated projects, installed the way a user installs them, pass their own lint and test commands.

Together the runs cover every vector store this machine can serve for real, both embeddings settings and
every LLM setting; each run prints where its backends came from.
"""

import os
import re
from pathlib import Path

import pytest

from .conftest import SUITE_REPORTS, TEMPLATE, bake, run

DEFAULT_RUN = "chroma-local-openai"
FULL_RUNS = {
    DEFAULT_RUN: {},  # the default project
    "pgvector-local-openai_compatible": {"vector_store": "pgvector", "llm": "openai_compatible"},
    "chroma-openai-none": {"embeddings": "openai", "llm": "none"},
    # Weaviate needs Docker or WEAVIATE_URL; without them its tests skip and say so.
    "weaviate-local-openai": {"vector_store": "weaviate"},
}
TORCH_BUILD = "import torch; print(torch.__version__, torch.version.cuda)"


def local_torch_wheel() -> str:
    """The name of the torch wheel in pip's find-links folders, if the machine offers one."""
    folders = [Path(f) for f in os.environ.get("PIP_FIND_LINKS", "").split(":") if f]
    wheels = sorted(w.name for folder in folders for w in folder.glob("torch-*.whl"))
    return wheels[0] if wheels else ""


def edit_sample_docs(project: Path) -> None:
    samples = project / "sample_docs"
    (samples / "models.md").unlink()
    with (samples / "faq.txt").open("a") as faq:
        faq.write("\nWho maintains this project?\nThe platform team.\n")
    (samples / "runbook.md").write_text("# Runbook\n\nRestart the UI with make serve.\n")


# Skips a run may have on a machine without Docker, recognised by the reason they give.
EXPECTED_SKIP_REASONS = {"weaviate-local-openai": "no WEAVIATE_URL and no Docker engine"}
# Tests a run leaves to the others, to keep `make test` within its time. The Celery scale-out (two
# minutes) runs once, with pgvector: PostgreSQL for Airflow's metadata and the index, as in production
# (a real scheduler, DAG processor and API server). `make airflow` live and the load test (two minutes
# and one) run once, with the default project. The second Chroma run also leaves the store's own tests
# (synthetic vectors; the same code) to the first, and traces sent to Phoenix (a server from PyPI) to
# the runs with local embeddings.
CELERY = "tests/test_airflow_celery.py"
LOAD_TEST = "tests/index/test_shared_index.py::test_the_load_test_prints_its_figures"
LIVE_AIRFLOW = "tests/test_airflow_live.py"
PHOENIX = (
    "tests/answering/test_telemetry.py"
    "::test_serve_sends_each_answers_spans_to_phoenix_before_it_stops"
)
# The embedding model on ONNX Runtime (its export, its cache) is the same code whatever the store.
ONNX = "tests/index/test_onnx_embedding.py"
CHROMA_STORE = [
    "tests/index/test_store.py",
    "tests/index/test_chroma_vectors.py",
    "tests/index/test_keywords.py",
]
LEFT_TO_OTHER_RUNS = {
    "chroma-local-openai": [CELERY],
    "pgvector-local-openai_compatible": [LOAD_TEST, LIVE_AIRFLOW, ONNX],
    "chroma-openai-none": [CELERY, LOAD_TEST, LIVE_AIRFLOW, PHOENIX, *CHROMA_STORE],
    "weaviate-local-openai": [CELERY, ONNX],
}
SLOWEST = 3  # the slowest tests of each run, in the report: where the time goes


@pytest.mark.slow
@pytest.mark.parametrize("name", FULL_RUNS)
def test_generated_project_passes_its_own_checks_and_tests(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    llm_env: dict[str, str],
    name: str,
) -> None:
    options = FULL_RUNS[name]
    project = bake(tmp_path_factory.mktemp(name), **options)
    run(["make", "setup"], cwd=project)
    if options.get("embeddings", "local") == "local" and local_torch_wheel():
        # The machine offers a CPU build of torch: the project must take it, not a CUDA build.
        build = run([".venv/bin/python", "-c", TORCH_BUILD], cwd=project).stdout.split()
        assert build == [local_torch_wheel().split("-")[1], "None"], build
    if name == DEFAULT_RUN:
        # As a user runs it, once; test_static_checks runs the type and layer checks on every
        # combination, and test_generation ruff.
        run(["make", "lint"], cwd=project)
    # The browser test's screenshots are kept with the build, as the run's artefacts.
    env = {**llm_env, "SCREENSHOTS_DIR": str(TEMPLATE / "build" / "screenshots" / name)}
    if options.get("embeddings") == "openai":
        env |= request.getfixturevalue("embeddings_env")
    left = LEFT_TO_OTHER_RUNS.get(name, [])
    env["PYTEST_ADDOPTS"] = " ".join([f"--durations={SLOWEST}", *(f"--deselect {t}" for t in left)])
    if left:
        SUITE_REPORTS.append(f"{name}: left to the other runs: {', '.join(left)}")
    edit_sample_docs(project)  # as the README invites users to: the tests must not depend on them
    result = run(["make", "test"], cwd=project, env=env)
    summary = re.findall(r"^=+ (.* in [\d.]+s.*?) =+$", result.stdout, flags=re.MULTILINE)[-1]
    backends = re.findall(r"^backend .*$", result.stdout, flags=re.MULTILINE)
    SUITE_REPORTS.append(f"{name}: {summary}; " + "; ".join(backends))
    slowest = re.findall(
        r"^([\d.]+s) (setup|call|teardown) +(\S+)$", result.stdout, flags=re.MULTILINE
    )
    SUITE_REPORTS.append(f"{name}: slowest: " + ", ".join(" ".join(line) for line in slowest))
    assert " passed" in summary and "failed" not in summary and "error" not in summary
    skips = re.findall(r"^SKIPPED .*$", result.stdout, flags=re.MULTILINE)
    reasons = [EXPECTED_SKIP_REASONS.get(name, "")] + ([] if llm_env else ["LLM_BASE_URL"])
    unexplained = [s for s in skips if not any(r and r in s for r in reasons)]
    assert unexplained == [], f"{name}: skips without an expected reason:\n" + "\n".join(
        unexplained
    )
    if skips:
        SUITE_REPORTS.append(
            f"{name}: skipped: " + "; ".join(sorted({s.split(": ", 1)[-1] for s in skips}))
        )
