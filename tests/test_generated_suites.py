"""Generated projects, installed the way a user installs them, pass their own lint and test commands.

Together the runs cover every vector store this machine can serve for real, both embeddings settings and
every LLM setting; each run prints where its backends came from.
"""

import re

import pytest

from .conftest import SUITE_REPORTS, bake, run

FULL_RUNS = {
    "chroma-local-openai": {},  # the default project
    "pgvector-local-openai_compatible": {"vector_store": "pgvector", "llm": "openai_compatible"},
    "chroma-openai-none": {"embeddings": "openai", "llm": "none"},
    # Weaviate needs Docker or WEAVIATE_URL; without them its tests skip and say so.
    "weaviate-local-openai": {"vector_store": "weaviate"},
}
# Skips a run may have on a machine without Docker, recognised by the reason they give.
EXPECTED_SKIP_REASONS = {"weaviate-local-openai": "no WEAVIATE_URL and no Docker engine"}


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
    run(["make", "lint"], cwd=project)
    env = dict(llm_env)
    if options.get("embeddings") == "openai":
        env |= request.getfixturevalue("embeddings_env")
    result = run(["make", "test"], cwd=project, env=env)
    summary = re.findall(r"^=+ (.* in [\d.]+s.*?) =+$", result.stdout, flags=re.MULTILINE)[-1]
    backends = re.findall(r"^backend .*$", result.stdout, flags=re.MULTILINE)
    SUITE_REPORTS.append(f"{name}: {summary}; " + "; ".join(backends))
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
