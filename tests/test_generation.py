"""Every accepted combination bakes cleanly; refused ones fail with a clear message."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException

from .conftest import CHOICES, TEMPLATE, bake, combination_id, combinations, run

IDS = [combination_id(options) for options in combinations()]
UNRENDERED = re.compile(
    r"\{\{\s*cookiecutter\.|\{%-?\s*(if|for|endif|endfor|raw|else|elif)\b|cookiecutter\."
)

COMMON_FILES = {
    ".env.example",
    ".github/workflows/tests.yml",
    ".gitignore",
    "Makefile",
    "README.md",
    "SECURITY.md",
    "docker-compose.yaml",
    ".dockerignore",
    "deploy/.env.example",
    "deploy/Dockerfile",
    "deploy/docker-compose.yaml",
    "deploy/helm/values.yaml",
    "deploy/kubernetes/secrets.env.example",
    "deploy/kubernetes/ui.yaml",
    "deploy/postgres-init.sql",
    "pyproject.toml",
    "sources.example.toml",
    "scripts/benchmark_dashboard.py",
    "scripts/ask_as_visitors.py",
    "scripts/benchmark_ingest.py",
    "scripts/benchmark_topics.py",
    "scripts/loadtest.py",
    "scripts/preflight.py",
    "scripts/seed_interactions.py",
    "scripts/ui_client.py",
    "eval/questions.jsonl",
    "tests/fixtures/questions.jsonl",
    "airflow/pools.json",
    "dags/evaluate.py",
    "dags/feedback.py",
    "dags/ingest.py",
    "dags/reembed.py",
    "dags/topics.py",
    *(
        f"{folder}/{name}"
        for folder in ("sample_docs", "tests/fixtures/docs")
        for name in (
            "adding-sources.md",
            "chunking.rst",
            "configuration.md",
            "deploying.html",
            "faq.txt",
            "getting-started.md",
            "models.md",
        )
    ),
    *(
        f"src/ask_docs/{name}.py"
        for name in (
            "__init__",
            "__main__",
            "answers",
            "cli",
            "config",
            "connections",
            "dag_defaults",
            "answering/__init__",
            "answering/engine",
            "answering/live_index",
            "answering/telemetry",
            "answering/retrieval/__init__",
            "answering/retrieval/ranking",
            "answering/retrieval/rerank",
            "answering/retrieval/search",
            "answering/retrieval/standing",
            "evaluation/__init__",
            "evaluation/candidates",
            "evaluation/cases",
            "evaluation/experiments",
            "evaluation/proposals",
            "evaluation/records",
            "evaluation/reembed",
            "evaluation/retrieval",
            "evaluation/runner",
            "evaluation/scoring",
            "insights/__init__",
            "insights/asked",
            "insights/question_topics",
            "insights/runs",
            "insights/synthetic",
            "insights/topics",
            "feedback/__init__",
            "feedback/schema",
            "feedback/sharing",
            "feedback/store",
            "feedback/usage",
            "index/__init__",
            "index/embeddings",
            "index/onnx_models",
            "index/passages",
            "index/store",
            "index/store_base",
            "index/versions",
            "ingestion/__init__",
            "ingestion/chunking",
            "ingestion/formats",
            "ingestion/pipeline",
            "ingestion/planning",
            "ingestion/release",
            "ingestion/sources/__init__",
            "ingestion/sources/base",
            "ingestion/sources/config",
            "ingestion/sources/folder",
            "ingestion/sources/git",
            "ingestion/sources/website",
            "security/__init__",
            "security/injection",
            "security/private_files",
            "security/redaction",
            "web/__init__",
            "web/accounts",
            "web/app",
            "web/health",
            "web/limits",
            "web/maintainers",
            "web/views",
            "web/visitors",
        )
    ),
    *(
        f"tests/{name}.py"
        for name in (
            "__init__",
            "conftest",
            "documents",
            "processes",
            "site",
            "worker_name",
            "test_answers",
            "test_airflow_celery",
            "test_airflow_live",
            "test_cli",
            "test_connections",
            "test_dag",
            "answering/__init__",
            "answering/test_engine",
            "answering/test_ranking",
            "answering/test_rerank",
            "answering/test_telemetry",
            "evaluation/__init__",
            "evaluation/test_eval",
            "evaluation/test_reembed",
            "feedback/__init__",
            "feedback/test_store",
            "feedback/test_usage",
            "insights/__init__",
            "insights/test_question_topics",
            "insights/test_topics",
            "index/__init__",
            "index/test_shared_index",
            "index/test_store",
            "index/test_versions",
            "ingestion/__init__",
            "ingestion/test_chunking",
            "ingestion/test_formats",
            "ingestion/test_git_source",
            "ingestion/test_pipeline",
            "ingestion/test_pipeline_sources",
            "ingestion/test_sources",
            "ingestion/test_website_source",
            "security/__init__",
            "security/test_redaction",
            "web/__init__",
            "web/test_abuse",
            "web/conftest",
            "web/test_browser",
            "web/test_maintainers",
            "web/test_serving",
            "web/test_ui",
            "web/test_web",
        )
    ),
}
VERIFIED_ANSWER_FILES = {
    "src/ask_docs/feedback/verified.py",
    "src/ask_docs/answering/deadlines.py",
    "src/ask_docs/answering/prompts.py",
    "src/ask_docs/answering/tokens.py",
    "src/ask_docs/insights/labels.py",
    "src/ask_docs/evaluation/answer_quality.py",
    "tests/feedback/test_verified.py",
    "tests/evaluation/test_answer_quality.py",
}
STORE_FILES = {
    "chroma": {
        "src/ask_docs/index/chroma_server.py",
        "src/ask_docs/index/chroma_vectors.py",
        "src/ask_docs/index/keywords.py",
        "src/ask_docs/index/keyword_retriever.py",
        "tests/index/test_keywords.py",
        "tests/index/test_chroma_vectors.py",
    },
    "weaviate": {"tests/index/test_weaviate_without_server.py"},
}


LOCAL_MODEL_FILES = {
    "src/ask_docs/index/local_embedding.py",
    "src/ask_docs/index/onnx_embedding.py",
    "tests/index/test_local_embedding.py",
    "tests/index/test_onnx_embedding.py",
    # Fine-tuning trains the local model.
    "dags/finetune.py",
    "scripts/benchmark_finetune.py",
    "scripts/benchmark_embeddings.py",
    "src/ask_docs/evaluation/finetune/__init__.py",
    "src/ask_docs/evaluation/finetune/experiment.py",
    "src/ask_docs/evaluation/finetune/negatives.py",
    "src/ask_docs/evaluation/finetune/pairs.py",
    "src/ask_docs/evaluation/finetune/training.py",
    "tests/evaluation/finetune/__init__.py",
    "tests/evaluation/finetune/test_experiment.py",
    "tests/evaluation/finetune/test_pairs.py",
}


def expected_files(vector_store: str, embeddings: str, llm: str) -> set[str]:
    verified = VERIFIED_ANSWER_FILES if llm != "none" else set()
    local = LOCAL_MODEL_FILES if embeddings == "local" else set()
    return COMMON_FILES | verified | local | STORE_FILES.get(vector_store, set())


def files(project: Path) -> set[str]:
    return {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name", IDS)
def test_bake_has_exactly_the_expected_files(bakes: dict[str, Path], name: str) -> None:
    vector_store, embeddings, llm = name.split("-")
    assert files(bakes[name]) == expected_files(vector_store, embeddings, llm)


@pytest.mark.parametrize("name", IDS)
def test_bake_leaves_no_template_markers(bakes: dict[str, Path], name: str) -> None:
    leftovers = [
        f"{path}:{number}: {line.strip()}"
        for path in sorted(files(bakes[name]))
        for number, line in enumerate((bakes[name] / path).read_text().splitlines(), start=1)
        if UNRENDERED.search(line)
    ]
    assert leftovers == []


@pytest.mark.parametrize("name", IDS)
def test_bake_is_ruff_clean_and_formatted(bakes: dict[str, Path], name: str) -> None:
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=bakes[name])
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], cwd=bakes[name])
    airflow_rules = ["check", "--no-cache", "--preview", "--select", "AIR", "dags"]  # as make lint
    run([sys.executable, "-m", "ruff", *airflow_rules], cwd=bakes[name])


@pytest.mark.parametrize("name", IDS)
def test_bake_holds_only_the_chosen_options(bakes: dict[str, Path], name: str) -> None:
    vector_store, embeddings, llm = name.split("-")
    project = bakes[name]
    code = "\n".join(
        (project / path).read_text()
        for path in files(project)
        if path.endswith((".py", ".toml", ".yaml", ".yml", ".json", ".env.example"))
    )
    present = {
        "local embeddings": "HuggingFaceEmbedding" in code,
        "openai embeddings": "OpenAIEmbedding" in code,
        "openai llm": "llama_index.llms.openai " in code or "llama-index-llms-openai>" in code,
        "openai-compatible llm": "OpenAILike" in code,
    }
    assert present == {
        "local embeddings": embeddings == "local",
        "openai embeddings": embeddings == "openai",
        "openai llm": llm == "openai",
        "openai-compatible llm": llm == "openai_compatible",
    }
    stores = {store: store in code.lower() for store in ("chroma", "pgvector", "weaviate")}
    assert stores == {store: store == vector_store for store in stores}
    assert ("openai_api_key" in code) == (llm != "none" or embeddings == "openai")


def test_long_names_still_lint(tmp_path: Path) -> None:
    project = bake(
        tmp_path,
        project_name="Platform Docs Assistant",
        description="Answers questions about the platform team's runbooks, design documents and the on-call guide.",
    )
    assert project.name == "platform-docs-assistant"
    assert (project / "src" / "platform_docs_assistant" / "answering" / "engine.py").exists()
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=project)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], cwd=project)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"project_slug": "Ask Docs!"}, "project_slug 'Ask Docs!' must be lowercase"),
        ({"package_name": "class"}, "package_name 'class' must be an importable Python name"),
        ({"package_name": "2docs"}, "package_name '2docs' must be an importable Python name"),
    ],
)
def test_refused_answers_fail_with_a_clear_message(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], context: dict[str, str], message: str
) -> None:
    with pytest.raises(FailedHookException):
        bake(tmp_path, **context)
    assert message in capfd.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_post_generation_hook_can_run_again(bakes: dict[str, Path]) -> None:
    """cruft re-runs hooks on template updates: a second run must change nothing and not fail."""
    name, project = next(iter(bakes.items()))
    before = files(project)
    hook = (TEMPLATE / "hooks" / "post_gen_project.py").read_text()
    options = {"package_name": "ask_docs", **dict(zip(CHOICES, name.split("-"), strict=True))}
    rendered = re.sub(
        r"\{\{ cookiecutter\.(\w+) \}\}", lambda m: options.get(m.group(1), "x"), hook
    )
    subprocess.run([sys.executable, "-c", rendered], cwd=project, check=True, capture_output=True)
    assert files(project) == before
